/**
 * Fallbacks of __rmqueue() when a request's own free lists are empty (mm/page_alloc.c):
 * find_suitable_fallback(), __rmqueue_claim() with try_to_claim_block() (take over the whole
 * pageblock when at least half of it is free or compatible), __rmqueue_steal() (take one block,
 * leave the pageblock's type), and boost_watermark() after a fragmenting fallback.
 */
import { MAX_PAGE_ORDER, MIGRATE_MOVABLE } from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import { delFree, expand, rmqueueSmallest } from './free-area.js';
import { FALLBACKS, shouldTryClaimBlock } from './freetype.js';
import { changePageblockRange, moveFreepagesBlock, pageblockFreePages, pageblockInZone, setPageblockFt } from './pageblock.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { ALLOC_NOFRAGMENT } = ALLOC_FLAGS;
const { NR_FT, NR_ORD, PB_PAGES, PB_SHIFT } = BUDDY_CONSTS;

/**
 * find_suitable_fallback(): the first fallback type with a free block of `order`; -1 if none,
 * -2 if claiming is not worth trying at this order (should_try_claim_block()).
 */
export function findSuitableFallback(s: BuddyState, z: number, order: number, mt: number, claimable: boolean): number {
  if (claimable && s.mobilityGrouping && !shouldTryClaimBlock(order, mt)) return -2;
  if (s.areaFree[z * NR_ORD + order] === 0) return -1;
  const fb = FALLBACKS[mt]!;
  for (let i = 0; i < fb.length; i++) {
    if (s.count[(z * NR_FT + fb[i]!) * NR_ORD + order]! > 0) return fb[i]!;
  }
  return -1;
}

/** __rmqueue_claim(): the largest fallback block, claiming its pageblock if try_to_claim_block() agrees. */
export function rmqueueClaim(s: BuddyState, z: number, order: number, mt: number, flags: number): number {
  const minOrder = order < PB_SHIFT && flags & ALLOC_NOFRAGMENT ? PB_SHIFT : order;
  for (let co = MAX_PAGE_ORDER; co >= minOrder; co--) {
    const fmt = findSuitableFallback(s, z, co, mt, true);
    if (fmt === -1) continue;
    if (fmt === -2) break;
    const pfn = tryToClaimBlock(s, z, s.head[(z * NR_FT + fmt) * NR_ORD + co]!, co, order, mt, fmt);
    if (pfn >= 0) {
      s.nFallbacks++;
      return pfn;
    }
  }
  return -1;
}

/** __rmqueue_steal(): take one block of a fallback type without changing pageblock ownership. */
export function rmqueueSteal(s: BuddyState, z: number, order: number, mt: number): number {
  for (let co = order; co < NR_ORD; co++) {
    const fmt = findSuitableFallback(s, z, co, mt, false);
    if (fmt < 0) continue;
    const pfn = s.head[(z * NR_FT + fmt) * NR_ORD + co]!;
    delFree(s, pfn, z, fmt, co);
    expand(s, pfn, z, order, co, fmt);
    s.nSteals++;
    s.nFallbacks++;
    return pfn;
  }
  return -1;
}

/**
 * try_to_claim_block(): whole blocks of pageblock order or more change type outright;
 * smaller ones claim their pageblock when free + compatible pages reach half of it.
 */
export function tryToClaimBlock(s: BuddyState, z: number, pfn: number, co: number, order: number, startMt: number, blockMt: number): number {
  if (co >= PB_SHIFT) {
    delFree(s, pfn, z, blockMt, co);
    changePageblockRange(s, pfn, co, startMt);
    expand(s, pfn, z, order, co, startMt);
    s.nClaims++;
    return pfn;
  }
  boostWatermark(s, z);
  const start = pfn & ~(PB_PAGES - 1);
  // prep_move_freepages_block(): the whole pageblock must lie in the zone.
  if (!pageblockInZone(s, start, z)) return -1;
  const free = pageblockFreePages(s, start);
  const movable = s.pbMovable[start >>> PB_SHIFT]!;
  let alike: number;
  if (startMt === MIGRATE_MOVABLE) alike = movable;
  else alike = blockMt === MIGRATE_MOVABLE ? PB_PAGES - (free + movable) : 0;
  if (free + alike >= PB_PAGES >>> 1 || !s.mobilityGrouping) {
    moveFreepagesBlock(s, start, z, blockMt, startMt);
    setPageblockFt(s, start >>> PB_SHIFT, startMt);
    s.nClaims++;
    return rmqueueSmallest(s, z, order, startMt);
  }
  return -1;
}

/** boost_watermark(): raise the zone's watermarks by a pageblock after a fragmenting fallback. */
export function boostWatermark(s: BuddyState, z: number): void {
  if (s.boostFactor === 0 || PB_PAGES * 4 > s.zoneManaged[z]!) return;
  let maxBoost = Math.floor((s.wmark[z * 4 + 2]! * s.boostFactor) / 10000);
  if (maxBoost === 0) return;
  maxBoost = Math.max(PB_PAGES, maxBoost);
  s.boost[z] = Math.min(s.boost[z]! + PB_PAGES, maxBoost);
}
