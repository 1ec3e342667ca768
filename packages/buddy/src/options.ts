/** The option and report types of {@link BuddyAllocator}. */
import type { DirectMapControl, Pfn, ZoneType } from '@kmodel/core';
import type { BuddyAllocator } from './buddy.js';
import type { MemoryLayout, PfnRange } from './layout.js';
import type { ZoneWatermarks } from './watermarks.js';

/** Options of {@link BuddyAllocator}. Every field has a kernel-like default. */
export interface BuddyOptions {
  /** Usable RAM in bytes for the default x86-64 layout (default 24 GiB). Ignored when `layout` is given. */
  memory?: number;
  /** Bytes of ZONE_MOVABLE taken from the top of memory (`movablecore=`), default layout only. */
  movable?: number;
  /** An explicit memory map instead of the x86-64 default ({@link x86Layout}). */
  layout?: MemoryLayout;
  /** More memblock-reserved ranges (present, never managed), added to the layout's. */
  reserved?: PfnRange[];
  /** vm.min_free_kbytes; default: calculate_min_free_kbytes(), raised by khugepaged when `thp` is on. */
  minFreeKbytes?: number;
  /** THP enabled ("always" or "madvise", as on Linux 6.18 defaults): khugepaged raises min_free_kbytes. Default true. */
  thp?: boolean;
  /** vm.watermark_scale_factor (default 10 = 0.1 %). */
  watermarkScaleFactor?: number;
  /** vm.lowmem_reserve_ratio per zone (default 256 256 32 0). */
  lowmemReserveRatio?: readonly number[];
  /** vm.watermark_boost_factor (kernel default 15000). Default 0 here: kmodel has no kswapd to drop a boost; call {@link BuddyAllocator.resetWatermarkBoost} if you enable it. */
  watermarkBoostFactor?: number;
  /** Per-CPU page lists (default true, as the kernel always has them). */
  pcp?: boolean;
  /** Number of CPUs with their own pcp lists (default 1). */
  nrCpus?: number;
  /** CONFIG_CMA: adds the CMA migratetype column to /proc/pagetypeinfo (default false, like the sample machine). */
  configCma?: boolean;
  /** Pageblock-aligned ranges given to CMA (MIGRATE_CMA pageblocks); needs `configCma`. */
  cma?: PfnRange[];
  /**
   * Group pages by mobility. Default as build_all_zonelists(): on when the machine has at least
   * pageblock_nr_pages * MIGRATE_TYPES (3072) pages; off, every request and pageblock is Unmovable.
   */
  mobilityGrouping?: boolean;
  /** Direct map to change when pageblocks convert between mapped and unmapped (default `NOOP_DIRECT_MAP` of `@kmodel/core`). */
  directMap?: DirectMapControl;
}

/** What {@link BuddyAllocator.zoneInfo} reports for one populated zone (a /proc/zoneinfo subset). */
export interface ZoneInfo {
  zone: ZoneType;
  name: string;
  startPfn: Pfn;
  endPfn: Pfn;
  spanned: number;
  present: number;
  managed: number;
  free: number;
  watermarks: ZoneWatermarks;
  boost: number;
  /** lowmem_reserve[] ("protection"), indexed by the highest zone of a request. */
  protection: number[];
  nrReservedHighatomic: number;
  pcpHigh: number;
  pcpBatch: number;
}
