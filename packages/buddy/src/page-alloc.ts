/**
 * The allocation policy around the free lists (mm/page_alloc.c): get_page_from_freelist()'s
 * zonelist walk with watermarks and ALLOC_NOFRAGMENT, rmqueue() choosing the pcp or buddy
 * lists, and __alloc_pages_slowpath()'s retries with more reserves, a pcp drain and highatomic
 * unreserving.
 */
import { __GFP_ATOMIC_RESERVE, __GFP_DIRECT_RECLAIM, __GFP_HIGH, __GFP_KSWAPD_RECLAIM, __GFP_NOMEMALLOC } from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import * as highatomicModule from './highatomic.js';
import * as pcpModule from './pcp.js';
import * as rmqueueModule from './rmqueue.js';
import type { BuddyState } from './state.js';
import * as zoneWatermarkModule from './zone-watermark.js';

// Module-local constants and callees: this is a hot path (see BUDDY_CONSTS in state.ts).
const { ALLOC_HIGHATOMIC, ALLOC_MIN_RESERVE, ALLOC_NOFRAGMENT, ALLOC_NON_BLOCK, ALLOC_WMARK_MASK, ALLOC_WMARK_MIN } = ALLOC_FLAGS;
const { reserveHighatomicPageblock, unreserveHighatomicPageblock } = highatomicModule;
const { drainAllPages, pcpAllowedOrder, rmqueuePcplist } = pcpModule;
const { rmqueueBuddy } = rmqueueModule;
const { zoneWatermarkOk } = zoneWatermarkModule;

/** get_page_from_freelist(): walks the zonelist; -1 when no zone qualifies. */
export function getPageFromFreelist(s: BuddyState, order: number, ft: number, highest: number, flags: number): number {
  const zl = s.zonelists[highest]!;
  for (;;) {
    for (let i = 0; i < zl.length; i++) {
      const z = zl[i]!;
      const mark = s.wmark[z * 4 + (flags & ALLOC_WMARK_MASK)]! + s.boost[z]!;
      if (!zoneWatermarkOk(s, z, order, mark, highest, flags)) continue;
      const pfn = rmqueue(s, z, order, ft, flags);
      if (pfn >= 0) {
        if (flags & ALLOC_HIGHATOMIC) reserveHighatomicPageblock(s, pfn, order, z);
        return pfn;
      }
    }
    // A UMA machine can get through every zone fragmented: retry allowing fragmentation.
    if (!(flags & ALLOC_NOFRAGMENT)) return -1;
    flags &= ~ALLOC_NOFRAGMENT;
  }
}

/** rmqueue(): the pcp list for small orders, else the buddy lists. */
export function rmqueue(s: BuddyState, z: number, order: number, ft: number, flags: number): number {
  if (s.pcpEnabled && pcpAllowedOrder(order)) {
    const pfn = rmqueuePcplist(s, z, order, ft, flags);
    if (pfn >= 0) return pfn;
  }
  return rmqueueBuddy(s, z, order, ft, flags);
}

/**
 * __alloc_pages_slowpath(), for what kmodel models of it: kswapd would be woken; retry at the
 * min watermark with the reserves gfp_to_alloc_flags() grants; for callers that may reclaim,
 * drain the pcp lists and unreserve highatomic pageblocks before failing. `cmaFlag` is
 * ALLOC_CMA or 0, `mt` the request's migratetype. -1 on failure.
 */
export function allocPagesSlowpath(s: BuddyState, gfp: number, order: number, ft: number, mt: number, highest: number, cmaFlag: number): number {
  if (gfp & __GFP_KSWAPD_RECLAIM) s.nKswapdWakes++;
  let flags = ALLOC_WMARK_MIN | cmaFlag;
  if (gfp & __GFP_HIGH) flags |= ALLOC_MIN_RESERVE;
  // gfp_to_alloc_flags(): a request that cannot sleep may use more reserves, unless it is
  // __GFP_NOMEMALLOC (THP: it can fail and fall back to small pages).
  if (!(gfp & __GFP_DIRECT_RECLAIM) && !(gfp & __GFP_NOMEMALLOC)) {
    flags |= ALLOC_NON_BLOCK;
    if (order > 0 && flags & ALLOC_MIN_RESERVE) flags |= ALLOC_HIGHATOMIC;
  }
  if (gfp & __GFP_ATOMIC_RESERVE) flags |= ALLOC_HIGHATOMIC;
  let pfn = getPageFromFreelist(s, order, ft, highest, flags);
  if (pfn < 0 && gfp & __GFP_DIRECT_RECLAIM) {
    // What direct reclaim does for pages it cannot see: drain pcp lists, unreserve highatomic.
    drainAllPages(s);
    unreserveHighatomicPageblock(s, highest, mt, false);
    pfn = getPageFromFreelist(s, order, ft, highest, flags);
    // Before OOM, should_reclaim_retry() unreserves even the last highatomic pageblock.
    if (pfn < 0 && unreserveHighatomicPageblock(s, highest, mt, true)) pfn = getPageFromFreelist(s, order, ft, highest, flags);
  }
  return pfn;
}
