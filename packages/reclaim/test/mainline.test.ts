import { describe, expect, it } from 'vitest';
import { mainlineMayReclaimPteTable, nonePolicy } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

describe('mainlineMayReclaimPteTable (zap_pte_range + try_get_and_clear_pmd)', () => {
  it('needs a zap covering the whole 2 MiB span and nothing left behind', () => {
    expect(mainlineMayReclaimPteTable(0, 512, 0, 0)).toBe(true);
    expect(mainlineMayReclaimPteTable(0, 1024, 512, 0)).toBe(true);
    expect(mainlineMayReclaimPteTable(0, 511, 0, 0)).toBe(false);
    expect(mainlineMayReclaimPteTable(1, 1024, 0, 0)).toBe(false);
    expect(mainlineMayReclaimPteTable(0, 1024, 512, 1)).toBe(false);
  });
});

/** 4 PTE tables' worth of written memory, 2 MiB aligned. */
function fourTables(m: TestMachine) {
  const mm = m.spawn();
  const base = mm.mmap({ pages: 4 * T, align: T });
  expect(mm.touch(base, 4 * T, 1, true)).toBe(0);
  return { mm, base };
}

describe('none', () => {
  it('runs a 6.13 kernel: MADV_DONTNEED leaves every table', () => {
    const m = new TestMachine({ policy: 'none' });
    expect(m.driver.profile.ptReclaimOnDontneed).toBe(false);
    expect(nonePolicy()).toEqual({ name: 'none', ptReclaimOnDontneed: false });
    const { mm, base } = fourTables(m);
    mm.madvise(base, 4 * T, 'dontneed');
    m.tick(3, 1e9);
    expect(m.driver.reclaim(null, 1 << 30)).toBe(0);
    expect(mm.status().nr_ptes).toBe(4);
    const r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(r['pt_reclaim.bytes_freed']).toBe(0);
    expect(m.pteRef.reclaimablePtBytes(mm.id)).toBe(4 * 4096);
  });
});

describe('mainline', () => {
  it('frees the tables a DONTNEED covers whole, keeps those emptied piecewise, and counts refaults', () => {
    const m = new TestMachine({ policy: 'mainline' });
    expect(m.driver.profile).toEqual({ name: 'linux-6.18', ptReclaimOnDontneed: true, thpOnHugeZeroWrite: true });
    const { mm, base } = fourTables(m);
    mm.madvise(base, 2 * T, 'dontneed');
    expect(mm.status().nr_ptes).toBe(2);
    // Table 2 emptied by two 1 MiB DONTNEEDs: no single zap covers it, it stays.
    mm.madvise(base + 2 * T, T / 2, 'dontneed');
    mm.madvise(base + 2 * T + T / 2, T / 2, 'dontneed');
    expect(mm.status().nr_ptes).toBe(2);
    expect(m.pteRef.reclaimablePtBytes(mm.id)).toBe(4096);
    let r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(2);
    expect(r['pt_reclaim.bytes_freed']).toBe(8192);
    expect(r['pt_reclaim.refaults']).toBe(0);
    // Touching the freed range again recreates both tables: two refaults of 1100 ns extra each.
    expect(mm.touch(base, 2 * T, T, false)).toBe(0);
    r = m.driver.report();
    expect(r['pt_reclaim.refaults']).toBe(2);
    expect(r['pt_reclaim.refault_ns']).toBe(2 * (1600 - 500));
    expect(m.driver.counters()['pt_reclaim.refaults']).toBe(2);
    // The address space counted the frees itself; the driver's machine counters do not repeat them.
    expect(mm.counters()['pt_reclaim.pte_tables_freed']).toBe(2);
    expect(m.driver.counters()['pt_reclaim.bytes_freed']).toBe(0);
  });

  it('does not free tables that only map the zero page', () => {
    const m = new TestMachine({ policy: 'mainline' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 4 * T, align: T });
    expect(mm.touch(base, 4 * T, 1, false)).toBe(0);
    m.tick(2, 1e9);
    expect(m.driver.reclaim(null, 1 << 30)).toBe(0);
    expect(mm.status().nr_ptes).toBe(4);
    expect(m.pteRef.reclaimablePtBytes(mm.id)).toBe(4 * 4096);
    expect(m.driver.report()['pt_reclaim.pte_tables_freed']).toBe(0);
  });
});
