import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { _PAGE_NX, _PAGE_PKEY_SHIFT, _PAGE_PRESENT, _PAGE_RW, _PAGE_PAT_LARGE, entryFlags, entryPfn, makeEntryHi, makeEntryLo, levelIndex, pagesPerEntry, addrToVpn, vpnToAddr } from '@kmodel/core';

describe('entry halves', () => {
  it('places NX at bit 63 and the PFN at bits 12..51', () => {
    const pfn = 2 ** 40 - 1;
    const lo = makeEntryLo(pfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_NX);
    const hi = makeEntryHi(pfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_NX);
    expect(hi >>> 31).toBe(1);
    expect(lo & 0xfff).toBe(3);
    expect(hi & 0xfffff).toBe(0xfffff);
    expect(entryPfn(lo, hi)).toBe(pfn);
  });
  it('puts PAT_LARGE in entry bit 12', () => {
    expect(makeEntryLo(512, _PAGE_PAT_LARGE) & 0x1000).toBe(0x1000);
  });
  it('round-trips any pfn and flags without loss', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), fc.integer({ min: 0, max: 0xffffff }), (pfn, flags) => {
        const lo = makeEntryLo(pfn, flags);
        const hi = makeEntryHi(pfn, flags);
        return entryPfn(lo, hi) === pfn && entryFlags(lo, hi) === flags;
      }),
    );
  });
  it('encodes the protection key in bits 59..62', () => {
    const hi = makeEntryHi(0, 0xa << _PAGE_PKEY_SHIFT);
    expect((hi >>> 27) & 0xf).toBe(0xa);
  });
});

describe('levels', () => {
  it('indexes 57-bit addresses exactly', () => {
    const vpn = addrToVpn(0x00fedcba98765000n);
    expect(vpnToAddr(vpn)).toBe(0x00fedcba98765000n);
    expect(levelIndex(vpn, 5)).toBe(Number((0x00fedcba98765000n >> 48n) & 511n));
    expect(levelIndex(vpn, 4)).toBe(Number((0x00fedcba98765000n >> 39n) & 511n));
    expect(levelIndex(vpn, 1)).toBe(Number((0x00fedcba98765000n >> 12n) & 511n));
    expect(pagesPerEntry(3)).toBe(262144);
  });
});
