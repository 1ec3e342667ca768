import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PteRef, isZeroPte } from '@kmodel/pte-ref';
import { FakePageTable } from './support/fake-page-table.js';
import { ZERO_PFN, anon, zero } from './support/entries.js';

/** Base VPNs an mm's tables go to: four in the first GiB, two in the third. */
const BASES = [0, 512, 1024, 1536, 2 * 512 * 512, 2 * 512 * 512 + 512];

type MmOp =
  | { op: 'birth'; base: number; index: number; zero: boolean } // a fault: new table, first entry
  | { op: 'alloc' | 'free' | 'fillZero' | 'zap'; base: number }
  | { op: 'set'; base: number; index: number; zero: boolean }
  | { op: 'clear'; base: number; index: number }
  | { op: 'exit' };

type Query = { op: 'largest' } | { op: 'top'; limit: number } | { op: 'iterate'; take: number } | { op: 'count' } | { op: 'verify' };

type Step = { mm: number; change: MmOp } | { query: Query };

const baseArb = fc.constantFrom(...BASES);
const indexArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 511 }));
const changeArb: fc.Arbitrary<MmOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('birth' as const), base: baseArb, index: indexArb, zero: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('alloc' as const, 'free' as const, 'zap' as const), base: baseArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fillZero' as const), base: baseArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), base: baseArb, index: indexArb, zero: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('clear' as const), base: baseArb, index: indexArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exit' as const }) },
);
const queryArb: fc.Arbitrary<Query> = fc.oneof(
  fc.constant({ op: 'largest' as const }),
  fc.record({ op: fc.constant('top' as const), limit: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant('iterate' as const), take: fc.integer({ min: 0, max: 4 }) }),
  fc.constant({ op: 'count' as const }),
  fc.constant({ op: 'verify' as const }),
);
const stepArb = (n: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ mm: fc.integer({ min: 0, max: n - 1 }), change: changeArb }) },
    { weight: 1, arbitrary: fc.record({ query: queryArb }) },
  );

/** Applies one change the way the fault path and zap do (the symmetric rule: plain overwrites). */
function change(pt: FakePageTable, op: Exclude<MmOp, { op: 'exit' }>): void {
  if (op.op === 'birth') {
    if (pt.tableAt(op.base) >= 0) return;
    pt.allocTable(op.base);
    return pt.set(op.base + op.index, ...(op.zero ? zero() : anon(0x1000 + op.index)));
  }
  if (op.op === 'alloc') return void pt.allocTable(op.base);
  if (pt.tableAt(op.base) < 0) return;
  switch (op.op) {
    case 'free':
      return pt.freeTable(op.base);
    case 'fillZero':
      for (let i = 0; i < 512; i++) if (pt.get(op.base + i)[0] === 0 && pt.get(op.base + i)[1] === 0) pt.set(op.base + i, ...zero());
      return;
    case 'zap':
      for (let i = 0; i < 512; i++) pt.clear(op.base + i);
      return;
    case 'set':
      return pt.set(op.base + op.index, ...(op.zero ? zero() : anon(0x1000 + op.index)));
    case 'clear':
      return pt.clear(op.base + op.index);
  }
}

/** reclaimable_pt_bytes from the page table's contents alone. */
function recountBytes(pt: FakePageTable): number {
  let tables = 0;
  for (const base of pt.bases()) {
    let mapped = 0;
    let zeros = 0;
    for (let j = 0; j < 512; j++) {
      const [lo, hi] = pt.get(base + j);
      if (lo !== 0 || hi !== 0) mapped++;
      if (isZeroPte(lo, hi, ZERO_PFN)) zeros++;
    }
    if (mapped === 0 || zeros === 512) tables++;
  }
  return 4096 * tables;
}

describe('the lazily kept index answers like a fresh sort', () => {
  it('with table births, transitions and exits between queries of every kind', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.constant(n), fc.array(stepArb(n), { minLength: 10, maxLength: 300, size: 'max' }))),
        ([n, steps]) => {
          const ref = new PteRef(ZERO_PFN, { zeroRule: 'symmetric' });
          const ids = Array.from({ length: n }, (_, i) => 500 - 61 * i);
          const pts = ids.map((id) => new FakePageTable(ref.observerFor(id)));
          for (const step of steps) {
            if ('mm' in step) {
              const id = ids[step.mm]!;
              if (step.change.op === 'exit') {
                ref.forgetMm(id);
                pts[step.mm] = new FakePageTable(ref.observerFor(id));
              } else {
                change(pts[step.mm]!, step.change);
              }
              continue;
            }
            // The oracle: every mm's bytes recounted from its page table, sorted afresh.
            const expected: [number, number][] = [];
            ids.forEach((id, i) => {
              const bytes = recountBytes(pts[i]!);
              expect(ref.reclaimablePtBytes(id)).toBe(bytes);
              if (bytes > 0) expected.push([id, bytes]);
            });
            expected.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
            const q = step.query;
            switch (q.op) {
              case 'largest':
                expect(ref.largest()).toBe(expected[0]?.[0]);
                break;
              case 'top':
                expect(ref.topReclaimable(q.limit)).toEqual(expected.slice(0, q.limit));
                break;
              case 'iterate': {
                // A partial walk of the live view, as reclaim-path's victim pick does.
                const got: [number, number][] = [];
                for (const e of ref.byReclaimablePtBytes()) {
                  if (got.length >= q.take) break;
                  got.push(e);
                }
                expect(got).toEqual(expected.slice(0, q.take));
                break;
              }
              case 'count':
                expect(ref.indexedMmCount()).toBe(expected.length);
                break;
              case 'verify':
                ids.forEach((id, i) => expect(ref.verify(id, pts[i]!)).toEqual([]));
                break;
            }
            // The tree never does more work than an eager one would.
            expect(ref.indexRepositions).toBeLessThanOrEqual(ref.indexMoves);
          }
          // And at the end, whatever was last.
          const expected = ids
            .map((id, i): [number, number] => [id, recountBytes(pts[i]!)])
            .filter((e) => e[1] > 0)
            .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
          expect(ref.topReclaimable()).toEqual(expected);
          expect(ref.largest()).toBe(expected[0]?.[0]);
          expect(ref.indexedMmCount()).toBe(expected.length);
        },
      ),
      { numRuns: 80 },
    );
  });
});
