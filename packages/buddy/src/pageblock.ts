/**
 * Pageblock state: each pageblock's freetype (get/set_pageblock_migratetype plus the unmapped
 * flag), changing it for a range, and moving a pageblock's free blocks between free lists
 * (mm/page_alloc.c change_pageblock_range, prep_move_freepages_block, __move_freepages_block).
 */
import { MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_UNMOVABLE } from '@kmodel/core';
import { addFree, delFree } from './free-area.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { PB_PAGES, PB_SHIFT, ST_ALLOC, ST_FREE, ST_ORDER, ST_PCP } = BUDDY_CONSTS;

/** set_pageblock_migratetype() for freetypes, keeping the pollution gauge in step. */
export function setPageblockFt(s: BuddyState, pb: number, ft: number): void {
  // set_pageblock_migratetype(): the pcp types collapse to Unmovable without grouping.
  if (!s.mobilityGrouping && ft < MIGRATE_HIGHATOMIC) ft = MIGRATE_UNMOVABLE;
  const old = s.pbFt[pb]!;
  if (old === ft) return;
  if (s.pbUnmovable[pb]! > 0) {
    if (old === MIGRATE_MOVABLE) s.nPolluted--;
    if (ft === MIGRATE_MOVABLE) s.nPolluted++;
  }
  s.pbFt[pb] = ft;
}

/** change_pageblock_range(). */
export function changePageblockRange(s: BuddyState, pfn: number, order: number, ft: number): void {
  const nPb = order >= PB_SHIFT ? 1 << (order - PB_SHIFT) : 1;
  const pb = pfn >>> PB_SHIFT;
  for (let i = 0; i < nPb; i++) setPageblockFt(s, pb + i, ft);
}

/** Whether the pageblock starting at `start` lies wholly inside zone `z` (prep_move_freepages_block()'s zone check). */
export function pageblockInZone(s: BuddyState, start: number, z: number): boolean {
  return start >= s.zoneStart[z]! && start + PB_PAGES <= s.zoneEnd[z]!;
}

/** Free pages in a pageblock, scanning it as prep_move_freepages_block() does. */
export function pageblockFreePages(s: BuddyState, start: number): number {
  let free = 0;
  const st = s.pageState;
  for (let p = start; p < start + PB_PAGES; ) {
    const b = st[p]!;
    if (b & ST_FREE) {
      free += 1 << (b & ST_ORDER);
      p += 1 << (b & ST_ORDER);
    } else if (b & (ST_ALLOC | ST_PCP)) p += 1 << (b & ST_ORDER);
    else p++;
  }
  return free;
}

/** __move_freepages_block(): move every free block of the pageblock to the tail of `newFt`'s lists. Returns pages moved. */
export function moveFreepagesBlock(s: BuddyState, start: number, z: number, oldFt: number, newFt: number): number {
  let moved = 0;
  const st = s.pageState;
  for (let p = start; p < start + PB_PAGES; ) {
    const b = st[p]!;
    if (b & ST_FREE) {
      const o = b & ST_ORDER;
      delFree(s, p, z, oldFt, o);
      addFree(s, p, z, newFt, o, true);
      moved += 1 << o;
      p += 1 << o;
    } else if (b & (ST_ALLOC | ST_PCP)) p += 1 << (b & ST_ORDER);
    else p++;
  }
  return moved;
}
