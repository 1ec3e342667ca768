import { describe, expect, it } from 'vitest';
import { _PAGE_ACCESSED, _PAGE_NX, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, isKmodelError, SimClock } from '@kmodel/core';
import { CountingKernelTlb, DirectMap, PAGE_KERNEL, PAGE_KERNEL_LARGE } from '@kmodel/directmap';

const PUD = 512 * 512;
const GiB6 = [{ start: 0, end: 6 * PUD }];

function machine(nrCpus = 4) {
  const clock = new SimClock();
  const tlb = new CountingKernelTlb(nrCpus, clock);
  const dm = new DirectMap({ ram: GiB6, tlb, clock });
  return { dm, tlb, clock };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isKmodelError(e) ? e.code : 'not-a-KmodelError';
  }
  return undefined;
}

describe('DirectMap boot', () => {
  it('maps 6 GiB with six 1 GiB leaves in the kernel page table', () => {
    const { dm } = machine();
    expect(dm.meminfo()).toEqual({ DirectMap4k: 0, DirectMap2M: 0, DirectMap1G: 6 * 1048576 });
    expect(dm.pageTable.entryFlags(dm.baseVpn, 3)).toBe(PAGE_KERNEL_LARGE);
    expect(dm.pageTable.entryPfn(dm.baseVpn + 5 * PUD, 3)).toBe(5 * PUD);
    expect(dm.pageTable.tableCount(2)).toBe(0);
    expect(dm.meminfoText()).toBe('DirectMap4k:           0 kB\nDirectMap2M:           0 kB\nDirectMap1G:     6291456 kB\n');
  });

  it('formats the lines like the live kernel', () => {
    // proc-meminfo.txt of the reference VM: "DirectMap1G:    25165824 kB".
    const dm = new DirectMap({ ram: [{ start: 0, end: 24 * PUD }] });
    expect(dm.meminfoText().split('\n')[2]).toBe('DirectMap1G:    25165824 kB');
  });
});

describe('per-page removal (set_direct_map_invalid_noflush + flush_tlb_kernel_range)', () => {
  it('splits 1G then 2M on the first page, and only flushes after that', () => {
    const { dm, tlb, clock } = machine(4);
    expect(dm.removeRange(1000, 1)).toBe(true);
    expect(dm.metrics()).toMatchObject({
      'directmap.split_1g': 1,
      'directmap.split_2m': 1,
      'directmap.kernel_pt_pages': 2,
      'directmap.flushes': 3, // two flush_tlb_all (one per split) + one range flush
    });
    expect(tlb.counters.snapshot()).toEqual({ 'tlb.flush_single': 4, 'tlb.flush_full': 8, 'tlb.ipis': 9 });
    expect(clock.now).toBe(2 * 2000 + 2 * 3300 + 100 + 9 * 1000);
    expect(dm.kernelPagePresent(1000)).toBe(false);
    expect(dm.kernelPagePresent(1001)).toBe(true);
    expect(dm.leafLevel(1000)).toBe(1);
    expect(dm.leafLevel(600)).toBe(1);
    expect(dm.leafLevel(512 * 5)).toBe(2);
    expect(dm.meminfo()).toEqual({ DirectMap4k: 512 * 4, DirectMap2M: 511 * 2048, DirectMap1G: 5 * 1048576 });
    expect(dm.vmstat()).toEqual({ direct_map_level2_splits: 1, direct_map_level3_splits: 1, direct_map_level2_collapses: 0, direct_map_level3_collapses: 0 });

    // Same 2 MiB block: no split; another block of the same GiB: one 2M split.
    dm.removeRange(1001, 1);
    dm.removeRange(5 * 512, 1);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 1, 'directmap.split_2m': 2, 'directmap.kernel_pt_pages': 3, 'directmap.flushes': 6 });
  });

  it('leaves the entry non-present with its PFN, and restores PRESENT|RW without GLOBAL or DIRTY', () => {
    const { dm } = machine();
    dm.removeRange(7, 1);
    const vpn = dm.baseVpn + 7;
    expect(dm.pageTable.entryFlags(vpn, 1)).toBe(_PAGE_ACCESSED | _PAGE_NX);
    expect(dm.pageTable.entryPfn(vpn, 1)).toBe(7);
    dm.restoreRange(7, 1);
    expect(dm.pageTable.entryFlags(vpn, 1)).toBe(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_NX);
    expect(dm.pageTable.entryFlags(vpn + 1, 1)).toBe(PAGE_KERNEL);
  });
});

describe('pageblock removal (freetype conversion)', () => {
  it('keeps the 2 MiB leaf, splitting only the 1 GiB leaf once per GiB', () => {
    const { dm, tlb } = machine(2);
    for (let b = 0; b < 10; b++) expect(dm.removeRange(PUD + b * 512, 512)).toBe(true);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 1, 'directmap.split_2m': 0, 'directmap.kernel_pt_pages': 1, 'directmap.flushes': 11 });
    // 512 pages > 33: every range flush is a full flush on both CPUs.
    expect(tlb.counters.snapshot()).toEqual({ 'tlb.flush_single': 0, 'tlb.flush_full': 22, 'tlb.ipis': 11 });
    expect(dm.leafLevel(PUD + 512)).toBe(2);
    expect(dm.mappedPagesInBlock(PUD + 512)).toBe(0);
    expect(dm.pageTable.entryFlags(dm.baseVpn + PUD, 2)).toBe(_PAGE_ACCESSED | _PAGE_NX);
    dm.restoreRange(PUD, 512);
    expect(dm.pageTable.entryFlags(dm.baseVpn + PUD, 2)).toBe(_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_NX | _PAGE_PSE);
    expect(dm.mappedPagesInBlock(PUD)).toBe(512);
  });

  it('a whole aligned GiB keeps its 1 GiB leaf', () => {
    const { dm } = machine();
    dm.removeRange(2 * PUD, PUD);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 0, 'directmap.kernel_pt_pages': 0, 'directmap.flushes': 1 });
    expect(dm.kernelPagePresent(2 * PUD + 77)).toBe(false);
    // Restoring one page of it needs a 1G and a 2M split.
    dm.restoreRange(2 * PUD + 77, 1);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 1, 'directmap.split_2m': 1, 'directmap.kernel_pt_pages': 2 });
    expect(dm.kernelPagePresent(2 * PUD + 77)).toBe(true);
    expect(dm.kernelPagePresent(2 * PUD + 78)).toBe(false);
  });
});

describe('bad input changes nothing', () => {
  it('rejects restoring a mapped range, removing an absent page, and ranges outside RAM', () => {
    const { dm, tlb, clock } = machine();
    dm.removeRange(600, 4);
    const before = { m: dm.metrics(), t: tlb.counters.snapshot(), now: clock.now, f: dm.pageTable.entryFlags(dm.baseVpn + 603, 1) };
    expect(codeOf(() => dm.restoreRange(598, 4))).toBe('E_ALREADY_MAPPED');
    expect(codeOf(() => dm.removeRange(603, 2))).toBe('E_NOT_MAPPED');
    expect(codeOf(() => dm.removeRange(6 * PUD - 1, 2))).toBe('E_NOT_RAM');
    expect(codeOf(() => dm.removeRange(-1, 1))).toBe('E_NOT_RAM');
    expect(codeOf(() => dm.restoreRange(600, 0))).toBe('E_NOT_RAM');
    expect({ m: dm.metrics(), t: tlb.counters.snapshot(), now: clock.now, f: dm.pageTable.entryFlags(dm.baseVpn + 603, 1) }).toEqual(before);
    expect(dm.kernelPagePresent(598)).toBe(true);
    expect(dm.kernelPagePresent(600)).toBe(false);
  });

  it('returns false and changes nothing when a split cannot get a page-table page', () => {
    let left = 1;
    let next = 1 << 30;
    const dm = new DirectMap({ ram: GiB6, tables: { allocTable: () => (left > 0 ? (left--, next++) : null), freeTable: () => { left++; } } });
    expect(dm.removeRange(10, 1)).toBe(false); // needs 2 tables, only 1 available
    expect(dm.leafLevel(10)).toBe(3);
    expect(dm.kernelPagePresent(10)).toBe(true);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 0, 'directmap.kernel_pt_pages': 0, 'directmap.flushes': 0 });
    expect(left).toBe(1);
    expect(dm.removeRange(0, 512)).toBe(true); // 1 table: the 1G split
  });
});

describe('collapse (cpa_collapse_large_pages)', () => {
  it('folds a PTE table back only when all 512 entries match again', () => {
    const { dm } = machine();
    dm.removeRange(512 + 3, 1);
    dm.restoreRange(512 + 3, 1);
    expect(dm.collapse(512, 512)).toBe(0); // page 3 lost GLOBAL|DIRTY: flags differ
    for (let i = 0; i < 512; i++) if (i !== 3) dm.removeRange(512 + i, 1);
    for (let i = 0; i < 512; i++) if (i !== 3) dm.restoreRange(512 + i, 1);
    const flushes = dm.counters.get('directmap.flushes');
    expect(dm.collapse(512, 512)).toBe(1);
    expect(dm.leafLevel(512)).toBe(2);
    expect(dm.metrics()).toMatchObject({ 'directmap.kernel_pt_pages': 1, 'directmap.collapse_2m': 1, 'directmap.collapse_1g': 0, 'directmap.flushes': flushes + 1 });
    expect(dm.pageTable.tableCount(1)).toBe(0);
  });

  it('folds a GiB of uniform 2 MiB leaves back into a 1 GiB leaf', () => {
    const dm = new DirectMap({ ram: [{ start: 0, end: PUD }], gbpages: true });
    // Split to 4K everywhere with uniform flags: remove and restore every page of every block.
    for (let b = 0; b < 512; b++) {
      dm.removeRange(b * 512, 1);
      dm.restoreRange(b * 512, 1);
      dm.removeRange(b * 512 + 1, 511);
      dm.restoreRange(b * 512 + 1, 511);
    }
    expect(dm.meminfo().DirectMap4k).toBe(PUD * 4);
    expect(dm.collapse(0, PUD)).toBe(513);
    expect(dm.meminfo()).toEqual({ DirectMap4k: 0, DirectMap2M: 0, DirectMap1G: 1048576 });
    expect(dm.kernelPtPages).toBe(0);
    expect(dm.vmstat().direct_map_level3_collapses).toBe(1);
  });
});

describe('with the pgtable TLB model', () => {
  it('a TlbSystem is a KernelTlbFlusher: splits and range flushes reach every CPU', async () => {
    const { TlbSystem } = await import('@kmodel/pgtable');
    const tlb = new TlbSystem({ cpus: 4 });
    const dm = new DirectMap({ ram: GiB6, tlb });
    dm.removeRange(1000, 1);
    expect(tlb.counters.snapshot()).toMatchObject({ 'tlb.flush_full': 8, 'tlb.flush_single': 4, 'tlb.ipis': 9 });
  });
});

describe('5-level paging', () => {
  it('puts the direct map at 0xff11000000000000 and splits the same way', () => {
    const dm = new DirectMap({ ram: GiB6, levels: 5 });
    expect(dm.baseVpn).toBe(0xff11000000000);
    expect(dm.pageTable.levels).toBe(5);
    dm.removeRange(PUD + 3, 1);
    expect(dm.metrics()).toMatchObject({ 'directmap.split_1g': 1, 'directmap.split_2m': 1, 'directmap.kernel_pt_pages': 2 });
    expect(dm.pageTable.entryPfn(dm.baseVpn + PUD + 4, 1)).toBe(PUD + 4);
  });
});
