/**
 * @packageDocumentation
 * pte_ref accounting from Qi Zheng's 2022 RFC "Try to free empty and zero user PTE page table
 * pages": a packed counter per PTE table (mapped entries in bits 0-9, zero-page entries in
 * bits 10-19) kept by an `EntryObserver` on every PTE set and clear, empty / zero-only
 * queries, per-mm reclaimable_pt_bytes, and an ordered index of address spaces by those bytes.
 */
export { PteRef, type PteRefOptions, type ObserverOptions } from './pte-ref.js';
export { IGNORE_OBSERVER, type ZeroRule } from './observer.js';
export { PteRefErrorCode } from './errors.js';
export {
  PTE_MAPPED_BITS,
  PTE_ZERO_BITS,
  PTE_MAPPED_SHIFT,
  PTE_ZERO_SHIFT,
  PTE_MAPPED_MASK,
  PTE_ZERO_MASK,
  PTE_MAPPED_OFFSET,
  PTE_ZERO_OFFSET,
  PTRS_PER_PTE,
  PTE_TABLE_BYTES,
  pteMappedCount,
  pteZeroCount,
  pteRefWord,
  pteRefWordValid,
  pteRefReclaimable,
  isZeroPte,
} from './refcount.js';
export { recountPteTables, userVpnEnd, type PteTableRecount, type RecountSource, type PteRefMismatch, type PteRefMismatchKind } from './verify.js';
