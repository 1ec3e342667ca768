import { describe, expect, it } from 'vitest';
import { GFP_PGTABLE_USER, GiB as GiB_BYTES, SimClock } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { AddressSpace } from '@kmodel/mm';
import type { Level, OomHost, ReclaimMm } from '@kmodel/core';
import { MmRegistry } from '@kmodel/mm';
import { A, GiB, MiB, RecordingTlb, kb, machine } from './helpers/machine.js';

/** The stock stack: buddy pages, x86 page tables, pte_ref accounting. */
function stock(hooks = {}) {
  const buddy = new BuddyAllocator({ memory: 2 * GiB_BYTES, pcp: false });
  const zeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 0)!;
  const hugeZeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 9)!;
  const pteRef = new PteRef(zeroPfn);
  const tlb = new RecordingTlb();
  const clock = new SimClock();
  const mm = new AddressSpace({ id: 1, allocator: buddy, pageTables: createPageTable, zeroPfn, hugeZeroPfn, observer: pteRef.observerFor(1), tlb, clock, hooks });
  return { buddy, pteRef, mm, tlb, clock };
}

describe('on the stock buddy allocator and pte_ref', () => {
  it('zero-page attack: pte_ref counts every PTE table, DONTNEED frees them, buddy gets the pages back', () => {
    const { buddy, pteRef, mm, tlb } = stock();
    const free0 = buddy.nrFreePages();
    mm.mmap({ addr: A, pages: GiB, fixedNoreplace: true, noreserve: true });
    mm.touch(A, GiB, 2 * MiB, false);
    expect(kb(mm)).toEqual([2056, 0]);
    expect(pteRef.pteTableCount(1)).toBe(512);
    expect(pteRef.reclaimablePtBytes(1)).toBe(0); // one zero entry each: neither empty nor zero-only
    expect(free0 - buddy.nrFreePages()).toBe(512 + 2); // PTE tables, PMD + PUD (the top table came with the mm)
    mm.madvise(A, GiB, 'dontneed');
    expect(kb(mm)).toEqual([8, 0]);
    expect(pteRef.reclaimablePtBytes(1)).toBe(0);
    expect(tlb.ranges.at(-1)).toEqual({ asid: 1, start: A, end: A + GiB, freedTables: true });
    mm.exit();
    expect(buddy.nrFreePages()).toBe(free0 + 1); // pgd_free too
  });

  it('tryFreePteTable frees empty tables and, when allowed, zero-only ones, with full accounting', () => {
    const { pteRef, mm, tlb } = stock();
    mm.mmap({ addr: A, pages: 8 * MiB, fixedNoreplace: true });
    mm.touch(A, 8 * MiB, 1, false); // 4 zero-only tables
    mm.touch(A + 2 * MiB, 1, 1, true); // table 1 holds an anonymous page
    mm.madvise(A + 4 * MiB, 1, 'dontneed');
    mm.madvise(A + 4 * MiB + 1, 511, 'dontneed'); // table 2: empty but still there
    expect(kb(mm)).toEqual([24, 4]);
    expect(pteRef.reclaimablePtBytes(1)).toBe(3 * 4096); // tables 0 and 3 zero-only, table 2 empty
    expect(mm.tryFreePteTable(A, { allowZeroPages: false })).toBe(false);
    expect(mm.tryFreePteTable(A + 4 * MiB + 7, { allowZeroPages: false })).toBe(true);
    expect(tlb.ranges.at(-1)).toEqual({ asid: 1, start: A + 4 * MiB, end: A + 6 * MiB, freedTables: true });
    expect(mm.tryFreePteTable(A, { allowZeroPages: true })).toBe(true);
    expect(mm.tryFreePteTable(A + 2 * MiB, { allowZeroPages: true })).toBe(false);
    expect(mm.tryFreePteTable(A, { allowZeroPages: true })).toBe(false); // already gone
    expect(kb(mm)).toEqual([16, 4]);
    expect(pteRef.pteTableCount(1)).toBe(2);
    const c = mm.counters();
    expect(c['pt_reclaim.pte_tables_freed']).toBe(2);
    expect(c['mmap_lock.write_hold_ns']).toBeGreaterThan(0);
    // A refault recreates the table.
    expect(mm.fault(A, false)).toBe(0);
    expect(kb(mm)).toEqual([20, 4]);
  });

  it('tryFreePteTable scans up to the first entry that is not the zero page and changes nothing then', () => {
    const { pteRef, mm, clock } = stock();
    mm.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    expect(mm.touch(A, 4 * MiB, 1, false)).toBe(0); // 2 zero-only tables
    expect(mm.fault(A + 100, true)).toBe(0); // table 0: entry 100 is an anonymous page
    mm.mprotect(A + 2 * MiB + 300, 1, 0); // table 1: entry 300 is a PROT_NONE zero page
    const t0 = clock.now;
    expect(mm.tryFreePteTable(A + 5, { allowZeroPages: true, lock: 'write' })).toBe(false);
    expect(mm.counters()['pt_reclaim.entries_scanned']).toBe(101);
    expect(mm.counters()['mmap_lock.write_hold_ns']).toBe(101 * clock.costs.pte_scan_entry);
    expect(mm.tryFreePteTable(A + 2 * MiB, { allowZeroPages: true, lock: 'none' })).toBe(false);
    expect(mm.counters()['pt_reclaim.entries_scanned']).toBe(101 + 301);
    expect(mm.pageTable.presentCount(A, 1)).toBe(512);
    expect(mm.pageTable.presentCount(A + 2 * MiB, 1)).toBe(512);
    expect(mm.pageTable.entryPfn(A + 99, 1)).toBe(mm.pageTable.entryPfn(A + 101, 1)); // zero pages kept
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
    expect(clock.now - t0).toBe(0); // background hold: the caller does not stall
    // A zero-only table goes with all 512 entries scanned; pte_ref hears every clear.
    mm.mprotect(A + 2 * MiB + 300, 1, 3); // present again (pte_modify keeps the frame)
    expect(mm.tryFreePteTable(A + 2 * MiB, { allowZeroPages: true, lock: 'none' })).toBe(true);
    expect(mm.counters()['pt_reclaim.entries_scanned']).toBe(101 + 301 + 512);
    expect(mm.pageTable.tableAt(A + 2 * MiB, 1)).toBe(-1);
    expect(mm.status().nr_ptes).toBe(1);
    expect(pteRef.pteTableCount(1)).toBe(1);
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
  });

  it('a background writer makes faults wait without per-VMA locks, and only VMA-locking writers with them', () => {
    const { mm, clock } = stock();
    mm.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    mm.mmapLock.writeBackground(10_000);
    const t0 = clock.now;
    mm.fault(A, false);
    expect(mm.counters()['mmap_lock.waiters']).toBe(0); // per-VMA lock: the fault did not wait
    expect(clock.now - t0).toBe(1600);
    const m2 = machine().mm({ perVmaLock: false });
    m2.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    m2.mmapLock.writeBackground(10_000);
    const t1 = m2.clock.now;
    m2.fault(A, false);
    expect(m2.counters()['mmap_lock.waiters']).toBe(1);
    expect(m2.clock.now - t1).toBe(10_000 + 1600);
    m2.mmapLock.writeBackground(5_000, true);
    expect(m2.mmapLock.writeHoldNs).toBeGreaterThanOrEqual(15_000);
  });

  it('hooks: refusing a table allocation fails the fault with VM_FAULT_OOM; afterZap sees each call; onTableAlloc counts refaults', () => {
    const seen: string[] = [];
    let refuse = false;
    const allocs: Level[] = [];
    const { mm } = stock({
      beforeTableAlloc: () => !refuse,
      onTableAlloc: (_mm: unknown, _vpn: number, level: Level) => void allocs.push(level),
      afterZap: (_mm: unknown, s: number, e: number, cause: string) => void seen.push(`${cause}:${e - s}`),
    });
    mm.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    mm.fault(A, false);
    expect(allocs).toEqual([3, 2, 1]);
    refuse = true;
    expect(mm.fault(A + 2 * MiB, false)).toBe(1); // VM_FAULT_OOM
    expect(mm.counters().tables_alloc_refused).toBe(1);
    refuse = false;
    mm.madvise(A, 2 * MiB, 'dontneed');
    mm.munmap(A, 4 * MiB);
    expect(seen).toEqual([`dontneed:${2 * MiB}`, `munmap:${4 * MiB}`]);
  });

  it('the simulated clock charges the measured fault and DONTNEED costs', () => {
    const { mm, clock } = stock();
    mm.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    const t0 = clock.now;
    mm.touch(A, 2 * MiB, 1, false);
    expect(clock.now - t0).toBe(1600 + 511 * 500);
    const t1 = clock.now;
    mm.touch(A + 2 * MiB, 1, 1, true);
    expect(clock.now - t1).toBe(2350);
    const t2 = clock.now;
    mm.madvise(A, 2 * MiB, 'dontneed');
    expect(clock.now - t2).toBe(20 + 650 + 512 * 10); // read lock, one table freed, 512 zero entries
  });

  it('AddressSpace is a ReclaimMm and MmRegistry an OomHost', () => {
    const { mm } = stock();
    const asReclaim: ReclaimMm = mm;
    const reg = new MmRegistry();
    const host: OomHost = reg;
    reg.add(mm);
    mm.mmap({ addr: A, pages: 2 * MiB, fixedNoreplace: true });
    mm.touch(A, 4, 1, true);
    expect(host.oomStats(1)).toEqual({ rssPages: 4, pgtablesBytes: 12288, swapents: 0, oomScoreAdj: 0 });
    host.oomKill(1);
    expect(asReclaim.exited).toBe(true);
    expect(host.oomStats(1)).toBeNull();
  });

  it('statusText has the kernel format', () => {
    const { mm } = stock();
    mm.mmap({ addr: A, pages: 2 * MiB, fixedNoreplace: true });
    mm.touch(A, 2, 1, true);
    expect(mm.statusText()).toContain('RssAnon:\t       8 kB\n');
    expect(mm.statusText()).toContain('VmPTE:\t      12 kB\n');
  });
});

describe('MADV_FREE over a PTE-mapped THP (madvise_free_pte_range + split_folio, 6.12 zero-page remap)', () => {
  // Kernel numbers (Linux 6.18.44 here, validation/thp-split-free-munmap.jsonl): VmPTE 12 kB
  // throughout; RssAnon 2048, 1792, 0, 4, 0 kB.
  it('maps every zero-filled subpage to the zero page once, and never brings back a freed frame', () => {
    const buddy = new BuddyAllocator({ memory: 2 * GiB_BYTES, pcp: false });
    const zeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 0)!;
    const hugeZeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 9)!;
    const pteRef = new PteRef(zeroPfn, { zeroRule: 'symmetric' });
    const mm = new AddressSpace({ id: 1, allocator: buddy, pageTables: createPageTable, zeroPfn, hugeZeroPfn, observer: pteRef.observerFor(1) });
    const free0 = buddy.nrFreePages();
    const K = 1 / 4; // pages per KiB
    mm.mmap({ addr: A, pages: 2 * MiB, fixedNoreplace: true, noreserve: true });
    mm.madvise(A, 2 * MiB, 'hugepage');
    mm.madvise(A, 2 * MiB, 'populate_write');
    expect(kb(mm)).toEqual([12, 2048]);
    mm.munmap(A + MiB, 256 * K); // splits the PMD; the folio stays whole, PTE-mapped
    expect(kb(mm)).toEqual([12, 1792]);
    mm.madvise(A + 1280 * K, 64 * K, 'free'); // cuts the folio: split_folio, all subpages zero-filled
    expect(kb(mm)).toEqual([12, 0]);
    expect(mm.pageTable.entryPfn(A + 1284 * K, 1)).toBe(zeroPfn);
    expect(mm.pageTable.entryPfn(A + 1280 * K + 15, 1)).toBe(zeroPfn);
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
    expect(mm.fault(A + 1284 * K, true)).toBe(0); // COW of the zero page
    expect(kb(mm)).toEqual([12, 4]);
    mm.munmap(A + MiB, MiB);
    expect(kb(mm)).toEqual([12, 0]);
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
    mm.exit();
    expect(buddy.nrFreePages()).toBe(free0 + 1); // every frame back once (+ the top table)
    buddy.checkInvariants();
  });
});
