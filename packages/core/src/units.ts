import { CoreErrorCode, fail, show } from './errors.js';

/**
 * Page numbers. kmodel works in page numbers rather than byte addresses so that every
 * quantity is an exact JavaScript integer: a 57-bit (LA57) virtual address has a 45-bit
 * page number, and a 52-bit physical address a 40-bit frame number, both well below 2^53.
 * Byte addresses that may exceed 2^53 travel as `bigint` and only at API edges.
 */
/** A physical page frame number (physical address >> PAGE_SHIFT). */
export type Pfn = number;
/** A virtual page number (virtual address >> PAGE_SHIFT), for user or kernel addresses. */
export type Vpn = number;

/** arch/x86/include/asm/page_types.h */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Shifts of the x86-64 levels (arch/x86/include/asm/pgtable_64_types.h). */
export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;
export const P4D_SHIFT = 39;
export const PGDIR_SHIFT_LA57 = 48;
export const PMD_SIZE = 1 << PMD_SHIFT;
export const PUD_SIZE = 1 << PUD_SHIFT;
/** Entries per table at every level (PTRS_PER_PTE = PTRS_PER_PMD = ... = 512). */
export const PTRS_PER_TABLE = 512;
/** Pages mapped by one PTE table (2 MiB). */
export const PAGES_PER_PMD = 512;
/** Pages mapped by one PMD table (1 GiB). */
export const PAGES_PER_PUD = 512 * 512;
/** Pages mapped by one PUD table (512 GiB). */
export const PAGES_PER_P4D = 512 * 512 * 512;
/** HPAGE_PMD_ORDER: a PMD-mapped THP is an order-9 (2 MiB) page. */
export const HPAGE_PMD_ORDER = 9;
/** HPAGE_PUD_ORDER: a 1 GiB leaf. */
export const HPAGE_PUD_ORDER = 18;
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/**
 * Paging levels, numbered from the leaf up as Intel does (PT = 1, PD = 2, PDPT = 3,
 * PML4 = 4, PML5 = 5). Linux names: PTE, PMD, PUD, P4D (folded into the PGD with
 * 4-level paging), PGD.
 */
export const Level = {
  PTE: 1,
  PMD: 2,
  PUD: 3,
  P4D: 4,
  PGD5: 5,
} as const;
export type Level = 1 | 2 | 3 | 4 | 5;
/** 4-level (48-bit) or 5-level (LA57, 57-bit) paging. */
export type PagingLevels = 4 | 5;

/** Kernel name of a level for a given paging mode (the top level is always "pgd"). */
export function levelName(level: Level, levels: PagingLevels = 4): 'pte' | 'pmd' | 'pud' | 'p4d' | 'pgd' {
  if (level === levels) return 'pgd';
  return (['pte', 'pmd', 'pud', 'p4d'] as const)[level - 1] ?? fail(CoreErrorCode.OutOfRange, `unknown level ${show(level)}, expected 1..${levels}`);
}

/** Index into the table at `level` for virtual page `vpn` (pte_index, pmd_index, ...). */
export function levelIndex(vpn: Vpn, level: Level): number {
  // 9 bits per level; division keeps it exact above 2^32.
  return Math.floor(vpn / 2 ** (9 * (level - 1))) % 512;
}

/** Pages mapped by one entry at `level` (1, 512, 512^2, ...). */
export function pagesPerEntry(level: Level): number {
  return 2 ** (9 * (level - 1));
}

/** Throws E_NOT_INTEGER unless `n` is a safe non-negative integer. Returns `n`. */
export function checkCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) fail(CoreErrorCode.NotAnInteger, `${what} must be a non-negative safe integer, got ${show(n)}`, { value: n });
  return n;
}

/** Validates a PFN: a safe non-negative integer below 2^40 (52-bit physical addresses). */
export function toPfn(n: number): Pfn {
  checkCount(n, 'pfn');
  if (n >= 2 ** 40) fail(CoreErrorCode.OutOfRange, `pfn ${show(n)} exceeds the 52-bit physical address width (expected < 2^40)`, { value: n });
  return n;
}

/**
 * Validates a VPN: a safe non-negative integer below 2^52. User addresses need at most 45
 * bits of page number (57-bit LA57); kernel addresses such as the direct map at
 * 0xffff888000000000 are 64-bit words whose page numbers reach 2^52.
 */
export function toVpn(n: number): Vpn {
  checkCount(n, 'vpn');
  if (n >= 2 ** 52) fail(CoreErrorCode.OutOfRange, `vpn ${show(n)} exceeds 64-bit virtual addresses (expected < 2^52)`, { value: n });
  return n;
}

/** Byte address (bigint, any width) to its page number; throws E_UNALIGNED if not page aligned and `aligned` is set. */
export function addrToVpn(addr: bigint, aligned = false): Vpn {
  if (addr < 0n) fail(CoreErrorCode.BadAddress, `address ${show(addr)} is negative`);
  if (aligned && (addr & 0xfffn) !== 0n) fail(CoreErrorCode.Unaligned, `address ${show(addr)} is not 4 KiB aligned`, { value: addr.toString() });
  return Number(addr >> 12n);
}

/** Page number back to a byte address (bigint, exact for 57-bit addresses). */
export function vpnToAddr(vpn: Vpn): bigint {
  return BigInt(vpn) << 12n;
}

/** Number of pages in `bytes` (which must be a multiple of 4 KiB). */
export function bytesToPages(bytes: number): number {
  checkCount(bytes, 'size');
  if (bytes % PAGE_SIZE !== 0) fail(CoreErrorCode.Unaligned, `size ${show(bytes)} is not a multiple of 4 KiB`, { value: bytes });
  return bytes / PAGE_SIZE;
}
