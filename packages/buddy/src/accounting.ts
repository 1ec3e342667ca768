/**
 * Accounting where a block is born and dies: the page-owner bits of the first page, the
 * allocated-pages total, the per-pageblock content counters (movable vs the rest, what
 * prep_move_freepages_block() and has_unmovable_pages() look at) and the gauge of Movable
 * pageblocks polluted by unmovable or reclaimable allocations.
 */
import { MIGRATE_MOVABLE } from '@kmodel/core';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { PB_PAGES, PB_SHIFT, ST_ALLOC, ST_MOVABLE } = BUDDY_CONSTS;

/** Marks `pfn` as the first page of an allocated block of `order` and migratetype `mt`. */
export function accountAlloc(s: BuddyState, pfn: number, order: number, mt: number): void {
  const movable = mt === MIGRATE_MOVABLE;
  s.pageState[pfn] = ST_ALLOC | order | (movable ? ST_MOVABLE : 0);
  s.nAllocated += 1 << order;
  if (order <= PB_SHIFT) {
    const pb = pfn >>> PB_SHIFT;
    if (movable) s.pbMovable[pb] += 1 << order;
    else {
      if (s.pbUnmovable[pb] === 0 && s.pbFt[pb] === MIGRATE_MOVABLE) s.nPolluted++;
      s.pbUnmovable[pb] += 1 << order;
    }
    return;
  }
  const n = PB_PAGES;
  const end = pfn + (1 << order);
  for (let p = pfn; p < end; p += PB_PAGES) {
    const pb = p >>> PB_SHIFT;
    if (movable) s.pbMovable[pb] += n;
    else {
      if (s.pbUnmovable[pb] === 0 && s.pbFt[pb] === MIGRATE_MOVABLE) s.nPolluted++;
      s.pbUnmovable[pb] += n;
    }
  }
}

/** Undoes {@link accountAlloc} for a block being freed. */
export function unaccountAlloc(s: BuddyState, pfn: number, order: number, movable: boolean): void {
  s.pageState[pfn] = 0;
  s.nAllocated -= 1 << order;
  if (order <= PB_SHIFT) {
    const pb = pfn >>> PB_SHIFT;
    if (movable) s.pbMovable[pb] -= 1 << order;
    else {
      s.pbUnmovable[pb] -= 1 << order;
      if (s.pbUnmovable[pb] === 0 && s.pbFt[pb] === MIGRATE_MOVABLE) s.nPolluted--;
    }
    return;
  }
  const n = PB_PAGES;
  const end = pfn + (1 << order);
  for (let p = pfn; p < end; p += PB_PAGES) {
    const pb = p >>> PB_SHIFT;
    if (movable) s.pbMovable[pb] -= n;
    else {
      s.pbUnmovable[pb] -= n;
      if (s.pbUnmovable[pb] === 0 && s.pbFt[pb] === MIGRATE_MOVABLE) s.nPolluted--;
    }
  }
}
