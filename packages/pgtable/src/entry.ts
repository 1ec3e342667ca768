/**
 * Entry encoding helpers on 32-bit halves (arch/x86/include/asm/pgtable_types.h). The bit
 * layout and the packed-flags form are defined in `@kmodel/core` (`contracts/entry.ts`); these
 * are the integer-only fast forms the page table and the hardware walk use. Nothing here does
 * float math on a 64-bit word: a PFN (< 2^40) is split at bit 20 with exact operations.
 */
import { _PAGE_PAT_LARGE } from '@kmodel/core';
import type { Pfn } from '@kmodel/core';

/** P in the low half. */
export const ENTRY_P = 0x1;
/** RW in the low half. */
export const ENTRY_RW = 0x2;
/** US in the low half. */
export const ENTRY_US = 0x4;
/** A in the low half. */
export const ENTRY_A = 0x20;
/** D in the low half. */
export const ENTRY_D = 0x40;
/** PS (huge leaf) in an upper-level entry; PAT in a PTE. */
export const ENTRY_PSE = 0x80;
/** G in the low half. */
export const ENTRY_G = 0x100;
/** PAT of a huge leaf (bit 12) in the low half. */
export const ENTRY_PAT_LARGE = 0x1000;
/** NX (bit 63) in the high half. */
export const ENTRY_HI_NX = 0x80000000;
/** Protection key (bits 59..62) shift within the high half. */
export const ENTRY_HI_PKEY_SHIFT = 27;

/** One past the largest vpn of a 64-bit address (2^52). */
export const VPN_END = 2 ** 52;

/**
 * `_PAGE_TABLE`: P | RW | USER | ACCESSED | DIRTY, what pmd_populate / pud_populate write for
 * a user table (pgtable_types.h `_PAGE_TABLE_NOENC`).
 */
export const _PAGE_TABLE = 0x67;
/** `_KERNPG_TABLE`: P | RW | ACCESSED | DIRTY, for kernel tables (pmd_populate_kernel). */
export const _KERNPG_TABLE = 0x63;

/** True when an upper-level entry's low half is a table pointer (present, PS clear). */
export function isTablePointer(lo: number): boolean {
  return (lo & (ENTRY_P | ENTRY_PSE)) === ENTRY_P;
}

/** True when an entry at `level` is a huge leaf (level > 1 with PS set). */
export function isHugeLeaf(lo: number, level: number): boolean {
  return level > 1 && (lo & ENTRY_PSE) !== 0;
}

/** Low half for `(pfn, packed flags)`; PAT_LARGE (packed bit 24) lands in bit 12. */
export function makeLo(pfn: Pfn, flags: number): number {
  // ToInt32(pfn) keeps pfn mod 2^32 exactly; << 12 keeps its low 20 bits.
  return ((pfn << 12) | (flags & 0xfff) | ((flags >>> 12) & ENTRY_PAT_LARGE)) >>> 0;
}

/** High half for `(pfn, packed flags)`: PFN bits 20..39 and entry bits 52..63. */
export function makeHi(pfn: Pfn, flags: number): number {
  return (((pfn / 1048576) & 0xfffff) | (((flags >>> 12) & 0xfff) << 20)) >>> 0;
}

/** PFN of an entry at `level`; for a huge leaf, bit 12 is PAT and not part of the frame. */
export function leafPfn(lo: number, hi: number, level: number): Pfn {
  const low = level > 1 && lo & ENTRY_PSE ? (lo >>> 12) & 0xffffe : lo >>> 12;
  return (hi & 0xfffff) * 1048576 + low;
}

/** Packed flags of an entry at `level`; a huge leaf's bit 12 becomes `_PAGE_PAT_LARGE`. */
export function leafFlags(lo: number, hi: number, level: number): number {
  const f = (lo & 0xfff) | ((hi >>> 20) << 12);
  return level > 1 && lo & ENTRY_PSE && lo & ENTRY_PAT_LARGE ? f | _PAGE_PAT_LARGE : f;
}

/**
 * Index into the table at `level` for a vpn split as `lo = vpn mod 2^32`, `hi = vpn div 2^32`
 * (pte_index, pmd_index, pud_index, p4d_index, pgd_index).
 */
export function tableIndex(lo: number, hi: number, level: number): number {
  switch (level) {
    case 1:
      return lo & 511;
    case 2:
      return (lo >>> 9) & 511;
    case 3:
      return (lo >>> 18) & 511;
    case 4:
      return ((lo >>> 27) | (hi << 5)) & 511;
    default:
      return (hi >>> 4) & 511;
  }
}

const TWO32 = 4294967296;

/** pte_index: bits 12..20 of the address. */
export function pteIndex(vpn: number): number {
  return vpn & 511;
}

/** pmd_index: bits 21..29. */
export function pmdIndex(vpn: number): number {
  return (vpn >>> 9) & 511;
}

/** pud_index: bits 30..38. */
export function pudIndex(vpn: number): number {
  return (vpn >>> 18) & 511;
}

/** p4d_index: bits 39..47 (the PML4 index; the PGD index itself with 4-level paging). */
export function p4dIndex(vpn: number): number {
  const lo = vpn >>> 0;
  return tableIndex(lo, (vpn - lo) / TWO32, 4);
}

/** pgd_index: bits 39..47 with 4-level paging, 48..56 with 5-level. */
export function pgdIndex(vpn: number, levels: 4 | 5): number {
  const lo = vpn >>> 0;
  return tableIndex(lo, (vpn - lo) / TWO32, levels);
}
