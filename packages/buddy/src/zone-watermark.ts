/** __zone_watermark_ok() (mm/page_alloc.c): may a zone hand out a block of `order` above `mark`? */
import { MIGRATE_CMA, MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE } from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { ALLOC_CMA, ALLOC_HIGHATOMIC, ALLOC_MIN_RESERVE, ALLOC_NON_BLOCK, ALLOC_RESERVES } = ALLOC_FLAGS;
const { FT_UU, NR_FT, NR_ORD, NR_ZONES } = BUDDY_CONSTS;

/**
 * __zone_watermark_ok(): free pages, less the reserves the request may not use, must stay above
 * `mark` plus the lowmem reserve against `highest`; for order > 0 a free block of at least
 * `order` must exist on a list the request may use.
 */
export function zoneWatermarkOk(s: BuddyState, z: number, order: number, mark: number, highest: number, flags: number): boolean {
  let free = s.zoneFree[z]! - ((1 << order) - 1);
  if (!(flags & ALLOC_RESERVES)) free -= s.ftFree[z * NR_FT + MIGRATE_HIGHATOMIC]!;
  if (!(flags & ALLOC_CMA)) free -= s.ftFree[z * NR_FT + MIGRATE_CMA]!;
  let min = mark;
  if (flags & ALLOC_MIN_RESERVE) {
    min -= Math.floor(min / 2);
    if (flags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
  }
  if (free <= min + s.lowmemReserve[z * NR_ZONES + highest]!) return false;
  if (order === 0) return true;
  for (let o = order; o < NR_ORD; o++) {
    if (s.areaFree[z * NR_ORD + o] === 0) continue;
    const base = z * NR_FT * NR_ORD + o;
    if (s.count[base + MIGRATE_UNMOVABLE * NR_ORD]! > 0) return true;
    if (s.count[base + MIGRATE_MOVABLE * NR_ORD]! > 0) return true;
    if (s.count[base + MIGRATE_RECLAIMABLE * NR_ORD]! > 0) return true;
    if (s.count[base + FT_UU * NR_ORD]! > 0) return true;
    if (flags & ALLOC_CMA && s.count[base + MIGRATE_CMA * NR_ORD]! > 0) return true;
    if (flags & ALLOC_HIGHATOMIC && s.count[base + MIGRATE_HIGHATOMIC * NR_ORD]! > 0) return true;
  }
  return false;
}
