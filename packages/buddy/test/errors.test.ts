import { describe, expect, it } from 'vitest';
import { BuddyAllocator, BuddyErrorCode, x86Layout } from '@kmodel/buddy';
import {
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_MOVABLE,
  __GFP_RECLAIMABLE,
  __GFP_UNMAPPED,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  isKmodelError,
  MiB,
} from '@kmodel/core';
import { oneZone, snapshot } from './helpers.js';

function expectCode(fn: () => unknown, code: string, mentions?: string): void {
  try {
    fn();
  } catch (e) {
    expect(isKmodelError(e, code), String(e)).toBe(true);
    if (mentions !== undefined) expect((e as Error).message).toContain(mentions);
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('bad input leaves the allocator unchanged', () => {
  const setup = () => {
    const b = oneZone(4096, { pcp: true });
    const held = [b.allocPages(GFP_KERNEL, 0)!, b.allocPages(GFP_HIGHUSER_MOVABLE, 3)!, b.allocPages(GFP_KERNEL, 9)!];
    return { b, held, before: snapshot(b) };
  };

  it('orders above MAX_PAGE_ORDER, negative or fractional', () => {
    const { b, before } = setup();
    for (const order of [11, -1, 1.5, Number.NaN, 2 ** 40]) expectCode(() => b.allocPages(GFP_KERNEL, order), BuddyErrorCode.BadOrder, 'order');
    expect(snapshot(b)).toBe(before);
    expectCode(() => b.allocPages(GFP_KERNEL, 11), 'E_BAD_ORDER', '11 (0xb)');
  });

  it('unknown GFP bits and rejected combinations', () => {
    const { b, before } = setup();
    expectCode(() => b.allocPages(GFP_KERNEL | (1 << 30), 0), BuddyErrorCode.UnknownFlag, 'unknown: 0x40000000');
    expectCode(() => b.allocPages(1 << 9, 0), BuddyErrorCode.UnknownFlag);
    expectCode(() => b.allocPages(0.5, 0), BuddyErrorCode.UnknownFlag);
    expectCode(() => b.allocPages(GFP_KERNEL | __GFP_DMA | __GFP_DMA32, 0), BuddyErrorCode.BadGfp);
    expectCode(() => b.allocPages(GFP_KERNEL | __GFP_MOVABLE | __GFP_RECLAIMABLE, 0), BuddyErrorCode.BadGfp);
    expectCode(() => b.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_UNMAPPED, 0), BuddyErrorCode.BadGfp, '__GFP_UNMAPPED');
    expectCode(() => b.allocPages(GFP_KERNEL | __GFP_RECLAIMABLE | __GFP_UNMAPPED, 0), BuddyErrorCode.BadGfp);
    expect(snapshot(b)).toBe(before);
  });

  it('freeing a PFN that is not allocated', () => {
    const { b, held, before } = setup();
    // A free page, a page inside an allocated block, a PFN past the end, a negative one.
    expectCode(() => b.freePages(4000, 0), BuddyErrorCode.NotAllocated, '4000');
    expectCode(() => b.freePages(held[1]! + 1, 0), BuddyErrorCode.NotAllocated);
    expectCode(() => b.freePages(4096, 0), BuddyErrorCode.BadPfn);
    expectCode(() => b.freePages(-1, 0), BuddyErrorCode.BadPfn);
    expectCode(() => b.freePages(1.5, 0), BuddyErrorCode.BadPfn);
    // Double free: the second one is rejected.
    b.freePages(held[0]!, 0);
    const afterOne = snapshot(b);
    expectCode(() => b.freePages(held[0]!, 0), BuddyErrorCode.NotAllocated);
    expect(snapshot(b)).toBe(afterOne);
    expect(afterOne).not.toBe(before);
  });

  it('freeing with the wrong order', () => {
    const { b, held, before } = setup();
    expectCode(() => b.freePages(held[1]!, 2), BuddyErrorCode.WrongOrder, 'allocated with order 3');
    expectCode(() => b.freePages(held[2]!, 10), BuddyErrorCode.WrongOrder);
    expectCode(() => b.freePages(held[2]!, 11), BuddyErrorCode.BadOrder);
    expect(snapshot(b)).toBe(before);
    b.checkInvariants();
  });

  it('reserved and hole PFNs are never allocated and cannot be freed', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: false });
    expectCode(() => b.freePages(0, 0), BuddyErrorCode.NotAllocated);
    expectCode(() => b.freePages(0xa0, 0), BuddyErrorCode.NotAllocated);
    expect(b.zoneOf(0)).toBe(-1);
    expect(b.zoneOf(1)).toBe(0);
  });

  it('bad layouts and options', () => {
    expectCode(() => x86Layout({ memory: 1000 }), BuddyErrorCode.BadLayout);
    expectCode(() => x86Layout({ memory: 64 * MiB, movable: 64 * MiB }), BuddyErrorCode.BadLayout);
    expectCode(
      () => new BuddyAllocator({ layout: { endPfn: 1024, zones: [{ zone: 2, start: 0, end: 1000 }], holes: [], reserved: [] } }),
      BuddyErrorCode.BadLayout,
      'pageblock boundary',
    );
    expectCode(
      () => new BuddyAllocator({ layout: { endPfn: 2048, zones: [{ zone: 2, start: 0, end: 1024 }, { zone: 1, start: 1024, end: 2048 }], holes: [], reserved: [] } }),
      BuddyErrorCode.BadLayout,
    );
    expectCode(() => oneZone(1024, { nrCpus: 0 }), BuddyErrorCode.BadCpu);
    expectCode(() => oneZone(1024, { watermarkScaleFactor: 0 }), BuddyErrorCode.BadLayout);
    expectCode(() => oneZone(1024, { cma: [{ start: 0, end: 512 }] }), BuddyErrorCode.BadLayout, 'configCma');
    expectCode(() => oneZone(1024).setCpu(1), BuddyErrorCode.BadCpu);
    expectCode(() => oneZone(1024).zoneInfo(0), BuddyErrorCode.BadZone, 'not populated');
    expectCode(() => oneZone(1024).pageblockMigratetype(5000), BuddyErrorCode.BadPfn);
  });
});
