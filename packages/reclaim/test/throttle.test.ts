import { describe, expect, it } from 'vitest';
import { TableBudget } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

/** Faults cost nothing here, so the clock moves only by throttling delays. */
const costs = { fault_read_zero: 0, fault_read_zero_new_table: 0, fault_write: 0, fault_write_new_table: 0, mmap_lock_read: 0, mmap_lock_write: 0 };
const base = { ratePerSec: 1000, burst: 4, ratio: 0.25, minPgtablesBytes: 3 * 4096 };

describe('TableBudget', () => {
  it('is a token bucket on the simulated clock', () => {
    const b = new TableBudget(1000, 2, 0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(0);
    expect(b.available(0)).toBe(false);
    expect(b.take(0)).toBe(1_000_000);
    expect(b.take(1_000_000)).toBe(1_000_000);
    expect(b.available(3_000_000)).toBe(true);
  });
});

describe('throttle', () => {
  it('refuses page-table allocations of a suspicious process beyond its budget', () => {
    const m = new TestMachine({ policy: 'throttle', params: { ...base, mode: 'refuse' }, costs });
    const mm = m.spawn();
    const b = mm.mmap({ pages: 16 * T, align: T });
    // Fault 1 allocates PUD, PMD and PTE tables before the process looks suspicious (12 KiB);
    // faults 2-5 take the 4 tokens of the burst; fault 6 is refused.
    expect(mm.touch(b, 8 * T, T, false)).not.toBe(0);
    expect(mm.lastTouchCount).toBe(5);
    expect(mm.counters()['tables_alloc_refused']).toBe(1);
    expect(m.driver.report()['pt_reclaim.throttle_refusals']).toBe(1);
    m.clock.advance(1_000_000);
    expect(mm.touch(b + 5 * T, 3 * T, T, false)).not.toBe(0);
    expect(mm.lastTouchCount).toBe(1);
  });

  it('delays them on the simulated clock in delay mode', () => {
    const m = new TestMachine({ policy: 'throttle', params: { ...base, mode: 'delay' }, costs });
    const mm = m.spawn();
    const b = mm.mmap({ pages: 16 * T, align: T });
    expect(mm.touch(b, 7 * T, T, false)).toBe(0);
    const r = m.driver.report();
    expect(r['pt_reclaim.throttle_delays']).toBe(2);
    expect(r['pt_reclaim.throttle_delay_ns']).toBe(2_000_000);
    expect(m.clock.now).toBe(2_000_000);
  });

  it('leaves a process whose page tables are small next to its RSS alone', () => {
    const m = new TestMachine({ policy: 'throttle', params: { ...base, mode: 'refuse' }, costs });
    const mm = m.spawn();
    const b = mm.mmap({ pages: 16 * T, align: T });
    expect(mm.touch(b, 16 * T, 1, true)).toBe(0);
    expect(m.driver.report()['pt_reclaim.throttle_refusals']).toBe(0);
  });

  it('shares one budget among the processes of a cgroup with scope cgroup', () => {
    for (const [scope, refused] of [['process', 0], ['cgroup', 1]] as const) {
      const m = new TestMachine({ policy: 'throttle', params: { ...base, mode: 'refuse', scope }, costs });
      const p = m.spawn();
      const q = m.spawn();
      const bp = p.mmap({ pages: 16 * T, align: T });
      const bq = q.mmap({ pages: 16 * T, align: T });
      expect(p.touch(bp, 4 * T, T, false)).toBe(0); // 3 tokens of the budget
      q.touch(bq, 4 * T, T, false); // 3 more: over the shared burst of 4
      expect(m.driver.report()['pt_reclaim.throttle_refusals']).toBe(refused);
    }
  });
});
