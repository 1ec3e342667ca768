import { PAGES_PER_PMD } from '@kmodel/core';
import type { MetricSnapshot, MmId, ReclaimMachine, ReclaimMm, ReclaimPolicy, ReclaimZapCause, TableId, Vpn, WalkOps } from '@kmodel/core';

/** Faults are charged their walker cost at a tick at most this often (simulated ns), and at every zap. */
const SETTLE_NS = 1_000_000;

/** pte_put() of the 2021-2022 refcount designs: a PTE table goes when its mapped count reaches 0. */
export function pteRefCanFree(mappedCount: number): boolean {
  return mappedCount === 0;
}

/** Parameters of {@link pteRefImmediatePolicy}. */
export type PteRefImmediateParams = {
  /** Charge the per-walker refcount work (pte_try_get / pte_put in pte_offset_map{_lock}) to the clock. */
  chargeWalkers: boolean;
};

/** Defaults of {@link pteRefImmediatePolicy}. */
export const PTE_REF_IMMEDIATE_DEFAULTS: PteRefImmediateParams = { chargeWalkers: true };

/**
 * `pte-ref-immediate`: the 2021 atomic and 2022 percpu pte_refcount approaches. Every page-table
 * walker takes and drops a reference on the PTE table it maps (pte_try_get / pte_put hooked
 * into pte_offset_map{_lock}), and the walker that drops the last mapping frees the table at
 * once, whatever the span of the zap and without mmap_lock for write. The cost that got it
 * rejected is modelled as `pte_ref_walker_overhead` per walker: every fault and every PTE table
 * a zap walks (counted at each zap of the address space, and at ticks at most once per simulated ms). In this model only
 * zaps clear entries (MADV_DONTNEED, munmap, exit), so the end of each zap is the moment a
 * mapped count can reach 0; the last walker's pte_put frees the table there.
 */
export function pteRefImmediatePolicy(params: PteRefImmediateParams = PTE_REF_IMMEDIATE_DEFAULTS): ReclaimPolicy {
  const lastPgfault = new Map<MmId, number>();
  const found: Vpn[] = [];
  let walked = 0;
  const collect: WalkOps = {
    table: (_t: TableId, level, baseVpn, present) => {
      if (level !== 1) return true;
      walked++;
      if (pteRefCanFree(present)) found.push(baseVpn);
      return true;
    },
  };
  let freed = 0;
  let lastSettle = 0;

  /** Walkers since the last settle: the faults of `mm` (each maps its PTE table once). */
  function settleFaults(mm: ReclaimMm, machine: ReclaimMachine): void {
    if (!params.chargeWalkers || mm.exited) return;
    const now = mm.counters()['pgfault'] ?? 0;
    const last = lastPgfault.get(mm.id) ?? 0;
    lastPgfault.set(mm.id, now);
    chargeWalkers(machine, now - last);
  }

  function chargeWalkers(machine: ReclaimMachine, walkers: number): void {
    if (walkers > 0) machine.chargeWalkers(walkers);
  }

  return {
    name: 'pte-ref-immediate',
    attach(mm) {
      lastPgfault.set(mm.id, mm.exited ? 0 : (mm.counters()['pgfault'] ?? 0));
    },
    afterZap(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, cause: ReclaimZapCause, machine: ReclaimMachine) {
      if (cause === 'exit' || mm.exited) {
        lastPgfault.delete(mm.id);
        return;
      }
      settleFaults(mm, machine);
      found.length = 0;
      walked = 0;
      const s = startVpn - (startVpn % PAGES_PER_PMD);
      mm.pageTable.walk(s, endVpn, collect);
      if (params.chargeWalkers) chargeWalkers(machine, walked);
      // MADV_FREE clears nothing; munmap frees the tables wholly inside the hole itself, but a
      // table shared with a remaining VMA may be left empty: its count reached 0 too.
      if (cause !== 'dontneed' && cause !== 'munmap') return;
      for (const base of found) {
        if (machine.freePteTable(mm, base, { allowZeroPages: false, lock: 'none' })) {
          machine.clock.charge('dontneed_per_table_freed');
          freed++;
        }
      }
    },
    tick(machine) {
      // Reading every address space's fault count costs host time: settle at most once per simulated ms.
      if (machine.clock.now - lastSettle < SETTLE_NS) return;
      lastSettle = machine.clock.now;
      for (const mm of machine.mms.values()) settleFaults(mm, machine);
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.immediate_frees': freed };
    },
  };
}
