import { describe, expect, it } from 'vitest';
import { isKmodelError } from '@kmodel/core';
import { ReclaimDriver, freePtesMayFree, freePtesPolicy, freeUserPtes } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine, translations } from './support/machine.js';

describe('freePtesMayFree', () => {
  it('is an empty PTE page or a zero PTE page (all 512 entries zero)', () => {
    expect(freePtesMayFree(0, 0)).toBe(true);
    expect(freePtesMayFree(512, 512)).toBe(true);
    expect(freePtesMayFree(1, 1)).toBe(false);
    expect(freePtesMayFree(512, 511)).toBe(false);
  });
});

/** Table 0: zero-only; table 1: one zero entry; table 2: emptied by two DONTNEEDs; table 3: one written page. */
function layout(m: TestMachine, perVmaLock = true) {
  const mm = m.spawn('p', { perVmaLock });
  const base = mm.mmap({ pages: 4 * T, align: T });
  expect(mm.touch(base, T, 1, false)).toBe(0);
  expect(mm.touch(base + T, 1, 1, false)).toBe(0);
  expect(mm.touch(base + 2 * T, T, 1, true)).toBe(0);
  mm.madvise(base + 2 * T, T / 2, 'dontneed');
  mm.madvise(base + 2 * T + T / 2, T / 2, 'dontneed');
  expect(mm.touch(base + 3 * T, 1, 1, true)).toBe(0);
  return { mm, base };
}

describe('free-ptes', () => {
  it('frees the empty and zero PTE tables of one process, a write hold and a flush per table', () => {
    const m = new TestMachine({ policy: 'free-ptes', params: { intervalNs: 0 } });
    const { mm, base } = layout(m);
    const live = mm.pageTable.entryPfn(base + 3 * T, 1);
    expect(mm.status().nr_ptes).toBe(4);
    expect(freeUserPtes(mm, m.driver)).toBe(2);
    expect(mm.status().nr_ptes).toBe(2);
    expect(mm.pageTable.tableAt(base, 1)).toBe(-1);
    expect(mm.pageTable.tableAt(base + 2 * T, 1)).toBe(-1);
    expect(mm.pageTable.entryPfn(base + T, 1)).toBe(m.zeroPfn); // one zero entry: not a zero PTE page
    expect(mm.pageTable.entryPfn(base + 3 * T, 1)).toBe(live);
    const r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(2);
    expect(r['pt_reclaim.bytes_freed']).toBe(8192);
    // The walk reads one PMD entry per PTE table (4); re-checking the zero table reads its 512 entries.
    expect(r['pt_reclaim.entries_scanned']).toBe(4 + 512);
    // Per table: mmap_lock for write over the re-check (2 ns per entry) and the free (650 ns).
    expect(r['mmap_lock.write_hold_ns']).toBe(512 * 2 + 650 + 650);
    expect(r['tlb.flush_full']).toBe(2);
    expect(m.tlb.freedTableFlushes).toBe(2);
  });

  it('makes faults wait behind its write holds without per-VMA locks (the RFC era), not with them', () => {
    for (const perVmaLock of [false, true]) {
      const m = new TestMachine({ policy: 'free-ptes', params: { intervalNs: 0 } });
      const { mm, base } = layout(m, perVmaLock);
      freeUserPtes(mm, m.driver);
      expect(mm.touch(base, 1, 1, false)).toBe(0);
      expect(m.driver.report()['mmap_lock.waiters']).toBe(perVmaLock ? 0 : 1);
    }
  });

  it('writes every pid each intervalNs of simulated time', () => {
    const m = new TestMachine({ policy: 'free-ptes', params: { intervalNs: 10_000_000 } });
    const { mm } = layout(m);
    expect(m.clock.now).toBeLessThan(10_000_000); // the layout took about 1.5 ms
    m.tick();
    expect(mm.status().nr_ptes).toBe(4);
    expect(m.driver.report()['pt_reclaim.free_ptes_writes']).toBe(0);
    m.tick(1, 10_000_000);
    expect(mm.status().nr_ptes).toBe(2);
    expect(m.driver.report()['pt_reclaim.free_ptes_writes']).toBe(1);
  });

  it('keeps every translation readable', () => {
    const m = new TestMachine({ policy: 'free-ptes', params: { intervalNs: 0 } });
    const { mm } = layout(m);
    const before = translations(mm);
    freeUserPtes(mm, m.driver);
    const after = translations(mm);
    for (const [vpn, pfn] of before) {
      const now = after.get(vpn);
      if (pfn === m.zeroPfn) expect(now === undefined || now === m.zeroPfn).toBe(true);
      else expect(now).toBe(pfn);
    }
    expect(m.pteRef.verify(mm.id, mm.pageTable)).toEqual([]);
  });

  it('needs pte_ref counters', () => {
    const m = new TestMachine({ policy: 'none' });
    const mm = m.spawn();
    const driver = new ReclaimDriver({ clock: m.clock, mms: m.mms }, [freePtesPolicy()]);
    let err: unknown;
    try {
      freeUserPtes(mm, driver);
    } catch (e) {
      err = e;
    }
    expect(isKmodelError(err, 'E_POLICY_NEEDS_PART')).toBe(true);
  });
});
