import { describe, expect, it } from 'vitest';
import { GFP_PGTABLE_USER, GiB as GiB_BYTES, SimClock } from '@kmodel/core';
import type { Level, PageTable, PageTableOptions } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { AddressSpace, PROT_READ } from '@kmodel/mm';
import { A, GiB, MiB, RecordingCharger, RecordingTlb } from './helpers/machine.js';

/** A page table that delegates to the stock one but offers no zapRangeReclaimPt. */
function withoutOnePass(options: PageTableOptions): PageTable {
  const pt = createPageTable(options);
  return {
    levels: pt.levels,
    allocTable: (vpn, level) => pt.allocTable(vpn, level),
    tableAt: (vpn, level) => pt.tableAt(vpn, level),
    entryPfn: (vpn, level) => pt.entryPfn(vpn, level),
    entryFlags: (vpn, level) => pt.entryFlags(vpn, level),
    presentCount: (vpn, level) => pt.presentCount(vpn, level),
    setEntry: (vpn, level, pfn, flags) => pt.setEntry(vpn, level, pfn, flags),
    clearEntry: (vpn, level) => pt.clearEntry(vpn, level),
    zapRange: (start, end, visit) => pt.zapRange(start, end, visit),
    freePgtables: (start, end, floor, ceiling) => pt.freePgtables(start, end, floor, ceiling),
    freePteTable: (vpn) => pt.freePteTable(vpn),
    freePmdTable: (vpn) => pt.freePmdTable(vpn),
    walk: (start, end, ops) => pt.walk(start, end, ops),
    tableCount: (level) => pt.tableCount(level),
    clearAll: () => pt.clearAll(),
  };
}

/** Runs one DONTNEED-heavy workload on the stock stack and returns everything mm accounts. */
function run(onePass: boolean) {
  const buddy = new BuddyAllocator({ memory: 2 * GiB_BYTES, pcp: false });
  const zeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 0)!;
  const hugeZeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 9)!;
  const pteRef = new PteRef(zeroPfn);
  const tlb = new RecordingTlb();
  const charger = new RecordingCharger();
  const clock = new SimClock();
  const events: string[] = [];
  let onePassCalls = 0;
  const factory = (o: PageTableOptions): PageTable => {
    if (!onePass) return withoutOnePass(o);
    const pt = createPageTable(o);
    const one = pt.zapRangeReclaimPt!.bind(pt);
    pt.zapRangeReclaimPt = (s, e, visit) => {
      onePassCalls++;
      return one(s, e, visit);
    };
    return pt;
  };
  const hooks = {
    onTableFree: (_mm: AddressSpace, level: Level) => events.push(`free${level}`),
    afterZap: (_mm: AddressSpace, s: number, e: number, cause: string) => events.push(`zap ${cause} ${s - A} ${e - A}`),
  };
  const mm = new AddressSpace({ id: 1, allocator: buddy, pageTables: factory, zeroPfn, hugeZeroPfn, observer: pteRef.observerFor(1), tlb, charger, clock, hooks });
  // 1 GiB - 6 MiB .. 1 GiB + 10 MiB: crosses a PMD-table (1 GiB) boundary.
  const base = A + GiB - 6 * MiB;
  mm.mmap({ addr: base, pages: 16 * MiB, fixedNoreplace: true, noreserve: true });
  mm.madvise(base + 8 * MiB, 8 * MiB, 'hugepage');
  mm.touch(base, 16 * MiB, 1, false); // zero pages, huge zero pages in the THP part
  mm.touch(base + MiB, 2 * MiB, 3, true); // anonymous pages
  mm.touch(base + 10 * MiB, 4 * MiB, 1, true); // THPs
  mm.mprotect(base + 5 * MiB, MiB, PROT_READ); // a VMA split inside one table
  const snap: unknown[] = [];
  const record = () =>
    snap.push({ status: mm.status(), counters: mm.counters(), charged: { ...charger.bytes }, tlb: tlb.ranges.length, now: clock.now, free: buddy.nrFreePages(), pte: pteRef.pteTableCount(1), reclaimable: pteRef.reclaimablePtBytes(1) });
  mm.madvise(base + 3, 7 * MiB, 'dontneed'); // unaligned start, across the mprotect split: 3 VMAs
  record();
  mm.madvise(base + 11 * MiB, 2 * MiB + 5, 'dontneed'); // cuts a THP at either edge: 1 VMA
  record();
  mm.touch(base, 16 * MiB, 2, false);
  mm.madvise(base, 16 * MiB, 'dontneed'); // everything, across the 1 GiB boundary: 4 VMAs
  record();
  mm.touch(base + 2 * MiB, 2 * MiB, 1, false); // a zero-only table for tryFreePteTable (zero counts)
  const zeroOnly = mm.tryFreePteTable(base + 2 * MiB, { allowZeroPages: true });
  record();
  return { snap, events, tlb: tlb.ranges, zeroOnly, onePassCalls };
}

describe('MADV_DONTNEED with and without PageTable.zapRangeReclaimPt', () => {
  it('the one-pass zap and the zap-then-free path account identically', () => {
    const one = run(true);
    const two = run(false);
    expect(one.onePassCalls).toBe(8); // one call per VMA piece
    expect(two.onePassCalls).toBe(0);
    expect(one.snap).toEqual(two.snap);
    expect(one.events).toEqual(two.events);
    expect(one.tlb).toEqual(two.tlb);
    expect(one.zeroOnly).toBe(true);
    expect(two.zeroOnly).toBe(true);
    const last = one.snap.at(-2) as { counters: Record<string, number> };
    expect(last.counters['pt_reclaim.pte_tables_freed']).toBeGreaterThan(0);
  });
});
