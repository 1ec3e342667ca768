import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER } from '@kmodel/core';
import type { Level } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import type { X86PageTable } from '@kmodel/pgtable';
import { codeOf, CountingTables, RecordingObserver } from './helpers.js';

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
const B = 0x7f0000000; // 2 MiB and 1 GiB aligned

function make() {
  const tables = new CountingTables();
  const observer = new RecordingObserver();
  const pt = createPageTable({ levels: 4, tables, observer });
  return { tables, observer, pt };
}

function map(pt: X86PageTable, vpn: number, pfn: number): void {
  pt.allocTable(vpn, 1);
  pt.setEntry(vpn, 1, pfn, RW);
}

describe('zapRangeReclaimPt (zap_pte_range with reclaim_pt)', () => {
  it('frees the PTE tables wholly inside the range, zaps the cut ones, keeps the PMD table', () => {
    const { pt, observer, tables } = make();
    map(pt, B + 5, 0x10); // table 0: cut by the range start
    map(pt, B + 512 + 1, 0x11); // table 1: inside (small form)
    for (let k = 0; k < 8; k++) map(pt, B + 1024 + 100 + k, 0x20 + k); // table 2: inside (dense form)
    map(pt, B + 1536 + 7, 0x30); // table 3: cut by the end, entry outside the range
    map(pt, B + 1536 + 1, 0x31); // table 3: entry inside the range
    const t1 = pt.tableAt(B + 512, 1);
    const t2 = pt.tableAt(B + 1024, 1);
    const live = tables.live;
    observer.calls = [];
    const seen: number[][] = [];
    const freed = pt.zapRangeReclaimPt(B + 3, B + 1536 + 4, (v, l, pfn) => seen.push([v - B, l, pfn]));
    expect(freed).toBe(2);
    expect(seen).toEqual([[5, 1, 0x10], [513, 1, 0x11], ...[0, 1, 2, 3, 4, 5, 6, 7].map((k) => [1124 + k, 1, 0x20 + k]), [1537, 1, 0x31]]);
    expect(pt.tableAt(B, 1)).toBeGreaterThanOrEqual(0); // cut: stays, empty
    expect(pt.presentCount(B, 1)).toBe(0);
    expect(pt.tableAt(B + 512, 1)).toBe(-1);
    expect(pt.tableAt(B + 1024, 1)).toBe(-1);
    expect(pt.entryPfn(B + 1536 + 7, 1)).toBe(0x30);
    expect(pt.presentCount(B, 2)).toBe(2); // PMD entries of tables 0 and 3
    expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3)]).toEqual([2, 1, 1]);
    expect(tables.live).toBe(live - 2);
    // each freed table is heard after its own entries' clears
    const kinds = observer.calls.map((c) => (c[0] === 'free' ? `free${c[1]}` : c[0]));
    expect(kinds).toEqual(['clear', 'clear', `free${t1}`, ...Array(8).fill('clear'), `free${t2}`, 'clear']);
  });

  it('clears a 2 MiB leaf in the range and frees no PMD table; an empty range does nothing', () => {
    const { pt, tables } = make();
    pt.allocTable(B, 2);
    pt.setEntry(B + 512, 2, 0x200000, RW | _PAGE_PSE);
    map(pt, B + 1024, 0x40);
    expect(pt.zapRangeReclaimPt(B + 512, B + 512)).toBe(0);
    const seen: number[][] = [];
    expect(pt.zapRangeReclaimPt(B, B + 1536, (v, l, pfn) => seen.push([v - B, l, pfn]))).toBe(1);
    expect(seen).toEqual([[512, 2, 0x200000], [1024, 1, 0x40]]);
    expect([pt.tableCount(1), pt.tableCount(2)]).toEqual([0, 1]);
    expect(tables.live).toBe(3);
  });

  it('rejects a range that cuts a huge leaf and changes nothing', () => {
    const { pt } = make();
    pt.allocTable(B, 2);
    pt.setEntry(B + 512, 2, 0x200000, RW | _PAGE_PSE);
    map(pt, B + 3, 0x41);
    expect(codeOf(() => pt.zapRangeReclaimPt(B, B + 600))).toBe('E_PARTIAL_HUGE');
    expect(pt.entryPfn(B + 3, 1)).toBe(0x41);
    expect(codeOf(() => pt.zapRangeReclaimPt(B + 10, B + 5))).toBe('E_BAD_RANGE');
  });

  it('a dense table emptied but not wholly in the range goes back to the small form', () => {
    const { pt } = make();
    for (let k = 0; k < 10; k++) map(pt, B + 200 + k, k);
    const t = pt.tableAt(B, 1);
    expect(pt.tableHostBytes(t)).toBeGreaterThan(4096);
    expect(pt.zapRangeReclaimPt(B + 100, B + 300)).toBe(0);
    expect(pt.tableAt(B, 1)).toBe(t);
    expect(pt.tableHostBytes(t)).toBeLessThan(100);
    map(pt, B + 7, 0x77);
    expect(pt.entryPfn(B + 7, 1)).toBe(0x77);
  });

  it('property: same entries, tables, visits and observer calls as zapRange then freePteTable of each empty whole table', () => {
    const entry = fc.tuple(fc.integer({ min: 0, max: 8 * 512 - 1 }), fc.integer({ min: 1, max: 0xfffff }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 3 }), fc.integer({ min: 0, max: 8 * 512 }), fc.integer({ min: 0, max: 8 * 512 }), (entries, huge, a, b) => {
        const [s, e] = a <= b ? [a, b] : [b, a];
        const one = make();
        const two = make();
        // 2 MiB leaves first (blocks with no PTE table), then 4 KiB entries outside them
        for (const pt of [one.pt, two.pt]) {
          pt.allocTable(B, 2);
          for (const h of huge) if (pt.entryFlags(B + h * 512, 2) === 0) pt.setEntry(B + h * 512, 2, 0x200000 * (h + 1), RW | _PAGE_PSE);
          for (const [o, pfn] of entries) if (!huge.includes(o >> 9)) map(pt, B + o, pfn);
        }
        // An empty range zaps nothing and cuts nothing.
        const cuts = s < e && huge.some((h) => (s > h * 512 && s < h * 512 + 512) || (e > h * 512 && e < h * 512 + 512));
        if (cuts) {
          expect(codeOf(() => one.pt.zapRangeReclaimPt(B + s, B + e))).toBe('E_PARTIAL_HUGE');
          return;
        }
        one.observer.calls = [];
        two.observer.calls = [];
        const v1: number[][] = [];
        const v2: number[][] = [];
        const freed = one.pt.zapRangeReclaimPt(B + s, B + e, (v, l, pfn, f) => v1.push([v, l, pfn, f]));
        two.pt.zapRange(B + s, B + e, (v, l, pfn, f) => v2.push([v, l, pfn, f]));
        let n = 0;
        for (let blk = Math.ceil(s / 512) * 512; blk + 512 <= e; blk += 512)
          if (two.pt.presentCount(B + blk, 1) === 0 && two.pt.freePteTable(B + blk)) n++;
        expect(freed).toBe(n);
        expect(v1).toEqual(v2);
        expect(one.observer.calls.filter((c) => c[0] === 'clear')).toEqual(two.observer.calls.filter((c) => c[0] === 'clear'));
        expect(one.observer.calls.filter((c) => c[0] === 'free').length).toBe(n);
        for (const l of [1, 2, 3] as Level[]) expect(one.pt.tableCount(l)).toBe(two.pt.tableCount(l));
        expect(one.tables.live).toBe(two.tables.live);
        for (let o = 0; o < 8 * 512; o += 37) for (const l of [1, 2] as Level[]) expect(one.pt.entryPfn(B + o, l)).toBe(two.pt.entryPfn(B + o, l));
        expect(one.pt.hostBytes()).toBe(two.pt.hostBytes());
      }),
      { numRuns: 200 },
    );
  });
});
