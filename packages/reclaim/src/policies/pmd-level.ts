import { PAGES_PER_PUD } from '@kmodel/core';
import type { MetricSnapshot, ReclaimMachine, ReclaimMm, ReclaimPolicy, Vpn } from '@kmodel/core';

/** A PMD table may go when it holds no entry: no PTE table below it and no huge leaf. */
export function pmdTableReclaimable(presentCount: number): boolean {
  return presentCount === 0;
}

/** Parameters of {@link pmdLevelPolicy}. */
export type PmdLevelParams = {
  /** Also run PT_RECLAIM at MADV_DONTNEED (the mainline path this extends to the PMD level). */
  dontneed: boolean;
};

/** Defaults of {@link pmdLevelPolicy}. */
export const PMD_LEVEL_DEFAULTS: PmdLevelParams = { dontneed: true };

/**
 * `pmd-level`: whenever PTE tables are reclaimed (by PT_RECLAIM at MADV_DONTNEED or any policy
 * it is combined with), also free the PMD tables above them that became empty (the LSFMM 2022
 * "might be worthwhile" step; CONFIG_PT_RECLAIM is PTE-level only). Each free takes mmap_lock
 * for write (a PMD table may be held by long scans), pud_clear, a TLB flush, pmd_free.
 */
export function pmdLevelPolicy(params: PmdLevelParams = PMD_LEVEL_DEFAULTS): ReclaimPolicy {
  let freed = 0;
  return {
    name: 'pmd-level',
    ptReclaimOnDontneed: params.dontneed,
    afterPteTablesFreed(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, machine: ReclaimMachine) {
      const pt = mm.pageTable;
      const costs = machine.clock.costs;
      for (let base = startVpn - (startVpn % PAGES_PER_PUD); base < endVpn; base += PAGES_PER_PUD) {
        if (pt.tableAt(base, 2) < 0 || !pmdTableReclaimable(pt.presentCount(base, 2))) continue;
        if (machine.freePmdTable(mm, base)) {
          freed++;
          machine.holdMmapWrite(mm, costs.mmap_lock_write + costs.dontneed_per_table_freed, false);
        }
      }
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.pmd_level_frees': freed };
    },
  };
}
