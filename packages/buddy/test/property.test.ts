import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BuddyAllocator } from '@kmodel/buddy';
import {
  __GFP_DMA32,
  __GFP_RECLAIMABLE,
  __GFP_UNMAPPED,
  GFP_ATOMIC,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_PGTABLE_USER,
  GFP_TRANSHUGE_LIGHT,
  type DirectMapControl,
} from '@kmodel/core';

const GFPS = [
  GFP_PGTABLE_USER,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL | __GFP_RECLAIMABLE,
  GFP_KERNEL | __GFP_UNMAPPED,
  GFP_ATOMIC,
  GFP_KERNEL | __GFP_DMA32,
  GFP_TRANSHUGE_LIGHT,
];

/** A direct map that tracks removed pageblocks, to compare with the allocator's view. */
class TrackingDirectMap implements DirectMapControl {
  removed = new Set<number>();
  removeRange(pfn: number, nrPages: number): boolean {
    expect(nrPages).toBe(512);
    expect(pfn % 512).toBe(0);
    expect(this.removed.has(pfn)).toBe(false);
    this.removed.add(pfn);
    return true;
  }
  restoreRange(pfn: number, nrPages: number): void {
    expect(nrPages).toBe(512);
    expect(this.removed.delete(pfn)).toBe(true);
  }
}

type Op =
  | { kind: 'alloc'; gfp: number; order: number }
  | { kind: 'free'; pick: number }
  | { kind: 'cpu'; cpu: number }
  | { kind: 'drain' }
  | { kind: 'isolate'; pb: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('alloc' as const), gfp: fc.constantFrom(...GFPS), order: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10 })) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cpu' as const), cpu: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('isolate' as const), pb: fc.integer({ min: 0, max: 23 }) }) },
);

function run(ops: Op[], pcp: boolean): void {
  const dm = new TrackingDirectMap();
  // DMA32 [0, 4096) with a hole and a reserved range, Normal [4096, 12288).
  const b = new BuddyAllocator({
    layout: {
      endPfn: 12288,
      zones: [
        { zone: 1, start: 0, end: 4096 },
        { zone: 2, start: 4096, end: 12288 },
      ],
      holes: [{ start: 1000, end: 1100 }],
      reserved: [{ start: 0, end: 3 }],
    },
    pcp,
    nrCpus: 2,
    minFreeKbytes: 256,
    directMap: dm,
  });
  const managed = b.managedPages();
  expect(managed).toBe(12288 - 100 - 3);
  const held: { pfn: number; order: number }[] = [];
  const owner = new Int32Array(12288).fill(-1);
  let heldPages = 0;
  let id = 0;
  let step = 0;
  const isolated = new Set<number>();
  for (const op of ops) {
    if (op.kind === 'alloc') {
      const pfn = b.allocPages(op.gfp, op.order);
      if (pfn === null) continue;
      expect(pfn % (1 << op.order)).toBe(0);
      expect(isolated.has(pfn & ~511)).toBe(false);
      for (let p = pfn; p < pfn + (1 << op.order); p++) {
        // No two allocations overlap.
        expect(owner[p]).toBe(-1);
        owner[p] = id;
      }
      if (op.gfp & __GFP_UNMAPPED) expect(b.isPageblockUnmapped(pfn)).toBe(true);
      else expect(b.isPageblockUnmapped(pfn)).toBe(false);
      id++;
      held.push({ pfn, order: op.order });
      heldPages += 1 << op.order;
    } else if (op.kind === 'free') {
      if (held.length === 0) continue;
      const i = op.pick % held.length;
      const { pfn, order } = held[i]!;
      held.splice(i, 1);
      b.freePages(pfn, order);
      owner.fill(-1, pfn, pfn + (1 << order));
      heldPages -= 1 << order;
    } else if (op.kind === 'cpu') {
      b.setCpu(op.cpu);
    } else if (op.kind === 'isolate') {
      // Toggle isolation of a pageblock; an isolated one never hands out pages.
      const pfn = op.pb * 512;
      if (isolated.has(pfn)) {
        b.undoIsolatePageblock(pfn);
        isolated.delete(pfn);
      } else if (b.isolatePageblock(pfn)) {
        isolated.add(pfn);
        expect(b.pageblockMigratetype(pfn)).toBe(5);
      }
    } else {
      b.drainAllPages();
    }
    // free + pcp + allocated = managed
    expect(b.nrFreePages() + b.pcpPages() + b.allocatedPages()).toBe(managed);
    expect(b.allocatedPages()).toBe(heldPages);
    if (++step % 25 === 0) b.checkInvariants();
  }
  // Every free block is an aligned buddy on the right list, nothing overlaps, counters agree.
  b.checkInvariants();
  // Buddy and direct map agree on which pageblocks are unmapped.
  for (let pb = 0; pb < 12288 / 512; pb++) expect(dm.removed.has(pb * 512)).toBe(b.isPageblockUnmapped(pb * 512));
  // Freeing everything, undoing isolation and draining gives all managed pages back.
  for (const { pfn, order } of held) b.freePages(pfn, order);
  for (const pfn of isolated) b.undoIsolatePageblock(pfn);
  b.drainAllPages();
  expect(b.nrFreePages()).toBe(managed);
  b.checkInvariants();
}

describe('property: random alloc/free sequences keep the buddy invariants', () => {
  it('without pcp lists', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => run(ops, false)), { numRuns: 150, seed: 1 });
  });
  it('with pcp lists on two CPUs', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => run(ops, true)), { numRuns: 150, seed: 2 });
  });
});

describe('determinism', () => {
  it('the same operations give byte-identical state and views', () => {
    const runOnce = () => {
      const b = new BuddyAllocator({ memory: 256 * 1024 * 1024, nrCpus: 2 });
      const held: [number, number][] = [];
      let x = 12345;
      for (let i = 0; i < 20000; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        if (x % 3 === 0 && held.length > 0) {
          const [p, o] = held.splice(x % held.length, 1)[0]!;
          b.freePages(p, o);
        } else {
          b.setCpu(x & 1);
          const p = b.allocPages(GFPS[x % GFPS.length]!, (x >>> 8) % 4);
          if (p !== null) held.push([p, (x >>> 8) % 4]);
        }
      }
      return b.pagetypeinfo() + JSON.stringify(b.counters()) + JSON.stringify(held);
    };
    expect(runOnce()).toBe(runOnce());
  });
});
