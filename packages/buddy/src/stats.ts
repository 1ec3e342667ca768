/** The counters() and zoneInfo() snapshots of a {@link BuddyState}. */
import { ZONE_NAMES, type MetricSnapshot, type ZoneType } from '@kmodel/core';
import type { ZoneSpan } from './layout.js';
import type { ZoneInfo } from './options.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';

const { NR_ZONES } = BUDDY_CONSTS;

/** NR_FREE_PAGES: pages in the buddy free lists of every zone (pcp pages are not counted, as in the kernel). */
export function nrFreePages(s: BuddyState): number {
  let n = 0;
  for (let z = 0; z < NR_ZONES; z++) n += s.zoneFree[z]!;
  return n;
}

/** The metric snapshot BuddyAllocator.counters() returns. */
export function counterSnapshot(s: BuddyState): MetricSnapshot {
  let reserved = 0;
  for (let z = 0; z < NR_ZONES; z++) reserved += s.reservedHighatomic[z]!;
  const free = nrFreePages(s);
  return {
    'buddy.fallbacks': s.nFallbacks,
    'buddy.claims': s.nClaims,
    'buddy.steals': s.nSteals,
    'buddy.unmapped_conversions': s.nUnmapped,
    'buddy.remapped_conversions': s.nRemapped,
    'buddy.unmap_failures': s.nUnmapFailures,
    'buddy.movable_blocks_polluted': s.nPolluted,
    'buddy.alloc_failures': s.nAllocFail,
    'buddy.kswapd_wakeups': s.nKswapdWakes,
    'buddy.highatomic_reserved': reserved,
    'buddy.pcp_pages': s.nPcp,
    nr_free_pages: free,
    MemTotal: s.totalManaged * 4,
    MemFree: free * 4,
  };
}

/** A /proc/zoneinfo-like summary of the populated zone `span`. */
export function zoneInfoOf(s: BuddyState, span: ZoneSpan): ZoneInfo {
  const zone = span.zone;
  const w = zone * 4;
  return {
    zone,
    name: ZONE_NAMES[zone as ZoneType],
    startPfn: span.start,
    endPfn: span.end,
    spanned: span.end - span.start,
    present: s.zonePresent[zone]!,
    managed: s.zoneManaged[zone]!,
    free: s.zoneFree[zone]!,
    watermarks: { min: s.wmark[w]!, low: s.wmark[w + 1]!, high: s.wmark[w + 2]!, promo: s.wmark[w + 3]! },
    boost: s.boost[zone]!,
    protection: Array.from(s.lowmemReserve.subarray(zone * NR_ZONES, zone * NR_ZONES + NR_ZONES)),
    nrReservedHighatomic: s.reservedHighatomic[zone]!,
    pcpHigh: s.pcpHigh[zone]!,
    pcpBatch: s.pcpBatch[zone]!,
  };
}
