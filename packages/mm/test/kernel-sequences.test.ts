import { describe, expect, it } from 'vitest';
import { PROT_READ } from '@kmodel/mm';
import { A, GiB, MiB, kb, machine } from './helpers/machine.js';

// Every expectation below was measured on this machine's kernel (Linux 6.18.44, x86-64,
// CONFIG_PT_RECLAIM=y, THP madvise, use_zero_page=1) with a C probe that maps at
// 0x100000000000 with MAP_FIXED_NOREPLACE | MAP_NORESERVE, touches, madvises and reads
// VmPTE / RssAnon from /proc/self/status (deltas against a baseline). Pairs are [VmPTE, RssAnon] in kB.

const rw = (pages: number, addr = A) => ({ addr, pages, fixedNoreplace: true, noreserve: true });

describe('zero-page attack and DONTNEED (PT_RECLAIM)', () => {
  it('one PTE table per 2 MiB, one PMD table per GiB, one PUD table: 16 GiB read once per 2 MiB', () => {
    const mm = machine().mm();
    mm.mmap(rw(16 * GiB));
    expect(mm.touch(A, 16 * GiB, 2 * MiB, false)).toBe(0);
    expect(kb(mm)).toEqual([32836, 0]);
    const s = mm.status();
    expect([s.nr_ptes, s.nr_pmds, s.nr_puds]).toEqual([8192, 16, 1]);
    mm.madvise(A, 16 * GiB, 'dontneed');
    expect(kb(mm)).toEqual([68, 0]);
  });

  it('read every page then write every page: VmPTE unchanged by the writes, RssAnon grows by the size', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    expect(kb(mm)).toEqual([16, 0]);
    mm.touch(A, 4 * MiB, 1, true);
    expect(kb(mm)).toEqual([16, 4096]);
  });

  it('DONTNEED in 4 KiB pieces frees nothing; a whole-range DONTNEED afterwards frees the empty tables', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    for (let i = 0; i < 1024; i++) mm.madvise(A + i, 1, 'dontneed');
    expect(kb(mm)).toEqual([16, 0]);
    mm.madvise(A, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([8, 0]);
  });

  it('DONTNEED over half blocks frees nothing', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    for (let i = 0; i < 4; i++) mm.madvise(A + i * MiB, MiB, 'dontneed');
    expect(kb(mm)).toEqual([16, 0]);
  });

  it('DONTNEED shifted by 1 MiB frees only the table it covers whole', () => {
    const mm = machine().mm();
    mm.mmap(rw(6 * MiB));
    mm.touch(A, 6 * MiB, 1, false);
    expect(kb(mm)).toEqual([20, 0]);
    mm.madvise(A + MiB, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([16, 0]);
  });

  it('DONTNEED per aligned 2 MiB block frees every PTE table but no PMD table', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, false);
    expect(kb(mm)).toEqual([24, 0]);
    for (let i = 0; i < 4; i++) mm.madvise(A + i * 2 * MiB, 2 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([8, 0]);
  });

  it('DONTNEED of written memory frees pages and tables', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, true);
    expect(kb(mm)).toEqual([24, 8192]);
    mm.madvise(A, 8 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([8, 0]);
  });

  it('DONTNEED over a range where only part was touched frees the touched table too', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 1, 1, false);
    expect(kb(mm)).toEqual([12, 0]);
    mm.madvise(A, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([8, 0]);
  });

  it('a DONTNEED split across two VMAs (mprotect in between) frees only the table one VMA covers whole', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    mm.mprotect(A + MiB, MiB, PROT_READ);
    expect(mm.mapCount).toBe(3);
    expect(kb(mm)).toEqual([16, 0]);
    mm.madvise(A, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([12, 0]);
  });

  it('linux-6.13 (no PT_RECLAIM): DONTNEED never frees tables', () => {
    const mm = machine().mm({ profile: 'linux-6.13' });
    mm.mmap(rw(16 * GiB));
    mm.touch(A, 16 * GiB, 2 * MiB, false);
    mm.madvise(A, 16 * GiB, 'dontneed');
    expect(kb(mm)).toEqual([32836, 0]);
  });
});

describe('MADV_FREE without memory pressure', () => {
  it('leaves written pages, RSS and tables in place', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, true);
    mm.madvise(A, 8 * MiB, 'free');
    expect(kb(mm)).toEqual([24, 8192]);
  });
  it('leaves zero-page tables in place', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, false);
    mm.madvise(A, 8 * MiB, 'free');
    expect(kb(mm)).toEqual([24, 0]);
  });
});

describe('munmap and free_pgtables floor / ceiling', () => {
  it('munmap of whole 2 MiB blocks frees their tables, the last one frees the PMD and PUD tables', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.touch(A, 8 * MiB, 1, false);
    mm.munmap(A, 2 * MiB);
    mm.munmap(A + 2 * MiB, 2 * MiB);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A + 4 * MiB, 2 * MiB);
    mm.munmap(A + 6 * MiB, 2 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('munmap of 4 KiB holes frees no table', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    for (let i = 0; i < 256; i++) mm.munmap(A + 2 * i, 1);
    expect(kb(mm)).toEqual([16, 0]);
    expect(mm.mapCount).toBe(256);
  });

  it('munmap of every 4 KiB page of a 2 MiB block frees its table with the last one', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    for (let i = 0; i < 511; i++) mm.munmap(A + i, 1);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A + 511, 1);
    expect(kb(mm)).toEqual([12, 0]);
  });

  it('two adjacent regions sharing a PMD table, unmapped one after the other', () => {
    const mm = machine().mm();
    mm.mmap(rw(2 * MiB));
    mm.mmap(rw(2 * MiB, A + 2 * MiB));
    expect(mm.mapCount).toBe(1); // merged, as vma_merge_new_range does
    mm.touch(A, 4 * MiB, 1, false);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A, 2 * MiB);
    expect(kb(mm)).toEqual([12, 0]);
    mm.munmap(A + 2 * MiB, 2 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('unmapping the middle of three VMAs keeps the table its neighbours share (floor / ceiling)', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB));
    mm.touch(A, 4 * MiB, 1, false);
    mm.mprotect(A + MiB, MiB, PROT_READ);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A + MiB, MiB);
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A, MiB);
    expect(kb(mm)).toEqual([12, 0]);
    mm.munmap(A + 2 * MiB, 2 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('one munmap over two VMAs 1 GiB apart frees both PMD tables and the PUD table', () => {
    const mm = machine().mm();
    mm.mmap(rw(2 * MiB));
    mm.mmap(rw(2 * MiB, A + GiB));
    mm.touch(A, 2 * MiB, 1, false);
    mm.touch(A + GiB, 2 * MiB, 1, false);
    expect(kb(mm)).toEqual([20, 0]);
    mm.munmap(A, GiB + 2 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('a region starting 1 MiB past a 2 MiB boundary', () => {
    const mm = machine().mm();
    mm.mmap(rw(4 * MiB, A + MiB));
    mm.touch(A + MiB, 4 * MiB, 1, false);
    expect(kb(mm)).toEqual([20, 0]);
    mm.madvise(A + MiB, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(A + MiB, 4 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('a region crossing a 512 GiB boundary needs two of each table', () => {
    const mm = machine().mm();
    const B = 3 * 512 * GiB - 2 * MiB;
    mm.mmap(rw(4 * MiB, B));
    mm.touch(B, 4 * MiB, 1, false);
    expect(kb(mm)).toEqual([24, 0]);
    mm.madvise(B, 4 * MiB, 'dontneed');
    expect(kb(mm)).toEqual([16, 0]);
    mm.munmap(B, 4 * MiB);
    expect(kb(mm)).toEqual([0, 0]);
  });

  it('1 TiB across a 512 GiB boundary, one read per 2 MiB', () => {
    const mm = machine().mm();
    const B = 2.5 * 512 * GiB;
    mm.mmap(rw(1024 * GiB, B));
    expect(mm.touch(B, 1024 * GiB, 2 * MiB, false)).toBe(0);
    expect(kb(mm)).toEqual([2101260, 0]);
    mm.madvise(B, 1024 * GiB, 'dontneed');
    expect(kb(mm)).toEqual([4108, 0]);
    mm.munmap(B, 1024 * GiB);
    expect(kb(mm)).toEqual([0, 0]);
  });
});

describe('MADV_POPULATE and MAP_POPULATE', () => {
  it('MAP_POPULATE of a writable mapping writes every page', () => {
    const mm = machine().mm();
    mm.mmap({ ...rw(4 * MiB), populate: true });
    expect(kb(mm)).toEqual([16, 4096]);
  });

  it('POPULATE stops at the first hole (ENOMEM) and refuses an area without the access (EINVAL)', () => {
    const m = machine();
    const a = m.mm();
    a.mmap(rw(2 * MiB, A + 2 * MiB));
    expect(() => a.madvise(A, 4 * MiB, 'populate_read')).toThrow(expect.objectContaining({ code: 'E_UNMAPPED' }));
    expect(kb(a)).toEqual([0, 0]); // measured: +0 kB
    const b = m.mm();
    b.mmap(rw(2 * MiB));
    b.mmap(rw(2 * MiB, A + 4 * MiB));
    expect(() => b.madvise(A, 6 * MiB, 'populate_read')).toThrow(expect.objectContaining({ code: 'E_UNMAPPED' }));
    expect(kb(b)).toEqual([12, 0]); // measured: only the part before the hole
    const c = m.mm();
    c.mmap(rw(2 * MiB));
    c.mprotect(A, 2 * MiB, PROT_READ);
    expect(() => c.madvise(A, 2 * MiB, 'populate_write')).toThrow(expect.objectContaining({ code: 'E_POPULATE_ACCESS' }));
    expect(kb(c)).toEqual([0, 0]);
  });

  it('POPULATE_READ maps zero pages, POPULATE_WRITE allocates', () => {
    const mm = machine().mm();
    mm.mmap(rw(8 * MiB));
    mm.madvise(A, 8 * MiB, 'populate_read');
    expect(kb(mm)).toEqual([24, 0]);
    mm.madvise(A, 4 * MiB, 'populate_write');
    expect(kb(mm)).toEqual([24, 4096]);
  });
});
