/**
 * Conversions between mapped and unmapped pageblocks (the 2026 `__GFP_UNMAPPED` series): whole
 * free pageblocks leave the direct map for the Unmovable|Unmapped lists, one
 * `DirectMapControl.removeRange` call per pageblock, and come back with `restoreRange` when a
 * mapped request finds nothing else.
 */
import { MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE } from '@kmodel/core';
import { delFree, expand, freeListId } from './free-area.js';
import { splitLargeBuddy } from './free-one-page.js';
import { changePageblockRange } from './pageblock.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { FT_UU, NR_ORD, PB_PAGES, PB_SHIFT } = BUDDY_CONSTS;

/** Where an unmapped request takes a free pageblock from: Unmovable first, then its fallbacks. */
const UNMAP_SOURCES = [MIGRATE_UNMOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE] as const;

/**
 * Unmapped allocations with empty unmapped lists: take a whole free pageblock (order >=
 * pageblock_order; Unmovable first, then the Unmovable fallbacks, smallest order first so
 * 4 MiB blocks survive), split it down to what the request needs (one pageblock unless the
 * request is order 10), remove that from the direct map one pageblock per call, and retype it
 * Unmovable|Unmapped. The block leaves the free lists before the direct map is asked, so a
 * DirectMapControl that allocates page tables cannot be handed the same pages.
 */
export function convertToUnmapped(s: BuddyState, z: number, order: number): number {
  for (let o = Math.max(order, PB_SHIFT); o < NR_ORD; o++) {
    for (const src of UNMAP_SOURCES) {
      const pfn = s.head[freeListId(z, src, o)]!;
      if (pfn < 0) continue;
      // Convert only what the request needs: split a larger block down to `target` first,
      // leaving the upper halves on their mapped lists.
      const target = Math.max(order, PB_SHIFT);
      delFree(s, pfn, z, src, o);
      expand(s, pfn, z, target, o, src);
      const nPb = 1 << (target - PB_SHIFT);
      let done = 0;
      while (done < nPb && s.directMap.removeRange(pfn + done * PB_PAGES, PB_PAGES)) done++;
      if (done < nPb) {
        for (let i = 0; i < done; i++) s.directMap.restoreRange(pfn + i * PB_PAGES, PB_PAGES);
        s.nUnmapFailures++;
        // Freed back like any block (split_large_buddy() for an order-10 request).
        splitLargeBuddy(s, pfn, target, z, false);
        return -1;
      }
      changePageblockRange(s, pfn, target, FT_UU);
      s.nUnmapped += nPb;
      expand(s, pfn, z, order, target, FT_UU);
      return pfn;
    }
  }
  return -1;
}

/** Mapped allocations that found nothing else: give a whole free unmapped pageblock back to the direct map. */
export function convertToMapped(s: BuddyState, z: number, order: number, ft: number): number {
  for (let o = Math.max(order, PB_SHIFT); o < NR_ORD; o++) {
    const pfn = s.head[freeListId(z, FT_UU, o)]!;
    if (pfn < 0) continue;
    const target = Math.max(order, PB_SHIFT);
    delFree(s, pfn, z, FT_UU, o);
    expand(s, pfn, z, target, o, FT_UU);
    const nPb = 1 << (target - PB_SHIFT);
    for (let i = 0; i < nPb; i++) s.directMap.restoreRange(pfn + i * PB_PAGES, PB_PAGES);
    changePageblockRange(s, pfn, target, ft);
    s.nRemapped += nPb;
    expand(s, pfn, z, order, target, ft);
    return pfn;
  }
  return -1;
}
