import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PteRef, isZeroPte, type ZeroRule } from '@kmodel/pte-ref';
import { FakePageTable } from './support/fake-page-table.js';
import { ZERO_PFN, anon, marker, swap, zero, zeroProtNone, type Entry } from './support/entries.js';

/** Slots -> base VPNs: five tables in the first GiB, two in the fourth (two PMD tables). */
const BASES = [0, 512, 1024, 1536, 2048, 3 * 512 * 512, 3 * 512 * 512 + 512];

const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  fc.integer({ min: 1, max: 2 ** 40 - 1 }).filter((p) => p !== ZERO_PFN).map(anon),
  fc.constant(zero()),
  fc.constant(zero(1 << 6)),
  fc.constant(zeroProtNone()),
  fc.constant(swap(ZERO_PFN)),
  fc.integer({ min: 1, max: 2 ** 30 }).map(swap),
  fc.constant(marker()),
);

/** Mostly a few hot entries so that entries get overwritten and tables fill up. */
const indexArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 511 }));

type Op =
  | { op: 'alloc' | 'free' | 'fillZero' | 'zap' | 'fillAnon'; slot: number }
  | { op: 'set'; slot: number; index: number; entry: Entry }
  | { op: 'clear'; slot: number; index: number };

const slotArb = fc.integer({ min: 0, max: BASES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('alloc' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('free' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fillZero' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fillAnon' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('zap' as const), slot: slotArb }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('set' as const), slot: slotArb, index: indexArb, entry: entryArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('clear' as const), slot: slotArb, index: indexArb }) },
);

/**
 * Applies one operation the way the kernel would. Under the RFC's rule a non-zero non-none
 * entry is never overwritten by a zero-page entry without a clear first (true of v5.19, the
 * RFC's base), so the driver clears first; under the symmetric rule it overwrites directly.
 */
function apply(pt: FakePageTable, op: Op, rule: ZeroRule): void {
  const base = BASES[op.slot]!;
  if (op.op === 'alloc') return void pt.allocTable(base);
  if (pt.tableAt(base) < 0) return;
  switch (op.op) {
    case 'free':
      return pt.freeTable(base);
    case 'fillZero': // a read-only sweep over the table: read faults map the zero page into holes
      for (let i = 0; i < 512; i++) if (pt.get(base + i)[0] === 0 && pt.get(base + i)[1] === 0) pt.set(base + i, ...zero());
      return;
    case 'fillAnon':
      for (let i = 0; i < 512; i++) if (pt.get(base + i)[0] === 0 && pt.get(base + i)[1] === 0) pt.set(base + i, ...anon(100 + i));
      return;
    case 'zap': // MADV_DONTNEED over the whole table: every entry cleared, the table stays
      for (let i = 0; i < 512; i++) pt.clear(base + i);
      return;
    case 'clear':
      return pt.clear(base + op.index);
    case 'set': {
      const [lo, hi] = pt.get(base + op.index);
      const oldNone = lo === 0 && hi === 0;
      if (rule === 'rfc' && !oldNone && !isZeroPte(lo, hi, ZERO_PFN) && isZeroPte(op.entry[0], op.entry[1], ZERO_PFN)) {
        pt.clear(base + op.index);
      }
      return pt.set(base + op.index, ...op.entry);
    }
  }
}

describe('counters equal a recount after every operation', () => {
  for (const rule of ['symmetric', 'rfc'] as const) {
    it(`one address space, ${rule} rule`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => {
          const ref = new PteRef(ZERO_PFN, { zeroRule: rule });
          const pt = new FakePageTable(ref.observerFor(1));
          expect(ref.verify(1, pt)).toEqual([]);
          for (const op of ops) {
            apply(pt, op, rule);
            expect(ref.verify(1, pt)).toEqual([]);
            for (const base of pt.bases()) {
              const t = pt.tableAt(base);
              const m = ref.mappedCount(1, t);
              const z = ref.zeroCount(1, t);
              expect(0 <= z && z <= m && m <= 512).toBe(true);
            }
          }
        }),
        { numRuns: 100 },
      );
    });
  }

  it("the RFC's rule drifts when an entry is overwritten by the zero page, and verify reports it", () => {
    const ref = new PteRef(ZERO_PFN, { zeroRule: 'rfc' });
    const pt = new FakePageTable(ref.observerFor(1));
    const t = pt.allocTable(0);
    pt.set(5, ...swap(99)); // a migration entry
    pt.set(5, ...zero()); // remove_migration_pte remapping an unused subpage to the zero page
    expect(ref.verify(1, pt)).toEqual([{ mm: 1, kind: 'zero', table: t, expected: 1, actual: 0 }]);
  });
});

describe('reclaimable_pt_bytes and the ordered index across many address spaces', () => {
  type MmOp = { mm: number; op: Op } | { mm: number; op: { op: 'exit' } };
  const mmOpArb = (n: number): fc.Arbitrary<MmOp> =>
    fc.oneof(
      { weight: 20, arbitrary: fc.record({ mm: fc.integer({ min: 0, max: n - 1 }), op: opArb }) },
      { weight: 1, arbitrary: fc.record({ mm: fc.integer({ min: 0, max: n - 1 }), op: fc.constant({ op: 'exit' as const }) }) },
    );

  it('stay equal to a recount of every mm and to a sort of all mms', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.array(mmOpArb(n), { minLength: 10, maxLength: 200, size: 'max' }))),
        ([n, ops]) => {
          const ref = new PteRef(ZERO_PFN, { zeroRule: 'symmetric' });
          // MmIds deliberately not dense and not in insertion order.
          const ids = Array.from({ length: n }, (_, i) => 1000 - 37 * i);
          const pts = ids.map((id) => new FakePageTable(ref.observerFor(id)));
          for (const { mm, op } of ops) {
            const id = ids[mm]!;
            if (op.op === 'exit') {
              ref.forgetMm(id);
              pts[mm] = new FakePageTable(ref.observerFor(id));
            } else {
              apply(pts[mm]!, op, 'symmetric');
            }
            const expected: [number, number][] = [];
            ids.forEach((mid, i) => {
              expect(ref.verify(mid, pts[i]!)).toEqual([]);
              let tables = 0;
              for (const base of pts[i]!.bases()) {
                let mapped = 0;
                let zeros = 0;
                for (let j = 0; j < 512; j++) {
                  const [lo, hi] = pts[i]!.get(base + j);
                  if (lo !== 0 || hi !== 0) mapped++;
                  if (isZeroPte(lo, hi, ZERO_PFN)) zeros++;
                }
                if (mapped === 0 || zeros === 512) tables++;
              }
              expect(ref.reclaimablePtBytes(mid)).toBe(4096 * tables);
              expect(ref.reclaimableTableCount(mid)).toBe(tables);
              if (tables > 0) expected.push([mid, 4096 * tables]);
            });
            expected.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
            expect(ref.topReclaimable()).toEqual(expected);
            expect(ref.largest()).toBe(expected[0]?.[0]);
            expect(ref.totalReclaimablePtBytes()).toBe(expected.reduce((s, e) => s + e[1], 0));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
