import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BuddyAllocator } from '@kmodel/buddy';
import { GFP_HIGHUSER_MOVABLE, GiB, MIGRATE_CMA, MIGRATE_ISOLATE, MIGRATE_MOVABLE, ZONE_DMA32, ZONE_NORMAL } from '@kmodel/core';
import { freeRow, oneZone } from './helpers.js';

/** Free blocks of a PFN range as `pfn/order/freetype`, sorted by PFN. */
function freeBlocksIn(b: BuddyAllocator, start: number, end: number): string[] {
  const out: [number, string][] = [];
  b.forEachFreeBlock((pfn, order, _zone, ft) => {
    if (pfn >= start && pfn < end) out.push([pfn, `${pfn}/${order}/${ft}`]);
  });
  return out.sort((a, c) => a[0] - c[0]).map((e) => e[1]);
}

/** One free list (zone, freetype, order) from head to tail. */
function freeList(b: BuddyAllocator, zone: number, ft: number, order: number): number[] {
  const out: number[] = [];
  b.forEachFreeBlock((pfn, o, z, t) => {
    if (z === zone && t === ft && o === order) out.push(pfn);
  });
  return out;
}

// free_one_page() -> split_large_buddy(): a block larger than a pageblock is freed one
// pageblock at a time with each pageblock's own freetype, and __free_one_page() merges the
// pieces only where its merge rules allow.
describe('freeing a block larger than a pageblock (split_large_buddy)', () => {
  it('keeps an isolated pageblock of a freed 4 MiB block on the Isolate list, and merges it back on undo', () => {
    const b = new BuddyAllocator({ memory: 1 * GiB });
    const free0 = b.nrFreePages();
    expect(free0).toBe(261888);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_MOVABLE, 10)).toBe(252);
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 10)!;
    expect(p).toBe(4096);
    expect(b.nrFreePages()).toBe(free0 - 1024);
    // It holds only movable pages, so it may be isolated.
    expect(b.isolatePageblock(p)).toBe(true);
    b.freePages(p, 10);
    b.checkInvariants();
    // The isolated first half on the Isolate list, the Movable second half on its own list:
    // Isolate and Movable do not merge at pageblock order (migratetype_is_mergeable()).
    expect(freeBlocksIn(b, 4096, 5120)).toEqual([`4096/9/${MIGRATE_ISOLATE}`, `4608/9/${MIGRATE_MOVABLE}`]);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_ISOLATE, 9)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_MOVABLE, 9)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_MOVABLE, 10)).toBe(251);
    expect(b.pageblockMigratetype(4096)).toBe(MIGRATE_ISOLATE);
    expect(b.pageblockMigratetype(4608)).toBe(MIGRATE_MOVABLE);
    // nrFreePages() counts every page on a buddy list, the Isolate lists included.
    expect(b.nrFreePages()).toBe(free0);
    expect(b.allocatedPages()).toBe(0);
    // Nothing is handed out of the isolated half.
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 9)).toBe(4608);
    b.freePages(4608, 9);
    // Order 9 goes through the pcp THP list (pcp_allowed_order()): the refill took two blocks
    // (nr_pcp_alloc() takes at least 2) and the free put 4608 back there. Drain to the buddy.
    expect(b.pcpPages()).toBe(1024);
    b.drainAllPages();
    // unset_migratetype_isolate(): the isolated order-9 block's buddy is free and not isolated,
    // so it is taken off (__isolate_free_page()) and put back (__putback_isolated_page()),
    // merging into one order-10 Movable block again.
    b.undoIsolatePageblock(p);
    b.checkInvariants();
    expect(freeBlocksIn(b, 4096, 5120)).toEqual([`4096/10/${MIGRATE_MOVABLE}`]);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_ISOLATE, 9)).toBe(0);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_MOVABLE, 9)).toBe(0);
    expect(b.nrFreeBlocks(ZONE_DMA32, MIGRATE_MOVABLE, 10)).toBe(252);
    expect(b.pageblockMigratetype(4096)).toBe(MIGRATE_MOVABLE);
    expect(b.nrFreePages()).toBe(free0);
    // FPI_TO_TAIL: the merged block goes to the tail of its list, behind the untouched ones.
    const list = freeList(b, ZONE_DMA32, MIGRATE_MOVABLE, 10);
    expect(list.slice(0, 2)).toEqual([5120, 6144]);
    expect(list.at(-1)).toBe(4096);
  });

  it('does the same when the isolated pageblock is the second half', () => {
    const b = oneZone(2048);
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 10)!;
    expect(p).toBe(0);
    expect(b.isolatePageblock(512)).toBe(true);
    b.freePages(p, 10);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/9/${MIGRATE_MOVABLE}`, `512/9/${MIGRATE_ISOLATE}`]);
    expect(b.nrFreePages()).toBe(2048);
    b.undoIsolatePageblock(512);
    b.checkInvariants();
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_MOVABLE)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  });

  it('merges a freed block whose pageblocks are both isolated into one Isolate block, and splits it on undo', () => {
    const b = oneZone(2048);
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 10)!;
    expect(b.isolatePageblock(p)).toBe(true);
    expect(b.isolatePageblock(p + 512)).toBe(true);
    b.freePages(p, 10);
    b.checkInvariants();
    // Same type: the second piece merges with the first.
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/10/${MIGRATE_ISOLATE}`]);
    b.undoIsolatePageblock(0);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/9/${MIGRATE_MOVABLE}`, `512/9/${MIGRATE_ISOLATE}`]);
    b.undoIsolatePageblock(512);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/10/${MIGRATE_MOVABLE}`]);
    expect(b.nrFreePages()).toBe(2048);
  });

  it('isolating one half of a free 4 MiB block splits it, the other half keeping its list', () => {
    const b = oneZone(2048);
    expect(b.isolatePageblock(1536)).toBe(true);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 2048)).toEqual([`0/10/${MIGRATE_MOVABLE}`, `1024/9/${MIGRATE_MOVABLE}`, `1536/9/${MIGRATE_ISOLATE}`]);
    b.undoIsolatePageblock(1536);
    expect(freeBlocksIn(b, 0, 2048)).toEqual([`0/10/${MIGRATE_MOVABLE}`, `1024/10/${MIGRATE_MOVABLE}`]);
    b.checkInvariants();
  });

  it('frees memory at boot pageblock by pageblock, so a CMA range aligned only to a pageblock stays on the CMA list', () => {
    // memblock_free_all() -> __free_pages_core() -> free_one_page() -> split_large_buddy().
    const b = oneZone(2048, { configCma: true, cma: [{ start: 512, end: 1024 }] });
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 2048)).toEqual([`0/9/${MIGRATE_MOVABLE}`, `512/9/${MIGRATE_CMA}`, `1024/10/${MIGRATE_MOVABLE}`]);
    expect(b.pageblockCounts(ZONE_NORMAL)).toEqual([0, 3, 0, 0, 1, 0, 0]);
    expect(b.nrFreePages()).toBe(2048);
    // A Movable order-10 request cannot take the mixed block: it gets [1024, 2048).
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 10)).toBe(1024);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 10)).toBe(null);
    b.freePages(1024, 10);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 2048)).toEqual([`0/9/${MIGRATE_MOVABLE}`, `512/9/${MIGRATE_CMA}`, `1024/10/${MIGRATE_MOVABLE}`]);
  });

  it('property: any set of isolated pageblocks under freed 4 MiB blocks keeps every half on its own list', () => {
    // Four order-10 blocks (eight pageblocks); isolate any subset while they are allocated,
    // free them in any order, then undo the isolation in any order.
    const perm = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), perm(4), perm(8), (mask, freeOrder, undoOrder) => {
        const b = oneZone(4096);
        const blocks = [0, 1, 2, 3].map(() => b.allocPages(GFP_HIGHUSER_MOVABLE, 10)!);
        expect(blocks.sort((x, y) => x - y)).toEqual([0, 1024, 2048, 3072]);
        const iso = (pb: number) => ((mask >> pb) & 1) === 1;
        for (let pb = 0; pb < 8; pb++) if (iso(pb)) expect(b.isolatePageblock(pb * 512)).toBe(true);
        for (const i of freeOrder) b.freePages(i * 1024, 10);
        b.checkInvariants();
        expect(b.nrFreePages()).toBe(4096);
        for (let i = 0; i < 4; i++) {
          const a = iso(2 * i);
          const c = iso(2 * i + 1);
          const expected =
            a === c
              ? [`${i * 1024}/10/${a ? MIGRATE_ISOLATE : MIGRATE_MOVABLE}`]
              : [`${i * 1024}/9/${a ? MIGRATE_ISOLATE : MIGRATE_MOVABLE}`, `${i * 1024 + 512}/9/${c ? MIGRATE_ISOLATE : MIGRATE_MOVABLE}`];
          expect(freeBlocksIn(b, i * 1024, (i + 1) * 1024)).toEqual(expected);
        }
        for (const pb of undoOrder) if (iso(pb)) b.undoIsolatePageblock(pb * 512);
        b.checkInvariants();
        expect(freeRow(b, ZONE_NORMAL, MIGRATE_MOVABLE)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
        expect(b.nrFreePages()).toBe(4096);
      }),
      { numRuns: 200 },
    );
  });
});

describe('undoing pageblock isolation (unset_migratetype_isolate)', () => {
  it('moves the free pages of a partly used pageblock unmerged to the tails of their restored lists', () => {
    const b = oneZone(4096);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(0);
    expect(b.isolatePageblock(0)).toBe(true);
    // The free rest of pageblock 0 (1/0, 2/1, ..., 256/8) is on the Isolate lists.
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_ISOLATE)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    // The next page comes from pageblock 1, leaving 513/0, 514/1, ..., 768/8 on the Movable lists.
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBe(512);
    b.undoIsolatePageblock(0);
    b.checkInvariants();
    expect(freeRow(b, ZONE_NORMAL, MIGRATE_ISOLATE)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // __move_freepages_block(): each list gets pageblock 0's block at its tail, no merging.
    for (let o = 0; o <= 8; o++) expect(freeList(b, ZONE_NORMAL, MIGRATE_MOVABLE, o)).toEqual([512 + (1 << o), 1 << o]);
    // So the next order-8 request is served from pageblock 1, not from the pages just given back.
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 8)).toBe(768);
  });

  it('moves a whole free pageblock whose buddy is still isolated to the tail, and merges it once both are back', () => {
    const b = oneZone(4096);
    expect(b.isolatePageblock(0)).toBe(true);
    expect(b.isolatePageblock(512)).toBe(true);
    // Isolating splits the free 4 MiB block; moving free pages never merges them.
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/9/${MIGRATE_ISOLATE}`, `512/9/${MIGRATE_ISOLATE}`]);
    // An order-9 request splits 1024, leaving 1536 on the Movable order-9 list.
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 9)).toBe(1024);
    expect(freeList(b, ZONE_NORMAL, MIGRATE_MOVABLE, 9)).toEqual([1536]);
    // 512's buddy 0 is isolated: no __isolate_free_page(), just a move to the tail.
    b.undoIsolatePageblock(512);
    b.checkInvariants();
    expect(freeBlocksIn(b, 0, 1024)).toEqual([`0/9/${MIGRATE_ISOLATE}`, `512/9/${MIGRATE_MOVABLE}`]);
    expect(freeList(b, ZONE_NORMAL, MIGRATE_MOVABLE, 9)).toEqual([1536, 512]);
    // Now 0's buddy is free and not isolated: taken off and put back, merging to order 10 at
    // the tail of the Movable order-10 list.
    b.undoIsolatePageblock(0);
    b.checkInvariants();
    expect(freeList(b, ZONE_NORMAL, MIGRATE_MOVABLE, 10)).toEqual([2048, 3072, 0]);
    expect(freeList(b, ZONE_NORMAL, MIGRATE_MOVABLE, 9)).toEqual([1536]);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 10)).toBe(2048);
  });
});
