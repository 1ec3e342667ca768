import { describe, expect, it } from 'vitest';
import { isKmodelError } from '@kmodel/core';
import { directMapLayout, kernelAddrToVpn, kernelVpnToAddr, layoutSizes, pageOffsetVpn, splitMemRange } from '@kmodel/directmap';

const PUD = 512 * 512;

describe('boot layout (split_mem_range)', () => {
  it('maps an unaligned range with 4K head, 2M up to the GiB, 1G, 2M, 4K tail', () => {
    const segs = splitMemRange({ start: 256, end: 2 * PUD + 3 * 512 + 10 });
    expect(segs).toEqual([
      { startPfn: 256, endPfn: 512, level: 1 },
      { startPfn: 512, endPfn: PUD, level: 2 },
      { startPfn: PUD, endPfn: 2 * PUD, level: 3 },
      { startPfn: 2 * PUD, endPfn: 2 * PUD + 1536, level: 2 },
      { startPfn: 2 * PUD + 1536, endPfn: 2 * PUD + 1546, level: 1 },
    ]);
    expect(layoutSizes(segs)).toEqual({ DirectMap4k: 266 * 4, DirectMap2M: 514 * 2048, DirectMap1G: 1048576 });
  });

  it('uses 2M where 1 GiB pages are off, and 4K for a range inside one 2 MiB block', () => {
    expect(splitMemRange({ start: 0, end: PUD }, false)).toEqual([{ startPfn: 0, endPfn: PUD, level: 2 }]);
    expect(splitMemRange({ start: 100, end: 600 })).toEqual([{ startPfn: 100, endPfn: 600, level: 1 }]);
  });

  it('merges touching ranges and rejects overlapping ones', () => {
    expect(directMapLayout([{ start: PUD, end: 2 * PUD }, { start: 0, end: PUD }])).toEqual([{ startPfn: 0, endPfn: 2 * PUD, level: 3 }]);
    let err: unknown;
    try {
      directMapLayout([{ start: 0, end: 10 }, { start: 5, end: 20 }]);
    } catch (e) {
      err = e;
    }
    expect(isKmodelError(err, 'E_BAD_RAM_RANGES')).toBe(true);
  });

  it('puts PFN 0 at page_offset_base (0xffff888000000000, 4-level) and converts exactly', () => {
    expect(pageOffsetVpn(4)).toBe(0xffff888000000);
    expect(pageOffsetVpn(5)).toBe(0xff11000000000);
    expect(kernelVpnToAddr(pageOffsetVpn(4) + 1)).toBe(0xffff888000001000n);
    expect(kernelAddrToVpn(0xffff888000001000n)).toBe(0xffff888000001);
    expect(() => kernelAddrToVpn(0x00007fff00000000n)).toThrow(/E_BAD_ADDRESS/);
  });
});
