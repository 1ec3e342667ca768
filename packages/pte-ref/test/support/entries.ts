import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_USER, makeEntryHi, makeEntryLo } from '@kmodel/core';

/** The zero page's PFN used throughout the tests. */
export const ZERO_PFN = 0x1234;

/** An entry as its two halves. */
export type Entry = readonly [lo: number, hi: number];

export const NONE: Entry = [0, 0];

/** A present anonymous page (writable, dirty). */
export function anon(pfn: number): Entry {
  const f = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
  return [makeEntryLo(pfn, f), makeEntryHi(pfn, f)];
}

/** The shared zero page as do_anonymous_page maps it on a read fault: pte_mkspecial(pfn_pte(my_zero_pfn)), read-only. */
export function zero(extraFlags = 0): Entry {
  const f = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL | _PAGE_NX | extraFlags;
  return [makeEntryLo(ZERO_PFN, f), makeEntryHi(ZERO_PFN, f)];
}

/** The zero page under PROT_NONE: present bit clear, _PAGE_PROTNONE (bit 8) set. */
export function zeroProtNone(): Entry {
  const f = _PAGE_GLOBAL | _PAGE_USER | _PAGE_SPECIAL;
  return [makeEntryLo(ZERO_PFN, f), makeEntryHi(ZERO_PFN, f)];
}

/**
 * A swap entry: not present, bits 0 and 8 clear. `offset` lands in the PFN bits; with
 * offset = ZERO_PFN the bits look like the zero PFN, which must not count.
 */
export function swap(offset: number): Entry {
  const f = 1 << 9; // a type bit; anything but P and PROTNONE
  return [makeEntryLo(offset, f), makeEntryHi(offset, f)];
}

/** A PTE marker (uffd-wp / guard): non-present, non-none, no PFN. */
export function marker(): Entry {
  return [1 << 10, 0];
}
