import { MIGRATE_PCPTYPES, PAGEBLOCK_NR_PAGES, ZONE_MOVABLE } from '@kmodel/core';

/** Kernel constants used by the watermark code. */
export const SWAP_CLUSTER_MAX = 32;
/** Default vm.watermark_scale_factor (0.1 % of the zone between watermarks). */
export const DEFAULT_WATERMARK_SCALE_FACTOR = 10;
/** Default vm.lowmem_reserve_ratio for DMA, DMA32, Normal, Movable (mm/page_alloc.c sysctl_lowmem_reserve_ratio). */
export const DEFAULT_LOWMEM_RESERVE_RATIO: readonly number[] = [256, 256, 32, 0];

/** Integer square root, as the kernel's int_sqrt. */
export function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/**
 * calculate_min_free_kbytes() (mm/page_alloc.c): sqrt(lowmem_kbytes * 16) clamped to
 * [128, 262144] kB. `lowmemKbytes` is nr_free_buffer_pages() in kB: the managed pages of the
 * zones GFP_USER may use, less their high watermarks (0 at boot).
 */
export function calculateMinFreeKbytes(lowmemKbytes: number): number {
  const v = intSqrt(lowmemKbytes * 16);
  return Math.min(262144, Math.max(128, v));
}

/**
 * set_recommended_min_free_kbytes() (mm/khugepaged.c), in force when THP is "always" or
 * "madvise": 2 free pageblocks per zone plus MIGRATE_PCPTYPES^2 pageblocks per zone for
 * fallbacks, capped at 5 % of lowmem. `nrZones` counts the populated zones up to
 * gfp_zone(GFP_USER) (DMA, DMA32, Normal). Returns kB.
 */
export function recommendedMinFreeKbytes(nrZones: number, lowmemPages: number): number {
  let pages = PAGEBLOCK_NR_PAGES * nrZones * 2;
  pages += PAGEBLOCK_NR_PAGES * nrZones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
  pages = Math.min(pages, Math.floor(lowmemPages / 20));
  return pages * 4;
}

/** One zone's watermarks in pages (struct zone _watermark[] plus lowmem_reserve[]). */
export interface ZoneWatermarks {
  min: number;
  low: number;
  high: number;
  promo: number;
}

/**
 * __setup_per_zone_wmarks() (mm/page_alloc.c). `managed[z]` are zone_managed_pages per zone
 * type (DMA, DMA32, Normal, Movable). min_free_kbytes is split across the lowmem zones in
 * proportion to their managed pages; ZONE_MOVABLE gets managed/1024 clamped to
 * [SWAP_CLUSTER_MAX, 128]. The gap between min, low, high and promo is
 * max(min/4, managed * watermark_scale_factor / 10000).
 */
export function setupPerZoneWmarks(
  managed: readonly number[],
  minFreeKbytes: number,
  watermarkScaleFactor: number = DEFAULT_WATERMARK_SCALE_FACTOR,
): ZoneWatermarks[] {
  const pagesMin = Math.floor(minFreeKbytes / 4);
  let lowmemPages = 0;
  managed.forEach((m, z) => {
    if (z !== ZONE_MOVABLE) lowmemPages += m;
  });
  return managed.map((m, z) => {
    let tmp = lowmemPages === 0 ? 0 : Math.floor((pagesMin * m) / lowmemPages);
    let min: number;
    if (z === ZONE_MOVABLE) {
      min = Math.min(128, Math.max(SWAP_CLUSTER_MAX, Math.floor(m / 1024)));
    } else {
      min = tmp;
    }
    // mult_frac(managed, watermark_scale_factor, 10000)
    tmp = Math.max(Math.floor(tmp / 4), Math.floor((m * watermarkScaleFactor) / 10000));
    const low = min + tmp;
    const high = low + tmp;
    return { min, low, high, promo: high + tmp };
  });
}

/**
 * setup_per_zone_lowmem_reserve() (mm/page_alloc.c): `result[i][j]` is the number of pages
 * zone i keeps back from an allocation whose highest usable zone is j (the "protection" row
 * of /proc/zoneinfo): the managed pages of zones i+1..j divided by lowmem_reserve_ratio[i].
 */
export function setupPerZoneLowmemReserve(
  managed: readonly number[],
  ratio: readonly number[] = DEFAULT_LOWMEM_RESERVE_RATIO,
): number[][] {
  const n = managed.length;
  return managed.map((m, i) => {
    const row = new Array<number>(n).fill(0);
    const r = ratio[i] ?? 0;
    const clear = r === 0 || m === 0;
    let upper = 0;
    for (let j = i + 1; j < n; j++) {
      upper += managed[j]!;
      row[j] = clear ? 0 : Math.floor(upper / r);
    }
    return row;
  });
}

/**
 * zone_batchsize() (mm/page_alloc.c): ~0.1 % of the zone or 1 MiB, whichever is smaller,
 * divided by 4 and rounded down to 2^n - 1 (63 on any zone above 1 GiB).
 */
export function zoneBatchsize(managed: number): number {
  let batch = Math.min(Math.floor(managed / 1024), 256);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  const x = batch + Math.floor(batch / 2);
  return 2 ** Math.floor(Math.log2(x)) - 1;
}

/**
 * zone_highsize() with percpu_pagelist_high_fraction = 0 (mm/page_alloc.c): the zone's low
 * watermark split across the CPUs, at least 4 batches. The kernel then tunes pcp->high
 * between high_min and high_max at run time; kmodel keeps it at this value.
 */
export function zoneHighsize(lowWmark: number, batch: number, nrCpus: number): number {
  return Math.max(Math.floor(lowWmark / nrCpus), batch * 4);
}
