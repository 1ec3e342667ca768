import { describe, expect, it } from 'vitest';
import { BuddyAllocator, FALLBACKS, shouldTryClaimBlock } from '@kmodel/buddy';
import {
  __GFP_NOMEMALLOC,
  __GFP_RECLAIMABLE,
  GFP_HIGHUSER_MOVABLE,
  GFP_TRANSHUGE_LIGHT,
  GFP_KERNEL,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_UNMOVABLE,
  ZONE_NORMAL,
} from '@kmodel/core';
import { oneZone } from './helpers.js';

const GFP = [GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_KERNEL | __GFP_RECLAIMABLE];

/** A zone of three order-10 blocks owned by Unmovable (0-1023), Reclaimable (1024-2047) and Movable (2048-3071). */
function threeTypes() {
  const b = oneZone(3072);
  const blocks = [b.allocPages(GFP[0]!, 10)!, b.allocPages(GFP[2]!, 10)!, b.allocPages(GFP[1]!, 10)!];
  expect(blocks).toEqual([0, 1024, 2048]);
  for (const p of blocks) b.freePages(p, 10);
  expect([b.pageblockMigratetype(0), b.pageblockMigratetype(1024), b.pageblockMigratetype(2048)]).toEqual([
    MIGRATE_UNMOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_MOVABLE,
  ]);
  return b;
}
const blockOf = [0, 2048, 1024]; // migratetype -> its block in threeTypes()

describe('fallback order', () => {
  it('is the kernel table', () => {
    expect(FALLBACKS).toEqual([
      [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
      [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
      [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
    ]);
  });

  for (const mt of [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE]) {
    it(`migratetype ${mt} falls back to ${FALLBACKS[mt]!.join(' then ')}`, () => {
      const b = threeTypes();
      // Take the requester's own block away, so its lists are empty.
      expect(b.allocPages(GFP[mt]!, 10)).toBe(blockOf[mt]);
      const first = FALLBACKS[mt]![0]!;
      const second = FALLBACKS[mt]![1]!;
      const p = b.allocPages(GFP[mt]!, 0)!;
      expect(p).toBe(blockOf[first]);
      // Whole order-10 block claimed: both pageblocks now belong to the requester.
      expect(b.pageblockMigratetype(p)).toBe(mt);
      expect(b.pageblockMigratetype(p + 512)).toBe(mt);
      // threeTypes() claimed twice to build its blocks; this is the third.
      expect(b.counters()['buddy.claims']).toBe(3);
      // With the first fallback gone too, the second one is used.
      const c = threeTypes();
      c.allocPages(GFP[mt]!, 10);
      c.allocPages(GFP[first]!, 10);
      expect(c.allocPages(GFP[mt]!, 0)).toBe(blockOf[second]);
      b.checkInvariants();
      c.checkInvariants();
    });
  }

  it('claims the largest fallback block first (__rmqueue_claim scans from MAX_PAGE_ORDER down)', () => {
    const b = oneZone(2048);
    // Movable block 0-1023 split to order 0; 1024-2047 stays an order-10 block.
    const m = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(m).toBe(0);
    expect(b.allocPages(GFP_KERNEL, 0)).toBe(1024);
    expect(b.pageblockMigratetype(1024)).toBe(MIGRATE_UNMOVABLE);
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_MOVABLE);
  });
});

/** A single Movable pageblock [0, 512) with every page allocated movable. */
function fullMovableBlock() {
  const b = oneZone(512);
  for (let i = 0; i < 512; i++) expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(i);
  return b;
}

describe('claim versus steal (try_to_claim_block)', () => {
  it('claims the pageblock when exactly half of it is free', () => {
    const b = fullMovableBlock();
    for (let i = 0; i < 256; i++) b.freePages(i, 0);
    const p = b.allocPages(GFP_KERNEL, 0)!;
    expect(b.pageblockMigratetype(p)).toBe(MIGRATE_UNMOVABLE);
    expect(b.counters()).toMatchObject({ 'buddy.claims': 1, 'buddy.steals': 0, 'buddy.fallbacks': 1, 'buddy.movable_blocks_polluted': 0 });
    // The free pages moved to the unmovable lists.
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_MOVABLE, 7)).toBe(0);
    expect(b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_UNMOVABLE, 7)).toBe(1);
    b.checkInvariants();
  });

  it('steals a single block when one page short of half, and the block stays Movable (polluted)', () => {
    const b = fullMovableBlock();
    for (let i = 0; i < 255; i++) b.freePages(i, 0);
    const p = b.allocPages(GFP_KERNEL, 0)!;
    // __rmqueue_steal takes the smallest fallback block: the order-0 page at 254.
    expect(p).toBe(254);
    expect(b.pageblockMigratetype(p)).toBe(MIGRATE_MOVABLE);
    expect(b.counters()).toMatchObject({ 'buddy.claims': 0, 'buddy.steals': 1, 'buddy.fallbacks': 1, 'buddy.movable_blocks_polluted': 1 });
    b.checkInvariants();
  });

  it('counts unmovable pages in a movable block as alike for an unmovable request', () => {
    const b = fullMovableBlock();
    for (let i = 0; i < 100; i++) b.freePages(i, 0);
    // 100 unmovable requests: free + alike stays 100 < 256, so each one steals.
    const stolen: number[] = [];
    for (let i = 0; i < 100; i++) stolen.push(b.allocPages(GFP_KERNEL, 0)!);
    expect(b.counters()['buddy.steals']).toBe(100);
    expect(b.counters()['buddy.movable_blocks_polluted']).toBe(1);
    // Free 200 movable pages: free 200 + alike (512 - 200 free - 212 movable = 100) = 300 >= 256.
    for (let i = 100; i < 300; i++) b.freePages(i, 0);
    b.allocPages(GFP_KERNEL, 0);
    expect(b.counters()['buddy.claims']).toBe(1);
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_UNMOVABLE);
    expect(b.counters()['buddy.movable_blocks_polluted']).toBe(0);
    b.checkInvariants();
  });

  it('small movable requests never claim (should_try_claim_block) and steal instead', () => {
    expect(shouldTryClaimBlock(3, MIGRATE_MOVABLE)).toBe(false);
    expect(shouldTryClaimBlock(4, MIGRATE_MOVABLE)).toBe(true);
    expect(shouldTryClaimBlock(0, MIGRATE_UNMOVABLE)).toBe(true);
    expect(shouldTryClaimBlock(0, MIGRATE_RECLAIMABLE)).toBe(true);
    expect(shouldTryClaimBlock(9, MIGRATE_MOVABLE)).toBe(true);
    // An unmovable pageblock with only order-0..3 free blocks and all other pages unmovable.
    const b = oneZone(512);
    for (let i = 0; i < 512; i++) b.allocPages(GFP_KERNEL, 0);
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_UNMOVABLE);
    for (let i = 0; i < 8; i++) b.freePages(i, 0);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(0);
    expect(b.counters()).toMatchObject({ 'buddy.claims': 1, 'buddy.steals': 1 });
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_UNMOVABLE);
  });

  it('a movable request of order >= 4 claims when the block holds enough free + movable pages', () => {
    const b = oneZone(512);
    for (let i = 0; i < 512; i++) b.allocPages(GFP_KERNEL, 0);
    for (let i = 0; i < 256; i++) b.freePages(i, 0);
    // free 256 + alike 0 (movable pages in the block) = 256: claim.
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 4)).toBe(0);
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_MOVABLE);
    // The unmovable pages left in it now pollute a Movable pageblock.
    expect(b.counters()['buddy.movable_blocks_polluted']).toBe(1);
    b.checkInvariants();
  });
});

describe('ALLOC_NOFRAGMENT', () => {
  it('an unmovable request whose preferred zone is Normal claims a DMA32 pageblock before fragmenting Normal', () => {
    const b = new BuddyAllocator({
      layout: {
        endPfn: 4096,
        zones: [
          { zone: 1, start: 0, end: 2048 },
          { zone: 2, start: 2048, end: 4096 },
        ],
        holes: [],
        reserved: [],
      },
      pcp: false,
      minFreeKbytes: 0,
    });
    // Fill Normal with movable pages until the next one would land in DMA32 (Normal at its low watermark).
    const normal: number[] = [];
    for (;;) {
      const q = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      if (b.zoneOf(q) !== ZONE_NORMAL) {
        b.freePages(q, 0);
        break;
      }
      normal.push(q);
    }
    expect(normal.length).toBe(2048 - 2);
    // Free one page per pageblock in Normal: small movable holes only, no free pageblock.
    for (let pb = 0; pb < 4; pb++) b.freePages(2048 + pb * 512, 0);
    const p = b.allocPages(GFP_KERNEL, 0)!;
    expect(b.zoneOf(p)).toBe(1);
    expect(b.pageblockMigratetype(p)).toBe(MIGRATE_UNMOVABLE);
    expect(b.counters()['buddy.steals']).toBe(0);
    // With every zone full but one Normal page, the request steals it after all.
    while (b.allocPages(GFP_HIGHUSER_MOVABLE, 0) !== null);
    b.freePages(2048, 0);
    expect(b.allocPages(GFP_KERNEL, 0)).toBe(2048);
    expect(b.counters()['buddy.steals']).toBe(1);
    b.checkInvariants();
  });
});

describe('highatomic reserve', () => {
  it('a high-order atomic allocation in the slow path reserves its pageblock; GFP_KERNEL gets it only after unreserving', () => {
    // 256 MiB zone: 1 % = 655 pages, so at most ALIGN(655, 512) = 1024 pages reserved.
    const b = oneZone(65536, { minFreeKbytes: 4096 });
    const info = b.zoneInfo(ZONE_NORMAL);
    expect(info.watermarks).toEqual({ min: 1024, low: 1280, high: 1536, promo: 1792 });
    // Bring free pages to the low watermark: the fast path fails, the min-watermark path runs.
    const held: number[] = [];
    while (b.nrFreePages() > 1280) held.push(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!);
    const GFP_ATOMIC = 0x20 | 0x800; // __GFP_HIGH | __GFP_KSWAPD_RECLAIM
    const p = b.allocPages(GFP_ATOMIC, 2)!;
    expect(p).not.toBeNull();
    expect(b.pageblockMigratetype(p)).toBe(3);
    expect(b.zoneInfo(ZONE_NORMAL).nrReservedHighatomic).toBe(512);
    expect(b.counters()['buddy.highatomic_reserved']).toBe(512);
    expect(b.pageblockCounts(ZONE_NORMAL)[3]).toBe(1);
    b.checkInvariants();
    // GFP_KERNEL never gets a page of the reserve while it is reserved; before failing for good
    // it unreserves the last pageblock (should_reclaim_retry) and uses it.
    const ha = p >>> 9;
    let fromReserve = 0;
    for (;;) {
      const q = b.allocPages(GFP_KERNEL, 0);
      if (q === null) break;
      if (q >>> 9 === ha) {
        expect(b.zoneInfo(ZONE_NORMAL).nrReservedHighatomic).toBe(0);
        fromReserve++;
      }
    }
    expect(fromReserve).toBeGreaterThan(0);
    expect(b.pageblockMigratetype(p)).toBe(MIGRATE_UNMOVABLE);
    b.checkInvariants();
  });
});

describe('__GFP_NOMEMALLOC (gfp_to_alloc_flags)', () => {
  it('keeps a THP request without direct reclaim out of the reserves a GFP_NOWAIT-like request may count', () => {
    const results = [GFP_TRANSHUGE_LIGHT, GFP_TRANSHUGE_LIGHT & ~__GFP_NOMEMALLOC].map((gfp) => {
      const b = oneZone(65536, { minFreeKbytes: 4096 });
      const held: number[] = [];
      while (b.nrFreePages() > 1280) held.push(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!);
      // A GFP_ATOMIC order-2 allocation reserves a highatomic pageblock; freed, it stays reserved.
      const p = b.allocPages(0x20 | 0x800, 2)!;
      b.freePages(p, 2);
      // Freeing the held pages of one pageblock makes a free order-9 Movable block.
      const pb = held[held.length - 1]! >>> 9;
      for (const q of held) if (q >>> 9 === pb) b.freePages(q, 0);
      expect([b.nrFreePages(), b.zoneInfo(ZONE_NORMAL).nrReservedHighatomic, b.nrFreeBlocks(ZONE_NORMAL, MIGRATE_MOVABLE, 9)]).toEqual([1536, 512, 1]);
      // min watermark 1024; free pages for an order-9 check: 1536 - 511 = 1025, of which 512 are highatomic.
      const got = b.allocPages(gfp, 9);
      b.checkInvariants();
      return got === null ? 'failed' : b.pageblockMigratetype(got);
    });
    // GFP_TRANSHUGE_LIGHT: no ALLOC_NON_BLOCK, the reserve is unusable (1025 - 512 <= 1024): it fails and mm falls back to 4 KiB pages.
    // Without __GFP_NOMEMALLOC the same request is ALLOC_NON_BLOCK and counts the reserve: it gets the Movable block.
    expect(results).toEqual(['failed', MIGRATE_MOVABLE]);
  });
});

describe('page_group_by_mobility_disabled', () => {
  it('turns on below 3072 pages: every pageblock and request is Unmovable', () => {
    const small = new BuddyAllocator({
      layout: { endPfn: 2048, zones: [{ zone: ZONE_NORMAL, start: 0, end: 2048 }], holes: [], reserved: [] },
      pcp: false,
      minFreeKbytes: 0,
    });
    expect(small.mobilityGrouping).toBe(false);
    expect(small.pageblockCounts(ZONE_NORMAL).slice(0, 3)).toEqual([4, 0, 0]);
    const p = small.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    expect(small.pageblockMigratetype(p)).toBe(MIGRATE_UNMOVABLE);
    expect(small.nrFreeBlocks(ZONE_NORMAL, MIGRATE_UNMOVABLE, 9)).toBe(1);
    expect(small.counters()['buddy.fallbacks']).toBe(0);
    small.checkInvariants();
    expect(new BuddyAllocator({ memory: 32 * 1024 * 1024 }).mobilityGrouping).toBe(true);
  });
});
