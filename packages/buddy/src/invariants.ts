/** The allocator's consistency check, for property tests (the model's CONFIG_DEBUG_VM). */
import { fail, MIGRATE_MOVABLE } from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { NR_BUDDY_LISTS, NR_FT, NR_ORD, NR_ZONES, PB_PAGES, PB_SHIFT, ST_ALLOC, ST_FREE, ST_MOVABLE, ST_ORDER, ST_PCP } = BUDDY_CONSTS;

/**
 * Rebuilds every derived quantity from the per-PFN state and compares: each managed page is
 * covered by exactly one free, pcp or allocated block; free blocks are aligned, within their
 * zone, on the list of their pageblock's freetype with the right order; list counts, zone and
 * per-freetype free counts, pageblock content counters and the pollution gauge all agree. Throws
 * E_BUDDY_INVARIANT on the first mismatch. O(managed pages).
 */
export function checkInvariants(s: BuddyState): void {
  const bad = (msg: string): never => fail(BuddyErrorCode.Invariant, msg, {});
  const st = s.pageState;
  const covered = new Uint8Array(s.endPfn);
  const mark = (pfn: number, order: number, what: string) => {
    for (let i = pfn; i < pfn + (1 << order); i++) {
      if (i >= s.endPfn) bad(`${what} block ${pfn}/${order} runs past the end`);
      if (covered[i]) bad(`page ${i} covered twice (${what} block ${pfn}/${order})`);
      covered[i] = 1;
    }
  };
  const zoneFree = new Float64Array(NR_ZONES);
  const area = new Int32Array(NR_ZONES * NR_ORD);
  for (let z = 0; z < NR_ZONES; z++) {
    for (let ft = 0; ft < NR_FT; ft++) {
      let ftPages = 0;
      for (let o = 0; o < NR_ORD; o++) {
        const id = (z * NR_FT + ft) * NR_ORD + o;
        let n = 0;
        let last = -1;
        for (let p = s.head[id]!; p >= 0; p = s.next[p]!) {
          if (s.prev[p] !== last) bad(`broken prev link at ${p}`);
          if (st[p] !== (ST_FREE | o)) bad(`pfn ${p} on free list ${z}/${ft}/${o} has state ${st[p]}`);
          if (p % (1 << o) !== 0) bad(`free block ${p} misaligned for order ${o}`);
          if (p < s.zoneStart[z]! || p + (1 << o) > s.zoneEnd[z]!) bad(`free block ${p}/${o} outside zone ${z}`);
          for (let pb = p >>> PB_SHIFT; pb < (p + (1 << o)) >>> PB_SHIFT || pb === p >>> PB_SHIFT; pb++) {
            if (s.pbFt[pb] !== ft) bad(`free block ${p}/${o} on list ${ft} but pageblock ${pb} is ${s.pbFt[pb]}`);
          }
          mark(p, o, 'free');
          zoneFree[z] += 1 << o;
          ftPages += 1 << o;
          area[z * NR_ORD + o]++;
          n++;
          last = p;
        }
        if (s.tail[id] !== last) bad(`tail of list ${z}/${ft}/${o} is ${s.tail[id]}, expected ${last}`);
        if (s.count[id] !== n) bad(`count of list ${z}/${ft}/${o} is ${s.count[id]}, walked ${n}`);
      }
      if (ftPages !== s.ftFree[z * NR_FT + ft]) bad(`zone ${z} freetype ${ft} free ${s.ftFree[z * NR_FT + ft]} != ${ftPages}`);
    }
    if (zoneFree[z] !== s.zoneFree[z]) bad(`zone ${z} free ${s.zoneFree[z]} != ${zoneFree[z]}`);
  }
  for (let i = 0; i < area.length; i++) if (area[i] !== s.areaFree[i]) bad(`free_area count ${i} is ${s.areaFree[i]}, walked ${area[i]}`);
  let pcp = 0;
  for (let id = NR_BUDDY_LISTS; id < s.head.length; id++) {
    for (let p = s.head[id]!; p >= 0; p = s.next[p]!) {
      const b = st[p]!;
      if (!(b & ST_PCP)) bad(`pfn ${p} on a pcp list without the pcp state`);
      mark(p, b & ST_ORDER, 'pcp');
      pcp += 1 << (b & ST_ORDER);
    }
  }
  if (pcp !== s.nPcp) bad(`pcp pages ${s.nPcp} != walked ${pcp}`);
  const mov = new Uint16Array(s.pbMovable.length);
  const unmov = new Uint16Array(s.pbMovable.length);
  let allocated = 0;
  for (let p = 0; p < s.endPfn; p++) {
    const b = st[p]!;
    if (b & ST_ALLOC) {
      const o = b & ST_ORDER;
      mark(p, o, 'allocated');
      allocated += 1 << o;
      const arr = b & ST_MOVABLE ? mov : unmov;
      for (let i = p; i < p + (1 << o); i += Math.min(1 << o, PB_PAGES)) arr[i >>> PB_SHIFT] += Math.min(1 << o, PB_PAGES);
    }
  }
  if (allocated !== s.nAllocated) bad(`allocated pages ${s.nAllocated} != walked ${allocated}`);
  let polluted = 0;
  for (let pb = 0; pb < mov.length; pb++) {
    if (mov[pb] !== s.pbMovable[pb] || unmov[pb] !== s.pbUnmovable[pb]) bad(`pageblock ${pb} content counters wrong`);
    if (s.pbFt[pb] === MIGRATE_MOVABLE && unmov[pb]! > 0) polluted++;
  }
  if (polluted !== s.nPolluted) bad(`polluted gauge ${s.nPolluted} != ${polluted}`);
  let managedCovered = 0;
  for (const r of s.managedRanges) for (let p = r.start; p < r.end; p++) managedCovered += covered[p]!;
  let total = 0;
  for (let p = 0; p < s.endPfn; p++) total += covered[p]!;
  if (total !== managedCovered) bad('a page outside the managed ranges is free or allocated');
  if (managedCovered !== s.totalManaged) bad(`${s.totalManaged - managedCovered} managed pages are neither free, pcp nor allocated`);
}
