import type { CostModel } from '@kmodel/core';
import { BuddyAllocator, x86Layout } from '@kmodel/buddy';
import { DirectMap, ramRangesExcluding } from '@kmodel/directmap';
import { runUnmappedWorkload, type DirectMapStrategy } from '@kmodel/mermap';
import type { UnmappedGuestOp } from '../workload/ops.js';

const MERMAP_STRATEGY: Record<NonNullable<UnmappedGuestOp['strategy']>, DirectMapStrategy> = { 'direct-map': 'direct_map', 'per-page': 'per_page', freetype: 'freetype' };
/** Counter prefixes of the unmapped-guest workload that go into the machine's metrics. */
const KERNEL_WORK_PREFIXES = ['directmap.', 'mermap.', 'tlb.', 'checker.', 'workload.'];

/** The machine an unmapped-guest run is sized from. */
export interface KernelWorkEnv {
  readonly ram: number;
  readonly levels: 4 | 5;
  readonly cpus: number;
  readonly seed: number;
  readonly costs: CostModel;
}

/** What an unmapped-guest run adds to the machine. */
export interface KernelWorkResult {
  /** directmap.*, mermap.*, tlb.*, checker.*, workload.* counters. */
  readonly counters: Record<string, number>;
  /** Simulated time the work took. */
  readonly timeNs: number;
  /** The first stale-TLB hazards found, each as JSON (the put and the free that caused it). */
  readonly hazards: string[];
}

/**
 * Runs `@kmodel/mermap`'s guest_memfd-like workload under `strategy`: folios allocated outside
 * the direct map, zeroed, read and copied through the mermap, with the stale-TLB checker on
 * every free. It runs on its own buddy allocator and direct map over the machine's RAM, wired to
 * the workload's own TLB model as the strategies need (the mermap package owns that machine).
 */
export function runUnmappedGuest(op: UnmappedGuestOp, strategy: NonNullable<UnmappedGuestOp['strategy']>, env: KernelWorkEnv): KernelWorkResult {
  const result = runUnmappedWorkload(
    MERMAP_STRATEGY[strategy],
    ({ tlb, clock, nrCpus }) => {
      const layout = x86Layout({ memory: env.ram });
      const directMap = new DirectMap({ ram: ramRangesExcluding(layout.endPfn, layout.holes), levels: env.levels, tlb, clock });
      const buddy = new BuddyAllocator({ layout, directMap, nrCpus });
      return { allocator: buddy, directMap, metrics: () => ({ ...directMap.metrics(), ...buddy.counters() }) };
    },
    { allocations: op.allocations, order: op.order, reads: op.reads, cowFaults: op.cowFaults, frees: op.frees, maxHold: op.maxHold, checker: op.checker, nrCpus: env.cpus, seed: env.seed },
    env.costs,
  );
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(result.metrics)) if (KERNEL_WORK_PREFIXES.some((p) => k.startsWith(p))) counters[k] = v;
  return { counters, timeNs: result.metrics['time_ns'] ?? 0, hazards: result.hazards.map((h) => JSON.stringify(h)) };
}
