/**
 * Numbers of the x86-64 user address space and of the mm syscalls, as the kernel defines
 * them (arch/x86/include/asm/page_64_types.h, include/uapi/asm-generic/mman-common.h,
 * include/linux/mm_types.h).
 */

/** PROT_* bits of mmap / mprotect. */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/**
 * PROT_* bits from the trace format's letters: any of `r`, `w`, `x` in that order, or
 * `none` (`"rw"` = PROT_READ | PROT_WRITE). Returns -1 for anything else.
 */
export function protFromString(prot: string): number {
  if (prot === 'none') return PROT_NONE;
  const m = /^(r?)(w?)(x?)$/.exec(prot);
  if (m === null || prot === '') return -1;
  return (m[1] ? PROT_READ : 0) | (m[2] ? PROT_WRITE : 0) | (m[3] ? PROT_EXEC : 0);
}

/** madvise advice values (include/uapi/asm-generic/mman-common.h). */
export const MADV_FREE = 8;
export const MADV_DONTNEED = 4;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
/** The advice names the trace format uses. */
export type Advice = 'dontneed' | 'free' | 'hugepage' | 'nohugepage' | 'populate_read' | 'populate_write';
/** Advice name by its number. */
export const ADVICE_BY_NUMBER: Readonly<Record<number, Advice>> = {
  [MADV_DONTNEED]: 'dontneed',
  [MADV_FREE]: 'free',
  [MADV_HUGEPAGE]: 'hugepage',
  [MADV_NOHUGEPAGE]: 'nohugepage',
  [MADV_POPULATE_READ]: 'populate_read',
  [MADV_POPULATE_WRITE]: 'populate_write',
};

/** vm_flags bits kept on a VMA (include/linux/mm.h values). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_NORESERVE = 0x00200000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

/** VM_FAULT_* results of a fault (include/linux/mm_types.h). 0 means handled. */
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_FALLBACK = 0x000800;

/** TASK_SIZE with 4-level paging: 0x7ffffffff000 (the last page below 2^47 is never mapped). */
export const TASK_SIZE_4L_VPN = 2 ** 35 - 1;
/** TASK_SIZE_MAX with 5-level paging: 0x00fffffffffff000. */
export const TASK_SIZE_5L_VPN = 2 ** 44 - 1;
/** DEFAULT_MAP_WINDOW: mmap never returns addresses above 47 bits without a hint above it. */
export const DEFAULT_MAP_WINDOW_VPN = TASK_SIZE_4L_VPN;
/** mmap_base without randomization: TASK_SIZE - 128 MiB (the stack gap clamped to MIN_GAP) = 0x7ffff7fff000. */
export const DEFAULT_MMAP_BASE_VPN = TASK_SIZE_4L_VPN - 128 * 256;
/** vm.mmap_min_addr default (4096). */
export const DEFAULT_MMAP_MIN_ADDR_VPN = 1;
/** vm.max_map_count default (DEFAULT_MAX_MAP_COUNT = 65530). */
export const DEFAULT_MAX_MAP_COUNT = 65530;

/** Pages per PMD (2 MiB) and PUD (1 GiB) span. */
export const PMD_PAGES = 512;
export const PUD_PAGES = 512 * 512;
/** Bytes of one page-table page. */
export const TABLE_BYTES = 4096;
