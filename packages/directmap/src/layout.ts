import { CoreErrorCode, fail, show, type PagingLevels, type Pfn, type Vpn } from '@kmodel/core';
import { DirectMapErrorCode } from './errors.js';

/**
 * Where the direct map lives and how boot lays it out (arch/x86/mm/init.c).
 *
 * Kernel addresses lie above 2^53, so the model works in page numbers. A kernel VPN is the
 * full 64-bit address shifted right by 12 (at most 52 bits, exact), the convention of
 * `@kmodel/pgtable`: the direct map base `0xffff888000000000` is VPN `0xffff888000000`.
 * Byte addresses appear only in {@link kernelVpnToAddr} / {@link kernelAddrToVpn}, as bigint.
 */

/** page_offset_base with 4-level paging (__PAGE_OFFSET_BASE_L4, KASLR off). */
export const PAGE_OFFSET_L4 = 0xffff888000000000n;
/** page_offset_base with 5-level paging (__PAGE_OFFSET_BASE_L5, KASLR off). */
export const PAGE_OFFSET_L5 = 0xff11000000000000n;

/** Kernel VPN of a canonical upper-half address. Throws E_BAD_ADDRESS for anything else. */
export function kernelAddrToVpn(addr: bigint, levels: PagingLevels = 4): Vpn {
  const bits = levels === 5 ? 57n : 48n;
  const lowest = (1n << 64n) - (1n << (bits - 1n));
  if (addr < lowest || addr >= 1n << 64n) {
    fail(CoreErrorCode.BadAddress, `address ${show(addr)} is not a canonical kernel address with ${levels}-level paging (expected >= ${show(lowest)})`, { value: addr.toString(16) });
  }
  return Number(addr >> 12n);
}

/** Byte address of a kernel VPN (exact, as bigint). */
export function kernelVpnToAddr(vpn: Vpn): bigint {
  return BigInt(vpn) << 12n;
}

/** VPN of the direct-map page of PFN 0 for the paging mode. */
export function pageOffsetVpn(levels: PagingLevels = 4): Vpn {
  return kernelAddrToVpn(levels === 5 ? PAGE_OFFSET_L5 : PAGE_OFFSET_L4, levels);
}

/** A range of RAM page frames, [start, end). */
export interface RamRange {
  readonly start: Pfn;
  readonly end: Pfn;
}

/** One run of direct-map leaves of one size: `nrLeaves` leaves at `level` starting at `startPfn`. */
export interface LayoutSegment {
  readonly startPfn: Pfn;
  readonly endPfn: Pfn;
  /** 1 = 4 KiB PTEs, 2 = 2 MiB PMD leaves, 3 = 1 GiB PUD leaves. */
  readonly level: 1 | 2 | 3;
}

const PMD_PAGES = 512;
const PUD_PAGES = 512 * 512;

/**
 * Validates RAM ranges and returns them sorted, with touching ranges merged.
 * Throws E_BAD_RAM_RANGES for empty, overlapping or non-integer ranges.
 */
export function normalizeRamRanges(ranges: readonly RamRange[]): RamRange[] {
  if (ranges.length === 0) fail(DirectMapErrorCode.BadRamRanges, 'no RAM ranges given; expected at least one [start, end) PFN range');
  for (const r of ranges) {
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end <= r.start || r.end > 2 ** 40) {
      fail(DirectMapErrorCode.BadRamRanges, `RAM range ${show({ start: r.start, end: r.end })} is not a non-empty PFN range below 2^40`, { start: r.start, end: r.end });
    }
  }
  const sorted = [...ranges].map((r) => ({ start: r.start, end: r.end })).sort((a, b) => a.start - b.start);
  const out: RamRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start < last.end) fail(DirectMapErrorCode.BadRamRanges, `RAM ranges overlap at PFN ${show(r.start)}`, { start: r.start });
    if (last && r.start === last.end) out[out.length - 1] = { start: last.start, end: r.end };
    else out.push(r);
  }
  return out;
}

/**
 * The leaves boot uses to map one RAM range (split_mem_range in arch/x86/mm/init.c):
 * 4 KiB up to the first 2 MiB boundary, 2 MiB up to the first 1 GiB boundary, 1 GiB
 * leaves while a whole aligned GiB fits, 2 MiB down to the last 2 MiB boundary, then
 * 4 KiB to the end. Without `gbpages` (no pdpe1gb, or `nogbpages`) the middle is 2 MiB.
 */
export function splitMemRange(range: RamRange, gbpages = true): LayoutSegment[] {
  const segs: LayoutSegment[] = [];
  const push = (startPfn: number, endPfn: number, level: 1 | 2 | 3) => {
    if (endPfn <= startPfn) return;
    const last = segs[segs.length - 1];
    if (last && last.level === level && last.endPfn === startPfn) segs[segs.length - 1] = { startPfn: last.startPfn, endPfn, level };
    else segs.push({ startPfn, endPfn, level });
  };
  const { start, end } = range;
  const up = (x: number, a: number) => Math.ceil(x / a) * a;
  const down = (x: number, a: number) => Math.floor(x / a) * a;
  let pos = start;
  // Head: 4 KiB up to the first 2 MiB boundary.
  let next = Math.min(up(pos, PMD_PAGES), end);
  if (down(end, PMD_PAGES) <= pos) next = end;
  push(pos, next, 1);
  pos = next;
  if (gbpages) {
    // 2 MiB up to the first 1 GiB boundary.
    next = Math.min(up(pos, PUD_PAGES), down(end, PMD_PAGES));
    push(pos, Math.max(pos, next), 2);
    pos = Math.max(pos, next);
    // Whole GiBs.
    next = down(end, PUD_PAGES);
    push(pos, Math.max(pos, next), 3);
    pos = Math.max(pos, next);
  }
  // 2 MiB down to the last 2 MiB boundary, then the 4 KiB tail.
  next = down(end, PMD_PAGES);
  push(pos, Math.max(pos, next), 2);
  pos = Math.max(pos, next);
  push(pos, end, 1);
  return segs;
}

/** Boot layout of the whole direct map: {@link splitMemRange} over every normalized range. */
export function directMapLayout(ranges: readonly RamRange[], gbpages = true): LayoutSegment[] {
  return normalizeRamRanges(ranges).flatMap((r) => splitMemRange(r, gbpages));
}

/** Pages mapped by each leaf size, as /proc/meminfo counts them (DirectMap4k / 2M / 1G in kB). */
export interface DirectMapSizes {
  DirectMap4k: number;
  DirectMap2M: number;
  DirectMap1G: number;
}

/** DirectMap4k / 2M / 1G in kB for a layout. */
export function layoutSizes(segs: readonly LayoutSegment[]): DirectMapSizes {
  const out = { DirectMap4k: 0, DirectMap2M: 0, DirectMap1G: 0 };
  for (const s of segs) {
    const kb = (s.endPfn - s.startPfn) * 4;
    if (s.level === 1) out.DirectMap4k += kb;
    else if (s.level === 2) out.DirectMap2M += kb;
    else out.DirectMap1G += kb;
  }
  return out;
}

/**
 * RAM ranges of a physical map given as [0, endPfn) minus holes (e820 gaps), e.g. from a
 * page allocator's memory layout. Holes may overlap or touch; the result is normalized.
 */
export function ramRangesExcluding(endPfn: Pfn, holes: readonly RamRange[]): RamRange[] {
  const sorted = [...holes].filter((h) => h.end > h.start).sort((a, b) => a.start - b.start);
  const out: RamRange[] = [];
  let pos = 0;
  for (const h of sorted) {
    if (h.start > pos) out.push({ start: pos, end: Math.min(h.start, endPfn) });
    pos = Math.max(pos, h.end);
    if (pos >= endPfn) break;
  }
  if (pos < endPfn) out.push({ start: pos, end: endPfn });
  return normalizeRamRanges(out.filter((r) => r.end > r.start));
}
