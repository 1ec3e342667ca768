/**
 * Pageblock isolation and what memory offlining would run into (mm/page_isolation.c
 * set_migratetype_isolate, unset_migratetype_isolate, has_unmovable_pages).
 */
import { fail, MAX_PAGE_ORDER, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE, show } from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import { addFree, delFree } from './free-area.js';
import { freeOneBlock } from './free-one-page.js';
import { moveFreepagesBlock, pageblockInZone, setPageblockFt } from './pageblock.js';
import { drainAllPages } from './pcp.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { PB_PAGES, PB_SHIFT, ST_ALLOC, ST_FREE, ST_ORDER, ST_PCP } = BUDDY_CONSTS;

/** set_migratetype_isolate() for the pageblock holding `pfn` (a valid PFN); false when refused. */
export function isolatePageblock(s: BuddyState, pfn: number): boolean {
  const pb = pfn >>> PB_SHIFT;
  const start = pb * PB_PAGES;
  const z = s.pbZone[pb]!;
  const ft = s.pbFt[pb]!;
  if (z === 255 || !pageblockInZone(s, start, z)) return false;
  if (ft === MIGRATE_ISOLATE || ft === MIGRATE_HIGHATOMIC || s.pbUnmovable[pb]! > 0) return false;
  drainAllPages(s);
  // split_large_buddy(): a free order-10 block covering this pageblock becomes two order-9 blocks.
  const head10 = start & ~((1 << MAX_PAGE_ORDER) - 1);
  if (s.pageState[head10] === (ST_FREE | MAX_PAGE_ORDER)) {
    delFree(s, head10, z, ft, MAX_PAGE_ORDER);
    addFree(s, head10, z, ft, PB_SHIFT, false);
    addFree(s, head10 + PB_PAGES, z, ft, PB_SHIFT, false);
  }
  moveFreepagesBlock(s, start, z, ft, MIGRATE_ISOLATE);
  s.pbSavedFt[pb] = ft;
  setPageblockFt(s, pb, MIGRATE_ISOLATE);
  return true;
}

/** unset_migratetype_isolate() for the pageblock holding `pfn` (a valid PFN); E_NOT_ISOLATED if it is not isolated. */
export function undoIsolatePageblock(s: BuddyState, pfn: number): void {
  const pb = pfn >>> PB_SHIFT;
  if (s.pbFt[pb] !== MIGRATE_ISOLATE) {
    fail(BuddyErrorCode.NotIsolated, `the pageblock of pfn ${show(pfn)} is not isolated`, { pfn });
  }
  const start = pb * PB_PAGES;
  const z = s.pbZone[pb]!;
  // Two isolated neighbours may have merged into a free 4 MiB block: split it again.
  const head10 = start & ~((1 << MAX_PAGE_ORDER) - 1);
  if (s.pageState[head10] === (ST_FREE | MAX_PAGE_ORDER)) {
    delFree(s, head10, z, MIGRATE_ISOLATE, MAX_PAGE_ORDER);
    setPageblockFt(s, pb, s.pbSavedFt[pb]!);
    addFree(s, head10, z, s.pbFt[head10 >>> PB_SHIFT]!, PB_SHIFT, false);
    addFree(s, head10 + PB_PAGES, z, s.pbFt[(head10 >>> PB_SHIFT) + 1]!, PB_SHIFT, false);
    return;
  }
  const free: number[] = [];
  for (let p = start; p < start + PB_PAGES; ) {
    const b = s.pageState[p]!;
    const o = b & ST_ORDER;
    if (b & ST_FREE) {
      delFree(s, p, z, MIGRATE_ISOLATE, o);
      free.push(p, o);
    }
    p += b & (ST_FREE | ST_ALLOC | ST_PCP) ? 1 << o : 1;
  }
  setPageblockFt(s, pb, s.pbSavedFt[pb]!);
  for (let i = 0; i < free.length; i += 2) freeOneBlock(s, free[i]!, free[i + 1]!, z, false);
}

/** has_unmovable_pages() at pageblock granularity over the pageblocks touching [startPfn, endPfn) (a valid range). */
export function hasUnmovablePages(s: BuddyState, startPfn: number, endPfn: number): boolean {
  for (let pb = startPfn >>> PB_SHIFT; pb * PB_PAGES < endPfn; pb++) if (s.pbUnmovable[pb]! > 0) return true;
  return false;
}

/** Pageblocks in [start, end) holding at least one unmovable or reclaimable allocation. */
export function countPageblocksWithUnmovable(s: BuddyState, start: number, end: number): number {
  let n = 0;
  for (let pb = start >>> PB_SHIFT; pb * PB_PAGES < end; pb++) if (s.pbUnmovable[pb]! > 0) n++;
  return n;
}
