import {
  MIGRATE_HIGHATOMIC,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  PAGEBLOCK_ORDER,
  type Migratetype,
} from '@kmodel/core';

/**
 * Freetypes (include/linux/freetype.h of the 2026 `__GFP_UNMAPPED` series): a migratetype plus
 * flags. The only flag is FREETYPE_UNMAPPED, supported for MIGRATE_UNMOVABLE only, so the dense
 * free-list index (`freetype_idx`) is the migratetype for mapped types and MIGRATE_TYPES for
 * unmovable+unmapped.
 */
export const FREETYPE_UNMAPPED = 1;

/** Free-list index of Unmovable|Unmapped (freetype_idx). */
export const FT_UNMOVABLE_UNMAPPED = MIGRATE_TYPES;
/** NR_FREETYPE_IDXS = MIGRATE_TYPES + 1. */
export const NR_FREETYPE_IDXS = MIGRATE_TYPES + 1;

/** Names of the free-list indexes, for messages and iteration. */
export const FREETYPE_NAMES = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate', 'Unmovable|Unmapped'] as const;

/**
 * freetype_idx(): the free-list index of (migratetype, flags), or -1 when the combination has
 * no list (unmapped with any type other than unmovable).
 */
export function freetypeIdx(mt: Migratetype, flags: number): number {
  if (flags & FREETYPE_UNMAPPED) return mt === MIGRATE_UNMOVABLE ? FT_UNMOVABLE_UNMAPPED : -1;
  return mt;
}

/** The migratetype half of a free-list index (free_to_migratetype). */
export function freetypeMigratetype(ft: number): Migratetype {
  return (ft === FT_UNMOVABLE_UNMAPPED ? MIGRATE_UNMOVABLE : ft) as Migratetype;
}

/** The flags half of a free-list index (freetype_flags). */
export function freetypeFlags(ft: number): number {
  return ft === FT_UNMOVABLE_UNMAPPED ? FREETYPE_UNMAPPED : 0;
}

/**
 * The fallback table (mm/page_alloc.c `fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1]`):
 * the order in which an allocation of each pcp type tries other types' free lists.
 * HighAtomic, CMA and Isolate have no fallbacks.
 */
export const FALLBACKS: readonly (readonly Migratetype[])[] = [
  /* UNMOVABLE   */ [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],
  /* MOVABLE     */ [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE],
  /* RECLAIMABLE */ [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],
];

/** migratetype_is_mergeable(): only the three pcp types merge across pageblocks of different types. */
export function migratetypeIsMergeable(mt: number): boolean {
  return mt < MIGRATE_HIGHATOMIC;
}

/** should_try_claim_block() (mm/page_alloc.c). */
export function shouldTryClaimBlock(order: number, startMt: number): boolean {
  if (order >= PAGEBLOCK_ORDER) return true;
  if (order >= PAGEBLOCK_ORDER >> 1) return true;
  // Unmovable/reclaimable requests claim to avoid polluting movable blocks for good.
  if (startMt === MIGRATE_RECLAIMABLE || startMt === MIGRATE_UNMOVABLE) return true;
  return false;
}

