import type { Pfn } from '../units.js';

/**
 * GFP flags (include/linux/gfp_types.h), as a bitmask. The bit values are kmodel's own
 * (the kernel computes its from an enum that changes between versions); the names and the
 * composite masks follow the kernel.
 */
export const __GFP_DMA = 1 << 0;
export const __GFP_HIGHMEM = 1 << 1;
export const __GFP_DMA32 = 1 << 2;
export const __GFP_MOVABLE = 1 << 3;
export const __GFP_RECLAIMABLE = 1 << 4;
export const __GFP_HIGH = 1 << 5;
export const __GFP_IO = 1 << 6;
export const __GFP_FS = 1 << 7;
export const __GFP_ZERO = 1 << 8;
export const __GFP_DIRECT_RECLAIM = 1 << 10;
export const __GFP_KSWAPD_RECLAIM = 1 << 11;
export const __GFP_NOWARN = 1 << 13;
export const __GFP_NORETRY = 1 << 16;
export const __GFP_COMP = 1 << 18;
/** Never use the memory reserves; a request without direct reclaim is not ALLOC_NON_BLOCK either (gfp_to_alloc_flags). */
export const __GFP_NOMEMALLOC = 1 << 19;
export const __GFP_HARDWALL = 1 << 20;
export const __GFP_ACCOUNT = 1 << 22;
/**
 * Allocate memory that is absent from the direct map (the 2026 `__GFP_UNMAPPED`, later the
 * internal `ALLOC_UNMAPPED`). Only valid with unmovable allocations.
 */
export const __GFP_UNMAPPED = 1 << 25;
/** Allow the allocation to dip into the highatomic reserve (ALLOC_HIGHATOMIC analog for high-priority atomic callers). */
export const __GFP_ATOMIC_RESERVE = 1 << 26;
/** Every flag bit kmodel knows; an allocator rejects others with E_UNKNOWN_FLAG. */
export const GFP_KNOWN_MASK =
  __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE | __GFP_RECLAIMABLE | __GFP_HIGH | __GFP_IO | __GFP_FS |
  __GFP_ZERO | __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM | __GFP_NOWARN | __GFP_NORETRY | __GFP_COMP |
  __GFP_NOMEMALLOC | __GFP_HARDWALL | __GFP_ACCOUNT | __GFP_UNMAPPED | __GFP_ATOMIC_RESERVE;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
/** THP allocations without reclaim (include/linux/gfp_types.h GFP_TRANSHUGE_LIGHT). */
export const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
/** THP allocations that may direct-reclaim (GFP_TRANSHUGE: defrag for MADV_HUGEPAGE regions). */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;
/** User page tables: GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT (include/asm-generic/pgalloc.h). */
export const GFP_PGTABLE_USER = GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT;
/** Kernel page tables: not accounted to a memcg. */
export const GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO;

/** Migratetypes (include/linux/mmzone.h; the 2026 series moves them to freetype.h). */
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_RECLAIMABLE = 2;
/** The three types with per-CPU lists. */
export const MIGRATE_PCPTYPES = 3;
export const MIGRATE_HIGHATOMIC = 3;
export const MIGRATE_CMA = 4;
export const MIGRATE_ISOLATE = 5;
export const MIGRATE_TYPES = 6;
export type Migratetype = 0 | 1 | 2 | 3 | 4 | 5;
/** Names as /proc/pagetypeinfo prints them (migratetype_names). */
export const MIGRATETYPE_NAMES = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate'] as const;

/** gfp_migratetype(): the migratetype an allocation asks for. */
export function gfpMigratetype(gfp: number): Migratetype {
  if (gfp & __GFP_MOVABLE) return MIGRATE_MOVABLE;
  if (gfp & __GFP_RECLAIMABLE) return MIGRATE_RECLAIMABLE;
  return MIGRATE_UNMOVABLE;
}

/** Zones (enum zone_type). */
export const ZONE_DMA = 0;
export const ZONE_DMA32 = 1;
export const ZONE_NORMAL = 2;
export const ZONE_MOVABLE = 3;
export type ZoneType = 0 | 1 | 2 | 3;
export const ZONE_NAMES = ['DMA', 'DMA32', 'Normal', 'Movable'] as const;

/** gfp_zone(): the highest zone an allocation may use. */
export function gfpZone(gfp: number): ZoneType {
  if (gfp & __GFP_DMA) return ZONE_DMA;
  if (gfp & __GFP_DMA32) return ZONE_DMA32;
  if ((gfp & (__GFP_HIGHMEM | __GFP_MOVABLE)) === (__GFP_HIGHMEM | __GFP_MOVABLE)) return ZONE_MOVABLE;
  return ZONE_NORMAL;
}

/** MAX_PAGE_ORDER (include/linux/mmzone.h): the largest buddy block is 2^10 pages (4 MiB). */
export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** pageblock_order on x86-64: 9 (2 MiB). */
export const PAGEBLOCK_ORDER = 9;
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;

/**
 * The page allocator contract (alloc_pages / __free_pages). The stock implementation is
 * `@kmodel/buddy`; any object with these methods can replace it.
 */
export interface PageAllocator {
  /** Allocates 2^order contiguous pages; returns the first PFN, or null when the request cannot be met. */
  allocPages(gfp: number, order: number): Pfn | null;
  /** Frees a block previously returned by {@link PageAllocator.allocPages} with the same order. */
  freePages(pfn: Pfn, order: number): void;
  /** Pages the allocator manages (free plus allocated). */
  managedPages(): number;
  /** Pages currently free (nr_free_pages). */
  nrFreePages(): number;
}
