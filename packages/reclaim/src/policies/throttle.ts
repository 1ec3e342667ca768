import type { Level, MetricSnapshot, MmId, ReclaimMachine, ReclaimMm, ReclaimPolicy, Vpn } from '@kmodel/core';
import { mmLooksSuspicious } from '../suspicion.js';

/** Parameters of {@link throttlePolicy}. */
export type ThrottleParams = {
  /** Page-table pages a suspicious process (or cgroup) may allocate per simulated second. */
  ratePerSec: number;
  /** Allocations allowed at once before the rate applies. */
  burst: number;
  /** Suspicious when pgtables_bytes > ratio × RSS bytes ... */
  ratio: number;
  /** ... and pgtables_bytes is at least this. */
  minPgtablesBytes: number;
  /** One budget per process, or one per cgroup (spawning more processes does not escape it). */
  scope: 'process' | 'cgroup';
  /** Delay the allocation until the budget allows it, or refuse it (the fault fails with VM_FAULT_OOM). */
  mode: 'delay' | 'refuse';
};

/** Defaults of {@link throttlePolicy}: 10,000 tables/s (20 GiB of mapped span per second) with a burst of 256. */
export const THROTTLE_DEFAULTS: ThrottleParams = { ratePerSec: 10_000, burst: 256, ratio: 0.25, minPgtablesBytes: 1 << 20, scope: 'process', mode: 'delay' };

/** A token bucket on the simulated clock. */
export class TableBudget {
  private tokens: number;
  private last: number;
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token at `now`: returns 0 when one was available, else the ns until one is (the token is then spent). */
  take(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1e9);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // The next token arrives (1 - tokens) / rate after the last refill.
    const ready = this.last + Math.ceil(((1 - this.tokens) * 1e9) / this.ratePerSec);
    this.tokens = 0;
    this.last = ready;
    return ready - now;
  }

  /** Whether a token is available at `now`, without taking it. */
  available(now: number): boolean {
    const t = now > this.last ? Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1e9) : this.tokens;
    return t >= 1;
  }
}

/**
 * `throttle`: limits the rate of page-table allocation of a suspicious process or cgroup
 * (the LSFMM 2022 answer to malicious processes), in the allocation path before
 * pte_alloc_one / pmd_alloc_one. A throttled allocation is delayed on the simulated clock or refused.
 */
export function throttlePolicy(params: ThrottleParams = THROTTLE_DEFAULTS): ReclaimPolicy {
  // The budget of each address space, resolved once (shared by the cgroup with scope `cgroup`).
  const byMm = new Map<MmId, TableBudget>();
  const byCgroup = new Map<string, TableBudget>();
  let delayed = 0;
  let delayNs = 0;
  let refused = 0;
  return {
    name: 'throttle',
    beforeTableAlloc(mm: ReclaimMm, _vpn: Vpn, _level: Level, machine: ReclaimMachine) {
      if (!mmLooksSuspicious(mm, params.ratio, params.minPgtablesBytes)) return;
      const now = machine.clock.now;
      let b = byMm.get(mm.id);
      if (b === undefined) {
        if (params.scope === 'cgroup' && machine.memcg) {
          const cg = machine.memcg.cgroupOf(mm.id);
          b = byCgroup.get(cg);
          if (b === undefined) byCgroup.set(cg, (b = new TableBudget(params.ratePerSec, params.burst, now)));
        } else b = new TableBudget(params.ratePerSec, params.burst, now);
        byMm.set(mm.id, b);
      }
      if (params.mode === 'refuse') {
        if (b.available(now)) {
          b.take(now);
          return;
        }
        refused++;
        return false;
      }
      const wait = b.take(now);
      if (wait === 0) return;
      delayed++;
      delayNs += wait;
      return wait;
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.throttle_delays': delayed, 'pt_reclaim.throttle_delay_ns': delayNs, 'pt_reclaim.throttle_refusals': refused };
    },
  };
}
