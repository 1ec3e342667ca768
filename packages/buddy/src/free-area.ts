/**
 * The free areas: intrusive doubly linked lists over the per-PFN `next`/`prev` arrays, one per
 * (zone, freetype, order) for buddy blocks and one per (zone, cpu, pcp index) for per-CPU
 * blocks, with the counters that follow them (mm/page_alloc.c __add_to_free_list,
 * __del_page_from_free_list, expand, __rmqueue_smallest).
 */
import type { Pfn, ZoneType } from '@kmodel/core';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { NR_FT, NR_ORD, NR_ZONES, ST_FREE } = BUDDY_CONSTS;

/** The buddy list of (zone, freetype, order). */
export function freeListId(z: number, ft: number, order: number): number {
  return (z * NR_FT + ft) * NR_ORD + order;
}

export function listAddHead(s: BuddyState, pfn: number, id: number): void {
  const h = s.head[id]!;
  s.next[pfn] = h;
  s.prev[pfn] = -1;
  if (h >= 0) s.prev[h] = pfn;
  else s.tail[id] = pfn;
  s.head[id] = pfn;
  s.count[id]++;
}

export function listAddTail(s: BuddyState, pfn: number, id: number): void {
  const t = s.tail[id]!;
  s.prev[pfn] = t;
  s.next[pfn] = -1;
  if (t >= 0) s.next[t] = pfn;
  else s.head[id] = pfn;
  s.tail[id] = pfn;
  s.count[id]++;
}

export function listDel(s: BuddyState, pfn: number, id: number): void {
  const p = s.prev[pfn]!;
  const n = s.next[pfn]!;
  if (p >= 0) s.next[p] = n;
  else s.head[id] = n;
  if (n >= 0) s.prev[n] = p;
  else s.tail[id] = p;
  s.count[id]--;
}

/** __add_to_free_list() plus the zone, freetype and free_area counters. */
export function addFree(s: BuddyState, pfn: number, z: number, ft: number, order: number, toTail: boolean): void {
  const id = (z * NR_FT + ft) * NR_ORD + order;
  if (toTail) listAddTail(s, pfn, id);
  else listAddHead(s, pfn, id);
  s.pageState[pfn] = ST_FREE | order;
  s.zoneFree[z] += 1 << order;
  s.ftFree[z * NR_FT + ft] += 1 << order;
  s.areaFree[z * NR_ORD + order]++;
}

/** __del_page_from_free_list() plus the counters. */
export function delFree(s: BuddyState, pfn: number, z: number, ft: number, order: number): void {
  listDel(s, pfn, (z * NR_FT + ft) * NR_ORD + order);
  s.pageState[pfn] = 0;
  s.zoneFree[z] -= 1 << order;
  s.ftFree[z * NR_FT + ft] -= 1 << order;
  s.areaFree[z * NR_ORD + order]--;
}

/** expand(): give back the upper halves of a block split from order `high` down to `low`. */
export function expand(s: BuddyState, pfn: number, z: number, low: number, high: number, ft: number): void {
  while (high > low) {
    high--;
    addFree(s, pfn + (1 << high), z, ft, high, false);
  }
}

/** __rmqueue_smallest(): the smallest block of freetype `ft` at or above `order`, split down. */
export function rmqueueSmallest(s: BuddyState, z: number, order: number, ft: number): number {
  const base = (z * NR_FT + ft) * NR_ORD;
  const head = s.head;
  for (let o = order; o < NR_ORD; o++) {
    const pfn = head[base + o]!;
    if (pfn < 0) continue;
    // Inlined delFree + expand: the hot path of every buddy allocation.
    const id = base + o;
    const n = s.next[pfn]!;
    head[id] = n;
    if (n >= 0) s.prev[n] = -1;
    else s.tail[id] = -1;
    s.count[id]--;
    s.areaFree[z * NR_ORD + o]--;
    s.pageState[pfn] = 0;
    const taken = 1 << order;
    s.zoneFree[z] -= taken;
    s.ftFree[z * NR_FT + ft] -= taken;
    let high = o;
    while (high > order) {
      high--;
      const half = pfn + (1 << high);
      const hid = base + high;
      const h = head[hid]!;
      s.next[half] = h;
      s.prev[half] = -1;
      if (h >= 0) s.prev[h] = half;
      else s.tail[hid] = half;
      head[hid] = half;
      s.count[hid]++;
      s.pageState[half] = ST_FREE | high;
      s.areaFree[z * NR_ORD + high]++;
    }
    return pfn;
  }
  return -1;
}

/** Calls `fn` for every free buddy block (pcp pages excluded), list by list. Not for hot paths. */
export function forEachFreeBlock(s: BuddyState, fn: (pfn: Pfn, order: number, zone: ZoneType, ft: number) => void): void {
  for (let z = 0; z < NR_ZONES; z++) {
    for (let ft = 0; ft < NR_FT; ft++) {
      for (let o = 0; o < NR_ORD; o++) {
        for (let p = s.head[(z * NR_FT + ft) * NR_ORD + o]!; p >= 0; p = s.next[p]!) fn(p, o, z as ZoneType, ft);
      }
    }
  }
}
