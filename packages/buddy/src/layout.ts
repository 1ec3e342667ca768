import {
  fail,
  GiB,
  MAX_PAGE_ORDER,
  MiB,
  PAGE_SHIFT,
  PAGEBLOCK_NR_PAGES,
  show,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NAMES,
  ZONE_NORMAL,
  type Pfn,
  type ZoneType,
} from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';

/** A half-open PFN range [start, end). */
export interface PfnRange {
  start: Pfn;
  end: Pfn;
}

/** One zone's span: PFNs [start, end) (zone_start_pfn, zone_end_pfn). */
export interface ZoneSpan {
  zone: ZoneType;
  start: Pfn;
  end: Pfn;
}

/** The physical memory map: zone spans, holes (not present) and reserved (present, not managed). */
export interface MemoryLayout {
  /** One past the highest PFN. */
  endPfn: Pfn;
  /** Populated zones in PFN order; a zone type appears at most once. */
  zones: ZoneSpan[];
  /** Ranges with no RAM (e820 holes): not present, never in a free list. */
  holes: PfnRange[];
  /** Ranges of RAM that memblock kept (firmware, kernel image): present but not managed. */
  reserved: PfnRange[];
}

/** Options for {@link x86Layout}. */
export interface X86LayoutOptions {
  /** Usable RAM in bytes (default 24 GiB). */
  memory?: number;
  /** Bytes of RAM for ZONE_MOVABLE, taken from the top as `movablecore=` does (default 0). */
  movable?: number;
}

const DMA_END = (16 * MiB) >>> PAGE_SHIFT; // 4096
const DMA32_END = (4 * GiB) / 2 ** PAGE_SHIFT; // 1 << 20
const PCI_HOLE_START = (3 * GiB) / 2 ** PAGE_SHIFT; // 0xc0000
const MAX_ORDER_NR_PAGES = 1 << MAX_PAGE_ORDER;

/**
 * The x86-64 layout of a PC / QEMU machine, as on the 24 GiB VM kmodel was checked against:
 * - PFN 0 is not usable RAM (e820 marks it reserved), so ZONE_DMA starts at PFN 1, as the kernel's
 *   "zone DMA: 1 pages in unavailable ranges" says;
 * - PFNs 0x9f..0xff (the legacy VGA/BIOS window) are a hole;
 * - the first 1 MiB of RAM is reserved by memblock (x86 always reserves it since v5.13), so the
 *   DMA zone manages PFNs 256..4095 = 3840 pages, as /proc/zoneinfo shows;
 * - RAM above 3 GiB is remapped above 4 GiB (the 3..4 GiB PCI hole);
 * - zones: DMA below 16 MiB, DMA32 below 4 GiB, Normal above, Movable on top when asked for
 *   (its start rounded up to MAX_ORDER_NR_PAGES like find_zone_movable_pfns_for_nodes()).
 * Other reserved memory (kernel image, memmap) is not modelled unless passed as `reserved`.
 */
export function x86Layout(opts: X86LayoutOptions = {}): MemoryLayout {
  const memory = opts.memory ?? 24 * GiB;
  if (!Number.isSafeInteger(memory) || memory < 32 * MiB || memory % (4 * MiB) !== 0) {
    fail(BuddyErrorCode.BadLayout, `memory ${show(memory)} must be a multiple of 4 MiB of at least 32 MiB`, { memory });
  }
  const pages = memory / 2 ** PAGE_SHIFT;
  const holes: PfnRange[] = [
    { start: 0, end: 1 },
    { start: 0x9f, end: 0x100 },
  ];
  let endPfn: number;
  if (pages > PCI_HOLE_START) {
    holes.push({ start: PCI_HOLE_START, end: DMA32_END });
    endPfn = DMA32_END + (pages - PCI_HOLE_START);
  } else {
    endPfn = pages;
  }
  const zones: ZoneSpan[] = [{ zone: ZONE_DMA, start: 1, end: Math.min(DMA_END, endPfn) }];
  if (endPfn > DMA_END) zones.push({ zone: ZONE_DMA32, start: DMA_END, end: Math.min(DMA32_END, endPfn) });
  if (endPfn > DMA32_END) zones.push({ zone: ZONE_NORMAL, start: DMA32_END, end: endPfn });
  const movable = opts.movable ?? 0;
  if (movable > 0) {
    if (!Number.isSafeInteger(movable) || movable % (4 * MiB) !== 0 || movable >= memory) {
      fail(BuddyErrorCode.BadLayout, `movable ${show(movable)} must be a multiple of 4 MiB below memory ${show(memory)}`, { movable });
    }
    let start = endPfn - movable / 2 ** PAGE_SHIFT;
    start = Math.ceil(start / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
    const last = zones[zones.length - 1]!;
    if (start <= last.start) fail(BuddyErrorCode.BadLayout, `movable ${show(movable)} leaves nothing in zone ${ZONE_NAMES[last.zone]}`, { movable });
    if (start < endPfn) {
      last.end = start;
      zones.push({ zone: ZONE_MOVABLE, start, end: endPfn });
    }
  }
  return { endPfn, zones, holes, reserved: [{ start: 0, end: 0x100 }] };
}

/**
 * Checks a layout: zones in increasing PFN order without overlap, each zone type at most
 * once and in zone order, zone boundaries on pageblock boundaries (a first zone may start
 * inside its first pageblock, like DMA at PFN 1), ranges inside [0, endPfn).
 */
export function validateLayout(layout: MemoryLayout): void {
  const { endPfn, zones } = layout;
  if (!Number.isSafeInteger(endPfn) || endPfn <= 0 || endPfn > 2 ** 31 - 1) {
    fail(BuddyErrorCode.BadLayout, `endPfn ${show(endPfn)} must be an integer in 1..2^31-1`, { endPfn });
  }
  if (zones.length === 0) fail(BuddyErrorCode.BadLayout, 'a layout needs at least one zone', {});
  let prevEnd = 0;
  let prevZone = -1;
  zones.forEach((z, i) => {
    const name = ZONE_NAMES[z.zone] ?? String(z.zone);
    if (!Number.isInteger(z.zone) || z.zone < 0 || z.zone > ZONE_MOVABLE || z.zone <= prevZone) {
      fail(BuddyErrorCode.BadLayout, `zone ${show(z.zone)} out of order; zones must be distinct types in increasing order`, { zone: z.zone });
    }
    if (!Number.isSafeInteger(z.start) || !Number.isSafeInteger(z.end) || z.start < prevEnd || z.end <= z.start || z.end > endPfn) {
      fail(BuddyErrorCode.BadLayout, `zone ${name} [${show(z.start)}, ${show(z.end)}) must be non-empty, after the previous zone and below endPfn ${show(endPfn)}`, { zone: z });
    }
    const startOk = z.start % PAGEBLOCK_NR_PAGES === 0 || (i === 0 && z.start < PAGEBLOCK_NR_PAGES);
    const endOk = z.end % PAGEBLOCK_NR_PAGES === 0 || z.end === endPfn;
    if (!startOk || !endOk) {
      fail(BuddyErrorCode.BadLayout, `zone ${name} [${show(z.start)}, ${show(z.end)}) must start and end on a pageblock boundary (${PAGEBLOCK_NR_PAGES} pages)`, { zone: z });
    }
    prevEnd = z.end;
    prevZone = z.zone;
  });
  for (const r of [...layout.holes, ...layout.reserved]) {
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.end > endPfn) {
      fail(BuddyErrorCode.BadLayout, `range [${show(r.start)}, ${show(r.end)}) must lie within [0, ${show(endPfn)})`, { range: r });
    }
  }
}

/** Count of trailing zero bits (__ffs) of a positive integer. */
export function ctz(n: number): number {
  let c = 0;
  while (n % 2 === 0 && c < 31) {
    n /= 2;
    c++;
  }
  return c;
}

/** Pages in a list of disjoint ranges. */
export function sumRanges(rs: readonly PfnRange[]): number {
  return rs.reduce((a, r) => a + (r.end - r.start), 0);
}

/** Whether `pfn` lies in one of the ranges. */
export function inRanges(pfn: number, rs: readonly PfnRange[]): boolean {
  return rs.some((r) => pfn >= r.start && pfn < r.end);
}

/** `from` minus every range of `minus`, as sorted disjoint ranges. */
export function subtractRanges(from: readonly PfnRange[], minus: readonly PfnRange[]): PfnRange[] {
  let cur = from.map((r) => ({ ...r }));
  for (const m of minus) {
    const out: PfnRange[] = [];
    for (const r of cur) {
      if (m.end <= r.start || m.start >= r.end) out.push(r);
      else {
        if (m.start > r.start) out.push({ start: r.start, end: m.start });
        if (m.end < r.end) out.push({ start: m.end, end: r.end });
      }
    }
    cur = out;
  }
  return cur.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
}
