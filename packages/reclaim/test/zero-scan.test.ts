import { describe, expect, it } from 'vitest';
import { looksSuspicious, zeroScanVerdict } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

describe('looksSuspicious', () => {
  it('compares page-table bytes with RSS above a floor', () => {
    expect(looksSuspicious(1 << 20, 0, 0.25, 1 << 20)).toBe(true);
    expect(looksSuspicious((1 << 20) - 4096, 0, 0.25, 1 << 20)).toBe(false);
    expect(looksSuspicious(1 << 20, 4 << 20, 0.25, 0)).toBe(false);
    expect(looksSuspicious((1 << 20) + 1, 4 << 20, 0.25, 0)).toBe(true);
  });
});

describe('zeroScanVerdict', () => {
  it('reads up to the first entry that is neither none nor the zero page', () => {
    expect(zeroScanVerdict(-1)).toEqual({ reclaimable: true, scanned: 512 });
    expect(zeroScanVerdict(0)).toEqual({ reclaimable: false, scanned: 1 });
    expect(zeroScanVerdict(511)).toEqual({ reclaimable: false, scanned: 512 });
  });
});

describe('zero-scan', () => {
  const params = { intervalNs: 1_000_000, ratio: 0.25, minPgtablesBytes: 65536 };

  it('does no scan work until the heuristic fires, then clears zero entries and frees the emptied tables', () => {
    const m = new TestMachine({ policy: 'zero-scan', params });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 91 * T, align: 512 * T });
    expect(mm.touch(base, 256, 1, true)).toBe(0); // 1 MiB of RSS in table 0
    expect(mm.touch(base + T, 20 * T, T, false)).toBe(0); // one zero entry in tables 1..20
    // 23 tables (92 KiB) against 0.25 x 1 MiB: not suspicious.
    expect(mm.pgtablesBytes).toBe(23 * 4096);
    const t0 = m.clock.now;
    m.tick(2, 1_000_000);
    expect(m.clock.now - t0).toBe(2_000_000);
    let r = m.driver.report();
    expect(r['pt_reclaim.entries_scanned']).toBe(0);
    expect(r['pt_reclaim.scan_ns']).toBe(0);
    expect(r['pt_reclaim.zero_scan_triggers']).toBe(0);
    expect(mm.touch(base + 21 * T, 70 * T, T, false)).toBe(0); // tables 21..90
    expect(mm.pgtablesBytes).toBe(93 * 4096);
    const t1 = m.clock.now;
    m.tick(1, 1_000_000);
    r = m.driver.report();
    expect(r['pt_reclaim.zero_scan_triggers']).toBe(1);
    // Lockless: 1 entry of table 0 (anonymous), all 512 of each of the 90 others; re-check under the lock: 512 each.
    expect(r['pt_reclaim.entries_scanned']).toBe(1 + 90 * 512 + 90 * 512);
    expect(r['pt_reclaim.scan_ns']).toBe((1 + 90 * 512) * 2);
    expect(m.clock.now - t1).toBe(1_000_000 + (1 + 90 * 512) * 2);
    expect(r['pt_reclaim.pte_tables_freed']).toBe(90);
    expect(r['pt_reclaim.bytes_freed']).toBe(90 * 4096);
    expect(r['mmap_lock.write_hold_ns']).toBe(90 * (512 * 2 + 650));
    expect(r['tlb.flush_full']).toBe(90);
    expect(mm.status().nr_ptes).toBe(1);
    expect(mm.rssAnonPages).toBe(256);
    // Back under the floor: the next checks scan nothing.
    m.tick(3, 1_000_000);
    expect(m.driver.report()['pt_reclaim.zero_scan_triggers']).toBe(1);
    // Reading the area again recreates tables: refaults.
    expect(mm.touch(base + T, 4 * T, T, false)).toBe(0);
    expect(m.driver.report()['pt_reclaim.refaults']).toBe(4);
  });

  it('checks only every intervalNs', () => {
    const m = new TestMachine({ policy: 'zero-scan', params: { ...params, minPgtablesBytes: 4096 } });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 4 * T, align: T });
    m.tick(); // at t = 0: nothing mapped yet
    expect(mm.touch(base, 4 * T, T, false)).toBe(0);
    m.tick(); // within the interval: no check
    expect(mm.status().nr_ptes).toBe(4);
    m.tick(1, 1_000_000);
    expect(mm.status().nr_ptes).toBe(0);
  });
});
