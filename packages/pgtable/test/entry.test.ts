import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as core from '@kmodel/core';
import { isHugeLeaf, isTablePointer, leafFlags, leafPfn, makeHi, makeLo, tableIndex } from '@kmodel/pgtable';

/** The 64-bit word as a bigint, for checking bit positions. */
function word(pfn: number, flags: number): bigint {
  return (BigInt(makeHi(pfn, flags)) << 32n) | BigInt(makeLo(pfn, flags));
}

describe('entry encoding (pgtable_types.h bit positions)', () => {
  const bits: [string, number, number][] = [
    ['P', core._PAGE_PRESENT, 0],
    ['RW', core._PAGE_RW, 1],
    ['US', core._PAGE_USER, 2],
    ['PWT', core._PAGE_PWT, 3],
    ['PCD', core._PAGE_PCD, 4],
    ['A', core._PAGE_ACCESSED, 5],
    ['D', core._PAGE_DIRTY, 6],
    ['PS / PAT', core._PAGE_PSE, 7],
    ['G', core._PAGE_GLOBAL, 8],
    ['SPECIAL (SOFTW1)', core._PAGE_SPECIAL, 9],
    ['UFFD_WP (SOFTW2)', core._PAGE_UFFD_WP, 10],
    ['SOFT_DIRTY (SOFTW3)', core._PAGE_SOFT_DIRTY, 11],
    ['PAT_LARGE', core._PAGE_PAT_LARGE, 12],
    ['SOFTW4', core._PAGE_SOFTW4, 57],
    ['SAVED_DIRTY (SOFTW5)', core._PAGE_SAVED_DIRTY, 58],
    ['PKEY bit 0', 1 << core._PAGE_PKEY_SHIFT, 59],
    ['PKEY bit 3', 8 << core._PAGE_PKEY_SHIFT, 62],
    ['NX', core._PAGE_NX, 63],
  ];
  for (const [name, flag, bit] of bits) {
    it(`${name} lands in bit ${bit} and reads back`, () => {
      expect(word(0, flag)).toBe(1n << BigInt(bit));
      const level = bit === 12 ? 2 : 1;
      const lo = makeLo(0, flag);
      const hi = makeHi(0, flag);
      expect(leafFlags(lo, hi, bit === 12 ? 2 : 1) & flag).toBe(bit === 12 ? 0 : flag); // bit 12 alone is not a huge leaf
      if (bit === 12) expect(leafFlags(lo | 0x80, hi, level)).toBe(flag | core._PAGE_PSE);
    });
  }

  it('the PFN fills bits 12..51 exactly, up to 2^40 - 1', () => {
    expect(word(2 ** 40 - 1, 0)).toBe(((1n << 40n) - 1n) << 12n);
    expect(word(1, 0)).toBe(1n << 12n);
    expect(word(2 ** 20, 0)).toBe(1n << 32n);
  });

  it('agrees with the core encoders and round-trips (pfn, flags) at every level', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 0, max: 0xffffff }), (pfn, flags) => {
        const lo = makeLo(pfn, flags);
        const hi = makeHi(pfn, flags);
        expect(lo).toBe(core.makeEntryLo(pfn, flags));
        expect(hi).toBe(core.makeEntryHi(pfn, flags));
        expect(leafPfn(lo, hi, 1)).toBe(pfn);
        expect(leafFlags(lo, hi, 1)).toBe(flags);
        expect(core.entryPfn(lo, hi)).toBe(pfn);
        // huge leaf: PFN aligned to 512, PAT_LARGE kept apart
        const hpfn = pfn - (pfn % 512);
        const hflags = flags | core._PAGE_PSE | core._PAGE_PAT_LARGE;
        const hlo = makeLo(hpfn, hflags);
        const hhi = makeHi(hpfn, hflags);
        expect(leafPfn(hlo, hhi, 2)).toBe(hpfn);
        expect(leafFlags(hlo, hhi, 2)).toBe(hflags);
        expect(isHugeLeaf(hlo, 2)).toBe(true);
        expect(isHugeLeaf(hlo, 1)).toBe(false);
      }),
    );
  });

  it('table pointers are present with PS clear', () => {
    expect(isTablePointer(0x67)).toBe(true);
    expect(isTablePointer(0x67 | 0x80)).toBe(false);
    expect(isTablePointer(0x66)).toBe(false);
  });

  it('tableIndex matches levelIndex for 52-bit vpns (both halves, LA57)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 - 1 }), fc.constantFrom(1, 2, 3, 4, 5), (vpn, level) => {
        const lo = vpn >>> 0;
        expect(tableIndex(lo, (vpn - lo) / 2 ** 32, level)).toBe(core.levelIndex(vpn, level as core.Level));
      }),
    );
  });
});
