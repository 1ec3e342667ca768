import { BuddyAllocator, type BuddyOptions } from '@kmodel/buddy';
import { ZONE_NORMAL, type ZoneType } from '@kmodel/core';

/**
 * An allocator with one zone [0, pages) and no holes; pcp off, min_free_kbytes 0 and grouping by
 * mobility forced on (the kernel turns it off below 3072 pages) unless overridden.
 */
export function oneZone(pages: number, opts: BuddyOptions = {}, zone: ZoneType = ZONE_NORMAL): BuddyAllocator {
  return new BuddyAllocator({
    layout: { endPfn: pages, zones: [{ zone, start: 0, end: pages }], holes: [], reserved: [] },
    pcp: false,
    minFreeKbytes: 0,
    mobilityGrouping: true,
    ...opts,
  });
}

/** Free blocks per order of one freetype, as an array of 11 counts. */
export function freeRow(b: BuddyAllocator, zone: ZoneType, ft: number): number[] {
  return Array.from({ length: 11 }, (_, o) => b.nrFreeBlocks(zone, ft, o));
}

/** Everything observable about an allocator, to check that a rejected call changed nothing. */
export function snapshot(b: BuddyAllocator): string {
  const blocks: string[] = [];
  b.forEachAllocatedBlock((p, o) => blocks.push(`${p}/${o}`));
  const free: string[] = [];
  b.forEachFreeBlock((p, o, z, ft) => free.push(`${p}/${o}/${z}/${ft}`));
  return JSON.stringify({ c: b.counters(), blocks, free, pcp: b.pcpPages() });
}
