import { describe, expect, it } from 'vitest';
import { _PAGE_PSE, _PAGE_RW } from '@kmodel/core';
import { A, MiB, kb, machine } from './helpers/machine.js';

// Measured on this machine (Linux 6.18.44, THP madvise, use_zero_page=1): see kernel-sequences.test.ts.
const rw = (pages: number, addr = A) => ({ addr, pages, fixedNoreplace: true, noreserve: true });

describe('THP and the huge zero page (MADV_HUGEPAGE)', () => {
  it('a read maps the huge zero page at PMD level and deposits a PTE table (counted in VmPTE)', () => {
    const m = machine();
    const mm = m.mm();
    mm.mmap(rw(8 * MiB));
    mm.madvise(A, 8 * MiB, 'hugepage');
    mm.touch(A, 8 * MiB, 2 * MiB, false);
    expect(kb(mm)).toEqual([24, 0]);
    expect(mm.status().nr_ptes).toBe(4);
    expect(mm.depositedTables).toBe(4);
    expect(mm.pageTable.entryPfn(A, 2)).toBe(m.hugeZeroPfn);
    expect(mm.pageTable.entryFlags(A, 2) & _PAGE_PSE).toBe(_PAGE_PSE);
    expect(mm.pageTable.tableCount(1)).toBe(0);
  });

  it('a THP write fault, and a write to the huge zero page, each cost fault_write_thp on the simulated clock', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.madvise(A, 8 * MiB, 'hugepage');
    const c = mm.clock;
    let t = c.now;
    expect(mm.fault(A, true)).toBe(0);
    expect(c.now - t).toBe(215_000);
    expect(c.costs.fault_write_thp).toBe(215_000);
    expect(mm.fault(A + 2 * MiB, false)).toBe(0); // the huge zero page
    t = c.now;
    expect(mm.fault(A + 2 * MiB + 9, true)).toBe(0); // do_huge_zero_wp_pmd: a THP in place
    expect(c.now - t).toBe(215_000);
    expect(mm.counters().thp_fault_alloc).toBe(2);
  });

  it('a write to the huge zero page allocates a THP; DONTNEED of 4 KiB splits; DONTNEED of a whole block frees its deposit', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.madvise(A, 8 * MiB, 'hugepage');
    mm.touch(A, 8 * MiB, 2 * MiB, false);
    mm.touch(A, 1, 1, true);
    expect(kb(mm)).toEqual([24, 2048]);
    mm.madvise(A + 2 * MiB, 1, 'dontneed');
    expect(kb(mm)).toEqual([24, 2048]);
    expect(mm.pageTable.tableCount(1)).toBe(1); // the withdrawn deposit is now in the tree
    mm.madvise(A + 4 * MiB, 2 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([20, 2048]);
    mm.munmap(A, 8 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('write faults allocate 2 MiB pages; a 4 KiB DONTNEED splits one and drops 4 kB of RSS', () => {
    const m = machine();
    const free0 = m.allocator.nrFreePages();
    const mm = m.mm();
    mm.mmap(rw(8 * MiB));
    mm.madvise(A, 8 * MiB, 'hugepage');
    mm.touch(A, 8 * MiB, 2 * MiB, true);
    expect(kb(mm)).toEqual([24, 8192]);
    expect(mm.counters().thp_fault_alloc).toBe(4);
    mm.madvise(A, 1, 'dontneed');
    expect(kb(mm)).toEqual([24, 8188]);
    mm.munmap(A, 8 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
    mm.exit();
    expect(m.allocator.nrFreePages()).toBe(free0);
    expect(m.charger.bytes.anon).toBe(0);
    expect(m.charger.bytes.pagetables).toBe(0);
  });

  it('without a free 2 MiB block the write falls back to 4 KiB pages', () => {
    const m = machine(1024);
    const mm = m.mm();
    mm.mmap(rw(2 * MiB));
    mm.madvise(A, 2 * MiB, 'hugepage');
    expect(mm.fault(A, true)).toBe(0);
    expect(kb(mm)).toEqual([12, 4]);
    expect(mm.counters().thp_fault_fallback).toBe(1);
  });

  it('MADV_NOHUGEPAGE after MADV_HUGEPAGE maps 4 KiB zero pages again', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.madvise(A, 4 * MiB, 'hugepage');
    mm.madvise(A + 2 * MiB, 2 * MiB, 'nohugepage');
    expect(mm.mapCount).toBe(2);
    mm.touch(A, 4 * MiB, 1, false);
    expect(kb(mm)).toEqual([16, 0]);
    expect(mm.depositedTables).toBe(1);
    expect(mm.pageTable.tableCount(1)).toBe(1);
  });

  it('a PTE table already in place keeps its block on 4 KiB pages; the other block gets a THP', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 1, 1, false);
    mm.madvise(A, 4 * MiB, 'hugepage');
    mm.touch(A, 4 * MiB, 1, true);
    expect(kb(mm)).toEqual([16, 4096]);
    expect(mm.depositedTables).toBe(1);
  });

  it('a read in a MADV_HUGEPAGE block that already has a PTE table maps a 4 KiB zero page in it', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A + 100, 1, 1, true);
    mm.madvise(A, 4 * MiB, 'hugepage');
    expect(kb(mm)).toEqual([12, 4]);
    mm.madvise(A, 2 * MiB, 'populate_read');
    expect(kb(mm)).toEqual([12, 4]);
    expect(mm.depositedTables).toBe(0);
    expect(mm.pageTable.entryPfn(A, 1)).toBe(0); // the zero page of the test machine
  });

  it('mprotect inside a THP splits it; DONTNEED then frees only the deposit of the block one VMA covers', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.madvise(A, 4 * MiB, 'hugepage');
    mm.touch(A, 4 * MiB, 2 * MiB, true);
    expect(kb(mm)).toEqual([16, 4096]);
    mm.mprotect(A + MiB, MiB, 1);
    expect(kb(mm)).toEqual([16, 4096]);
    expect(mm.counters().thp_split_pmd).toBe(1);
    mm.madvise(A, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([12, 0]);
  });

  it('munmap of the first 1 MiB of a huge zero PMD splits it and frees no table', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.madvise(A, 4 * MiB, 'hugepage');
    mm.touch(A, 4 * MiB, 2 * MiB, false);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A, MiB);
    expect(kb(mm)).toEqual([16, 0]);
  });

  it('MADV_FREE over part of a THP splits the folio: zero-filled subpages go to the zero page (v6.12+)', () => {
    // Measured: 100 pages written, MADV_FREE of [4 KiB, 2 MiB): RssAnon 2048 -> 400 kB.
    const m = machine();
    const a = m.mm();
    a.mmap(rw(4 * MiB));
    a.madvise(A, 4 * MiB, 'hugepage');
    a.touch(A, 100, 1, true);
    expect(kb(a)).toEqual([12, 2048]);
    a.madvise(A + 1, 511, 'free');
    expect(kb(a)).toEqual([12, 400]);
    expect(a.pageTable.entryPfn(A + 200, 1)).toBe(m.zeroPfn);
    // MADV_POPULATE_WRITE stores nothing: every subpage is still zero-filled (measured: 2048 -> 0).
    const b = m.mm();
    b.mmap(rw(4 * MiB));
    b.madvise(A, 4 * MiB, 'hugepage');
    b.madvise(A, 2 * MiB, 'populate_write');
    expect(kb(b)).toEqual([12, 2048]);
    b.madvise(A + 1, 1, 'free');
    expect(kb(b)).toEqual([12, 0]);
    // A PTE-mapped THP (after a 4 KiB DONTNEED) splits the same way (measured: 2044 -> 400).
    const c = m.mm();
    c.mmap(rw(4 * MiB));
    c.madvise(A, 4 * MiB, 'hugepage');
    c.touch(A, 100, 1, true);
    c.madvise(A + 511, 1, 'dontneed');
    expect(kb(c)).toEqual([12, 2044]);
    c.madvise(A, 1, 'free');
    expect(kb(c)).toEqual([12, 400]);
    for (const mm of [a, b, c]) mm.exit();
    expect(m.charger.bytes.anon).toBe(0);
  });

  it('thp "never" ignores MADV_HUGEPAGE; "always" needs no madvise', () => {
    const m = machine();
    const never = m.mm({ thp: 'never' });
    never.mmap(rw(2 * MiB));
    never.madvise(A, 2 * MiB, 'hugepage');
    never.fault(A, false);
    expect(never.depositedTables).toBe(0);
    const always = m.mm({ thp: 'always' });
    always.mmap(rw(2 * MiB));
    always.fault(A, false);
    expect(always.depositedTables).toBe(1);
  });
});

describe('fork (copy_page_range, vma_needs_copy)', () => {
  it('after reads only (no anon_vma) the child gets no page tables', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, false);
    const child = mm.fork(99);
    expect(kb(mm)).toEqual([24, 0]);
    expect(kb(child)).toEqual([0, 0]);
    expect(child.mapCount).toBe(1);
  });

  it('after writes the child copies every table and shares every page', () => {
    const m = machine();
    const mm = m.mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, true);
    const used = m.allocator.managedPages() - m.allocator.nrFreePages();
    const child = mm.fork(99);
    expect(kb(child)).toEqual([24, 8192]);
    // Only the child's tables (4 PTE + PMD + PUD + top) were allocated: pages are shared.
    expect(m.allocator.managedPages() - m.allocator.nrFreePages() - used).toBe(7);
    expect(mm.pageTable.entryFlags(A, 1) & _PAGE_RW).toBe(0);
    // COW: the child's write copies one page; the parent's later write reuses its page.
    expect(child.fault(A, true)).toBe(0);
    expect(m.allocator.managedPages() - m.allocator.nrFreePages() - used).toBe(8);
    expect(mm.fault(A, true)).toBe(0);
    expect(m.allocator.managedPages() - m.allocator.nrFreePages() - used).toBe(8);
    expect(mm.fault(A + 1, true)).toBe(0);
    expect(m.allocator.managedPages() - m.allocator.nrFreePages() - used).toBe(9);
    child.exit();
    mm.exit();
    expect(m.allocator.managedPages() - m.allocator.nrFreePages()).toBe(513); // zero page + huge zero page
    expect(m.charger.bytes.anon).toBe(0);
  });

  it('after reads and one write the whole VMA is copied, zero-page entries included', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, false);
    mm.touch(A, 1, 1, true);
    const child = mm.fork(99);
    expect(kb(child)).toEqual([24, 4]);
  });

  it('nothing touched: nothing copied', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    expect(kb(mm.fork(99))).toEqual([0, 0]);
  });

  it('huge zero pages and THPs are copied with a deposited table each', () => {
    const m = machine();
    const r = m.mm();
    r.mmap(rw(8 * MiB));
    r.madvise(A, 8 * MiB, 'hugepage');
    r.touch(A, 8 * MiB, 2 * MiB, false);
    expect(kb(r.fork(98))).toEqual([24, 0]);
    const w = m.mm();
    w.mmap(rw(8 * MiB));
    w.madvise(A, 8 * MiB, 'hugepage');
    w.touch(A, 8 * MiB, 2 * MiB, true);
    const c = w.fork(99);
    expect(kb(c)).toEqual([24, 8192]);
    // A write to a shared THP splits the PMD and copies one 4 KiB page.
    expect(c.fault(A, true)).toBe(0);
    expect(kb(c)).toEqual([24, 8192]);
    expect(c.pageTable.tableCount(1)).toBe(1);
  });
});
