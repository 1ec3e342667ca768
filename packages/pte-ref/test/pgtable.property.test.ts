import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_USER,
  type Level,
  type TableAllocator,
} from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef, type ZeroRule } from '@kmodel/pte-ref';
import { ZERO_PFN } from './support/entries.js';

/** Table pages from a counter; never fails. */
class Tables implements TableAllocator {
  private next = 0x200000;
  allocTable(_level: Level): number {
    return this.next++;
  }
  freeTable(): void {}
}

const ANON = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
const ZERO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL | _PAGE_NX;
const PROTNONE_ZERO = _PAGE_GLOBAL | _PAGE_USER | _PAGE_SPECIAL;
const SWAP = 1 << 9;

/** (pfn, packed flags) of an entry kind. */
const entryArb = fc.oneof(
  fc.integer({ min: 1, max: 2 ** 40 - 1 }).filter((p) => p !== ZERO_PFN).map((pfn) => [pfn, ANON] as const),
  fc.constant([ZERO_PFN, ZERO] as const),
  fc.constant([ZERO_PFN, PROTNONE_ZERO] as const),
  fc.constant([ZERO_PFN, SWAP] as const),
  fc.integer({ min: 1, max: 2 ** 30 }).map((off) => [off, SWAP] as const),
);

/** Three PTE tables' worth in the first PMD, one 2 MiB slot for a huge leaf, one far away. */
const REGIONS = [0, 512, 1024, 1536, 2 ** 30];
const vpnArb = fc.tuple(fc.integer({ min: 0, max: REGIONS.length - 1 }), fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 511 }))).map(([r, i]) => REGIONS[r]! + i);

type Op =
  | { op: 'set'; vpn: number; entry: readonly [number, number] }
  | { op: 'clear' | 'alloc' | 'freePte' | 'readSweep' | 'huge'; vpn: number }
  | { op: 'zap'; vpn: number; len: number }
  | { op: 'freePgtables' | 'clearAll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), vpn: vpnArb, entry: entryArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('clear' as const), vpn: vpnArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('alloc' as const), vpn: vpnArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('freePte' as const), vpn: vpnArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('readSweep' as const), vpn: vpnArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('huge' as const), vpn: vpnArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('zap' as const), vpn: vpnArb, len: fc.integer({ min: 1, max: 1024 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('freePgtables' as const) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clearAll' as const }) },
);

type Pt = ReturnType<typeof createPageTable>;

function apply(pt: Pt, op: Op, rule: ZeroRule): void {
  switch (op.op) {
    case 'alloc':
      if (pt.tableAt(op.vpn, 2) >= 0 && pt.entryFlags(op.vpn, 2) & _PAGE_PSE) return;
      pt.allocTable(op.vpn, 1);
      return;
    case 'set': {
      if (pt.tableAt(op.vpn, 1) < 0) return;
      const [pfn, flags] = op.entry;
      const oldFlags = pt.entryFlags(op.vpn, 1);
      const oldPresent = (oldFlags & (_PAGE_PRESENT | _PAGE_GLOBAL)) !== 0;
      const oldZero = oldPresent && pt.entryPfn(op.vpn, 1) === ZERO_PFN;
      const newZero = (flags & (_PAGE_PRESENT | _PAGE_GLOBAL)) !== 0 && pfn === ZERO_PFN;
      // The RFC's base kernel clears before it puts the zero page over another entry.
      if (rule === 'rfc' && oldFlags !== 0 && !oldZero && newZero) pt.clearEntry(op.vpn, 1);
      pt.setEntry(op.vpn, 1, pfn, flags);
      return;
    }
    case 'clear':
      pt.clearEntry(op.vpn, 1);
      return;
    case 'freePte':
      pt.freePteTable(op.vpn);
      return;
    case 'readSweep': {
      // Read faults over one 2 MiB span: every hole gets the zero page (do_anonymous_page).
      const base = op.vpn - (op.vpn % 512);
      if (pt.tableAt(base, 1) < 0) return;
      for (let v = base; v < base + 512; v++) if (pt.entryFlags(v, 1) === 0 && pt.entryPfn(v, 1) < 0) pt.setEntry(v, 1, ZERO_PFN, ZERO);
      return;
    }
    case 'huge': {
      // A THP where no PTE table sits: a PMD leaf, which pte_ref ignores.
      const base = op.vpn - (op.vpn % 512);
      if (pt.tableAt(base, 2) < 0) pt.allocTable(base, 2);
      if (pt.tableAt(base, 1) >= 0 || pt.entryFlags(base, 2) !== 0) return;
      pt.setEntry(base, 2, 0x40000, ANON | _PAGE_PSE);
      return;
    }
    case 'zap': {
      const start = op.vpn;
      const end = start + op.len;
      // zapRange refuses to cut a huge leaf; keep to whole huge leaves.
      for (const v of [start, end - 1]) if (pt.entryFlags(v - (v % 512), 2) & _PAGE_PSE) return;
      pt.zapRange(start, end);
      return;
    }
    case 'freePgtables':
      pt.freePgtables(0, 2 ** 35, 0, 0);
      return;
    case 'clearAll':
      pt.clearAll();
      return;
  }
}

describe('with @kmodel/pgtable: counters equal a recount after every operation', () => {
  for (const rule of ['symmetric', 'rfc'] as const) {
    it(`${rule} rule`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 10, maxLength: 100, size: 'max' }), (ops) => {
          const ref = new PteRef(ZERO_PFN, { zeroRule: rule });
          const pt = createPageTable({ levels: 4, tables: new Tables(), observer: ref.observerFor(42) });
          for (const op of ops) {
            apply(pt, op, rule);
            expect(ref.verify(42, pt)).toEqual([]);
            expect(ref.pteTableCount(42)).toBe(pt.tableCount(1));
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('verify covers the whole user half of a 5-level (LA57) page table', () => {
    const ref = new PteRef(ZERO_PFN);
    const pt = createPageTable({ levels: 5, tables: new Tables(), observer: ref.observerFor(5) });
    const high = 2 ** 44 - 512; // the last PTE table of the 57-bit user half
    pt.allocTable(high, 1);
    pt.setEntry(high + 3, 1, ZERO_PFN, ZERO);
    pt.setEntry(high + 4, 1, 0x777, ANON);
    const t = pt.tableAt(high, 1);
    expect([ref.mappedCount(5, t), ref.zeroCount(5, t)]).toEqual([2, 1]);
    expect(ref.verify(5, pt)).toEqual([]);
    expect(ref.tableBaseVpn(5, t)).toBe(high);
  });

  it('a read-only sweep of 8 MiB through the real page table leaves 4 zero-only tables (16 KiB reclaimable)', () => {
    const ref = new PteRef(ZERO_PFN);
    const pt = createPageTable({ levels: 4, tables: new Tables(), observer: ref.observerFor(1) });
    const start = 0x7f0000000; // vpn of 0x7f0000000000, 2 MiB aligned
    for (let v = start; v < start + 4 * 512; v++) {
      pt.allocTable(v, 1);
      pt.setEntry(v, 1, ZERO_PFN, ZERO);
    }
    const tables = [0, 1, 2, 3].map((k) => pt.tableAt(start + k * 512, 1));
    expect(tables.map((t) => ref.isZeroOnly(1, t))).toEqual([true, true, true, true]);
    expect(tables.map((t) => ref.tableBaseVpn(1, t))).toEqual([0, 1, 2, 3].map((k) => start + k * 512));
    expect(ref.reclaimablePtBytes(1)).toBe(16384);
    expect(ref.verify(1, pt)).toEqual([]);
    // One write fault (COW of the zero page) makes its table ordinary again.
    pt.setEntry(start + 700, 1, 0x9999, ANON);
    expect(ref.zeroCount(1, tables[1]!)).toBe(511);
    expect(ref.reclaimablePtBytes(1)).toBe(12288);
    // Freeing the zero-only tables (what a reclaim policy does) drops them from the count.
    for (const k of [0, 2, 3]) pt.freePteTable(start + k * 512);
    expect(ref.reclaimablePtBytes(1)).toBe(0);
    expect(ref.reclaimableTables(1)).toEqual([]);
    expect(ref.verify(1, pt)).toEqual([]);
  });
});
