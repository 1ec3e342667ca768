import { PAGES_PER_PMD } from '@kmodel/core';
import type { ReclaimPolicy, Vpn } from '@kmodel/core';

/**
 * The predicate of CONFIG_PT_RECLAIM (mm/pt_reclaim.c + zap_pte_range in mm/memory.c, v6.14+):
 * a MADV_DONTNEED of [zapStart, zapEnd) frees the PTE table at `blockVpn` only when the zap
 * covers the table's whole 2 MiB span and left no entry behind (no `any_skipped`, every entry
 * none afterwards). Zero-page entries are zapped like any other, so a table is freed only if
 * the DONTNEED covers all of it.
 */
export function mainlineMayReclaimPteTable(zapStart: Vpn, zapEnd: Vpn, blockVpn: Vpn, presentAfterZap: number): boolean {
  return zapStart <= blockVpn && blockVpn + PAGES_PER_PMD <= zapEnd && presentAfterZap === 0;
}

/**
 * `mainline`: the linux-6.18 behaviour as a policy. The address spaces run with PT_RECLAIM on
 * MADV_DONTNEED (the address space applies {@link mainlineMayReclaimPteTable} while it zaps,
 * under the PTE lock with a PMD-lock trylock, freeing through mmu_gather); the driver counts
 * those frees and their refaults. Combine it with other policies, or leave it out to switch it off.
 */
export function mainlinePolicy(): ReclaimPolicy {
  return { name: 'mainline', ptReclaimOnDontneed: true };
}
