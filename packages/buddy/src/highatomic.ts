/**
 * The highatomic reserve (mm/page_alloc.c reserve_highatomic_pageblock,
 * unreserve_highatomic_pageblock): pageblocks set aside after high-order atomic successes, at
 * most about 1 % of a zone, and handed back under memory pressure.
 */
import { MIGRATE_HIGHATOMIC } from '@kmodel/core';
import { addFree, delFree, freeListId } from './free-area.js';
import { migratetypeIsMergeable } from './freetype.js';
import { changePageblockRange, moveFreepagesBlock, pageblockInZone, setPageblockFt } from './pageblock.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { NR_ORD, PB_PAGES, PB_SHIFT } = BUDDY_CONSTS;

/** reserve_highatomic_pageblock(): after a high-order atomic success, reserve its pageblock (at most ~1 % of the zone). */
export function reserveHighatomicPageblock(s: BuddyState, pfn: number, order: number, z: number): void {
  const managed = s.zoneManaged[z]!;
  if (Math.floor(managed / 100) < PB_PAGES) return;
  const maxManaged = Math.ceil(Math.floor(managed / 100) / PB_PAGES) * PB_PAGES;
  if (s.reservedHighatomic[z]! >= maxManaged) return;
  const ft = s.pbFt[pfn >>> PB_SHIFT]!;
  if (!migratetypeIsMergeable(ft)) return;
  if (order < PB_SHIFT) {
    const start = pfn & ~(PB_PAGES - 1);
    if (!pageblockInZone(s, start, z)) return;
    moveFreepagesBlock(s, start, z, ft, MIGRATE_HIGHATOMIC);
    setPageblockFt(s, start >>> PB_SHIFT, MIGRATE_HIGHATOMIC);
    s.reservedHighatomic[z] += PB_PAGES;
  } else {
    changePageblockRange(s, pfn, order, MIGRATE_HIGHATOMIC);
    s.reservedHighatomic[z] += 1 << order;
  }
}

/** unreserve_highatomic_pageblock(): hand one reserved pageblock back to `mt` (keeping one unless `force`). */
export function unreserveHighatomicPageblock(s: BuddyState, highest: number, mt: number, force: boolean): boolean {
  const zl = s.zonelists[highest]!;
  for (let i = 0; i < zl.length; i++) {
    const z = zl[i]!;
    if (!force && s.reservedHighatomic[z]! <= PB_PAGES) continue;
    for (let o = 0; o < NR_ORD; o++) {
      const pfn = s.head[freeListId(z, MIGRATE_HIGHATOMIC, o)]!;
      if (pfn < 0) continue;
      const size = Math.max(PB_PAGES, 1 << o);
      s.reservedHighatomic[z] -= Math.min(size, s.reservedHighatomic[z]!);
      if (o < PB_SHIFT) {
        const start = pfn & ~(PB_PAGES - 1);
        moveFreepagesBlock(s, start, z, MIGRATE_HIGHATOMIC, mt);
        setPageblockFt(s, start >>> PB_SHIFT, mt);
      } else {
        delFree(s, pfn, z, MIGRATE_HIGHATOMIC, o);
        addFree(s, pfn, z, mt, o, true);
        changePageblockRange(s, pfn, o, mt);
      }
      return true;
    }
  }
  return false;
}
