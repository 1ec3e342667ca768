import { fail } from '@kmodel/core';
import type { MetricSnapshot, ReclaimMachine, ReclaimMm, ReclaimPolicy, ReclaimPteRef, Vpn } from '@kmodel/core';
import { ReclaimErrorCode } from '../errors.js';

/** The RFC's test in free_pte_range: an empty PTE page (mapped == 0) or a zero PTE page (zero == PTRS_PER_PTE). */
export function freePtesMayFree(mappedCount: number, zeroCount: number): boolean {
  return mappedCount === 0 || zeroCount === 512;
}

/** Parameters of {@link freePtesPolicy}. */
export type FreePtesParams = {
  /** Simulated ns between writes of every pid to /proc/sys/vm/free_ptes; 0: only explicit {@link freeUserPtes} calls. */
  intervalNs: number;
};

/** Defaults of {@link freePtesPolicy}: a write every 100 ms of simulated time. */
export const FREE_PTES_DEFAULTS: FreePtesParams = { intervalNs: 100_000_000 };

/** The pte_ref counters a policy needs, or E_POLICY_NEEDS_PART. */
export function requirePteRef(machine: ReclaimMachine, policy: string): ReclaimPteRef {
  return machine.pteRef ?? fail(ReclaimErrorCode.MissingPart, `policy ${policy} picks tables through pte_ref counters; the machine has none (give the context a pteRef)`, { policy });
}

/**
 * Writing a pid to /proc/sys/vm/free_ptes (Qi Zheng's RFC 7/7): walk the process
 * (walk_page_range, one PMD entry read per PTE table), and for each empty or zero PTE table
 * take mmap_lock for write, re-check, pmd_clear, flush the TLB over its 2 MiB and free it.
 * The writer is another task: its lock holds are background holds that faults wait behind.
 * Returns the tables freed.
 */
export function freeUserPtes(mm: ReclaimMm, machine: ReclaimMachine): number {
  const ref = requirePteRef(machine, 'free-ptes');
  if (mm.exited || !ref.knows(mm.id) || !machine.mayReclaimFrom(mm)) return 0;
  machine.chargeScan(mm.pageTable.tableCount(1));
  const bases: Vpn[] = [];
  ref.forEachReclaimableTable(mm.id, (_t, base) => {
    bases.push(base);
  });
  let freed = 0;
  for (const base of bases) if (machine.freePteTable(mm, base, { allowZeroPages: true, lock: 'write' })) freed++;
  return freed;
}

/**
 * `free-ptes`: the RFC's proc trigger, written for every live process each `intervalNs` (or
 * only when {@link freeUserPtes} is called): per table, mmap_lock for write and a 2 MiB flush.
 */
export function freePtesPolicy(params: FreePtesParams = FREE_PTES_DEFAULTS): ReclaimPolicy {
  let next = params.intervalNs;
  let runs = 0;
  return {
    name: 'free-ptes',
    tick(machine) {
      if (params.intervalNs === 0 || machine.clock.now < next) return;
      next = machine.clock.now + params.intervalNs;
      runs++;
      for (const mm of [...machine.mms.values()]) freeUserPtes(mm, machine);
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.free_ptes_writes': runs };
    },
  };
}
