/**
 * @packageDocumentation
 * The kernel direct map (arch/x86/mm/init.c layout, arch/x86/mm/pat/set_memory.c changes):
 * all RAM mapped with 1 GiB / 2 MiB / 4 KiB leaves in a `@kmodel/pgtable` page table,
 * removal and restore of page ranges with on-demand splits, flush_tlb_kernel_range
 * semantics, optional collapse, and the /proc/meminfo and /proc/vmstat views.
 * `DirectMap` implements the `DirectMapControl` contract the page allocator uses.
 */
export { DirectMapErrorCode } from './errors.js';
export {
  PAGE_OFFSET_L4,
  PAGE_OFFSET_L5,
  directMapLayout,
  kernelAddrToVpn,
  kernelVpnToAddr,
  layoutSizes,
  normalizeRamRanges,
  pageOffsetVpn,
  ramRangesExcluding,
  splitMemRange,
} from './layout.js';
export type { DirectMapSizes, LayoutSegment, RamRange } from './layout.js';
export { CountingKernelTlb, TLB_COUNTER_NAMES, TLB_SINGLE_PAGE_FLUSH_CEILING } from './flusher.js';
export type { KernelTlbFlusher } from './flusher.js';
export { DIRECTMAP_COUNTER_NAMES, DirectMap, PAGE_KERNEL, PAGE_KERNEL_LARGE, bumpTableAllocator, pageAllocatorTables } from './direct-map.js';
export type { DirectMapOptions } from './direct-map.js';
