import { describe, expect, it } from 'vitest';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PAT_LARGE,
  _PAGE_PKEY_SHIFT,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SOFT_DIRTY,
  _PAGE_USER,
  KmodelError,
} from '@kmodel/core';
import { createPageTable, X86PageTable } from '@kmodel/pgtable';
import { codeOf, CountingTables, RecordingObserver } from './helpers.js';

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

function make(levels: 4 | 5 = 4) {
  const tables = new CountingTables();
  const observer = new RecordingObserver();
  const pt = createPageTable({ levels, tables, observer });
  return { tables, observer, pt };
}

describe('entries at the PTE level', () => {
  it('allocTable builds the PUD, PMD and PTE tables with _PAGE_TABLE pointers and reports them', () => {
    const { pt, observer, tables } = make();
    const vpn = 0x7f0000123;
    expect(pt.tableAt(vpn, 1)).toBe(-1);
    expect(pt.allocTable(vpn, 1)).toBe(true);
    expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3), pt.tableCount(4)]).toEqual([1, 1, 1, 1]);
    expect(tables.live).toBe(4);
    // PGD entry -> PUD table at pfn 0x100001 with flags P|RW|US|A|D.
    expect(pt.entryPfn(vpn, 4)).toBe(0x100001);
    expect(pt.entryFlags(vpn, 4)).toBe(0x67);
    expect(pt.entryPfn(vpn, 2)).toBe(0x100003);
    expect(observer.calls.map((c) => c.slice(0, 1).concat(c.slice(2)))).toEqual([
      ['alloc', 3, 0x7f0000123 - (0x7f0000123 % 512 ** 3)],
      ['alloc', 2, 0x7f0000123 - (0x7f0000123 % 512 ** 2)],
      ['alloc', 1, 0x7f0000000],
    ]);
    // A second call allocates nothing.
    expect(pt.allocTable(vpn + 1, 1)).toBe(true);
    expect(tables.live).toBe(4);
  });

  it('setEntry / clearEntry round-trip every bit and report pteSet / pteClear with the halves', () => {
    const { pt, observer } = make();
    const vpn = 0x12345;
    pt.allocTable(vpn, 1);
    observer.calls = [];
    const flags = RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_NX | (0xb << _PAGE_PKEY_SHIFT) | _PAGE_PSE /* PAT in a PTE */;
    const pfn = 2 ** 40 - 1;
    pt.setEntry(vpn, 1, pfn, flags);
    expect(pt.entryPfn(vpn, 1)).toBe(pfn);
    expect(pt.entryFlags(vpn, 1)).toBe(flags);
    // Raw halves: pfn bits 12..31 in lo, 32..51 in hi; NX = bit 31 of hi; pkey 0xb in hi bits 27..30.
    const lo = (pt as X86PageTable).entryLo(vpn, 1);
    const hi = (pt as X86PageTable).entryHi(vpn, 1);
    expect(lo).toBe((0xfffff000 | (flags & 0xfff)) >>> 0);
    expect(hi).toBe((0xfffff | 0x80000000 | (0xb << 27)) >>> 0);
    expect(pt.presentCount(vpn, 1)).toBe(1);
    const t = pt.tableAt(vpn, 1);
    expect(observer.calls).toEqual([['set', t, 0x145, 0, 0, lo, hi]]);
    expect(pt.clearEntry(vpn, 1)).toBe(pfn);
    expect(pt.entryPfn(vpn, 1)).toBe(-1);
    expect(pt.entryFlags(vpn, 1)).toBe(0);
    expect(pt.presentCount(vpn, 1)).toBe(0);
    expect(observer.calls[1]).toEqual(['clear', t, 0x145, lo, hi]);
    // Clearing a none PTE still reports, with zero halves, and returns -1.
    expect(pt.clearEntry(vpn, 1)).toBe(-1);
    expect(observer.calls[2]).toEqual(['clear', t, 0x145, 0, 0]);
  });

  it('a table holds all 512 entries across the small-to-dense promotion and back', () => {
    const { pt } = make();
    pt.allocTable(0, 1);
    for (let i = 0; i < 512; i++) pt.setEntry(i, 1, 1000 + i, RW);
    expect(pt.presentCount(0, 1)).toBe(512);
    for (let i = 0; i < 512; i++) expect(pt.entryPfn(i, 1)).toBe(1000 + i);
    for (let i = 0; i < 512; i += 2) pt.clearEntry(i, 1);
    expect(pt.presentCount(0, 1)).toBe(256);
    for (let i = 0; i < 512; i++) expect(pt.entryPfn(i, 1)).toBe(i % 2 ? 1000 + i : -1);
    for (let i = 1; i < 512; i += 2) pt.clearEntry(i, 1);
    expect(pt.presentCount(0, 1)).toBe(0);
    pt.setEntry(7, 1, 77, RW);
    expect(pt.entryPfn(7, 1)).toBe(77);
    expect(pt.presentCount(0, 1)).toBe(1);
  });

  it('overwriting a present PTE keeps the count and reports old and new halves', () => {
    const { pt, observer } = make();
    pt.allocTable(5, 1);
    pt.setEntry(5, 1, 10, RW);
    pt.setEntry(5, 1, 11, _PAGE_PRESENT | _PAGE_USER);
    expect(pt.presentCount(5, 1)).toBe(1);
    expect(pt.entryPfn(5, 1)).toBe(11);
    const last = observer.calls.at(-1)!;
    expect(last.slice(3)).toEqual([(10 << 12) | RW, 0, (11 << 12) | 5, 0]);
  });
});

describe('huge leaves', () => {
  it('a 2 MiB leaf needs no PTE table, keeps PAT_LARGE apart from the PFN, and blocks __pte_alloc', () => {
    const { pt, tables } = make();
    const vpn = 512 * 7;
    pt.allocTable(vpn, 2);
    pt.setEntry(vpn + 3, 2, 512 * 9, RW | _PAGE_PSE | _PAGE_PAT_LARGE);
    expect(pt.tableCount(1)).toBe(0);
    expect(tables.live).toBe(3);
    expect(pt.entryPfn(vpn + 100, 2)).toBe(512 * 9);
    expect(pt.entryFlags(vpn, 2)).toBe(RW | _PAGE_PSE | _PAGE_PAT_LARGE);
    expect((pt as X86PageTable).entryLo(vpn, 2) & 0x1000).toBe(0x1000);
    expect(pt.tableAt(vpn, 1)).toBe(-1);
    expect(pt.entryPfn(vpn, 1)).toBe(-1);
    expect(codeOf(() => pt.allocTable(vpn, 1))).toBe('E_HUGE_LEAF');
    expect(codeOf(() => pt.setEntry(vpn, 1, 1, RW))).toBe('E_NO_TABLE');
    expect(pt.tableCount(1)).toBe(0);
    expect(pt.clearEntry(vpn, 2)).toBe(512 * 9);
    expect(pt.allocTable(vpn, 1)).toBe(true);
  });

  it('a 1 GiB leaf sits in the PUD table', () => {
    const { pt } = make();
    const vpn = 512 * 512 * 3;
    pt.allocTable(vpn, 3);
    pt.setEntry(vpn, 3, 512 * 512 * 5, RW | _PAGE_PSE);
    expect(pt.entryPfn(vpn + 12345, 3)).toBe(512 * 512 * 5);
    expect(pt.tableAt(vpn, 2)).toBe(-1);
    expect(pt.tableCount(2)).toBe(0);
  });

  it('a level-2 entry that points to a table cannot be overwritten or cleared', () => {
    const { pt } = make();
    pt.allocTable(0, 1);
    expect(codeOf(() => pt.setEntry(0, 2, 512, RW | _PAGE_PSE))).toBe('E_TABLE_PRESENT');
    expect(codeOf(() => pt.clearEntry(0, 2))).toBe('E_TABLE_PRESENT');
    expect(pt.tableAt(0, 1)).toBeGreaterThanOrEqual(0);
  });
});

describe('bad input changes nothing', () => {
  const cases: [string, (pt: X86PageTable) => unknown, string][] = [
    ['non-canonical vpn (bit 47 set, 4-level)', (pt) => pt.setEntry(2 ** 35, 1, 1, RW), 'E_NONCANONICAL'],
    ['non-canonical vpn just below the upper half', (pt) => pt.allocTable(2 ** 52 - 2 ** 35 - 1, 1), 'E_NONCANONICAL'],
    ['fractional vpn', (pt) => pt.entryPfn(1.5, 1), 'E_NONCANONICAL'],
    ['negative vpn', (pt) => pt.tableAt(-1, 1), 'E_NONCANONICAL'],
    ['unaligned 2 MiB leaf', (pt) => pt.setEntry(0, 2, 513, RW | _PAGE_PSE), 'E_UNALIGNED'],
    ['unaligned 1 GiB leaf', (pt) => pt.setEntry(0, 3, 512, RW | _PAGE_PSE), 'E_UNALIGNED'],
    ['PFN beyond 52-bit physical addresses', (pt) => pt.setEntry(1, 1, 2 ** 40, RW), 'E_PFN_RANGE'],
    ['negative PFN', (pt) => pt.setEntry(1, 1, -1, RW), 'E_PFN_RANGE'],
    ['unknown level 0', (pt) => pt.allocTable(0, 0 as never), 'E_BAD_LEVEL'],
    ['unknown level 5 in 4-level mode', (pt) => pt.tableCount(5 as never), 'E_BAD_LEVEL'],
    ['leaf above 1 GiB', (pt) => pt.setEntry(0, 4, 0, RW | _PAGE_PSE), 'E_BAD_LEVEL'],
    ['unknown flag bits', (pt) => pt.setEntry(1, 1, 1, 1 << 25), 'E_BAD_FLAGS'],
    ['PAT_LARGE in a 4 KiB PTE', (pt) => pt.setEntry(1, 1, 1, RW | _PAGE_PAT_LARGE), 'E_BAD_FLAGS'],
    ['present level-2 entry without PSE', (pt) => pt.setEntry(0, 2, 512, RW), 'E_BAD_FLAGS'],
    ['range ending below its start', (pt) => pt.zapRange(10, 5), 'E_BAD_RANGE'],
    ['range across the hole', (pt) => pt.zapRange(0, 2 ** 52), 'E_BAD_RANGE'],
    ['zap cutting a 2 MiB leaf', (pt) => pt.zapRange(1024 + 1, 2048), 'E_PARTIAL_HUGE'],
    ['freePmdTable of a busy PMD table', (pt) => pt.freePmdTable(0), 'E_TABLE_BUSY'],
  ];
  for (const [name, op, code] of cases) {
    it(`${name} -> ${code}`, () => {
      const { pt, tables } = make();
      pt.allocTable(0, 1);
      pt.setEntry(1, 1, 42, RW);
      pt.allocTable(1024, 2);
      pt.setEntry(1024, 2, 512, RW | _PAGE_PSE);
      const before = [pt.tableCount(1), pt.tableCount(2), pt.tableCount(3), tables.live, pt.entryPfn(1, 1), pt.entryPfn(1024, 2), pt.presentCount(0, 1)];
      let err: unknown;
      try {
        op(pt as X86PageTable);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KmodelError);
      expect((err as KmodelError).code).toBe(code);
      expect((err as KmodelError).message).toContain(code);
      expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3), tables.live, pt.entryPfn(1, 1), pt.entryPfn(1024, 2), pt.presentCount(0, 1)]).toEqual(before);
    });
  }

  it('allocator failure returns false and keeps the tables allocated before it', () => {
    const { pt, tables } = make();
    tables.budget = 2;
    expect(pt.allocTable(0, 1)).toBe(false);
    expect([pt.tableCount(3), pt.tableCount(2), pt.tableCount(1)]).toEqual([1, 1, 0]);
  });
});

describe('the upper (kernel) half and 5-level paging', () => {
  it('maps the direct-map base 0xffff888000000000 in the upper half', () => {
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables, kernel: true });
    const vpn = Number(0xffff888000000000n >> 12n);
    expect(pt.allocTable(vpn, 2)).toBe(true);
    pt.setEntry(vpn, 2, 0, _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE);
    expect(pt.entryPfn(vpn + 5, 2)).toBe(0);
    expect(pt.entryFlags(vpn, 3)).toBe(0x63); // _KERNPG_TABLE
    expect(pt.entryFlags(vpn, 2)).toBe(_PAGE_PRESENT | _PAGE_RW | _PAGE_PSE);
    // PGD index of 0xffff888000000000 is 273 (bits 47..39).
    let seen = -1;
    pt.walk(pt.kernelStart, 2 ** 52, { table: (_t, level, base) => { if (level === 3) seen = base; } });
    expect(seen).toBe(vpn - (vpn % 512 ** 3));
    expect(Math.floor(seen / 512 ** 3) % 512).toBe(273);
  });

  it('5-level paging accepts 57-bit vpns and builds a P4D table', () => {
    const { pt } = make(5);
    const vpn = 2 ** 44 - 1; // top of the 57-bit lower half
    expect(pt.allocTable(vpn, 1)).toBe(true);
    expect([pt.tableCount(5), pt.tableCount(4), pt.tableCount(3), pt.tableCount(2), pt.tableCount(1)]).toEqual([1, 1, 1, 1, 1]);
    pt.setEntry(vpn, 1, 99, RW);
    expect(pt.entryPfn(vpn, 1)).toBe(99);
    expect(codeOf(() => pt.allocTable(2 ** 44, 1))).toBe('E_NONCANONICAL');
    expect(codeOf(() => make(4).pt.allocTable(vpn, 1))).toBe('E_NONCANONICAL');
  });
});

describe('zapRange, freePgtables, freePteTable', () => {
  it('zapRange clears leaves in order, visits each, reports PTE clears, and keeps tables', () => {
    const { pt, observer } = make();
    pt.allocTable(0, 1);
    for (const v of [3, 1, 2, 600 - 512 + 512]) {
      pt.allocTable(v, 1);
      pt.setEntry(v, 1, 100 + v, RW);
    }
    pt.allocTable(1024, 2);
    pt.setEntry(1024, 2, 512 * 4, RW | _PAGE_PSE);
    observer.calls = [];
    const seen: number[][] = [];
    expect(pt.zapRange(2, 1536, (v, l, pfn) => seen.push([v, l, pfn]))).toBe(4);
    expect(seen).toEqual([
      [2, 1, 102],
      [3, 1, 103],
      [600, 1, 700],
      [1024, 2, 2048],
    ]);
    expect(observer.calls.map((c) => c[0])).toEqual(['clear', 'clear', 'clear']);
    expect(pt.entryPfn(1, 1)).toBe(101);
    expect(pt.tableCount(1)).toBe(2);
  });

  it('freePgtables frees only empty tables whose span lies inside [floor, ceiling)', () => {
    const { pt, tables } = make();
    // PTE tables for the 2 MiB spans 0..3 and a neighbour entry in span 4.
    for (let s = 0; s < 5; s++) pt.allocTable(s * 512, 1);
    pt.setEntry(4 * 512, 1, 1, RW);
    // floor = 512 + 1 cuts span 1; ceiling at 3 * 512 excludes span 3.
    let freed = pt.freePgtables(512 + 1, 3 * 512, 512 + 1, 3 * 512);
    expect(freed).toEqual([0, 1, 0, 0, 0, 0]); // only span 2
    expect(pt.tableAt(512, 1)).not.toBe(-1);
    expect(pt.tableAt(1024, 1)).toBe(-1);
    // Whole range, floor 0, ceiling 0 (top): spans 0, 1, 3 go; span 4 holds an entry; the PMD table stays.
    freed = pt.freePgtables(0, 5 * 512, 0, 0);
    expect(freed).toEqual([0, 3, 0, 0, 0, 0]);
    expect(pt.tableCount(1)).toBe(1);
    pt.zapRange(0, 5 * 512);
    freed = pt.freePgtables(0, 5 * 512, 0, 0);
    expect(freed).toEqual([0, 1, 1, 1, 0, 0]);
    expect(tables.live).toBe(1);
    expect(pt.tableCount(4)).toBe(1);
  });

  it('an upper table whose span pokes out of [floor, ceiling) stays even when empty', () => {
    const { pt } = make();
    pt.allocTable(0, 1);
    const freed = pt.freePgtables(0, 512, 0, 512);
    expect(freed).toEqual([0, 1, 0, 0, 0, 0]);
    expect(pt.tableCount(2)).toBe(1);
  });

  it('freePteTable unhooks a table with entries; freePmdTable needs an empty one', () => {
    const { pt, observer, tables } = make();
    pt.allocTable(0, 1);
    pt.setEntry(0, 1, 9, RW);
    const t = pt.tableAt(0, 1);
    observer.calls = [];
    expect(pt.freePteTable(0)).toBe(true);
    expect(observer.calls).toEqual([['free', t, 1]]);
    expect(tables.freed).toEqual([0x100003]);
    expect(pt.entryPfn(0, 1)).toBe(-1);
    expect(pt.presentCount(0, 2)).toBe(0);
    expect(pt.freePteTable(0)).toBe(false);
    expect(pt.freePmdTable(0)).toBe(true);
    expect(pt.freePmdTable(0)).toBe(false);
    // Ids are reused.
    pt.allocTable(0, 1);
    expect(pt.tableAt(0, 1)).toBe(t);
  });

  it('clearAll frees every table but the top', () => {
    const { pt, tables, observer } = make();
    for (let v = 0; v < 2 ** 35; v += 2 ** 27 + 12345) pt.allocTable(v, 1);
    observer.calls = [];
    const n = pt.tableCount(1) + pt.tableCount(2) + pt.tableCount(3);
    pt.clearAll();
    expect(observer.calls.length).toBe(n);
    expect(tables.live).toBe(1);
    expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3), pt.tableCount(4)]).toEqual([0, 0, 0, 1]);
  });
});

describe('walk (mm_walk_ops)', () => {
  it('visits tables, leaves, non-present entries and holes in order, and stops on false', () => {
    const { pt } = make();
    pt.allocTable(0, 1);
    pt.setEntry(1, 1, 11, RW);
    pt.setEntry(3, 1, 5, 0); // not present but not none: a swap-entry-like word
    pt.allocTable(512, 2);
    pt.setEntry(512, 2, 1024, RW | _PAGE_PSE);
    const events: string[] = [];
    pt.walk(0, 1024 + 512, {
      table: (_t, l, base, n) => void events.push(`T${l}@${base}:${n}`),
      leaf: (v, l, pfn) => void events.push(`L${l}@${v}=${pfn}`),
      nonPresent: (v, l) => void events.push(`N${l}@${v}`),
    });
    expect(events).toEqual(['T3@0:1', 'T2@0:2', 'T1@0:2', 'L1@1=11', 'N1@3', 'L2@512=1024']);
    const holes: string[] = [];
    pt.walk(0, 4, { hole: (v, l) => void holes.push(`H${l}@${v}`) });
    expect(holes).toEqual(['H1@0', 'H1@2']);
    let leaves = 0;
    pt.walk(0, 1024, { leaf: () => (leaves++, false) });
    expect(leaves).toBe(1);
  });
});

describe('kernel-named helpers', () => {
  it('pgd/p4d/pud/pmd/pte indices and offsets follow the address bits', async () => {
    const { pgdIndex, p4dIndex, pudIndex, pmdIndex, pteIndex } = await import('@kmodel/pgtable');
    const addr = 0x00ff_8123_4567_8000n; // 57-bit: PML5 0xff, PML4 0x102, PDPT 0x8d, PD 0x2b, PT 0x78
    const vpn = Number(addr >> 12n);
    expect([pgdIndex(vpn, 5), p4dIndex(vpn), pudIndex(vpn), pmdIndex(vpn), pteIndex(vpn)]).toEqual([
      Number((addr >> 48n) & 511n),
      Number((addr >> 39n) & 511n),
      Number((addr >> 30n) & 511n),
      Number((addr >> 21n) & 511n),
      Number((addr >> 12n) & 511n),
    ]);
    expect(pgdIndex(vpn, 4)).toBe(p4dIndex(vpn));
    const { pt } = make(5);
    expect(pt.pteOffsetMap(vpn)).toBe(-1);
    expect(pt.pteAlloc(vpn)).toBe(true);
    expect(pt.pmdOffset(vpn)).toBe(pt.tableAt(vpn, 2));
    expect(pt.pudOffset(vpn)).toBe(pt.tableAt(vpn, 3));
    expect(pt.pgdOffset()).toBe(pt.top);
    expect(pt.pteOffsetMap(vpn)).toBeGreaterThanOrEqual(0);
    expect(pt.pgtablesBytes()).toBe(3 * 4096); // PTE + PMD + PUD; P4D and PGD not counted
  });
});
