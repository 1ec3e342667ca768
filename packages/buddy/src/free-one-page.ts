/**
 * __free_one_page() (mm/page_alloc.c): a freed block merges with its free buddies up to
 * MAX_PAGE_ORDER and goes to the head of its free list, or to the tail when it is likely to
 * merge further (buddy_merge_likely()); and split_large_buddy(), through which free_one_page()
 * frees blocks larger than a pageblock one pageblock at a time.
 */
import { MAX_PAGE_ORDER } from '@kmodel/core';
import * as freeAreaModule from './free-area.js';
import * as freetypeModule from './freetype.js';
import * as pageblockModule from './pageblock.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

// Module-local constants and callees: this is a hot path (see BUDDY_CONSTS in state.ts).
const { delFree, listAddHead, listAddTail } = freeAreaModule;
const { migratetypeIsMergeable } = freetypeModule;
const { changePageblockRange } = pageblockModule;
const { FT_UU, NR_FT, NR_ORD, PB_PAGES, PB_SHIFT, ST_FREE } = BUDDY_CONSTS;

/**
 * __free_one_page(): merge with free buddies up to MAX_PAGE_ORDER. At pageblock order and
 * above, blocks of different types merge only when both are mergeable (the three pcp types)
 * and agree on the unmapped flag; the buddy's pageblocks then take the freed block's type.
 */
export function freeOneBlock(s: BuddyState, pfn: number, order: number, z: number, toTail: boolean): void {
  const st = s.pageState;
  const ft = s.pbFt[pfn >>> PB_SHIFT]!;
  const endPfn = s.endPfn;
  const next = s.next;
  const prev = s.prev;
  const base = (z * NR_FT + ft) * NR_ORD;
  // Pages this free adds to the zone; buddies merged in only move between lists.
  const added = 1 << order;
  while (order < MAX_PAGE_ORDER) {
    const buddy = pfn ^ (1 << order);
    if (buddy >= endPfn || st[buddy] !== (ST_FREE | order)) break;
    if (order >= PB_SHIFT) {
      if (s.pbZone[buddy >>> PB_SHIFT] !== z) break;
      const bft = s.pbFt[buddy >>> PB_SHIFT]!;
      if (bft !== ft) {
        if (bft === FT_UU || ft === FT_UU || !migratetypeIsMergeable(ft) || !migratetypeIsMergeable(bft)) break;
        // Different (mergeable) types: the buddy's pageblocks take the freed block's type.
        delFree(s, buddy, z, bft, order);
        changePageblockRange(s, buddy, order, ft);
        s.zoneFree[z] += 1 << order;
        s.ftFree[z * NR_FT + ft] += 1 << order;
        pfn &= buddy;
        order++;
        continue;
      }
    }
    // Inlined listDel of the buddy from its (same-freetype) list.
    const id = base + order;
    const p = prev[buddy]!;
    const n = next[buddy]!;
    if (p >= 0) next[p] = n;
    else s.head[id] = n;
    if (n >= 0) prev[n] = p;
    else s.tail[id] = p;
    s.count[id]--;
    s.areaFree[z * NR_ORD + order]--;
    st[buddy] = 0;
    pfn &= buddy;
    order++;
  }
  if (!toTail && order < MAX_PAGE_ORDER - 1) {
    // buddy_merge_likely(): if the next-higher buddy is free, this block is likely to merge soon.
    const higher = pfn & ~(1 << order);
    const hb = higher ^ (1 << (order + 1));
    toTail = hb < endPfn && st[hb] === (ST_FREE | (order + 1)) && s.pbZone[hb >>> PB_SHIFT] === z;
  }
  const id = base + order;
  if (toTail) listAddTail(s, pfn, id);
  else listAddHead(s, pfn, id);
  st[pfn] = ST_FREE | order;
  s.areaFree[z * NR_ORD + order]++;
  s.zoneFree[z] += added;
  s.ftFree[z * NR_FT + ft] += added;
}

/**
 * split_large_buddy() (mm/page_alloc.c), as free_one_page() and __move_freepages_block_isolate()
 * call it for a block already off every list: a block larger than a pageblock is freed one
 * pageblock at a time, each piece with the freetype of its own pageblock
 * (get_pfnblock_migratetype() per piece), and __free_one_page() merges the pieces again only
 * where its merge rules allow (same type, or both mergeable). A block whose pageblocks all have
 * one type ends up exactly as a single __free_one_page() would leave it; pageblocks of different
 * mergeable types merge and take the type of the later piece (the buddy is retyped); an
 * isolated, HighAtomic, CMA or unmapped pageblock next to another type stays split at
 * pageblock order. Blocks of pageblock order or less are freed whole.
 */
export function splitLargeBuddy(s: BuddyState, pfn: number, order: number, z: number, toTail: boolean): void {
  if (order <= PB_SHIFT) {
    freeOneBlock(s, pfn, order, z, toTail);
    return;
  }
  const end = pfn + (1 << order);
  for (let p = pfn; p < end; p += PB_PAGES) freeOneBlock(s, p, PB_SHIFT, z, toTail);
}
