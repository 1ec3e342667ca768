import { describe, expect, it } from 'vitest';
import { REPORT_METRICS, ReclaimDriver } from '@kmodel/reclaim';
import { GFP_KERNEL, MEMCG_RECLAIM_MAY_SWAP, PAGE_SIZE } from '@kmodel/core';
import type { ChargeKind, MmId, ReclaimMm, ReclaimPolicy, ReclaimReason, ReclaimRequest } from '@kmodel/core';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

describe('ReclaimDriver.freePteTable', () => {
  it('refuses a table with a live entry and counts the entries its re-check read, as the address space does', () => {
    const m = new TestMachine({ policy: 'none' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: T, align: T });
    expect(mm.touch(base, 3, 1, false)).toBe(0);
    expect(mm.touch(base + 3, 1, 1, true)).toBe(0);
    const before = mm.counters()['pt_reclaim.entries_scanned']!;
    expect(m.driver.freePteTable(mm, base + 7, { allowZeroPages: true, lock: 'write' })).toBe(false);
    expect(mm.counters()['pt_reclaim.entries_scanned']! - before).toBe(4);
    const r = m.driver.report();
    expect(r['pt_reclaim.entries_scanned']).toBe(4);
    expect(r['mmap_lock.write_hold_ns']).toBe(4 * 2);
    expect(r['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(mm.pageTable.entryPfn(base + 3, 1)).toBeGreaterThan(0);
  });

  it('frees an empty table without reading it, and a zero table without allowZeroPages never', () => {
    const m = new TestMachine({ policy: 'none' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 2 * T, align: T });
    expect(mm.touch(base, 2 * T, T, false)).toBe(0);
    mm.madvise(base, 1, 'dontneed');
    expect(m.driver.freePteTable(mm, base + T, { allowZeroPages: false })).toBe(false);
    expect(m.driver.freePteTable(mm, base, { allowZeroPages: false, lock: 'none' })).toBe(true);
    expect(m.driver.freePteTable(mm, base, { allowZeroPages: false })).toBe(false); // gone already
    const r = m.driver.report();
    expect(r['pt_reclaim.entries_scanned']).toBe(0);
    expect(r['pt_reclaim.pte_tables_freed']).toBe(1);
    expect(r['mmap_lock.write_hold_ns']).toBe(0);
  });
});

describe('ReclaimDriver bookkeeping', () => {
  it('reports every metric, and its machine counters never repeat what the address spaces count', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 4 * T, align: T });
    expect(mm.touch(base, 4 * T, 1, false)).toBe(0);
    m.driver.reclaim(null, 1 << 20);
    const r = m.driver.report();
    for (const k of REPORT_METRICS) expect(typeof r[k]).toBe('number');
    expect(r['time_ns']).toBe(m.clock.now);
    expect(mm.counters()['pt_reclaim.pte_tables_freed']).toBe(4);
    const c = m.driver.counters();
    expect(c['pt_reclaim.pte_tables_freed']).toBeUndefined();
    expect(c['pt_reclaim.bytes_freed']).toBe(0);
    expect(c['mmap_lock.write_hold_ns']).toBeUndefined();
    // The machine's total = the address space's + the driver's: what the report says.
    expect(mm.counters()['pt_reclaim.bytes_freed']! + c['pt_reclaim.bytes_freed']!).toBe(r['pt_reclaim.bytes_freed']);
    expect(mm.counters()['mmap_lock.write_hold_ns']).toBe(r['mmap_lock.write_hold_ns']);
  });

  it('records background holds without advancing the clock, and direct-reclaim holds by advancing it', () => {
    const m = new TestMachine({ policy: 'none' });
    const mm = m.spawn();
    const t0 = m.clock.now;
    m.driver.holdMmapWrite(mm, 1000, true);
    expect(m.clock.now).toBe(t0);
    m.driver.holdMmapWrite(mm, 500, false);
    expect(m.clock.now).toBe(t0 + 500);
    expect(mm.mmapLock.writeHoldNs).toBe(1500);
    expect(m.driver.report()['mmap_lock.write_hold_ns']).toBe(1500);
  });

  it('charges scans and walkers to the clock', () => {
    const m = new TestMachine({ policy: 'none' });
    const t0 = m.clock.now;
    m.driver.chargeScan(100);
    m.driver.chargeWalkers(10);
    expect(m.clock.now - t0).toBe(100 * 2 + 10 * 15);
    expect(m.driver.report()).toMatchObject({ 'pt_reclaim.entries_scanned': 100, 'pt_reclaim.scan_ns': 200, 'pt_reclaim.walker_ns': 150 });
  });

  it('rejects a bad reclaim target and changes nothing', () => {
    const m = new TestMachine({ policy: 'reclaim-path' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: T, align: T });
    expect(mm.touch(base, T, 1, false)).toBe(0);
    for (const bad of [-1, Number.NaN, Infinity]) expect(() => m.driver.reclaim(null, bad)).toThrow(/E_OUT_OF_RANGE/);
    expect(mm.status().nr_ptes).toBe(1);
  });

  it('refuses a PMD table that still holds entries', () => {
    const m = new TestMachine({ policy: 'none' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: T, align: T });
    expect(mm.touch(base, 1, 1, false)).toBe(0);
    expect(m.driver.freePmdTable(mm, base)).toBe(false);
    expect(mm.status().nr_pmds).toBe(1);
  });

  it('learns the reclaiming task from the reclaim request and passes the request to its policies', () => {
    const m = new TestMachine({ policy: 'none' });
    const seen: [ReclaimRequest | null, boolean, boolean][] = [];
    let target: ReclaimMm | null = null;
    const probe: ReclaimPolicy = {
      name: 'probe',
      reclaim(_cgroup, _bytes, machine, request) {
        seen.push([request, machine.mayReclaimFrom(target!), machine.mayFree(target!, 0, 1)]);
        return 0;
      },
    };
    const d = new ReclaimDriver({ clock: m.clock, mms: m.mms, pteRef: m.pteRef, memcg: m.memcg }, [probe]);
    expect(d.name).toBe('probe');
    expect(d.profile.ptReclaimOnDontneed).toBe(false);
    const mm = m.spawn();
    target = mm;
    const req = (reason: ReclaimReason, who: MmId | null, kind: ChargeKind | null): ReclaimRequest => ({
      reason, mm: who, kind, gfp: GFP_KERNEL, nrPages: 1, reclaimOptions: MEMCG_RECLAIM_MAY_SWAP,
    });
    const asks = [
      null,
      req('max', mm.id, 'anon'), // its own fault, address unknown: hands off
      req('max', mm.id + 1, 'pagetables'), // another task's fault
      req('high', mm.id, null), // at its return to user mode: no fault in progress
      req('limit', null, null), // a limit write
    ];
    for (const r of asks) d.reclaimer.reclaim('/test', PAGE_SIZE, r ?? undefined);
    expect(seen.map(([r, from, free]) => [r?.reason ?? null, from, free])).toEqual([
      [null, true, true],
      ['max', false, false],
      ['max', true, true],
      ['high', true, true],
      ['limit', true, true],
    ]);
    expect(seen[1]![0]).toBe(asks[1]);
    // Outside reclaim every address space may be reclaimed from again.
    expect(d.mayReclaimFrom(mm)).toBe(true);
    expect(d.mayFree(mm, 0, 1)).toBe(true);
  });
});
