import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatSize, parseAddress, parseSize, isKmodelError, bytesToKb } from '@kmodel/core';

describe('parseSize', () => {
  it('reads integers, hex and binary units', () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('0x200000')).toBe(2 * 1024 * 1024);
    expect(parseSize('4KiB')).toBe(4096);
    expect(parseSize('2MiB')).toBe(2097152);
    expect(parseSize('1GiB')).toBe(1073741824);
    expect(parseSize('2TiB')).toBe(2199023255552);
    expect(parseSize('100B')).toBe(100);
  });
  it.each(['1.5MiB', '4KB', '-4KiB', 'lots', '', '0x', '4 kib', '9999999PiB'])('rejects %j with E_BAD_SIZE', (bad) => {
    try {
      parseSize(bad);
      expect.unreachable();
    } catch (e) {
      expect(isKmodelError(e, 'E_BAD_SIZE')).toBe(true);
      expect((e as Error).message).toContain(JSON.stringify(bad));
    }
  });
  it('rejects negative and fractional numbers', () => {
    expect(() => parseSize(-1)).toThrow(/E_BAD_SIZE/);
    expect(() => parseSize(1.5)).toThrow(/E_BAD_SIZE/);
  });
});

describe('formatSize', () => {
  it('uses the largest exact binary unit', () => {
    expect(formatSize(2 * 2 ** 40)).toBe('2TiB');
    expect(formatSize(3 * 2 ** 20 + 4096)).toBe('3076KiB');
    expect(formatSize(100)).toBe('100B');
    expect(formatSize(0)).toBe('0B');
  });
  it('round-trips through parseSize', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => parseSize(formatSize(n)) === n));
  });
});

describe('parseAddress', () => {
  it('keeps 57-bit addresses exact', () => {
    expect(parseAddress('0xff00000000001000')).toBe(0xff00000000001000n);
    expect(parseAddress('0x00fffffffffff000')).toBe(0x00fffffffffff000n);
  });
  it('rejects non-hex strings', () => {
    expect(() => parseAddress('4096')).toThrow(/E_BAD_ADDRESS/);
  });
});

describe('bytesToKb', () => {
  it('converts whole kB and rejects the rest', () => {
    expect(bytesToKb(4 * 2 ** 30)).toBe(4194304);
    expect(() => bytesToKb(100)).toThrow(/E_UNALIGNED/);
  });
});
