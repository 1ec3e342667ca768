/**
 * The bit layout of an x86-64 page-table entry (arch/x86/include/asm/pgtable_types.h),
 * shared by every package that reads or writes entries.
 *
 * A 64-bit entry is held as two unsigned 32-bit halves (`lo` = bits 0..31, `hi` = bits
 * 32..63), because JavaScript bitwise operators work on 32 bits. APIs that take an entry as
 * `(pfn, flags)` use *packed flags*: bits 0..11 of the entry in bits 0..11, bits 52..63 of
 * the entry in bits 12..23, and PAT for huge leaves (entry bit 12) in bit 24.
 */
export const _PAGE_BIT_PRESENT = 0;
export const _PAGE_BIT_RW = 1;
export const _PAGE_BIT_USER = 2;
export const _PAGE_BIT_PWT = 3;
export const _PAGE_BIT_PCD = 4;
export const _PAGE_BIT_ACCESSED = 5;
export const _PAGE_BIT_DIRTY = 6;
/** PS in a PMD/PUD entry (huge leaf); PAT in a 4 KiB PTE. */
export const _PAGE_BIT_PSE = 7;
export const _PAGE_BIT_PAT = 7;
export const _PAGE_BIT_GLOBAL = 8;
/** Software bits 9..11: SPECIAL, UFFD_WP, SOFT_DIRTY. */
export const _PAGE_BIT_SPECIAL = 9;
export const _PAGE_BIT_UFFD_WP = 10;
export const _PAGE_BIT_SOFT_DIRTY = 11;
/** PAT bit of a 2 MiB / 1 GiB leaf. */
export const _PAGE_BIT_PAT_LARGE = 12;
/** SOFTW4 (DEVMAP in older kernels) and SOFTW5 (SAVED_DIRTY). */
export const _PAGE_BIT_SOFTW4 = 57;
export const _PAGE_BIT_SAVED_DIRTY = 58;
/** Protection key, bits 59..62 (16 keys checked against PKRU). */
export const _PAGE_BIT_PKEY_BIT0 = 59;
export const _PAGE_BIT_NX = 63;

/** Packed-flag masks for the `(pfn, flags)` form (see the module comment). */
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_PWT = 1 << 3;
export const _PAGE_PCD = 1 << 4;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_PSE = 1 << 7;
export const _PAGE_PAT = 1 << 7;
export const _PAGE_GLOBAL = 1 << 8;
export const _PAGE_SPECIAL = 1 << 9;
export const _PAGE_UFFD_WP = 1 << 10;
export const _PAGE_SOFT_DIRTY = 1 << 11;
export const _PAGE_SOFTW4 = 1 << (12 + 57 - 52);
export const _PAGE_SAVED_DIRTY = 1 << (12 + 58 - 52);
/** Protection key field in packed flags (4 bits). */
export const _PAGE_PKEY_SHIFT = 12 + 59 - 52;
export const _PAGE_PKEY_MASK = 0xf << _PAGE_PKEY_SHIFT;
export const _PAGE_NX = 1 << (12 + 63 - 52);
export const _PAGE_PAT_LARGE = 1 << 24;
/** Every bit a packed-flags value may hold. */
export const PACKED_FLAGS_MASK = 0x1ffffff;

/** Largest PFN an entry can hold: bits 12..51 (MAX_POSSIBLE_PHYSMEM_BITS = 52). */
export const MAX_PFN_BITS = 40;

/** Frame number stored in an entry (bits 12..51); meaningful only for present entries. */
export function entryPfn(lo: number, hi: number): number {
  return (hi & 0xfffff) * 0x100000 + (lo >>> 12);
}

/** Packed flags of an entry given as halves. */
export function entryFlags(lo: number, hi: number): number {
  return (lo & 0xfff) | ((hi >>> 20) << 12);
}

/** pte_none(): the whole word is zero. */
export function entryIsNone(lo: number, hi: number): boolean {
  return lo === 0 && hi === 0;
}

/** Low half of the word for `(pfn, packedFlags)`. PAT_LARGE lands in bit 12 (huge leaves only). */
export function makeEntryLo(pfn: number, flags: number): number {
  return (((pfn % 0x100000) << 12) | (flags & 0xfff) | (flags & _PAGE_PAT_LARGE ? 1 << 12 : 0)) >>> 0;
}

/** High half of the word for `(pfn, packedFlags)`. */
export function makeEntryHi(pfn: number, flags: number): number {
  return ((Math.floor(pfn / 0x100000) & 0xfffff) | (((flags >>> 12) & 0xfff) << 20)) >>> 0;
}
