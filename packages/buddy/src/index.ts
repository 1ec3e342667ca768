/**
 * @packageDocumentation
 * The Linux buddy page allocator: zones, orders 0..MAX_PAGE_ORDER, pageblocks, migratetypes
 * and 2026 freetypes (unmapped pageblocks), the kernel's fallback / claim / steal policy,
 * watermarks, the highatomic reserve and per-CPU lists, with /proc views.
 */
export { BuddyAllocator, type BuddyOptions, type ZoneInfo } from './buddy.js';
export { BuddyErrorCode } from './errors.js';
export {
  FALLBACKS,
  FREETYPE_NAMES,
  FREETYPE_UNMAPPED,
  FT_UNMOVABLE_UNMAPPED,
  NR_FREETYPE_IDXS,
  freetypeFlags,
  freetypeIdx,
  freetypeMigratetype,
  migratetypeIsMergeable,
  shouldTryClaimBlock,
} from './freetype.js';
export { validateLayout, x86Layout, type MemoryLayout, type PfnRange, type X86LayoutOptions, type ZoneSpan } from './layout.js';
export {
  buddyinfo,
  contigPageInfo,
  extfragIndexText,
  fragmentationIndexOf,
  pagetypeinfo,
  unusableIndexOf,
  unusableIndexText,
  type ContigPageInfo,
} from './views.js';
export {
  calculateMinFreeKbytes,
  DEFAULT_LOWMEM_RESERVE_RATIO,
  DEFAULT_WATERMARK_SCALE_FACTOR,
  intSqrt,
  recommendedMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  zoneBatchsize,
  zoneHighsize,
  type ZoneWatermarks,
} from './watermarks.js';
