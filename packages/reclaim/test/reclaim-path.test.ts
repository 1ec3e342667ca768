import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, GFP_PGTABLE_USER, MEMCG_RECLAIM_MAY_SWAP } from '@kmodel/core';
import type { ChargeKind, MmId, ReclaimReason, ReclaimRequest } from '@kmodel/core';
import { pickLargestReclaimable, reclaimPathServes } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine, translations } from './support/machine.js';

/** A: 3 zero-only tables. B: 1 zero-only table and 1 empty table, plus one written page. */
function twoProcesses(m: TestMachine, cgroupB = '/test') {
  const a = m.spawn('a');
  const b = m.spawn('b', { cgroup: cgroupB });
  const ba = a.mmap({ pages: 3 * T, align: T });
  expect(a.touch(ba, 3 * T, 1, false)).toBe(0);
  const bb = b.mmap({ pages: 3 * T, align: T });
  expect(b.touch(bb, T, 1, false)).toBe(0);
  expect(b.touch(bb + T, 1, 1, true)).toBe(0);
  b.madvise(bb + T, 1, 'dontneed');
  expect(b.touch(bb + 2 * T, 1, 1, true)).toBe(0);
  return { a, b, ba, bb };
}

describe('pickLargestReclaimable', () => {
  it('follows reclaimable_pt_bytes, skipping tried address spaces and other cgroups', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const { a, b } = twoProcesses(m, '/other');
    expect(m.pteRef.reclaimablePtBytes(a.id)).toBe(3 * 4096);
    expect(m.pteRef.reclaimablePtBytes(b.id)).toBe(2 * 4096);
    expect(pickLargestReclaimable(m.pteRef, m.driver, null, new Set())).toBe(a.id);
    expect(pickLargestReclaimable(m.pteRef, m.driver, null, new Set([a.id]))).toBe(b.id);
    expect(pickLargestReclaimable(m.pteRef, m.driver, '/other', new Set())).toBe(b.id);
    expect(pickLargestReclaimable(m.pteRef, m.driver, '/test', new Set([a.id]))).toBe(undefined);
  });
});

describe('reclaim-path', () => {
  it('takes the largest address space first, frees all its tables under one write hold, and stops at the target', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const { a, b } = twoProcesses(m);
    const t0 = m.clock.now;
    expect(m.driver.reclaim(null, 4096)).toBe(3 * 4096);
    expect(a.status().nr_ptes).toBe(0);
    expect(b.status().nr_ptes).toBe(3);
    // mmap_lock for write (50) + re-check of 3 zero tables (3 x 512 x 2) + 3 frees (650): the reclaiming task stalls.
    const hold = 50 + 3 * 512 * 2 + 3 * 650;
    expect(m.clock.now - t0).toBe(hold);
    expect(a.mmapLock.writeHoldNs).toBe(hold);
    expect(m.driver.reclaim(null, 1 << 20)).toBe(2 * 4096);
    expect(b.status().nr_ptes).toBe(1);
    const r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(5);
    expect(r['pt_reclaim.bytes_freed']).toBe(5 * 4096);
    expect(r['pt_reclaim.entries_scanned']).toBe(4 * 512);
    expect(r['mmap_lock.write_hold_ns']).toBe(hold + 50 + 512 * 2 + 2 * 650);
    expect(r['tlb.flush_full']).toBe(5);
    expect(r['pt_reclaim.reclaim_passes']).toBe(2);
    expect(r['pt_reclaim.reclaim_victims']).toBe(2);
    expect(m.driver.reclaim(null, 1 << 20)).toBe(0);
  });

  it('reclaims only the cgroup it is asked for', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const { a, b } = twoProcesses(m, '/other');
    expect(m.driver.reclaim('/other', 1 << 20)).toBe(2 * 4096);
    expect(a.status().nr_ptes).toBe(3);
    expect(b.status().nr_ptes).toBe(1);
  });

  it('frees a tiny mix of none and zero entries only when all 512 are zero (the RFC definition)', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 8 * T, align: T });
    expect(mm.touch(base, 8 * T, T, false)).toBe(0); // one byte per 2 MiB
    expect(m.pteRef.reclaimablePtBytes(mm.id)).toBe(0);
    expect(m.driver.reclaim(null, 1 << 20)).toBe(0);
    expect(mm.status().nr_ptes).toBe(8);
  });

  it('avoids the OOM kill under memory.max by reclaiming the zero tables of the charging task, never the table of its fault', () => {
    for (const [policy, kills] of [['none', 1], ['reclaim-path', 0]] as const) {
      const m = new TestMachine({ policy, memoryMax: 4 << 20 });
      const mm = m.spawn();
      const base = mm.mmap({ pages: 1024 * T, align: T });
      // A read sweep over 2 GiB: 1024 zero-only tables (4 MiB) do not fit in 4 MiB with the upper tables.
      const r = mm.touch(base, 1024 * T, 1, false);
      expect(m.oomKills).toBe(kills);
      if (kills === 0) {
        expect(r).toBe(0);
        expect(m.pteRef.verify(mm.id, mm.pageTable)).toEqual([]);
        const t = translations(mm);
        for (const pfn of t.values()) expect(pfn).toBe(m.zeroPfn);
        expect(m.pagetablesBytes).toBeLessThanOrEqual(4 << 20);
        expect(m.driver.report()['pt_reclaim.pte_tables_freed']).toBeGreaterThan(0);
      }
    }
  });

  it('leaves the charging task alone when its charge is not for a page table', () => {
    // 16 KiB: the four tables of the first read fault fit, the first anonymous page does not.
    const m = new TestMachine({ policy: 'reclaim-path', memoryMax: 16 << 10 });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 2 * T, align: T });
    expect(mm.touch(base, T, 1, false)).toBe(0); // a zero-only table
    // A write into it must charge an anonymous page; reclaim may not free the table under the fault.
    expect(mm.touch(base, 1, 1, true)).not.toBe(0);
    expect(m.driver.report()['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(m.oomKills).toBe(1);
  });
});

describe('reclaim-path and the reason for reclaim', () => {
  const req = (reason: ReclaimReason, mm: MmId | null, kind: ChargeKind | null): ReclaimRequest => ({
    reason, mm, kind, gfp: kind === 'pagetables' ? GFP_PGTABLE_USER : GFP_KERNEL, nrPages: 1, reclaimOptions: MEMCG_RECLAIM_MAY_SWAP,
  });

  it('serves the requests in front of an OOM kill and lets memory.high throttling pass', () => {
    expect(['max', 'limit', 'high'].map((r) => reclaimPathServes('oom', req(r as ReclaimReason, null, null)))).toEqual([true, true, false]);
    expect(reclaimPathServes('oom', null)).toBe(true);
    expect(reclaimPathServes('any', req('high', 1, null))).toBe(true);
    const m = new TestMachine({ policy: 'reclaim-path' });
    const { a } = twoProcesses(m);
    expect(m.driver.reclaimer.reclaim('/test', 4096, req('high', a.id, null))).toBe(0);
    expect(a.status().nr_ptes).toBe(3);
    expect(m.driver.report()['pt_reclaim.reclaim_skipped_high']).toBe(1);
    expect(m.driver.reclaimer.reclaim('/test', 4096, req('limit', null, null))).toBe(3 * 4096);
    expect(a.status().nr_ptes).toBe(0);
  });

  it("with on: 'any' it also frees for memory.high, but never from the task whose non-table charge is in progress", () => {
    const m = new TestMachine({ policy: 'reclaim-path', params: { on: 'any' } });
    const { a, b } = twoProcesses(m);
    // a is charging an anonymous page: its fault address is unknown, so a is skipped and b is taken.
    expect(m.driver.reclaimer.reclaim('/test', 4096, req('high', a.id, 'anon'))).toBe(2 * 4096);
    expect([a.status().nr_ptes, b.status().nr_ptes]).toEqual([3, 1]);
    expect(m.driver.report()['pt_reclaim.reclaim_skipped_high']).toBe(0);
    expect(() => new TestMachine({ policy: 'reclaim-path', params: { on: 'never' } })).toThrow(/E_BAD_POLICY_PARAM.*on.*oom, any/);
  });
});
