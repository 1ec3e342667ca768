/**
 * @packageDocumentation
 * Linux address spaces for kmodel: `AddressSpace` (mm_struct) with VMAs and the kernel's
 * merge and split rules, mmap / munmap / mprotect / madvise, read and write faults with the
 * shared zero page, the huge zero page and THPs, COW, fork and exit, RSS and
 * `pgtables_bytes`, an mmap_lock model, kernel profiles (PT_RECLAIM on MADV_DONTNEED in
 * 6.18, none in 6.13) and hooks for page-table reclaim policies.
 */
export { AddressSpace, MM_COUNTERS } from './address-space.js';
export type { AddressSpaceOptions, MmapRequest, MmStatus, ThpMode, TryFreePteTableOptions } from './address-space.js';
export { MmRegistry } from './registry.js';
export { pageRange } from './bytes.js';
export type { PageRange } from './bytes.js';
export { MmapLock } from './mmap-lock.js';
export { MmErrorCode } from './errors.js';
export { PROFILES, resolveProfile } from './profile.js';
export type { KernelProfile, ProfileName } from './profile.js';
export type { MmHooks, ZapCause } from './hooks.js';
export type { VmaInfo } from './vma.js';
export * from './constants.js';
