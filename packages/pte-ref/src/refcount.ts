import { _PAGE_GLOBAL, _PAGE_PRESENT, PAGE_SIZE, PTRS_PER_TABLE, entryPfn } from '@kmodel/core';

/**
 * The packed per-PTE-table counter of the 2022 RFC ("[RFC PATCH 4/7] mm: introduce
 * pte_refcount for user PTE page table page", include/linux/pte_ref.h in that series):
 * bits 0-9 count the mapped (non-none) entries, bits 10-19 the entries that map the shared
 * zero page. Both fields hold 0..1023; a PTE table has PTRS_PER_PTE = 512 entries.
 */
export const PTE_MAPPED_BITS = 10;
/** Width of the zero-page field. */
export const PTE_ZERO_BITS = 10;
/** Shift of the mapped field (bits 0-9). */
export const PTE_MAPPED_SHIFT = 0;
/** Shift of the zero-page field (bits 10-19). */
export const PTE_ZERO_SHIFT = PTE_MAPPED_SHIFT + PTE_MAPPED_BITS;
/** Mask of the mapped field inside the word. */
export const PTE_MAPPED_MASK = ((1 << PTE_MAPPED_BITS) - 1) << PTE_MAPPED_SHIFT;
/** Mask of the zero-page field inside the word. */
export const PTE_ZERO_MASK = ((1 << PTE_ZERO_BITS) - 1) << PTE_ZERO_SHIFT;
/** What one mapped entry adds to the word. */
export const PTE_MAPPED_OFFSET = 1 << PTE_MAPPED_SHIFT;
/** What one zero-page entry adds to the word. */
export const PTE_ZERO_OFFSET = 1 << PTE_ZERO_SHIFT;
/** Entries per PTE table (PTRS_PER_PTE). */
export const PTRS_PER_PTE = PTRS_PER_TABLE;
/** Bytes one reclaimable PTE table adds to reclaimable_pt_bytes (one 4 KiB page). */
export const PTE_TABLE_BYTES = PAGE_SIZE;

/** pte_mapped_count(): the mapped field of a packed word. */
export function pteMappedCount(word: number): number {
  return (word & PTE_MAPPED_MASK) >>> PTE_MAPPED_SHIFT;
}

/** pte_zero_count(): the zero-page field of a packed word. */
export function pteZeroCount(word: number): number {
  return (word & PTE_ZERO_MASK) >>> PTE_ZERO_SHIFT;
}

/** Packs the two fields into one word (no range check; see {@link pteRefWordValid}). */
export function pteRefWord(mapped: number, zero: number): number {
  return ((zero << PTE_ZERO_SHIFT) | (mapped << PTE_MAPPED_SHIFT)) >>> 0;
}

/** True when the word satisfies the invariants 0 <= zero <= mapped <= PTRS_PER_PTE. */
export function pteRefWordValid(word: number): boolean {
  const mapped = pteMappedCount(word);
  const zero = pteZeroCount(word);
  return word >>> (PTE_ZERO_SHIFT + PTE_ZERO_BITS) === 0 && mapped <= PTRS_PER_PTE && zero <= mapped;
}

/**
 * A table is reclaimable when it is empty (mapped == 0) or zero-only (zero == PTRS_PER_PTE):
 * the two kinds of PTE page the RFC's /proc/sys/vm/free_ptes frees.
 */
export function pteRefReclaimable(word: number): boolean {
  return (word & PTE_MAPPED_MASK) === 0 || (word & PTE_ZERO_MASK) === PTRS_PER_PTE << PTE_ZERO_SHIFT;
}

/**
 * pte_present() on x86 (arch/x86/include/asm/pgtable.h): _PAGE_PRESENT or _PAGE_PROTNONE.
 * _PAGE_PROTNONE reuses the GLOBAL bit (8); swap entries and PTE markers keep both clear,
 * so their PFN bits are never compared with the zero PFN.
 */
const PTE_PRESENT_BITS = _PAGE_PRESENT | _PAGE_GLOBAL;

/**
 * is_zero_pfn(pte_pfn(pte)) for a present entry given as halves. A non-present entry (swap,
 * migration, marker) never counts as a zero-page entry: its PFN bits mean something else.
 */
export function isZeroPte(lo: number, hi: number, zeroPfn: number): boolean {
  return (lo & PTE_PRESENT_BITS) !== 0 && entryPfn(lo, hi) === zeroPfn;
}
