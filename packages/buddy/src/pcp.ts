/**
 * Per-CPU page lists (mm/page_alloc.c): rmqueue_pcplist() with its rmqueue_bulk() refill sized
 * by nr_pcp_alloc(), free_frozen_page_commit() and free_pcppages_bulk() above pcp->high, and
 * drain_all_pages(). Each (zone, cpu) has NR_PCP_LISTS lists: orders 0..3 of the three pcp
 * migratetypes and Unmovable|Unmapped, then a mapped and an unmapped THP list.
 *
 * These are the hot paths of every page-table allocation: list operations are inlined on
 * the typed arrays rather than called through free-area.ts.
 */
import { MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, MIGRATE_MOVABLE } from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import * as freeAreaModule from './free-area.js';
import * as freeOnePageModule from './free-one-page.js';
import * as rmqueueModule from './rmqueue.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';
import * as zoneWatermarkModule from './zone-watermark.js';

// Module-local constants and callees: this is a hot path (see BUDDY_CONSTS in state.ts).
const { ALLOC_CMA, ALLOC_WMARK_LOW, RMQUEUE_NORMAL } = ALLOC_FLAGS;
const { listAddTail, listDel, rmqueueSmallest } = freeAreaModule;
const { freeOneBlock } = freeOnePageModule;
const { rmqueueOne } = rmqueueModule;
const { FT_UU, NR_BUDDY_LISTS, NR_FT, NR_ORD, NR_PCP_LISTS, NR_ZONES, PAGE_ALLOC_COSTLY_ORDER, PB_SHIFT, ST_ORDER, ST_PCP } = BUDDY_CONSTS;
const { zoneWatermarkOk } = zoneWatermarkModule;

/** CONFIG_PCP_BATCH_SCALE_MAX default. */
const PCP_BATCH_SCALE_MAX = 5;

/** Whether blocks of `order` go through the pcp lists (pcp_allowed_order()). */
export function pcpAllowedOrder(order: number): boolean {
  return order <= PAGE_ALLOC_COSTLY_ORDER || order === PB_SHIFT;
}

/** The pcp list of (zone, cpu, order, freetype) (order_to_pindex()). */
export function pcpListId(s: BuddyState, z: number, cpu: number, order: number, ft: number): number {
  const pft = ft === FT_UU ? 3 : ft;
  const pindex = order <= PAGE_ALLOC_COSTLY_ORDER ? order * 4 + pft : 16 + (pft === 3 ? 1 : 0);
  return NR_BUDDY_LISTS + (z * s.nrCpus + cpu) * NR_PCP_LISTS + pindex;
}

/**
 * get_page_from_freelist()'s usual order-0 outcome, taken directly: the preferred zone `z`
 * passes the low watermark and its pcp list for `ft` has a page, which is unlinked and
 * returned. -1 (nothing changed) otherwise, and the caller goes the whole way.
 */
export function allocPcpHit(s: BuddyState, z: number, ft: number, highest: number, flags: number): number {
  const id = pcpListId(s, z, s.cpu, 0, ft);
  const pfn = s.head[id]!;
  if (pfn < 0 || !zoneWatermarkOk(s, z, 0, s.wmark[z * 4 + ALLOC_WMARK_LOW]! + s.boost[z]!, highest, flags)) return -1;
  const nx = s.next[pfn]!;
  s.head[id] = nx;
  if (nx >= 0) s.prev[nx] = -1;
  else s.tail[id] = -1;
  s.count[id]--;
  s.pcpCount[z * s.nrCpus + s.cpu]--;
  s.nPcp--;
  return pfn;
}

/** rmqueue_pcplist(): take the first page of the pcp list, refilling it with rmqueue_bulk() when empty. */
export function rmqueuePcplist(s: BuddyState, z: number, order: number, ft: number, flags: number): number {
  const cpu = s.cpu;
  const id = pcpListId(s, z, cpu, order, ft);
  if (s.head[id]! < 0) {
    const batch = nrPcpAlloc(s, z, z * s.nrCpus + cpu, order);
    s.rmqm = RMQUEUE_NORMAL;
    if (order === 0) rmqueueBulk0(s, z, ft, flags, batch, id, z * s.nrCpus + cpu);
    else {
      for (let i = 0; i < batch; i++) {
        const p = rmqueueOne(s, z, order, ft, flags);
        if (p < 0) break;
        listAddTail(s, p, id);
        s.pageState[p] = ST_PCP | order;
        s.pcpCount[z * s.nrCpus + cpu] += 1 << order;
        s.nPcp += 1 << order;
      }
    }
    if (s.head[id]! < 0) return -1;
  }
  const pfn = s.head[id]!;
  listDel(s, pfn, id);
  s.pageState[pfn] = 0;
  s.pcpCount[z * s.nrCpus + cpu] -= 1 << order;
  s.nPcp -= 1 << order;
  return pfn;
}

/**
 * rmqueue_bulk() for order 0: `batch` calls of __rmqueue(), each page added to the tail of pcp
 * list `id`. When __rmqueue() would take from __rmqueue_smallest() and the smallest free block
 * of `ft` (order o, every lower list of `ft` empty) fits in what is left of the batch, the next
 * 2^o calls hand out exactly that block's pages in PFN order and leave the lower lists empty
 * again, so the whole block moves to the pcp list at once; the result (lists, their order,
 * counters, page states) is the same as page by page. Anything else (a block larger than the
 * rest of the batch, CMA, a fallback) goes through {@link rmqueueOne} one page at a time.
 */
export function rmqueueBulk0(s: BuddyState, z: number, ft: number, flags: number, batch: number, id: number, ci: number): void {
  const head = s.head;
  const next = s.next;
  const prev = s.prev;
  const st = s.pageState;
  const base = (z * NR_FT + ft) * NR_ORD;
  // __rmqueue() goes straight to __rmqueue_smallest() for unmapped requests, and for mapped ones
  // in RMQUEUE_NORMAL mode unless the CMA balancing check may apply.
  const smallestFirst = ft === FT_UU || !(flags & ALLOC_CMA);
  let left = batch;
  while (left > 0) {
    let o = 0;
    if (smallestFirst && s.rmqm === RMQUEUE_NORMAL) {
      while (o < NR_ORD && head[base + o]! < 0) o++;
    } else o = NR_ORD;
    let n: number;
    let pfn: number;
    if (o < NR_ORD && 1 << o <= left) {
      // Take the whole block (inlined delFree).
      const fid = base + o;
      pfn = head[fid]!;
      const nx = next[pfn]!;
      head[fid] = nx;
      if (nx >= 0) prev[nx] = -1;
      else s.tail[fid] = -1;
      s.count[fid]--;
      s.areaFree[z * NR_ORD + o]--;
      n = 1 << o;
      s.zoneFree[z] -= n;
      s.ftFree[z * NR_FT + ft] -= n;
    } else {
      pfn = o < NR_ORD ? rmqueueSmallest(s, z, 0, ft) : rmqueueOne(s, z, 0, ft, flags);
      if (pfn < 0) break;
      n = 1;
    }
    // Append pfn .. pfn+n-1 to the tail of the pcp list.
    const t = s.tail[id]!;
    prev[pfn] = t;
    if (t >= 0) next[t] = pfn;
    else head[id] = pfn;
    const last = pfn + n - 1;
    for (let p = pfn; p < last; p++) {
      next[p] = p + 1;
      prev[p + 1] = p;
      st[p] = ST_PCP;
    }
    next[last] = -1;
    st[last] = ST_PCP;
    s.tail[id] = last;
    s.count[id] += n;
    s.pcpCount[ci] += n;
    s.nPcp += n;
    left -= n;
  }
}

/**
 * nr_pcp_alloc(): how many blocks a refill takes. Consecutive order-0 refills without a free
 * double the batch (alloc_factor, up to CONFIG_PCP_BATCH_SCALE_MAX = 5), bounded by the room
 * left below pcp->high; higher orders take batch >> order blocks, at least 2.
 */
export function nrPcpAlloc(s: BuddyState, z: number, ci: number, order: number): number {
  const high = s.pcpHigh[z]!;
  let batch = s.pcpBatch[z]!;
  if (high < batch) return 1;
  if (order === 0) {
    const maxNrAlloc = Math.max(high - s.pcpCount[ci]! - batch, batch);
    batch <<= s.pcpAllocFactor[ci]!;
    if (batch <= maxNrAlloc && s.pcpAllocFactor[ci]! < PCP_BATCH_SCALE_MAX) s.pcpAllocFactor[ci]++;
    batch = Math.min(batch, maxNrAlloc);
  }
  if (batch > 1) batch = Math.max(batch >> order, 2);
  return batch;
}

/** free_frozen_page_commit(): put the block on this CPU's pcp list and drain a batch above pcp->high. */
export function freeToPcp(s: BuddyState, pfn: number, order: number, z: number): void {
  let ft = s.pbFt[pfn >>> PB_SHIFT]!;
  if (ft === MIGRATE_ISOLATE) {
    freeOneBlock(s, pfn, order, z, false);
    return;
  }
  if (ft === MIGRATE_HIGHATOMIC || ft === MIGRATE_CMA) ft = MIGRATE_MOVABLE;
  const cpu = s.cpu;
  const id = pcpListId(s, z, cpu, order, ft);
  // Inlined listAddHead.
  const h = s.head[id]!;
  s.next[pfn] = h;
  s.prev[pfn] = -1;
  if (h >= 0) s.prev[h] = pfn;
  else s.tail[id] = pfn;
  s.head[id] = pfn;
  s.count[id]++;
  s.pageState[pfn] = ST_PCP | order;
  const ci = z * s.nrCpus + cpu;
  // Freeing halves the refill scaling of nr_pcp_alloc().
  if (s.pcpAllocFactor[ci] !== 0) s.pcpAllocFactor[ci] >>= 1;
  s.pcpCount[ci] += 1 << order;
  s.nPcp += 1 << order;
  const high = s.pcpHigh[z]!;
  if (s.pcpCount[ci]! >= high) {
    const batch = s.pcpBatch[z]!;
    // nr_pcp_free(), without the kernel's free_count scaling.
    const n = high < batch ? 1 : batch;
    freePcppagesBulk(s, z, cpu, n, id - pcpListId(s, z, cpu, 0, 0));
  }
}

/** free_pcppages_bulk(): free `count` pages from the tails of the pcp lists, round robin from `pindex`. */
export function freePcppagesBulk(s: BuddyState, z: number, cpu: number, count: number, pindex: number): void {
  const ci = z * s.nrCpus + cpu;
  count = Math.min(count, s.pcpCount[ci]!);
  const base = pcpListId(s, z, cpu, 0, 0);
  const head = s.head;
  const tail = s.tail;
  const st = s.pageState;
  let freed = 0;
  pindex--;
  while (count > 0) {
    let id: number;
    do {
      if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
      id = base + pindex;
    } while (head[id]! < 0);
    do {
      // Inlined listDel of the tail.
      const pfn = tail[id]!;
      const p = s.prev[pfn]!;
      tail[id] = p;
      if (p >= 0) s.next[p] = -1;
      else head[id] = -1;
      s.count[id]--;
      const order = st[pfn]! & ST_ORDER;
      st[pfn] = 0;
      count -= 1 << order;
      freed += 1 << order;
      freeOneBlock(s, pfn, order, z, false);
    } while (count > 0 && head[id]! >= 0);
  }
  s.pcpCount[ci] -= freed;
  s.nPcp -= freed;
}

/** drain_all_pages(): returns every pcp page of every CPU to the buddy lists. */
export function drainAllPages(s: BuddyState): void {
  for (let z = 0; z < NR_ZONES; z++) {
    for (let c = 0; c < s.nrCpus; c++) {
      const n = s.pcpCount[z * s.nrCpus + c]!;
      if (n > 0) freePcppagesBulk(s, z, c, n, 0);
    }
  }
}
