/**
 * Pageblock isolation and what memory offlining would run into (mm/page_isolation.c
 * set_migratetype_isolate, unset_migratetype_isolate, has_unmovable_pages).
 */
import { fail, MAX_PAGE_ORDER, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, show } from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import { delFree } from './free-area.js';
import { freeOneBlock, splitLargeBuddy } from './free-one-page.js';
import { moveFreepagesBlock, pageblockInZone, setPageblockFt } from './pageblock.js';
import { drainAllPages } from './pcp.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { PB_PAGES, PB_SHIFT, ST_FREE } = BUDDY_CONSTS;

/** set_migratetype_isolate() for the pageblock holding `pfn` (a valid PFN); false when refused. */
export function isolatePageblock(s: BuddyState, pfn: number): boolean {
  const pb = pfn >>> PB_SHIFT;
  const start = pb * PB_PAGES;
  const z = s.pbZone[pb]!;
  const ft = s.pbFt[pb]!;
  if (z === 255 || !pageblockInZone(s, start, z)) return false;
  if (ft === MIGRATE_ISOLATE || ft === MIGRATE_HIGHATOMIC || s.pbUnmovable[pb]! > 0) return false;
  drainAllPages(s);
  s.pbSavedFt[pb] = ft;
  // __move_freepages_block_isolate(): a free block larger than a pageblock covering this one
  // (find_large_buddy(), or this pageblock is its head) comes off its list, this pageblock is
  // isolated and split_large_buddy() frees the block again pageblock by pageblock, so this
  // pageblock's half lands on the Isolate list and the other keeps its own.
  if (splitLargeBuddyAround(s, start, z, MIGRATE_ISOLATE)) return true;
  moveFreepagesBlock(s, start, z, ft, MIGRATE_ISOLATE);
  setPageblockFt(s, pb, MIGRATE_ISOLATE);
  return true;
}

/**
 * The large-buddy half of __move_freepages_block_isolate(): if a free block of more than
 * pageblock order covers the pageblock at `start`, take it off its list, give this pageblock
 * freetype `ft` and free the block again with split_large_buddy(). False (nothing changed)
 * when there is no such block.
 */
function splitLargeBuddyAround(s: BuddyState, start: number, z: number, ft: number): boolean {
  // find_large_buddy(): with pageblock_order 9 the only larger order is MAX_PAGE_ORDER.
  const head = start & ~((1 << MAX_PAGE_ORDER) - 1);
  if (s.pageState[head] !== (ST_FREE | MAX_PAGE_ORDER)) return false;
  delFree(s, head, z, s.pbFt[head >>> PB_SHIFT]!, MAX_PAGE_ORDER);
  setPageblockFt(s, start >>> PB_SHIFT, ft);
  splitLargeBuddy(s, head, MAX_PAGE_ORDER, z, false);
  return true;
}

/**
 * unset_migratetype_isolate() for the pageblock holding `pfn` (a valid PFN); E_NOT_ISOLATED if
 * it is not isolated. A pageblock that is one free order-9 block whose buddy is free and not
 * isolated is taken off the Isolate list (__isolate_free_page()) and freed again to the tail
 * (__putback_isolated_page(): FPI_TO_TAIL), merging with the buddy where __free_one_page()
 * allows. Otherwise pageblock_unisolate_and_move_free_pages(): a covering free order-10 block
 * is split again, or every free block moves unmerged to the tail of its restored list
 * (__move_freepages_block()); the isolated pages were never touched, so they go last.
 */
export function undoIsolatePageblock(s: BuddyState, pfn: number): void {
  const pb = pfn >>> PB_SHIFT;
  if (s.pbFt[pb] !== MIGRATE_ISOLATE) {
    fail(BuddyErrorCode.NotIsolated, `the pageblock of pfn ${show(pfn)} is not isolated`, { pfn });
  }
  const start = pb * PB_PAGES;
  const z = s.pbZone[pb]!;
  const ft = s.pbSavedFt[pb]!;
  if (s.pageState[start] === (ST_FREE | PB_SHIFT) && PB_SHIFT < MAX_PAGE_ORDER) {
    // find_buddy_page_pfn(): the buddy must be a free block of the same order in the same zone.
    const buddy = start ^ PB_PAGES;
    if (buddy < s.endPfn && s.pageState[buddy] === (ST_FREE | PB_SHIFT) && s.pbZone[buddy >>> PB_SHIFT] === z && s.pbFt[buddy >>> PB_SHIFT] !== MIGRATE_ISOLATE) {
      delFree(s, start, z, MIGRATE_ISOLATE, PB_SHIFT);
      setPageblockFt(s, pb, ft);
      freeOneBlock(s, start, PB_SHIFT, z, true);
      return;
    }
  }
  // Two isolated neighbours may have merged into a free 4 MiB block (same type): split it again
  // (__move_freepages_block_isolate() -> split_large_buddy()); the other half stays isolated.
  if (splitLargeBuddyAround(s, start, z, ft)) return;
  moveFreepagesBlock(s, start, z, MIGRATE_ISOLATE, ft);
  setPageblockFt(s, pb, ft);
}

/** has_unmovable_pages() at pageblock granularity over the pageblocks touching [startPfn, endPfn) (a valid range). */
export function hasUnmovablePages(s: BuddyState, startPfn: number, endPfn: number): boolean {
  for (let pb = startPfn >>> PB_SHIFT; pb * PB_PAGES < endPfn; pb++) if (s.pbUnmovable[pb]! > 0) return true;
  return false;
}

/** Pageblocks in [start, end) holding at least one unmovable or reclaimable allocation. */
export function countPageblocksWithUnmovable(s: BuddyState, start: number, end: number): number {
  let n = 0;
  for (let pb = start >>> PB_SHIFT; pb * PB_PAGES < end; pb++) if (s.pbUnmovable[pb]! > 0) n++;
  return n;
}
