import { describe, expect, it } from 'vitest';
import { __GFP_RECLAIMABLE, GFP_KERNEL, GFP_HIGHUSER_MOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, ZONE_NORMAL } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { freeRow, oneZone } from './helpers.js';

describe('split and merge', () => {
  it('an order-0 allocation splits an order-10 block into one free block per lower order', () => {
    const b = oneZone(2048);
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_MOVABLE)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 0);
    expect(p).toBe(0);
    // expand(): upper halves 512, 256, ..., 1 go back at orders 9..0.
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_MOVABLE)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const free: number[] = [];
    b.forEachFreeBlock((pfn, order) => free.push(pfn * 100 + order));
    expect(free.sort((a, c) => a - c)).toEqual([100, 201, 402, 803, 1604, 3205, 6406, 12807, 25608, 51209, 102410]);
    expect(b.nrFreePages()).toBe(2047);
    b.checkInvariants();
  });

  it('freeing merges buddies back into the original order-10 blocks', () => {
    const b = oneZone(2048);
    const pages = [b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!, b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!, b.allocPages(GFP_HIGHUSER_MOVABLE, 2)!];
    expect(pages).toEqual([0, 1, 4]);
    b.freePages(1, 0);
    // pfn 1 merges with nothing (pfn 0 is allocated): the only order-0 free block.
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_MOVABLE, 0)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_MOVABLE, 1)).toBe(1);
    b.freePages(0, 0);
    b.freePages(4, 2);
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_MOVABLE)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    b.checkInvariants();
  });

  it('buddies are found by PFN xor 2^order and blocks come back aligned', () => {
    const b = oneZone(4096);
    for (let order = 0; order <= 10; order++) {
      const p = b.allocPages(GFP_KERNEL, order)!;
      expect(p % (1 << order)).toBe(0);
      expect(b.allocatedOrder(p)).toBe(order);
    }
    b.checkInvariants();
  });

  it('does not merge across the zone boundary at pageblock order', () => {
    const b = new BuddyAllocator({
      layout: {
        endPfn: 2048,
        zones: [
          { zone: 1, start: 0, end: 512 },
          { zone: 2, start: 512, end: 2048 },
        ],
        holes: [],
        reserved: [],
      },
      pcp: false,
      minFreeKbytes: 0,
    });
    // [0,512) is a DMA32 order-9 block; its buddy [512,1024) is in Normal and must stay apart.
    expect(b.nrFreeArea(1, 9)).toBe(1);
    expect(b.nrFreeArea(2, 9)).toBe(1);
    expect(b.nrFreeArea(2, 10)).toBe(1);
    b.checkInvariants();
  });

  it('an order-9 unmovable request claims the whole order-10 block and frees back as one unmovable block', () => {
    const b = oneZone(1024);
    // Unmovable order-9 allocation claims half of the order-10 block (whole-range retype of both pageblocks).
    const u = b.allocPages(GFP_KERNEL, 9)!;
    expect(b.pageblockMigratetype(u)).toBe(MIGRATE_UNMOVABLE);
    expect(b.pageblockMigratetype(u ^ 512)).toBe(MIGRATE_UNMOVABLE);
    b.freePages(u, 9);
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_UNMOVABLE, 10)).toBe(1);
    b.checkInvariants();
  });

  it('merging two pageblocks of different mergeable types gives the buddy the freed block type', () => {
    const b = oneZone(1024);
    for (let i = 0; i < 512; i++) expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(i);
    // A reclaimable order-9 request claims the free pageblock [512, 1024).
    expect(b.allocPages(GFP_KERNEL | __GFP_RECLAIMABLE, 9)).toBe(512);
    expect(b.pageblockMigratetype(512)).toBe(MIGRATE_RECLAIMABLE);
    b.freePages(512, 9);
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_RECLAIMABLE, 9)).toBe(1);
    for (let i = 0; i < 512; i++) b.freePages(i, 0);
    // The movable half merges with its reclaimable buddy; the whole block is now Movable.
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_MOVABLE, 10)).toBe(1);
    expect(b.pageblockMigratetype(512)).toBe(MIGRATE_MOVABLE);
    b.checkInvariants();
  });
});
