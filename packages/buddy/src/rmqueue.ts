/**
 * __rmqueue() and rmqueue_buddy() (mm/page_alloc.c): a block off the buddy lists, trying in
 * turn the request's own freetype, CMA, claiming a fallback pageblock, converting an unmapped
 * pageblock back, and stealing one fallback block; the highatomic reserve around them.
 */
import { MIGRATE_CMA, MIGRATE_HIGHATOMIC } from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import { rmqueueClaim, rmqueueSteal } from './fallback.js';
import { rmqueueSmallest } from './free-area.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';
import { convertToMapped, convertToUnmapped } from './unmapped.js';

const { ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_NOFRAGMENT, ALLOC_NON_BLOCK, RMQUEUE_CLAIM, RMQUEUE_CMA, RMQUEUE_NORMAL, RMQUEUE_STEAL } = ALLOC_FLAGS;
const { FT_UU, NR_FT } = BUDDY_CONSTS;

/** rmqueue_buddy(): the highatomic reserve first for ALLOC_HIGHATOMIC, then __rmqueue(). */
export function rmqueueBuddy(s: BuddyState, z: number, order: number, ft: number, flags: number): number {
  let pfn = -1;
  const mapped = ft !== FT_UU;
  if (mapped && flags & ALLOC_HIGHATOMIC) pfn = rmqueueSmallest(s, z, order, MIGRATE_HIGHATOMIC);
  if (pfn < 0) {
    s.rmqm = RMQUEUE_NORMAL;
    pfn = rmqueueOne(s, z, order, ft, flags);
    // Failing now is worse than failing a high-order atomic allocation later.
    if (pfn < 0 && mapped && flags & ALLOC_NON_BLOCK) pfn = rmqueueSmallest(s, z, order, MIGRATE_HIGHATOMIC);
  }
  return pfn;
}

/** __rmqueue(): own lists, CMA, claim, unmapped-to-mapped conversion, steal; `s.rmqm` remembers the mode across a bulk refill. */
export function rmqueueOne(s: BuddyState, z: number, order: number, ft: number, flags: number): number {
  let pfn: number;
  if (ft === FT_UU) {
    pfn = rmqueueSmallest(s, z, order, FT_UU);
    if (pfn < 0) pfn = convertToUnmapped(s, z, order);
    return pfn;
  }
  if (flags & ALLOC_CMA && s.ftFree[z * NR_FT + MIGRATE_CMA]! > s.zoneFree[z]! / 2) {
    pfn = rmqueueSmallest(s, z, order, MIGRATE_CMA);
    if (pfn >= 0) return pfn;
  }
  // The kernel's switch with fallthrough: each mode also tries the later ones.
  const mode = s.rmqm;
  if (mode <= RMQUEUE_NORMAL) {
    pfn = rmqueueSmallest(s, z, order, ft);
    if (pfn >= 0) return pfn;
  }
  if (mode <= RMQUEUE_CMA && flags & ALLOC_CMA) {
    pfn = rmqueueSmallest(s, z, order, MIGRATE_CMA);
    if (pfn >= 0) {
      s.rmqm = RMQUEUE_CMA;
      return pfn;
    }
  }
  if (mode <= RMQUEUE_CLAIM) {
    pfn = rmqueueClaim(s, z, order, ft, flags);
    if (pfn < 0) pfn = convertToMapped(s, z, order, ft);
    if (pfn >= 0) {
      // Replenished the preferred lists: back to normal mode.
      s.rmqm = RMQUEUE_NORMAL;
      return pfn;
    }
  }
  if (!(flags & ALLOC_NOFRAGMENT)) {
    pfn = rmqueueSteal(s, z, order, ft);
    if (pfn >= 0) {
      s.rmqm = RMQUEUE_STEAL;
      return pfn;
    }
  }
  return -1;
}
