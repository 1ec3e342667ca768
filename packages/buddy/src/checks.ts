/** Argument checks of the public API: each throws a KmodelError before anything is changed. */
import { fail, GFP_KNOWN_MASK, MAX_PAGE_ORDER, show, ZONE_NAMES, type ZoneType } from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import type { MemoryLayout, ZoneSpan } from './layout.js';
import { BUDDY_CONSTS } from './state.js';

const { NR_FT, NR_ZONES } = BUDDY_CONSTS;

export function badOrder(order: number): never {
  fail(BuddyErrorCode.BadOrder, `order ${show(order)} must be an integer in 0..${MAX_PAGE_ORDER}`, { order });
}

/** E_UNKNOWN_FLAG for bits outside GFP_KNOWN_MASK, else E_BAD_GFP for a combination the allocator rejects. */
export function badGfp(gfp: number): never {
  if ((gfp | 0) !== gfp || (gfp & ~GFP_KNOWN_MASK) !== 0) {
    fail(BuddyErrorCode.UnknownFlag, `gfp ${show(gfp)} has bits outside GFP_KNOWN_MASK (unknown: 0x${(((gfp | 0) & ~GFP_KNOWN_MASK) >>> 0).toString(16)})`, { gfp });
  }
  fail(BuddyErrorCode.BadGfp, `gfp ${show(gfp)} combines flags the allocator rejects (two zone modifiers, movable with reclaimable, or __GFP_UNMAPPED with a movable or reclaimable request)`, { gfp });
}

export function checkOrder(order: number): void {
  if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
}

export function checkPfn(pfn: number, endPfn: number): void {
  if (!(pfn >= 0 && pfn < endPfn && (pfn | 0) === pfn)) {
    fail(BuddyErrorCode.BadPfn, `pfn ${show(pfn)} is not an integer in [0, ${show(endPfn)})`, { pfn });
  }
}

export function checkZone(zone: number): void {
  if (!Number.isInteger(zone) || zone < 0 || zone >= NR_ZONES) fail(BuddyErrorCode.BadZone, `zone ${show(zone)} must be 0..3`, { zone });
}

export function checkFreetype(ft: number): void {
  if (!Number.isInteger(ft) || ft < 0 || ft >= NR_FT) fail(BuddyErrorCode.BadGfp, `freetype index ${show(ft)} must be in 0..${NR_FT - 1}`, { ft });
}

/** The span of a populated zone; E_BAD_ZONE otherwise. */
export function zoneSpan(layout: Readonly<MemoryLayout>, zone: number): ZoneSpan {
  checkZone(zone);
  const s = layout.zones.find((z) => z.zone === zone);
  if (!s) fail(BuddyErrorCode.BadZone, `zone ${ZONE_NAMES[zone as ZoneType]} is not populated`, { zone });
  return s;
}
