/**
 * Boot: from {@link BuddyOptions} to a ready {@link BuddyState}, as the kernel's memory init
 * does: zone and pageblock setup (free_area_init, memmap_init_range), zonelists
 * (build_all_zonelists), every managed page freed (memblock_free_all), then watermarks,
 * lowmem reserves and pcp sizes (__setup_per_zone_wmarks, setup_per_zone_lowmem_reserve,
 * zone_batchsize, zone_highsize). Every option is checked before any state is built.
 */
import { fail, MAX_PAGE_ORDER, MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_TYPES, MIGRATE_UNMOVABLE, NOOP_DIRECT_MAP, show, ZONE_NORMAL } from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import { splitLargeBuddy } from './free-one-page.js';
import { ctz, subtractRanges, sumRanges, validateLayout, x86Layout, type MemoryLayout, type PfnRange } from './layout.js';
import type { BuddyOptions } from './options.js';
import { BUDDY_CONSTS, BuddyState } from './state.js';
import {
  calculateMinFreeKbytes,
  DEFAULT_LOWMEM_RESERVE_RATIO,
  DEFAULT_WATERMARK_SCALE_FACTOR,
  recommendedMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  zoneBatchsize,
  zoneHighsize,
} from './watermarks.js';

const { NR_ZONES, PB_PAGES, PB_SHIFT } = BUDDY_CONSTS;

/** What {@link setupBuddy} hands the public class. */
export interface BuddySetup {
  state: BuddyState;
  layout: MemoryLayout;
  minFreeKbytes: number;
}

/** Checks `opts` and builds the allocator's state. Throws E_BAD_LAYOUT or E_BAD_CPU. */
export function setupBuddy(opts: BuddyOptions): BuddySetup {
  const layout = opts.layout ?? x86Layout({ ...(opts.memory !== undefined ? { memory: opts.memory } : {}), ...(opts.movable !== undefined ? { movable: opts.movable } : {}) });
  const full: MemoryLayout = {
    endPfn: layout.endPfn,
    zones: layout.zones.map((z) => ({ ...z })),
    holes: layout.holes.map((r) => ({ ...r })),
    reserved: [...layout.reserved, ...(opts.reserved ?? [])].map((r) => ({ ...r })),
  };
  validateLayout(full);
  const nrCpus = opts.nrCpus ?? 1;
  if (!Number.isInteger(nrCpus) || nrCpus < 1 || nrCpus > 1024) {
    fail(BuddyErrorCode.BadCpu, `nrCpus ${show(nrCpus)} must be an integer in 1..1024`, { nrCpus });
  }
  const wsf = opts.watermarkScaleFactor ?? DEFAULT_WATERMARK_SCALE_FACTOR;
  if (!Number.isInteger(wsf) || wsf < 1 || wsf > 3000) {
    fail(BuddyErrorCode.BadLayout, `watermarkScaleFactor ${show(wsf)} must be an integer in 1..3000`, { watermarkScaleFactor: wsf });
  }
  if (opts.minFreeKbytes !== undefined && (!Number.isInteger(opts.minFreeKbytes) || opts.minFreeKbytes < 0)) {
    fail(BuddyErrorCode.BadLayout, `minFreeKbytes ${show(opts.minFreeKbytes)} must be a non-negative integer`, { minFreeKbytes: opts.minFreeKbytes });
  }
  const boostFactor = opts.watermarkBoostFactor ?? 0;
  if (!Number.isInteger(boostFactor) || boostFactor < 0) {
    fail(BuddyErrorCode.BadLayout, `watermarkBoostFactor ${show(boostFactor)} must be a non-negative integer`, { watermarkBoostFactor: boostFactor });
  }
  const configCma = opts.configCma ?? false;
  const cma = opts.cma ?? [];
  if (cma.length > 0 && !configCma) fail(BuddyErrorCode.BadLayout, 'cma ranges need configCma: true', { cma });
  for (const r of cma) {
    if (r.start % PB_PAGES !== 0 || r.end % PB_PAGES !== 0 || r.end <= r.start || r.end > full.endPfn) {
      fail(BuddyErrorCode.BadLayout, `cma range [${show(r.start)}, ${show(r.end)}) must be pageblock aligned and inside memory`, { range: r });
    }
  }
  const ratio = opts.lowmemReserveRatio ?? DEFAULT_LOWMEM_RESERVE_RATIO;
  if (ratio.length !== NR_ZONES || ratio.some((r) => !Number.isInteger(r) || r < 0)) {
    fail(BuddyErrorCode.BadLayout, `lowmemReserveRatio ${show(ratio)} must be 4 non-negative integers`, { lowmemReserveRatio: ratio });
  }

  // Present and managed pages per zone; managed ranges in zone order.
  const present = [0, 0, 0, 0];
  const managed = [0, 0, 0, 0];
  const managedByZone = full.zones.map((z) => {
    const p = subtractRanges([{ start: z.start, end: z.end }], full.holes);
    present[z.zone] = sumRanges(p);
    const m = subtractRanges(p, full.reserved);
    managed[z.zone] = sumRanges(m);
    return m;
  });
  let totalManaged = 0;
  for (const z of full.zones) totalManaged += managed[z.zone]!;
  const managedRanges: PfnRange[] = managedByZone.flat();

  const s = new BuddyState({
    endPfn: full.endPfn,
    nrCpus,
    pcpEnabled: opts.pcp ?? true,
    // build_all_zonelists(): grouping by mobility needs at least one pageblock per migratetype.
    mobilityGrouping: opts.mobilityGrouping ?? totalManaged >= PB_PAGES * MIGRATE_TYPES,
    configCma,
    directMap: opts.directMap ?? NOOP_DIRECT_MAP,
    boostFactor,
    totalManaged,
    managedRanges,
  });
  for (let z = 0; z < NR_ZONES; z++) {
    s.zonePresent[z] = present[z]!;
    s.zoneManaged[z] = managed[z]!;
  }
  freeAreaInit(s, full, cma);
  memblockFreeAll(s, full, managedByZone);
  const minFreeKbytes = setupZoneWatermarks(s, opts, managed, wsf, ratio);
  return { state: s, layout: full, minFreeKbytes };
}

/** Zone spans, pageblock zones and initial types, zonelists and CMA pageblocks. */
function freeAreaInit(s: BuddyState, layout: MemoryLayout, cma: readonly PfnRange[]): void {
  // memmap_init_range() marks MIGRATE_MOVABLE each pageblock whose first PFN it visits; a
  // pageblock starting before its zone (PFN 0 when DMA starts at PFN 1) keeps 0 = Unmovable,
  // which is why /proc/pagetypeinfo shows one Unmovable block in DMA on a fresh machine.
  const initialFt = s.mobilityGrouping ? MIGRATE_MOVABLE : MIGRATE_UNMOVABLE;
  for (const z of layout.zones) {
    s.populated[z.zone] = true;
    s.zoneStart[z.zone] = z.start;
    s.zoneEnd[z.zone] = z.end;
    for (let pb = z.start >>> PB_SHIFT; pb * PB_PAGES < z.end; pb++) {
      s.pbZone[pb] = z.zone;
      if (pb * PB_PAGES >= z.start) s.pbFt[pb] = initialFt;
    }
  }
  for (let h = 0; h < NR_ZONES; h++) {
    const zl: number[] = [];
    for (let z = h; z >= 0; z--) if (s.populated[z]) zl.push(z);
    s.zonelists.push(Int8Array.from(zl));
  }
  for (const r of cma) for (let pb = r.start >>> PB_SHIFT; pb < r.end >>> PB_SHIFT; pb++) s.pbFt[pb] = MIGRATE_CMA;
}

/** memblock_free_all(): free every managed range in the largest aligned chunks, to the tail. */
function memblockFreeAll(s: BuddyState, layout: MemoryLayout, managedByZone: readonly PfnRange[][]): void {
  layout.zones.forEach((z, i) => {
    for (const r of managedByZone[i]!) {
      let start = r.start;
      while (start < r.end) {
        let order = start === 0 ? MAX_PAGE_ORDER : Math.min(MAX_PAGE_ORDER, ctz(start));
        while (start + (1 << order) > r.end) order--;
        // __free_pages_core() -> __free_pages_ok() -> free_one_page() -> split_large_buddy(), to
        // the tail (FPI_TO_TAIL): a CMA range that is pageblock- but not 4 MiB-aligned keeps its
        // pageblock out of the neighbouring Movable block.
        splitLargeBuddy(s, start, order, z.zone, true);
        start += 1 << order;
      }
    }
  });
}

/** min_free_kbytes, watermarks (__setup_per_zone_wmarks), lowmem_reserve and pcp batch/high. Returns min_free_kbytes. */
function setupZoneWatermarks(s: BuddyState, opts: BuddyOptions, managed: readonly number[], wsf: number, ratio: readonly number[]): number {
  let minFree = opts.minFreeKbytes;
  if (minFree === undefined) {
    let lowmem = 0;
    let nrZones = 0;
    for (let z = 0; z <= ZONE_NORMAL; z++) {
      lowmem += managed[z]!;
      if (managed[z]! > 0) nrZones++;
    }
    minFree = calculateMinFreeKbytes(lowmem * 4);
    if (opts.thp ?? true) minFree = Math.max(minFree, recommendedMinFreeKbytes(nrZones, lowmem));
  }
  const wm = setupPerZoneWmarks(managed, minFree, wsf);
  wm.forEach((w, z) => {
    s.wmark[z * 4] = w.min;
    s.wmark[z * 4 + 1] = w.low;
    s.wmark[z * 4 + 2] = w.high;
    s.wmark[z * 4 + 3] = w.promo;
  });
  setupPerZoneLowmemReserve(managed, ratio).forEach((row, i) => row.forEach((v, j) => (s.lowmemReserve[i * NR_ZONES + j] = v)));
  for (let z = 0; z < NR_ZONES; z++) {
    const batch = Math.max(1, zoneBatchsize(managed[z]!));
    s.pcpBatch[z] = batch;
    s.pcpHigh[z] = zoneHighsize(s.wmark[z * 4 + 1]!, batch, s.nrCpus);
  }
  return minFree;
}
