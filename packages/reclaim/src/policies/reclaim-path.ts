import type { MetricSnapshot, MmId, ReclaimMachine, ReclaimPolicy, ReclaimPteRef, ReclaimRequest, Vpn } from '@kmodel/core';
import { PAGE_SIZE } from '@kmodel/core';
import { requirePteRef } from './free-ptes.js';

/**
 * The RFC's choice of victim: the address space with the largest reclaimable_pt_bytes (its
 * rbtree, pte-ref's ordered index) that this reclaim may take from: charged to `cgroup` (null:
 * any), not tried yet in this pass, and not the charging task when its fault address is unknown.
 */
export function pickLargestReclaimable(ref: ReclaimPteRef, machine: ReclaimMachine, cgroup: string | null, tried: ReadonlySet<MmId>): MmId | undefined {
  for (const [id] of ref.byReclaimablePtBytes()) {
    if (tried.has(id)) continue;
    const mm = machine.mms.get(id);
    if (mm === undefined || !machine.mayReclaimFrom(mm) || !machine.inCgroup(mm, cgroup)) continue;
    return id;
  }
  return undefined;
}

/** Parameters of {@link reclaimPathPolicy}. */
export type ReclaimPathParams = {
  /**
   * Which reclaim requests it serves: `oom` (default) those that precede an OOM kill, i.e.
   * memory.max / limit_in_bytes reached in a charge (`max`) and a lowered limit (`limit`), plus
   * requests without a reason; `any` also memory.high reclaim (`high`).
   */
  on: 'oom' | 'any';
};

/** Defaults of {@link reclaimPathPolicy}: only in front of the OOM killer, as the RFC proposes. */
export const RECLAIM_PATH_DEFAULTS: ReclaimPathParams = { on: 'oom' };

/** Whether a policy with `on` serves `request` (null: a request without a reason, always served). */
export function reclaimPathServes(on: ReclaimPathParams['on'], request: ReclaimRequest | null): boolean {
  return on === 'any' || request === null || request.reason !== 'high';
}

/**
 * `reclaim-path`: the RFC's proposal for the reclaim path, "before waking up the OOM killer".
 * Under memory pressure with a target (memcg or global) that may end in an OOM kill, pick the
 * address space with the largest reclaimable_pt_bytes, take its mmap_lock for write (one hold,
 * spent by the task in direct reclaim), free its empty and zero PTE tables (a TLB flush each),
 * and repeat until the target is met or nothing is left. memory.high reclaim is left to page
 * reclaim unless `on` is `any`.
 */
export function reclaimPathPolicy(params: ReclaimPathParams = RECLAIM_PATH_DEFAULTS): ReclaimPolicy {
  let passes = 0;
  let victims = 0;
  let skipped = 0;
  const bases: Vpn[] = [];
  return {
    name: 'reclaim-path',
    reclaim(cgroup: string | null, bytes: number, machine: ReclaimMachine, request: ReclaimRequest | null): number {
      if (!reclaimPathServes(params.on, request)) {
        skipped++;
        return 0;
      }
      const ref = requirePteRef(machine, 'reclaim-path');
      const costs = machine.clock.costs;
      const tried = new Set<MmId>();
      let freed = 0;
      passes++;
      while (freed < bytes) {
        const id = pickLargestReclaimable(ref, machine, cgroup, tried);
        if (id === undefined) break;
        tried.add(id);
        const mm = machine.mms.get(id)!;
        victims++;
        bases.length = 0;
        let zeroTables = 0;
        ref.forEachReclaimableTable(id, (t, base) => {
          bases.push(base);
          if (!ref.isEmpty(id, t)) zeroTables++;
        });
        let n = 0;
        for (const base of bases) if (machine.freePteTable(mm, base, { allowZeroPages: true, lock: 'none' })) n++;
        // mmap_write_lock, the re-check of every entry of a zero table, pmd_clear + pte_free per table.
        machine.holdMmapWrite(mm, costs.mmap_lock_write + zeroTables * 512 * costs.pte_scan_entry + n * costs.dontneed_per_table_freed, false);
        freed += n * PAGE_SIZE;
      }
      return freed;
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.reclaim_passes': passes, 'pt_reclaim.reclaim_victims': victims, 'pt_reclaim.reclaim_skipped_high': skipped };
    },
  };
}
