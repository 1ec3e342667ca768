import {
  __GFP_DIRECT_RECLAIM,
  __GFP_NOMEMALLOC,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGH,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MOVABLE,
  __GFP_RECLAIMABLE,
  __GFP_UNMAPPED,
  __GFP_ATOMIC_RESERVE,
  fail,
  GFP_KNOWN_MASK,
  gfpMigratetype,
  gfpZone,
  MAX_PAGE_ORDER,
  MIGRATE_CMA,
  MIGRATE_HIGHATOMIC,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  NOOP_DIRECT_MAP,
  NR_PAGE_ORDERS,
  PAGEBLOCK_NR_PAGES,
  PAGEBLOCK_ORDER,
  show,
  ZONE_NAMES,
  ZONE_NORMAL,
  type DirectMapControl,
  type MetricSnapshot,
  type Migratetype,
  type PageAllocator,
  type Pfn,
  type ZoneType,
} from '@kmodel/core';
import { BuddyErrorCode } from './errors.js';
import { FALLBACKS, FT_UNMOVABLE_UNMAPPED, NR_FREETYPE_IDXS, migratetypeIsMergeable, shouldTryClaimBlock } from './freetype.js';
import { ctz, inRanges, subtractRanges, sumRanges, validateLayout, x86Layout, type MemoryLayout, type PfnRange, type ZoneSpan } from './layout.js';
import { buddyinfo, contigPageInfo, fragmentationIndexOf, pagetypeinfo, unusableIndexOf } from './views.js';
import {
  calculateMinFreeKbytes,
  DEFAULT_LOWMEM_RESERVE_RATIO,
  DEFAULT_WATERMARK_SCALE_FACTOR,
  recommendedMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  zoneBatchsize,
  zoneHighsize,
  type ZoneWatermarks,
} from './watermarks.js';

/** Options of {@link BuddyAllocator}. Every field has a kernel-like default. */
export interface BuddyOptions {
  /** Usable RAM in bytes for the default x86-64 layout (default 24 GiB). Ignored when `layout` is given. */
  memory?: number;
  /** Bytes of ZONE_MOVABLE taken from the top of memory (`movablecore=`), default layout only. */
  movable?: number;
  /** An explicit memory map instead of the x86-64 default ({@link x86Layout}). */
  layout?: MemoryLayout;
  /** More memblock-reserved ranges (present, never managed), added to the layout's. */
  reserved?: PfnRange[];
  /** vm.min_free_kbytes; default: calculate_min_free_kbytes(), raised by khugepaged when `thp` is on. */
  minFreeKbytes?: number;
  /** THP enabled ("always" or "madvise", as on Linux 6.18 defaults): khugepaged raises min_free_kbytes. Default true. */
  thp?: boolean;
  /** vm.watermark_scale_factor (default 10 = 0.1 %). */
  watermarkScaleFactor?: number;
  /** vm.lowmem_reserve_ratio per zone (default 256 256 32 0). */
  lowmemReserveRatio?: readonly number[];
  /** vm.watermark_boost_factor (kernel default 15000). Default 0 here: kmodel has no kswapd to drop a boost; call {@link BuddyAllocator.resetWatermarkBoost} if you enable it. */
  watermarkBoostFactor?: number;
  /** Per-CPU page lists (default true, as the kernel always has them). */
  pcp?: boolean;
  /** Number of CPUs with their own pcp lists (default 1). */
  nrCpus?: number;
  /** CONFIG_CMA: adds the CMA migratetype column to /proc/pagetypeinfo (default false, like the sample machine). */
  configCma?: boolean;
  /** Pageblock-aligned ranges given to CMA (MIGRATE_CMA pageblocks); needs `configCma`. */
  cma?: PfnRange[];
  /**
   * Group pages by mobility. Default as build_all_zonelists(): on when the machine has at least
   * pageblock_nr_pages * MIGRATE_TYPES (3072) pages; off, every request and pageblock is Unmovable.
   */
  mobilityGrouping?: boolean;
  /** Direct map to change when pageblocks convert between mapped and unmapped (default `NOOP_DIRECT_MAP` of `@kmodel/core`). */
  directMap?: DirectMapControl;
}

/** What {@link BuddyAllocator.zoneInfo} reports for one populated zone (a /proc/zoneinfo subset). */
export interface ZoneInfo {
  zone: ZoneType;
  name: string;
  startPfn: Pfn;
  endPfn: Pfn;
  spanned: number;
  present: number;
  managed: number;
  free: number;
  watermarks: ZoneWatermarks;
  boost: number;
  /** lowmem_reserve[] ("protection"), indexed by the highest zone of a request. */
  protection: number[];
  nrReservedHighatomic: number;
  pcpHigh: number;
  pcpBatch: number;
}

// Per-PFN state byte.
const ST_ORDER = 0x0f;
/** First page of a free buddy block (PageBuddy), order in the low bits. */
const ST_FREE = 0x10;
/** First page of a block handed out by allocPages. */
const ST_ALLOC = 0x20;
/** First page of a block sitting on a per-CPU list. */
const ST_PCP = 0x40;
/** With ST_ALLOC: the allocation was movable (counts as an LRU page for pageblock claiming). */
const ST_MOVABLE = 0x80;

const NR_FT = NR_FREETYPE_IDXS;
const NR_ORD = NR_PAGE_ORDERS;
const NR_ZONES = 4;
const PB_SHIFT = PAGEBLOCK_ORDER;
const PB_PAGES = PAGEBLOCK_NR_PAGES;
const FT_UU = FT_UNMOVABLE_UNMAPPED;
const PAGE_ALLOC_COSTLY_ORDER = 3;
/** pcp lists: 4 freetypes (3 pcp migratetypes + unmovable-unmapped) x orders 0..3, then 2 THP lists (mapped, unmapped). */
const NR_PCP_LISTS = 4 * (PAGE_ALLOC_COSTLY_ORDER + 1) + 2;
/** CONFIG_PCP_BATCH_SCALE_MAX default. */
const PCP_BATCH_SCALE_MAX = 5;

// alloc_flags (mm/internal.h); values are kmodel's own.
const ALLOC_WMARK_MIN = 0;
const ALLOC_WMARK_LOW = 1;
const ALLOC_WMARK_MASK = 3;
const ALLOC_MIN_RESERVE = 0x8;
const ALLOC_NON_BLOCK = 0x10;
const ALLOC_CMA = 0x80;
const ALLOC_NOFRAGMENT = 0x100;
const ALLOC_HIGHATOMIC = 0x200;
const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC;

// rmqueue modes (mm/page_alloc.c enum rmqueue_mode).
const RMQUEUE_NORMAL = 0;
const RMQUEUE_CMA = 1;
const RMQUEUE_CLAIM = 2;
const RMQUEUE_STEAL = 3;

/**
 * The Linux buddy page allocator with zones, pageblocks and freetypes, modelled on
 * mm/page_alloc.c (Linux 6.18) plus the 2026 `__GFP_UNMAPPED` freetype series.
 *
 * State lives in typed arrays: one state byte and two Int32 list links per PFN (9 bytes per
 * page: 57 MB for 24 GiB), one freetype byte and two Uint16 content counters per pageblock.
 * Free lists are intrusive doubly linked lists per (zone, freetype, order); a free block is
 * always on the list of its pageblock's freetype, as in the kernel since v6.10.
 *
 * Policy follows the kernel: zonelist walk from the highest allowed zone down with the low
 * watermark, then the min watermark (with __GFP_HIGH / non-blocking reserves), then (for
 * callers that may reclaim) a pcp drain and highatomic unreserve before failing; ALLOC_NOFRAGMENT
 * for requests whose preferred zone is Normal; __rmqueue_smallest, claim (try_to_claim_block
 * with the half-pageblock rule), steal; the highatomic reserve; per-CPU lists.
 *
 * Unmapped (`__GFP_UNMAPPED`) requests are served from the Unmovable|Unmapped lists; when those
 * are empty a whole free pageblock is converted with one `DirectMapControl.removeRange`
 * call per pageblock. Mapped requests that find nothing else (after claiming, before stealing)
 * convert whole free unmapped pageblocks back with `restoreRange`.
 */
export class BuddyAllocator implements PageAllocator {
  /** The memory map this allocator was built from. */
  readonly layout: Readonly<MemoryLayout>;
  /** CONFIG_CMA (adds the CMA column to pagetypeinfo). */
  readonly configCma: boolean;
  /** vm.min_free_kbytes in force. */
  readonly minFreeKbytes: number;
  /** Number of simulated CPUs with pcp lists. */
  readonly nrCpus: number;
  /** Whether per-CPU page lists are in use. */
  readonly pcpEnabled: boolean;
  /** Grouping pages by mobility (false = page_group_by_mobility_disabled: every request and pageblock is Unmovable). */
  readonly mobilityGrouping: boolean;

  private readonly endPfn: number;
  private readonly directMap: DirectMapControl;
  private readonly boostFactor: number;
  // per PFN
  private readonly state: Uint8Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  // per pageblock
  private readonly pbFt: Uint8Array;
  private readonly pbZone: Uint8Array;
  private readonly pbMovable: Uint16Array;
  private readonly pbUnmovable: Uint16Array;
  /** The freetype an isolated pageblock returns to (the kernel keeps it beside PB_migrate_isolate). */
  private readonly pbSavedFt: Uint8Array;
  // lists: buddy lists [0, nBuddyLists), then pcp lists
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly count: Int32Array;
  // per zone
  private readonly zoneStart = new Float64Array(NR_ZONES);
  private readonly zoneEnd = new Float64Array(NR_ZONES);
  private readonly zonePresent = new Float64Array(NR_ZONES);
  private readonly zoneManaged = new Float64Array(NR_ZONES);
  private readonly zoneFree = new Float64Array(NR_ZONES);
  private readonly ftFree = new Float64Array(NR_ZONES * NR_FT);
  private readonly areaFree = new Int32Array(NR_ZONES * NR_ORD);
  private readonly wmark = new Float64Array(NR_ZONES * 4);
  private readonly boost = new Float64Array(NR_ZONES);
  private readonly lowmemReserve = new Float64Array(NR_ZONES * NR_ZONES);
  private readonly reservedHighatomic = new Float64Array(NR_ZONES);
  private readonly pcpHigh = new Int32Array(NR_ZONES);
  private readonly pcpBatch = new Int32Array(NR_ZONES);
  private readonly pcpCount: Int32Array;
  private readonly pcpAllocFactor: Uint8Array;
  private readonly populated: boolean[] = [false, false, false, false];
  /** zonelists[highest] = populated zones <= highest, highest first. */
  private readonly zonelists: Int8Array[] = [];
  private readonly managedRanges: PfnRange[] = [];
  private cpu = 0;
  private rmqm = RMQUEUE_NORMAL;
  // counters
  private nFallbacks = 0;
  private nClaims = 0;
  private nSteals = 0;
  private nUnmapped = 0;
  private nRemapped = 0;
  private nUnmapFailures = 0;
  private nPolluted = 0;
  private nAllocFail = 0;
  private nKswapdWakes = 0;
  private nAllocated = 0;
  private nPcp = 0;
  private totalManaged = 0;

  constructor(opts: BuddyOptions = {}) {
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
    this.configCma = opts.configCma ?? false;
    const cma = opts.cma ?? [];
    if (cma.length > 0 && !this.configCma) fail(BuddyErrorCode.BadLayout, 'cma ranges need configCma: true', { cma });
    for (const r of cma) {
      if (r.start % PB_PAGES !== 0 || r.end % PB_PAGES !== 0 || r.end <= r.start || r.end > full.endPfn) {
        fail(BuddyErrorCode.BadLayout, `cma range [${show(r.start)}, ${show(r.end)}) must be pageblock aligned and inside memory`, { range: r });
      }
    }
    this.layout = full;
    this.nrCpus = nrCpus;
    this.pcpEnabled = opts.pcp ?? true;
    this.directMap = opts.directMap ?? NOOP_DIRECT_MAP;
    this.boostFactor = boostFactor;
    const endPfn = full.endPfn;
    this.endPfn = endPfn;
    this.state = new Uint8Array(endPfn);
    this.next = new Int32Array(endPfn);
    this.prev = new Int32Array(endPfn);
    const nPb = Math.ceil(endPfn / PB_PAGES);
    // memmap_init_range() marks MIGRATE_MOVABLE each pageblock whose first PFN it visits; a
    // pageblock starting before its zone (PFN 0 when DMA starts at PFN 1) keeps 0 = Unmovable,
    // which is why /proc/pagetypeinfo shows one Unmovable block in DMA on a fresh machine.
    this.pbFt = new Uint8Array(nPb);
    this.pbZone = new Uint8Array(nPb).fill(255);
    this.pbMovable = new Uint16Array(nPb);
    this.pbUnmovable = new Uint16Array(nPb);
    this.pbSavedFt = new Uint8Array(nPb);
    const nLists = NR_ZONES * NR_FT * NR_ORD + NR_ZONES * nrCpus * NR_PCP_LISTS;
    this.head = new Int32Array(nLists).fill(-1);
    this.tail = new Int32Array(nLists).fill(-1);
    this.count = new Int32Array(nLists);
    this.pcpCount = new Int32Array(NR_ZONES * nrCpus);
    this.pcpAllocFactor = new Uint8Array(NR_ZONES * nrCpus);

    const managedRanges = full.zones.map((z) => {
      const present = subtractRanges([{ start: z.start, end: z.end }], full.holes);
      this.zonePresent[z.zone] = sumRanges(present);
      const managed = subtractRanges(present, full.reserved);
      this.zoneManaged[z.zone] = sumRanges(managed);
      this.totalManaged += this.zoneManaged[z.zone]!;
      return managed;
    });
    // build_all_zonelists(): grouping by mobility needs at least one pageblock per migratetype.
    this.mobilityGrouping = opts.mobilityGrouping ?? this.totalManaged >= PB_PAGES * MIGRATE_TYPES;
    const initialFt = this.mobilityGrouping ? MIGRATE_MOVABLE : MIGRATE_UNMOVABLE;
    for (const z of full.zones) {
      this.populated[z.zone] = true;
      this.zoneStart[z.zone] = z.start;
      this.zoneEnd[z.zone] = z.end;
      for (let pb = z.start >>> PB_SHIFT; pb * PB_PAGES < z.end; pb++) {
        this.pbZone[pb] = z.zone;
        if (pb * PB_PAGES >= z.start) this.pbFt[pb] = initialFt;
      }
    }
    for (let h = 0; h < NR_ZONES; h++) {
      const zl: number[] = [];
      for (let z = h; z >= 0; z--) if (this.populated[z]) zl.push(z);
      this.zonelists.push(Int8Array.from(zl));
    }
    for (const r of cma) for (let pb = r.start >>> PB_SHIFT; pb < r.end >>> PB_SHIFT; pb++) this.pbFt[pb] = MIGRATE_CMA;

    // Free every managed range in the largest aligned chunks, to the tail (memblock_free_all()).
    full.zones.forEach((z, i) => {
      for (const r of managedRanges[i]!) {
        this.managedRanges.push(r);
        let start = r.start;
        while (start < r.end) {
          let order = start === 0 ? MAX_PAGE_ORDER : Math.min(MAX_PAGE_ORDER, ctz(start));
          while (start + (1 << order) > r.end) order--;
          this.freeOneBlock(start, order, z.zone, true);
          start += 1 << order;
        }
      }
    });

    // Watermarks (__setup_per_zone_wmarks) and lowmem_reserve.
    const managed = [0, 1, 2, 3].map((z) => this.zoneManaged[z]!);
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
    this.minFreeKbytes = minFree;
    const wm = setupPerZoneWmarks(managed, minFree, wsf);
    wm.forEach((w, z) => {
      this.wmark[z * 4] = w.min;
      this.wmark[z * 4 + 1] = w.low;
      this.wmark[z * 4 + 2] = w.high;
      this.wmark[z * 4 + 3] = w.promo;
    });
    const ratio = opts.lowmemReserveRatio ?? DEFAULT_LOWMEM_RESERVE_RATIO;
    if (ratio.length !== NR_ZONES || ratio.some((r) => !Number.isInteger(r) || r < 0)) {
      fail(BuddyErrorCode.BadLayout, `lowmemReserveRatio ${show(ratio)} must be 4 non-negative integers`, { lowmemReserveRatio: ratio });
    }
    setupPerZoneLowmemReserve(managed, ratio).forEach((row, i) => row.forEach((v, j) => (this.lowmemReserve[i * NR_ZONES + j] = v)));
    for (let z = 0; z < NR_ZONES; z++) {
      const batch = Math.max(1, zoneBatchsize(managed[z]!));
      this.pcpBatch[z] = batch;
      this.pcpHigh[z] = zoneHighsize(this.wmark[z * 4 + 1]!, batch, nrCpus);
    }
  }

  // ---------------------------------------------------------------- PageAllocator

  /**
   * alloc_pages(gfp, order): 2^order contiguous pages, or null when no zone the request may
   * use has them above its watermark. Throws E_BAD_ORDER, E_UNKNOWN_FLAG or E_BAD_GFP.
   */
  allocPages(gfp: number, order: number): Pfn | null {
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    if ((gfp & ~GFP_KNOWN_MASK) !== 0 || (gfp | 0) !== gfp) this.badGfp(gfp);
    if ((gfp & (__GFP_DMA | __GFP_DMA32)) === (__GFP_DMA | __GFP_DMA32) || (gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) === (__GFP_MOVABLE | __GFP_RECLAIMABLE)) this.badGfp(gfp);
    const gfpMt = gfpMigratetype(gfp);
    // gfp_migratetype(): everything is Unmovable when grouping by mobility is disabled.
    const mt = this.mobilityGrouping ? gfpMt : MIGRATE_UNMOVABLE;
    let ft: number = mt;
    if (gfp & __GFP_UNMAPPED) {
      if (gfpMt !== MIGRATE_UNMOVABLE) this.badGfp(gfp);
      ft = FT_UU;
    }
    const highest = gfpZone(gfp);
    const zl = this.zonelists[highest]!;
    if (zl.length === 0) return this.allocFailed();
    const cmaFlag = this.configCma && mt === MIGRATE_MOVABLE ? ALLOC_CMA : 0;
    // Fast path: low watermark; ALLOC_NOFRAGMENT when the preferred zone is Normal (alloc_flags_nofragment).
    let flags = ALLOC_WMARK_LOW | cmaFlag | (zl[0] === ZONE_NORMAL ? ALLOC_NOFRAGMENT : 0);
    if (order === 0 && this.pcpEnabled) {
      const pfn = this.allocPcpHit(zl[0]!, ft, highest, flags);
      if (pfn >= 0) {
        this.accountAlloc(pfn, 0, gfpMt);
        return pfn;
      }
    }
    let pfn = this.getPageFromFreelist(order, ft, highest, flags);
    if (pfn < 0) {
      // Slow path: kswapd would be woken; retry at the min watermark (gfp_to_alloc_flags()).
      if (gfp & __GFP_KSWAPD_RECLAIM) this.nKswapdWakes++;
      flags = ALLOC_WMARK_MIN | cmaFlag;
      if (gfp & __GFP_HIGH) flags |= ALLOC_MIN_RESERVE;
      // gfp_to_alloc_flags(): a request that cannot sleep may use more reserves, unless it is
      // __GFP_NOMEMALLOC (THP: it can fail and fall back to small pages).
      if (!(gfp & __GFP_DIRECT_RECLAIM) && !(gfp & __GFP_NOMEMALLOC)) {
        flags |= ALLOC_NON_BLOCK;
        if (order > 0 && flags & ALLOC_MIN_RESERVE) flags |= ALLOC_HIGHATOMIC;
      }
      if (gfp & __GFP_ATOMIC_RESERVE) flags |= ALLOC_HIGHATOMIC;
      pfn = this.getPageFromFreelist(order, ft, highest, flags);
      if (pfn < 0 && gfp & __GFP_DIRECT_RECLAIM) {
        // What direct reclaim does for pages it cannot see: drain pcp lists, unreserve highatomic.
        this.drainAllPages();
        this.unreserveHighatomicPageblock(highest, mt, false);
        pfn = this.getPageFromFreelist(order, ft, highest, flags);
        // Before OOM, should_reclaim_retry() unreserves even the last highatomic pageblock.
        if (pfn < 0 && this.unreserveHighatomicPageblock(highest, mt, true)) pfn = this.getPageFromFreelist(order, ft, highest, flags);
      }
      if (pfn < 0) return this.allocFailed();
    }
    this.accountAlloc(pfn, order, gfpMt);
    return pfn;
  }

  /**
   * __free_pages(pfn, order). Throws E_BAD_PFN, E_BAD_ORDER, E_NOT_ALLOCATED (not the first page
   * of an allocated block) or E_WRONG_ORDER, leaving the allocator unchanged.
   */
  freePages(pfn: Pfn, order: number): void {
    if (!(pfn >= 0 && pfn < this.endPfn && (pfn | 0) === pfn)) {
      fail(BuddyErrorCode.BadPfn, `pfn ${show(pfn)} is not an integer in [0, ${show(this.endPfn)})`, { pfn });
    }
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    const s = this.state[pfn]!;
    if (!(s & ST_ALLOC)) {
      fail(BuddyErrorCode.NotAllocated, `pfn ${show(pfn)} is not the first page of an allocated block`, { pfn, order });
    }
    if ((s & ST_ORDER) !== order) {
      fail(BuddyErrorCode.WrongOrder, `pfn ${show(pfn)} was allocated with order ${s & ST_ORDER}, freed with order ${order}`, { pfn, order, allocatedOrder: s & ST_ORDER });
    }
    this.unaccountAlloc(pfn, order, (s & ST_MOVABLE) !== 0);
    const zone = this.pbZone[pfn >>> PB_SHIFT]!;
    if (this.pcpEnabled && (order <= PAGE_ALLOC_COSTLY_ORDER || order === PAGEBLOCK_ORDER)) {
      this.freeToPcp(pfn, order, zone);
    } else {
      this.freeOneBlock(pfn, order, zone, false);
    }
  }

  /** Pages the allocator manages (free, on pcp lists, or allocated): totalram_pages. */
  managedPages(): number {
    return this.totalManaged;
  }

  /** NR_FREE_PAGES: pages in the buddy free lists (pcp pages are not counted, as in the kernel). */
  nrFreePages(): number {
    let n = 0;
    for (let z = 0; z < NR_ZONES; z++) n += this.zoneFree[z]!;
    return n;
  }

  /** Pages held on per-CPU lists. */
  pcpPages(): number {
    return this.nPcp;
  }

  /** Pages handed out by allocPages and not yet freed. */
  allocatedPages(): number {
    return this.nAllocated;
  }

  // ---------------------------------------------------------------- queries

  /** Selects the simulated CPU whose pcp lists the next calls use (0..nrCpus-1). */
  setCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) {
      fail(BuddyErrorCode.BadCpu, `cpu ${show(cpu)} must be an integer in 0..${this.nrCpus - 1}`, { cpu });
    }
    this.cpu = cpu;
  }

  /** The zone a PFN belongs to, or -1 outside every zone. */
  zoneOf(pfn: Pfn): ZoneType | -1 {
    this.checkPfn(pfn);
    const z = this.pbZone[pfn >>> PB_SHIFT]!;
    if (z === 255 || pfn < this.zoneStart[z]! || pfn >= this.zoneEnd[z]!) return -1;
    return z as ZoneType;
  }

  /** The migratetype of the pageblock holding `pfn` (get_pageblock_migratetype). */
  pageblockMigratetype(pfn: Pfn): Migratetype {
    this.checkPfn(pfn);
    const ft = this.pbFt[pfn >>> PB_SHIFT]!;
    return (ft === FT_UU ? MIGRATE_UNMOVABLE : ft) as Migratetype;
  }

  /** Whether the pageblock holding `pfn` is unmapped from the direct map (its FREETYPE_UNMAPPED bit). */
  isPageblockUnmapped(pfn: Pfn): boolean {
    this.checkPfn(pfn);
    const pb = pfn >>> PB_SHIFT;
    const ft = this.pbFt[pb]!;
    // An isolated pageblock keeps its direct-map state (the FREETYPE_UNMAPPED bit it returns to).
    return ft === FT_UU || (ft === MIGRATE_ISOLATE && this.pbSavedFt[pb] === FT_UU);
  }

  /** The free-list index (freetype_idx) of the pageblock holding `pfn`. */
  pageblockFreetype(pfn: Pfn): number {
    this.checkPfn(pfn);
    return this.pbFt[pfn >>> PB_SHIFT]!;
  }

  /** The order a block starting at `pfn` was allocated with, or -1 if `pfn` does not start an allocated block. */
  allocatedOrder(pfn: Pfn): number {
    this.checkPfn(pfn);
    const s = this.state[pfn]!;
    return s & ST_ALLOC ? s & ST_ORDER : -1;
  }

  /**
   * Allocated pages in the pageblock holding `pfn`, split as `prep_move_freepages_block()` sees
   * them: movable (LRU) pages and the rest (unmovable and reclaimable allocations).
   */
  pageblockContents(pfn: Pfn): { movable: number; unmovable: number } {
    this.checkPfn(pfn);
    const pb = pfn >>> PB_SHIFT;
    return { movable: this.pbMovable[pb]!, unmovable: this.pbUnmovable[pb]! };
  }

  /**
   * Whether [startPfn, endPfn) holds an allocation that is not movable, so that memory offlining
   * or alloc_contig_range() over it would fail (has_unmovable_pages(), at pageblock granularity).
   */
  hasUnmovablePages(startPfn: Pfn, endPfn: Pfn): boolean {
    this.checkPfn(startPfn);
    if (!(endPfn > startPfn && endPfn <= this.endPfn && (endPfn | 0) === endPfn)) {
      fail(BuddyErrorCode.BadPfn, `endPfn ${show(endPfn)} must be an integer in (${show(startPfn)}, ${show(this.endPfn)}]`, { endPfn });
    }
    for (let pb = startPfn >>> PB_SHIFT; pb * PB_PAGES < endPfn; pb++) if (this.pbUnmovable[pb]! > 0) return true;
    return false;
  }

  /** Pageblocks of a zone that hold at least one unmovable or reclaimable allocation, whatever their type: blocks compaction can never empty. */
  pageblocksWithUnmovable(zone: ZoneType): number {
    const span = this.span(zone);
    let n = 0;
    for (let pb = span.start >>> PB_SHIFT; pb * PB_PAGES < span.end; pb++) if (this.pbUnmovable[pb]! > 0) n++;
    return n;
  }

  /** Number of free blocks on one free list (zone, freetype index, order). */
  nrFreeBlocks(zone: ZoneType, ft: number, order: number): number {
    this.checkZone(zone);
    if (!Number.isInteger(ft) || ft < 0 || ft >= NR_FT) fail(BuddyErrorCode.BadGfp, `freetype index ${show(ft)} must be in 0..${NR_FT - 1}`, { ft });
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    return this.count[(zone * NR_FT + ft) * NR_ORD + order]!;
  }

  /** Number of free blocks of an order in a zone, all freetypes (free_area[order].nr_free). */
  nrFreeArea(zone: ZoneType, order: number): number {
    this.checkZone(zone);
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    return this.areaFree[zone * NR_ORD + order]!;
  }

  /** Populated zones, lowest first. */
  populatedZones(): ZoneType[] {
    return this.layout.zones.map((z) => z.zone);
  }

  /** Pageblocks in a zone by freetype index, counted as /proc/pagetypeinfo does (pageblocks whose stepping PFN is present). */
  pageblockCounts(zone: ZoneType): number[] {
    const span = this.span(zone);
    const out = new Array<number>(NR_FT).fill(0);
    for (let pfn = span.start; pfn < span.end; pfn += PB_PAGES) {
      if (inRanges(pfn, this.layout.holes)) continue;
      out[this.pbFt[pfn >>> PB_SHIFT]!]!++;
    }
    return out;
  }

  /** A /proc/zoneinfo-like summary of one populated zone. */
  zoneInfo(zone: ZoneType): ZoneInfo {
    const span = this.span(zone);
    const w = zone * 4;
    return {
      zone,
      name: ZONE_NAMES[zone],
      startPfn: span.start,
      endPfn: span.end,
      spanned: span.end - span.start,
      present: this.zonePresent[zone]!,
      managed: this.zoneManaged[zone]!,
      free: this.zoneFree[zone]!,
      watermarks: { min: this.wmark[w]!, low: this.wmark[w + 1]!, high: this.wmark[w + 2]!, promo: this.wmark[w + 3]! },
      boost: this.boost[zone]!,
      protection: Array.from(this.lowmemReserve.subarray(zone * NR_ZONES, zone * NR_ZONES + NR_ZONES)),
      nrReservedHighatomic: this.reservedHighatomic[zone]!,
      pcpHigh: this.pcpHigh[zone]!,
      pcpBatch: this.pcpBatch[zone]!,
    };
  }

  /**
   * Counters by metric name: `buddy.fallbacks` (allocations served from another type's list,
   * the mm_page_alloc_extfrag events), `buddy.claims` (pageblocks claimed), `buddy.steals`,
   * `buddy.unmapped_conversions` (pageblocks removed from the direct map),
   * `buddy.remapped_conversions` (given back), `buddy.unmap_failures`,
   * `buddy.movable_blocks_polluted` (Movable pageblocks holding unmovable or reclaimable
   * allocations, a gauge), `buddy.alloc_failures`, `buddy.kswapd_wakeups`,
   * `buddy.highatomic_reserved` (pages), `buddy.pcp_pages`, `nr_free_pages`, and
   * `MemTotal` / `MemFree` in kB.
   */
  counters(): MetricSnapshot {
    let reserved = 0;
    for (let z = 0; z < NR_ZONES; z++) reserved += this.reservedHighatomic[z]!;
    const free = this.nrFreePages();
    return {
      'buddy.fallbacks': this.nFallbacks,
      'buddy.claims': this.nClaims,
      'buddy.steals': this.nSteals,
      'buddy.unmapped_conversions': this.nUnmapped,
      'buddy.remapped_conversions': this.nRemapped,
      'buddy.unmap_failures': this.nUnmapFailures,
      'buddy.movable_blocks_polluted': this.nPolluted,
      'buddy.alloc_failures': this.nAllocFail,
      'buddy.kswapd_wakeups': this.nKswapdWakes,
      'buddy.highatomic_reserved': reserved,
      'buddy.pcp_pages': this.nPcp,
      nr_free_pages: free,
      MemTotal: this.totalManaged * 4,
      MemFree: free * 4,
    };
  }

  /** The text of /proc/buddyinfo for this allocator (see {@link buddyinfo}). */
  buddyinfo(): string {
    return buddyinfo(this);
  }

  /** The text of /proc/pagetypeinfo for this allocator (see {@link pagetypeinfo}). */
  pagetypeinfo(): string {
    return pagetypeinfo(this);
  }

  /** The zone's fragmentation index for `order`, in thousandths (mm/vmstat.c __fragmentation_index; -1000 = would succeed). */
  fragmentationIndex(zone: ZoneType, order: number): number {
    return fragmentationIndexOf(contigPageInfo(this, zone, order), order);
  }

  /** The zone's unusable free index for `order`, in thousandths (mm/vmstat.c unusable_free_index). */
  unusableIndex(zone: ZoneType, order: number): number {
    return unusableIndexOf(contigPageInfo(this, zone, order), order);
  }

  /** extfrag_index for every order of a zone (the `extfrag_index` metric), in thousandths. */
  extfragIndex(zone: ZoneType): number[] {
    return Array.from({ length: NR_ORD }, (_, o) => this.fragmentationIndex(zone, o));
  }

  /**
   * set_migratetype_isolate() for the pageblock holding `pfn` (the first step of memory
   * offlining and alloc_contig_range()): drains the pcp lists, refuses (returns false) a
   * pageblock that holds unmovable allocations, is HighAtomic, is already isolated or is not
   * wholly inside its zone; otherwise splits a free 4 MiB block straddling it, moves its free
   * pages to the Isolate lists and marks it MIGRATE_ISOLATE, so nothing is allocated from it and
   * pages freed into it stay there.
   */
  isolatePageblock(pfn: Pfn): boolean {
    this.checkPfn(pfn);
    const pb = pfn >>> PB_SHIFT;
    const start = pb * PB_PAGES;
    const z = this.pbZone[pb]!;
    const ft = this.pbFt[pb]!;
    if (z === 255 || start < this.zoneStart[z]! || start + PB_PAGES > this.zoneEnd[z]!) return false;
    if (ft === MIGRATE_ISOLATE || ft === MIGRATE_HIGHATOMIC || this.pbUnmovable[pb]! > 0) return false;
    this.drainAllPages();
    // split_large_buddy(): a free order-10 block covering this pageblock becomes two order-9 blocks.
    const head10 = start & ~((1 << MAX_PAGE_ORDER) - 1);
    if (this.state[head10] === (ST_FREE | MAX_PAGE_ORDER)) {
      this.delFree(head10, z, ft, MAX_PAGE_ORDER);
      this.addFree(head10, z, ft, PAGEBLOCK_ORDER, false);
      this.addFree(head10 + PB_PAGES, z, ft, PAGEBLOCK_ORDER, false);
    }
    this.moveFreepagesBlock(start, z, ft, MIGRATE_ISOLATE);
    this.pbSavedFt[pb] = ft;
    this.setPageblockFt(pb, MIGRATE_ISOLATE);
    return true;
  }

  /**
   * unset_migratetype_isolate(): gives an isolated pageblock its freetype back and returns its
   * free pages to the buddy lists, merging them with free buddies. E_NOT_ISOLATED if it was not
   * isolated.
   */
  undoIsolatePageblock(pfn: Pfn): void {
    this.checkPfn(pfn);
    const pb = pfn >>> PB_SHIFT;
    if (this.pbFt[pb] !== MIGRATE_ISOLATE) {
      fail(BuddyErrorCode.NotIsolated, `the pageblock of pfn ${show(pfn)} is not isolated`, { pfn });
    }
    const start = pb * PB_PAGES;
    const z = this.pbZone[pb]!;
    // Two isolated neighbours may have merged into a free 4 MiB block: split it again.
    const head10 = start & ~((1 << MAX_PAGE_ORDER) - 1);
    if (this.state[head10] === (ST_FREE | MAX_PAGE_ORDER)) {
      this.delFree(head10, z, MIGRATE_ISOLATE, MAX_PAGE_ORDER);
      this.setPageblockFt(pb, this.pbSavedFt[pb]!);
      this.addFree(head10, z, this.pbFt[head10 >>> PB_SHIFT]!, PAGEBLOCK_ORDER, false);
      this.addFree(head10 + PB_PAGES, z, this.pbFt[(head10 >>> PB_SHIFT) + 1]!, PAGEBLOCK_ORDER, false);
      return;
    }
    const free: number[] = [];
    for (let p = start; p < start + PB_PAGES; ) {
      const s = this.state[p]!;
      const o = s & ST_ORDER;
      if (s & ST_FREE) {
        this.delFree(p, z, MIGRATE_ISOLATE, o);
        free.push(p, o);
      }
      p += s & (ST_FREE | ST_ALLOC | ST_PCP) ? 1 << o : 1;
    }
    this.setPageblockFt(pb, this.pbSavedFt[pb]!);
    for (let i = 0; i < free.length; i += 2) this.freeOneBlock(free[i]!, free[i + 1]!, z, false);
  }

  /** drain_all_pages(): returns every pcp page of every CPU to the buddy lists. */
  drainAllPages(): void {
    for (let z = 0; z < NR_ZONES; z++) {
      for (let c = 0; c < this.nrCpus; c++) {
        const n = this.pcpCount[z * this.nrCpus + c]!;
        if (n > 0) this.freePcppagesBulk(z, c, n, 0);
      }
    }
  }

  /** Drops every zone's watermark boost (what kswapd does once it has balanced the node). */
  resetWatermarkBoost(): void {
    this.boost.fill(0);
  }

  /** Calls `fn` for every free buddy block (pcp pages excluded). Not for hot paths. */
  forEachFreeBlock(fn: (pfn: Pfn, order: number, zone: ZoneType, ft: number) => void): void {
    for (let z = 0; z < NR_ZONES; z++) {
      for (let ft = 0; ft < NR_FT; ft++) {
        for (let o = 0; o < NR_ORD; o++) {
          for (let p = this.head[(z * NR_FT + ft) * NR_ORD + o]!; p >= 0; p = this.next[p]!) fn(p, o, z as ZoneType, ft);
        }
      }
    }
  }

  /** Calls `fn` for every block handed out by allocPages and not yet freed, in PFN order. Not for hot paths. */
  forEachAllocatedBlock(fn: (pfn: Pfn, order: number) => void): void {
    const st = this.state;
    for (let p = 0; p < this.endPfn; p++) if (st[p]! & ST_ALLOC) fn(p, st[p]! & ST_ORDER);
  }

  /**
   * Rebuilds every derived quantity from the per-PFN state and compares: each managed page is
   * covered by exactly one free, pcp or allocated block; free blocks are aligned, within their
   * zone, on the list of their pageblock's freetype with the right order; list counts, zone
   * free counts, pageblock content counters and the pollution gauge all agree. Throws
   * E_BUDDY_INVARIANT on the first mismatch. O(managed pages).
   */
  checkInvariants(): void {
    const bad = (msg: string): never => fail(BuddyErrorCode.Invariant, msg, {});
    const covered = new Uint8Array(this.endPfn);
    const mark = (pfn: number, order: number, what: string) => {
      for (let i = pfn; i < pfn + (1 << order); i++) {
        if (i >= this.endPfn) bad(`${what} block ${pfn}/${order} runs past the end`);
        if (covered[i]) bad(`page ${i} covered twice (${what} block ${pfn}/${order})`);
        covered[i] = 1;
      }
    };
    const zoneFree = new Float64Array(NR_ZONES);
    const area = new Int32Array(NR_ZONES * NR_ORD);
    for (let z = 0; z < NR_ZONES; z++) {
      for (let ft = 0; ft < NR_FT; ft++) {
        for (let o = 0; o < NR_ORD; o++) {
          const id = (z * NR_FT + ft) * NR_ORD + o;
          let n = 0;
          let last = -1;
          for (let p = this.head[id]!; p >= 0; p = this.next[p]!) {
            if (this.prev[p] !== last) bad(`broken prev link at ${p}`);
            if (this.state[p] !== (ST_FREE | o)) bad(`pfn ${p} on free list ${z}/${ft}/${o} has state ${this.state[p]}`);
            if (p % (1 << o) !== 0) bad(`free block ${p} misaligned for order ${o}`);
            if (p < this.zoneStart[z]! || p + (1 << o) > this.zoneEnd[z]!) bad(`free block ${p}/${o} outside zone ${z}`);
            for (let pb = p >>> PB_SHIFT; pb < (p + (1 << o)) >>> PB_SHIFT || pb === p >>> PB_SHIFT; pb++) {
              if (this.pbFt[pb] !== ft) bad(`free block ${p}/${o} on list ${ft} but pageblock ${pb} is ${this.pbFt[pb]}`);
            }
            mark(p, o, 'free');
            zoneFree[z] += 1 << o;
            area[z * NR_ORD + o]++;
            n++;
            last = p;
          }
          if (this.tail[id] !== last) bad(`tail of list ${z}/${ft}/${o} is ${this.tail[id]}, expected ${last}`);
          if (this.count[id] !== n) bad(`count of list ${z}/${ft}/${o} is ${this.count[id]}, walked ${n}`);
        }
      }
      if (zoneFree[z] !== this.zoneFree[z]) bad(`zone ${z} free ${this.zoneFree[z]} != ${zoneFree[z]}`);
    }
    for (let i = 0; i < area.length; i++) if (area[i] !== this.areaFree[i]) bad(`free_area count ${i} is ${this.areaFree[i]}, walked ${area[i]}`);
    let pcp = 0;
    const base = NR_ZONES * NR_FT * NR_ORD;
    for (let id = base; id < this.head.length; id++) {
      for (let p = this.head[id]!; p >= 0; p = this.next[p]!) {
        const s = this.state[p]!;
        if (!(s & ST_PCP)) bad(`pfn ${p} on a pcp list without the pcp state`);
        mark(p, s & ST_ORDER, 'pcp');
        pcp += 1 << (s & ST_ORDER);
      }
    }
    if (pcp !== this.nPcp) bad(`pcp pages ${this.nPcp} != walked ${pcp}`);
    const mov = new Uint16Array(this.pbMovable.length);
    const unmov = new Uint16Array(this.pbMovable.length);
    let allocated = 0;
    for (let p = 0; p < this.endPfn; p++) {
      const s = this.state[p]!;
      if (s & ST_ALLOC) {
        const o = s & ST_ORDER;
        mark(p, o, 'allocated');
        allocated += 1 << o;
        const arr = s & ST_MOVABLE ? mov : unmov;
        for (let i = p; i < p + (1 << o); i += Math.min(1 << o, PB_PAGES)) arr[i >>> PB_SHIFT] += Math.min(1 << o, PB_PAGES);
      }
    }
    if (allocated !== this.nAllocated) bad(`allocated pages ${this.nAllocated} != walked ${allocated}`);
    let polluted = 0;
    for (let pb = 0; pb < mov.length; pb++) {
      if (mov[pb] !== this.pbMovable[pb] || unmov[pb] !== this.pbUnmovable[pb]) bad(`pageblock ${pb} content counters wrong`);
      if (this.pbFt[pb] === MIGRATE_MOVABLE && unmov[pb]! > 0) polluted++;
    }
    if (polluted !== this.nPolluted) bad(`polluted gauge ${this.nPolluted} != ${polluted}`);
    let managedCovered = 0;
    for (const r of this.managedRanges) for (let p = r.start; p < r.end; p++) managedCovered += covered[p]!;
    let total = 0;
    for (let p = 0; p < this.endPfn; p++) total += covered[p]!;
    if (total !== managedCovered) bad('a page outside the managed ranges is free or allocated');
    if (managedCovered !== this.totalManaged) bad(`${this.totalManaged - managedCovered} managed pages are neither free, pcp nor allocated`);
  }

  // ---------------------------------------------------------------- allocation internals

  /**
   * get_page_from_freelist()'s usual order-0 outcome, taken directly: the preferred zone `z`
   * passes the low watermark and its pcp list for `ft` has a page, which is unlinked and
   * returned. -1 (nothing changed) otherwise, and the caller goes the whole way.
   */
  private allocPcpHit(z: number, ft: number, highest: number, flags: number): number {
    const id = this.pcpListId(z, this.cpu, 0, ft);
    const pfn = this.head[id]!;
    if (pfn < 0 || !this.zoneWatermarkOk(z, 0, this.wmark[z * 4 + ALLOC_WMARK_LOW]! + this.boost[z]!, highest, flags)) return -1;
    const nx = this.next[pfn]!;
    this.head[id] = nx;
    if (nx >= 0) this.prev[nx] = -1;
    else this.tail[id] = -1;
    this.count[id]--;
    this.pcpCount[z * this.nrCpus + this.cpu]--;
    this.nPcp--;
    return pfn;
  }

  /** get_page_from_freelist(): walks the zonelist; -1 when no zone qualifies. */
  private getPageFromFreelist(order: number, ft: number, highest: number, flags: number): number {
    const zl = this.zonelists[highest]!;
    for (;;) {
      for (let i = 0; i < zl.length; i++) {
        const z = zl[i]!;
        const mark = this.wmark[z * 4 + (flags & ALLOC_WMARK_MASK)]! + this.boost[z]!;
        if (!this.zoneWatermarkOk(z, order, mark, highest, flags)) continue;
        const pfn = this.rmqueue(z, order, ft, flags);
        if (pfn >= 0) {
          if (flags & ALLOC_HIGHATOMIC) this.reserveHighatomicPageblock(pfn, order, z);
          return pfn;
        }
      }
      // A UMA machine can get through every zone fragmented: retry allowing fragmentation.
      if (!(flags & ALLOC_NOFRAGMENT)) return -1;
      flags &= ~ALLOC_NOFRAGMENT;
    }
  }

  /** __zone_watermark_ok() (mm/page_alloc.c). */
  private zoneWatermarkOk(z: number, order: number, mark: number, highest: number, flags: number): boolean {
    let free = this.zoneFree[z]! - ((1 << order) - 1);
    if (!(flags & ALLOC_RESERVES)) free -= this.ftFree[z * NR_FT + MIGRATE_HIGHATOMIC]!;
    if (!(flags & ALLOC_CMA)) free -= this.ftFree[z * NR_FT + MIGRATE_CMA]!;
    let min = mark;
    if (flags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (flags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (free <= min + this.lowmemReserve[z * NR_ZONES + highest]!) return false;
    if (order === 0) return true;
    for (let o = order; o < NR_ORD; o++) {
      if (this.areaFree[z * NR_ORD + o] === 0) continue;
      const base = z * NR_FT * NR_ORD + o;
      if (this.count[base + MIGRATE_UNMOVABLE * NR_ORD]! > 0) return true;
      if (this.count[base + MIGRATE_MOVABLE * NR_ORD]! > 0) return true;
      if (this.count[base + MIGRATE_RECLAIMABLE * NR_ORD]! > 0) return true;
      if (this.count[base + FT_UU * NR_ORD]! > 0) return true;
      if (flags & ALLOC_CMA && this.count[base + MIGRATE_CMA * NR_ORD]! > 0) return true;
      if (flags & ALLOC_HIGHATOMIC && this.count[base + MIGRATE_HIGHATOMIC * NR_ORD]! > 0) return true;
    }
    return false;
  }

  /** rmqueue(): the pcp list for small orders, else the buddy lists. */
  private rmqueue(z: number, order: number, ft: number, flags: number): number {
    if (this.pcpEnabled && (order <= PAGE_ALLOC_COSTLY_ORDER || order === PAGEBLOCK_ORDER)) {
      const pfn = this.rmqueuePcplist(z, order, ft, flags);
      if (pfn >= 0) return pfn;
    }
    return this.rmqueueBuddy(z, order, ft, flags);
  }

  private pcpListId(z: number, cpu: number, order: number, ft: number): number {
    const pft = ft === FT_UU ? 3 : ft;
    const pindex = order <= PAGE_ALLOC_COSTLY_ORDER ? order * 4 + pft : 16 + (pft === 3 ? 1 : 0);
    return NR_ZONES * NR_FT * NR_ORD + (z * this.nrCpus + cpu) * NR_PCP_LISTS + pindex;
  }

  /** rmqueue_pcplist(): take the first page of the pcp list, refilling it with rmqueue_bulk() when empty. */
  private rmqueuePcplist(z: number, order: number, ft: number, flags: number): number {
    const cpu = this.cpu;
    const id = this.pcpListId(z, cpu, order, ft);
    if (this.head[id]! < 0) {
      const batch = this.nrPcpAlloc(z, z * this.nrCpus + cpu, order);
      this.rmqm = RMQUEUE_NORMAL;
      if (order === 0) this.rmqueueBulk0(z, ft, flags, batch, id, z * this.nrCpus + cpu);
      else {
        for (let i = 0; i < batch; i++) {
          const p = this.rmqueueOne(z, order, ft, flags);
          if (p < 0) break;
          this.listAddTail(p, id);
          this.state[p] = ST_PCP | order;
          this.pcpCount[z * this.nrCpus + cpu] += 1 << order;
          this.nPcp += 1 << order;
        }
      }
      if (this.head[id]! < 0) return -1;
    }
    const pfn = this.head[id]!;
    this.listDel(pfn, id);
    this.state[pfn] = 0;
    this.pcpCount[z * this.nrCpus + cpu] -= 1 << order;
    this.nPcp -= 1 << order;
    return pfn;
  }

  /**
   * rmqueue_bulk() for order 0: `batch` calls of __rmqueue(), each page added to the tail of pcp
   * list `id`. When __rmqueue() would take from __rmqueue_smallest() and the smallest free block
   * of `ft` (order o, every lower list of `ft` empty) fits in what is left of the batch, the next
   * 2^o calls hand out exactly that block's pages in PFN order and leave the lower lists empty
   * again, so the whole block moves to the pcp list at once; the result (lists, their order,
   * counters, page states) is the same as page by page. Anything else (a block larger than the
   * rest of the batch, CMA, a fallback) goes through {@link rmqueueOne} one page at a time.
   */
  private rmqueueBulk0(z: number, ft: number, flags: number, batch: number, id: number, ci: number): void {
    const head = this.head;
    const next = this.next;
    const prev = this.prev;
    const st = this.state;
    const base = (z * NR_FT + ft) * NR_ORD;
    // __rmqueue() goes straight to __rmqueue_smallest() for unmapped requests, and for mapped ones
    // in RMQUEUE_NORMAL mode unless the CMA balancing check may apply.
    const smallestFirst = ft === FT_UU || !(flags & ALLOC_CMA);
    let left = batch;
    while (left > 0) {
      let o = 0;
      if (smallestFirst && this.rmqm === RMQUEUE_NORMAL) {
        while (o < NR_ORD && head[base + o]! < 0) o++;
      } else o = NR_ORD;
      let n: number;
      let pfn: number;
      if (o < NR_ORD && 1 << o <= left) {
        // Take the whole block (inlined delFree).
        const fid = base + o;
        pfn = head[fid]!;
        const nx = next[pfn]!;
        head[fid] = nx;
        if (nx >= 0) prev[nx] = -1;
        else this.tail[fid] = -1;
        this.count[fid]--;
        this.areaFree[z * NR_ORD + o]--;
        n = 1 << o;
        this.zoneFree[z] -= n;
        this.ftFree[z * NR_FT + ft] -= n;
      } else {
        pfn = o < NR_ORD ? this.rmqueueSmallest(z, 0, ft) : this.rmqueueOne(z, 0, ft, flags);
        if (pfn < 0) break;
        n = 1;
      }
      // Append pfn .. pfn+n-1 to the tail of the pcp list.
      const t = this.tail[id]!;
      prev[pfn] = t;
      if (t >= 0) next[t] = pfn;
      else head[id] = pfn;
      const last = pfn + n - 1;
      for (let p = pfn; p < last; p++) {
        next[p] = p + 1;
        prev[p + 1] = p;
        st[p] = ST_PCP;
      }
      next[last] = -1;
      st[last] = ST_PCP;
      this.tail[id] = last;
      this.count[id] += n;
      this.pcpCount[ci] += n;
      this.nPcp += n;
      left -= n;
    }
  }

  /**
   * nr_pcp_alloc(): how many blocks a refill takes. Consecutive order-0 refills without a free
   * double the batch (alloc_factor, up to CONFIG_PCP_BATCH_SCALE_MAX = 5), bounded by the room
   * left below pcp->high; higher orders take batch >> order blocks, at least 2.
   */
  private nrPcpAlloc(z: number, ci: number, order: number): number {
    const high = this.pcpHigh[z]!;
    let batch = this.pcpBatch[z]!;
    if (high < batch) return 1;
    if (order === 0) {
      const maxNrAlloc = Math.max(high - this.pcpCount[ci]! - batch, batch);
      batch <<= this.pcpAllocFactor[ci]!;
      if (batch <= maxNrAlloc && this.pcpAllocFactor[ci]! < PCP_BATCH_SCALE_MAX) this.pcpAllocFactor[ci]++;
      batch = Math.min(batch, maxNrAlloc);
    }
    if (batch > 1) batch = Math.max(batch >> order, 2);
    return batch;
  }

  /** rmqueue_buddy(): the highatomic reserve first for ALLOC_HIGHATOMIC, then __rmqueue(). */
  private rmqueueBuddy(z: number, order: number, ft: number, flags: number): number {
    let pfn = -1;
    const mapped = ft !== FT_UU;
    if (mapped && flags & ALLOC_HIGHATOMIC) pfn = this.rmqueueSmallest(z, order, MIGRATE_HIGHATOMIC);
    if (pfn < 0) {
      this.rmqm = RMQUEUE_NORMAL;
      pfn = this.rmqueueOne(z, order, ft, flags);
      // Failing now is worse than failing a high-order atomic allocation later.
      if (pfn < 0 && mapped && flags & ALLOC_NON_BLOCK) pfn = this.rmqueueSmallest(z, order, MIGRATE_HIGHATOMIC);
    }
    return pfn;
  }

  /** __rmqueue(): own lists, CMA, claim, unmapped-to-mapped conversion, steal; `rmqm` remembers the mode across a bulk refill. */
  private rmqueueOne(z: number, order: number, ft: number, flags: number): number {
    let pfn: number;
    if (ft === FT_UU) {
      pfn = this.rmqueueSmallest(z, order, FT_UU);
      if (pfn < 0) pfn = this.convertToUnmapped(z, order);
      return pfn;
    }
    if (flags & ALLOC_CMA && this.ftFree[z * NR_FT + MIGRATE_CMA]! > this.zoneFree[z]! / 2) {
      pfn = this.rmqueueSmallest(z, order, MIGRATE_CMA);
      if (pfn >= 0) return pfn;
    }
    // The kernel's switch with fallthrough: each mode also tries the later ones.
    const mode = this.rmqm;
    if (mode <= RMQUEUE_NORMAL) {
      pfn = this.rmqueueSmallest(z, order, ft);
      if (pfn >= 0) return pfn;
    }
    if (mode <= RMQUEUE_CMA && flags & ALLOC_CMA) {
      pfn = this.rmqueueSmallest(z, order, MIGRATE_CMA);
      if (pfn >= 0) {
        this.rmqm = RMQUEUE_CMA;
        return pfn;
      }
    }
    if (mode <= RMQUEUE_CLAIM) {
      pfn = this.rmqueueClaim(z, order, ft, flags);
      if (pfn < 0) pfn = this.convertToMapped(z, order, ft);
      if (pfn >= 0) {
        // Replenished the preferred lists: back to normal mode.
        this.rmqm = RMQUEUE_NORMAL;
        return pfn;
      }
    }
    if (!(flags & ALLOC_NOFRAGMENT)) {
      pfn = this.rmqueueSteal(z, order, ft);
      if (pfn >= 0) {
        this.rmqm = RMQUEUE_STEAL;
        return pfn;
      }
    }
    return -1;
  }

  /** __rmqueue_smallest(): the smallest block of freetype `ft` at or above `order`, split down. */
  private rmqueueSmallest(z: number, order: number, ft: number): number {
    const base = (z * NR_FT + ft) * NR_ORD;
    const head = this.head;
    for (let o = order; o < NR_ORD; o++) {
      const pfn = head[base + o]!;
      if (pfn < 0) continue;
      // Inlined delFree + expand: the hot path of every buddy allocation.
      const id = base + o;
      const n = this.next[pfn]!;
      head[id] = n;
      if (n >= 0) this.prev[n] = -1;
      else this.tail[id] = -1;
      this.count[id]--;
      this.areaFree[z * NR_ORD + o]--;
      this.state[pfn] = 0;
      const taken = 1 << order;
      this.zoneFree[z] -= taken;
      this.ftFree[z * NR_FT + ft] -= taken;
      let high = o;
      while (high > order) {
        high--;
        const half = pfn + (1 << high);
        const hid = base + high;
        const h = head[hid]!;
        this.next[half] = h;
        this.prev[half] = -1;
        if (h >= 0) this.prev[h] = half;
        else this.tail[hid] = half;
        head[hid] = half;
        this.count[hid]++;
        this.state[half] = ST_FREE | high;
        this.areaFree[z * NR_ORD + high]++;
      }
      return pfn;
    }
    return -1;
  }

  /** expand(): give back the upper halves of a block split from order `high` down to `low`. */
  private expand(pfn: number, z: number, low: number, high: number, ft: number): void {
    while (high > low) {
      high--;
      this.addFree(pfn + (1 << high), z, ft, high, false);
    }
  }

  /**
   * find_suitable_fallback(): the first fallback type with a free block of `order`; -1 if none,
   * -2 if claiming is not worth trying at this order (should_try_claim_block()).
   */
  private findSuitableFallback(z: number, order: number, mt: number, claimable: boolean): number {
    if (claimable && this.mobilityGrouping && !shouldTryClaimBlock(order, mt)) return -2;
    if (this.areaFree[z * NR_ORD + order] === 0) return -1;
    const fb = FALLBACKS[mt]!;
    for (let i = 0; i < fb.length; i++) {
      if (this.count[(z * NR_FT + fb[i]!) * NR_ORD + order]! > 0) return fb[i]!;
    }
    return -1;
  }

  /** __rmqueue_claim(): the largest fallback block, claiming its pageblock if try_to_claim_block() agrees. */
  private rmqueueClaim(z: number, order: number, mt: number, flags: number): number {
    const minOrder = order < PAGEBLOCK_ORDER && flags & ALLOC_NOFRAGMENT ? PAGEBLOCK_ORDER : order;
    for (let co = MAX_PAGE_ORDER; co >= minOrder; co--) {
      const fmt = this.findSuitableFallback(z, co, mt, true);
      if (fmt === -1) continue;
      if (fmt === -2) break;
      const pfn = this.tryToClaimBlock(z, this.head[(z * NR_FT + fmt) * NR_ORD + co]!, co, order, mt, fmt, flags);
      if (pfn >= 0) {
        this.nFallbacks++;
        return pfn;
      }
    }
    return -1;
  }

  /** __rmqueue_steal(): take one block of a fallback type without changing pageblock ownership. */
  private rmqueueSteal(z: number, order: number, mt: number): number {
    for (let co = order; co < NR_ORD; co++) {
      const fmt = this.findSuitableFallback(z, co, mt, false);
      if (fmt < 0) continue;
      const pfn = this.head[(z * NR_FT + fmt) * NR_ORD + co]!;
      this.delFree(pfn, z, fmt, co);
      this.expand(pfn, z, order, co, fmt);
      this.nSteals++;
      this.nFallbacks++;
      return pfn;
    }
    return -1;
  }

  /**
   * try_to_claim_block(): whole blocks of pageblock order or more change type outright;
   * smaller ones claim their pageblock when free + compatible pages reach half of it.
   */
  private tryToClaimBlock(z: number, pfn: number, co: number, order: number, startMt: number, blockMt: number, _flags: number): number {
    if (co >= PAGEBLOCK_ORDER) {
      this.delFree(pfn, z, blockMt, co);
      this.changePageblockRange(pfn, co, startMt);
      this.expand(pfn, z, order, co, startMt);
      this.nClaims++;
      return pfn;
    }
    this.boostWatermark(z);
    const start = pfn & ~(PB_PAGES - 1);
    // prep_move_freepages_block(): the whole pageblock must lie in the zone.
    if (start < this.zoneStart[z]! || start + PB_PAGES > this.zoneEnd[z]!) return -1;
    const free = this.pageblockFreePages(start);
    const movable = this.pbMovable[start >>> PB_SHIFT]!;
    let alike: number;
    if (startMt === MIGRATE_MOVABLE) alike = movable;
    else alike = blockMt === MIGRATE_MOVABLE ? PB_PAGES - (free + movable) : 0;
    if (free + alike >= PB_PAGES >>> 1 || !this.mobilityGrouping) {
      this.moveFreepagesBlock(start, z, blockMt, startMt);
      this.setPageblockFt(start >>> PB_SHIFT, startMt);
      this.nClaims++;
      return this.rmqueueSmallest(z, order, startMt);
    }
    return -1;
  }

  /** Free pages in a pageblock, scanning it as prep_move_freepages_block() does. */
  private pageblockFreePages(start: number): number {
    let free = 0;
    const st = this.state;
    for (let p = start; p < start + PB_PAGES; ) {
      const s = st[p]!;
      if (s & ST_FREE) {
        free += 1 << (s & ST_ORDER);
        p += 1 << (s & ST_ORDER);
      } else if (s & (ST_ALLOC | ST_PCP)) p += 1 << (s & ST_ORDER);
      else p++;
    }
    return free;
  }

  /** __move_freepages_block(): move every free block of the pageblock to the tail of `newFt`'s lists. Returns pages moved. */
  private moveFreepagesBlock(start: number, z: number, oldFt: number, newFt: number): number {
    let moved = 0;
    const st = this.state;
    for (let p = start; p < start + PB_PAGES; ) {
      const s = st[p]!;
      if (s & ST_FREE) {
        const o = s & ST_ORDER;
        this.delFree(p, z, oldFt, o);
        this.addFree(p, z, newFt, o, true);
        moved += 1 << o;
        p += 1 << o;
      } else if (s & (ST_ALLOC | ST_PCP)) p += 1 << (s & ST_ORDER);
      else p++;
    }
    return moved;
  }

  /** boost_watermark(): raise the zone's watermarks by a pageblock after a fragmenting fallback. */
  private boostWatermark(z: number): void {
    if (this.boostFactor === 0 || PB_PAGES * 4 > this.zoneManaged[z]!) return;
    let maxBoost = Math.floor((this.wmark[z * 4 + 2]! * this.boostFactor) / 10000);
    if (maxBoost === 0) return;
    maxBoost = Math.max(PB_PAGES, maxBoost);
    this.boost[z] = Math.min(this.boost[z]! + PB_PAGES, maxBoost);
  }

  /**
   * Unmapped allocations with empty unmapped lists: take a whole free pageblock (order >=
   * pageblock_order; Unmovable first, then the Unmovable fallbacks, smallest order first so
   * 4 MiB blocks survive), split it down to what the request needs (one pageblock unless the
   * request is order 10), remove that from the direct map one pageblock per call, and retype it
   * Unmovable|Unmapped. The block leaves the free lists before the direct map is asked, so a
   * DirectMapControl that allocates page tables cannot be handed the same pages.
   */
  private convertToUnmapped(z: number, order: number): number {
    const sources = [MIGRATE_UNMOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE];
    for (let o = Math.max(order, PAGEBLOCK_ORDER); o < NR_ORD; o++) {
      for (const src of sources) {
        const pfn = this.head[(z * NR_FT + src) * NR_ORD + o]!;
        if (pfn < 0) continue;
        // Convert only what the request needs: split a larger block down to `target` first,
        // leaving the upper halves on their mapped lists.
        const target = Math.max(order, PAGEBLOCK_ORDER);
        this.delFree(pfn, z, src, o);
        this.expand(pfn, z, target, o, src);
        const nPb = 1 << (target - PAGEBLOCK_ORDER);
        let done = 0;
        while (done < nPb && this.directMap.removeRange(pfn + done * PB_PAGES, PB_PAGES)) done++;
        if (done < nPb) {
          for (let i = 0; i < done; i++) this.directMap.restoreRange(pfn + i * PB_PAGES, PB_PAGES);
          this.nUnmapFailures++;
          this.freeOneBlock(pfn, target, z, false);
          return -1;
        }
        this.changePageblockRange(pfn, target, FT_UU);
        this.nUnmapped += nPb;
        this.expand(pfn, z, order, target, FT_UU);
        return pfn;
      }
    }
    return -1;
  }

  /** Mapped allocations that found nothing else: give a whole free unmapped pageblock back to the direct map. */
  private convertToMapped(z: number, order: number, ft: number): number {
    for (let o = Math.max(order, PAGEBLOCK_ORDER); o < NR_ORD; o++) {
      const pfn = this.head[(z * NR_FT + FT_UU) * NR_ORD + o]!;
      if (pfn < 0) continue;
      const target = Math.max(order, PAGEBLOCK_ORDER);
      this.delFree(pfn, z, FT_UU, o);
      this.expand(pfn, z, target, o, FT_UU);
      const nPb = 1 << (target - PAGEBLOCK_ORDER);
      for (let i = 0; i < nPb; i++) this.directMap.restoreRange(pfn + i * PB_PAGES, PB_PAGES);
      this.changePageblockRange(pfn, target, ft);
      this.nRemapped += nPb;
      this.expand(pfn, z, order, target, ft);
      return pfn;
    }
    return -1;
  }

  /** reserve_highatomic_pageblock(): after a high-order atomic success, reserve its pageblock (at most ~1 % of the zone). */
  private reserveHighatomicPageblock(pfn: number, order: number, z: number): void {
    const managed = this.zoneManaged[z]!;
    if (Math.floor(managed / 100) < PB_PAGES) return;
    const maxManaged = Math.ceil(Math.floor(managed / 100) / PB_PAGES) * PB_PAGES;
    if (this.reservedHighatomic[z]! >= maxManaged) return;
    const ft = this.pbFt[pfn >>> PB_SHIFT]!;
    if (!migratetypeIsMergeable(ft)) return;
    if (order < PAGEBLOCK_ORDER) {
      const start = pfn & ~(PB_PAGES - 1);
      if (start < this.zoneStart[z]! || start + PB_PAGES > this.zoneEnd[z]!) return;
      this.moveFreepagesBlock(start, z, ft, MIGRATE_HIGHATOMIC);
      this.setPageblockFt(start >>> PB_SHIFT, MIGRATE_HIGHATOMIC);
      this.reservedHighatomic[z] += PB_PAGES;
    } else {
      this.changePageblockRange(pfn, order, MIGRATE_HIGHATOMIC);
      this.reservedHighatomic[z] += 1 << order;
    }
  }

  /** unreserve_highatomic_pageblock(): hand one reserved pageblock back to `mt` (keeping one unless `force`). */
  private unreserveHighatomicPageblock(highest: number, mt: number, force: boolean): boolean {
    const zl = this.zonelists[highest]!;
    for (let i = 0; i < zl.length; i++) {
      const z = zl[i]!;
      if (!force && this.reservedHighatomic[z]! <= PB_PAGES) continue;
      for (let o = 0; o < NR_ORD; o++) {
        const pfn = this.head[(z * NR_FT + MIGRATE_HIGHATOMIC) * NR_ORD + o]!;
        if (pfn < 0) continue;
        const size = Math.max(PB_PAGES, 1 << o);
        this.reservedHighatomic[z] -= Math.min(size, this.reservedHighatomic[z]!);
        if (o < PAGEBLOCK_ORDER) {
          const start = pfn & ~(PB_PAGES - 1);
          this.moveFreepagesBlock(start, z, MIGRATE_HIGHATOMIC, mt);
          this.setPageblockFt(start >>> PB_SHIFT, mt);
        } else {
          this.delFree(pfn, z, MIGRATE_HIGHATOMIC, o);
          this.addFree(pfn, z, mt, o, true);
          this.changePageblockRange(pfn, o, mt);
        }
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- free internals

  /** free_frozen_page_commit(): put the block on this CPU's pcp list and drain a batch above pcp->high. */
  private freeToPcp(pfn: number, order: number, z: number): void {
    let ft = this.pbFt[pfn >>> PB_SHIFT]!;
    if (ft === MIGRATE_ISOLATE) {
      this.freeOneBlock(pfn, order, z, false);
      return;
    }
    if (ft === MIGRATE_HIGHATOMIC || ft === MIGRATE_CMA) ft = MIGRATE_MOVABLE;
    const cpu = this.cpu;
    const id = this.pcpListId(z, cpu, order, ft);
    // Inlined listAddHead.
    const h = this.head[id]!;
    this.next[pfn] = h;
    this.prev[pfn] = -1;
    if (h >= 0) this.prev[h] = pfn;
    else this.tail[id] = pfn;
    this.head[id] = pfn;
    this.count[id]++;
    this.state[pfn] = ST_PCP | order;
    const ci = z * this.nrCpus + cpu;
    // Freeing halves the refill scaling of nr_pcp_alloc().
    if (this.pcpAllocFactor[ci] !== 0) this.pcpAllocFactor[ci] >>= 1;
    this.pcpCount[ci] += 1 << order;
    this.nPcp += 1 << order;
    const high = this.pcpHigh[z]!;
    if (this.pcpCount[ci]! >= high) {
      const batch = this.pcpBatch[z]!;
      // nr_pcp_free(), without the kernel's free_count scaling.
      const n = high < batch ? 1 : batch;
      this.freePcppagesBulk(z, cpu, n, id - this.pcpListId(z, cpu, 0, 0));
    }
  }

  /** free_pcppages_bulk(): free `count` pages from the tails of the pcp lists, round robin from `pindex`. */
  private freePcppagesBulk(z: number, cpu: number, count: number, pindex: number): void {
    const ci = z * this.nrCpus + cpu;
    count = Math.min(count, this.pcpCount[ci]!);
    const base = this.pcpListId(z, cpu, 0, 0);
    const head = this.head;
    const tail = this.tail;
    const st = this.state;
    let freed = 0;
    pindex--;
    while (count > 0) {
      let id: number;
      do {
        if (++pindex > NR_PCP_LISTS - 1) pindex = 0;
        id = base + pindex;
      } while (head[id]! < 0);
      do {
        // Inlined listDel of the tail.
        const pfn = tail[id]!;
        const p = this.prev[pfn]!;
        tail[id] = p;
        if (p >= 0) this.next[p] = -1;
        else head[id] = -1;
        this.count[id]--;
        const order = st[pfn]! & ST_ORDER;
        st[pfn] = 0;
        count -= 1 << order;
        freed += 1 << order;
        this.freeOneBlock(pfn, order, z, false);
      } while (count > 0 && head[id]! >= 0);
    }
    this.pcpCount[ci] -= freed;
    this.nPcp -= freed;
  }

  /**
   * __free_one_page(): merge with free buddies up to MAX_PAGE_ORDER. At pageblock order and
   * above, blocks of different types merge only when both are mergeable (the three pcp types)
   * and agree on the unmapped flag; the buddy's pageblocks then take the freed block's type.
   */
  private freeOneBlock(pfn: number, order: number, z: number, toTail: boolean): void {
    const st = this.state;
    const ft = this.pbFt[pfn >>> PB_SHIFT]!;
    const endPfn = this.endPfn;
    const next = this.next;
    const prev = this.prev;
    const base = (z * NR_FT + ft) * NR_ORD;
    // Pages this free adds to the zone; buddies merged in only move between lists.
    const added = 1 << order;
    while (order < MAX_PAGE_ORDER) {
      const buddy = pfn ^ (1 << order);
      if (buddy >= endPfn || st[buddy] !== (ST_FREE | order)) break;
      if (order >= PAGEBLOCK_ORDER) {
        if (this.pbZone[buddy >>> PB_SHIFT] !== z) break;
        const bft = this.pbFt[buddy >>> PB_SHIFT]!;
        if (bft !== ft) {
          if (bft === FT_UU || ft === FT_UU || !migratetypeIsMergeable(ft) || !migratetypeIsMergeable(bft)) break;
          // Different (mergeable) types: the buddy's pageblocks take the freed block's type.
          this.delFree(buddy, z, bft, order);
          this.changePageblockRange(buddy, order, ft);
          this.zoneFree[z] += 1 << order;
          this.ftFree[z * NR_FT + ft] += 1 << order;
          pfn &= buddy;
          order++;
          continue;
        }
      }
      // Inlined listDel of the buddy from its (same-freetype) list.
      const id = base + order;
      const p = prev[buddy]!;
      const n = next[buddy]!;
      if (p >= 0) next[p] = n;
      else this.head[id] = n;
      if (n >= 0) prev[n] = p;
      else this.tail[id] = p;
      this.count[id]--;
      this.areaFree[z * NR_ORD + order]--;
      st[buddy] = 0;
      pfn &= buddy;
      order++;
    }
    if (!toTail && order < MAX_PAGE_ORDER - 1) {
      // buddy_merge_likely(): if the next-higher buddy is free, this block is likely to merge soon.
      const higher = pfn & ~(1 << order);
      const hb = higher ^ (1 << (order + 1));
      toTail = hb < endPfn && st[hb] === (ST_FREE | (order + 1)) && this.pbZone[hb >>> PB_SHIFT] === z;
    }
    const id = base + order;
    if (toTail) this.listAddTail(pfn, id);
    else this.listAddHead(pfn, id);
    st[pfn] = ST_FREE | order;
    this.areaFree[z * NR_ORD + order]++;
    this.zoneFree[z] += added;
    this.ftFree[z * NR_FT + ft] += added;
  }

  // ---------------------------------------------------------------- accounting

  private accountAlloc(pfn: number, order: number, mt: number): void {
    const movable = mt === MIGRATE_MOVABLE;
    this.state[pfn] = ST_ALLOC | order | (movable ? ST_MOVABLE : 0);
    this.nAllocated += 1 << order;
    if (order <= PAGEBLOCK_ORDER) {
      const pb = pfn >>> PB_SHIFT;
      if (movable) this.pbMovable[pb] += 1 << order;
      else {
        if (this.pbUnmovable[pb] === 0 && this.pbFt[pb] === MIGRATE_MOVABLE) this.nPolluted++;
        this.pbUnmovable[pb] += 1 << order;
      }
      return;
    }
    const n = PB_PAGES;
    const end = pfn + (1 << order);
    for (let p = pfn; p < end; p += PB_PAGES) {
      const pb = p >>> PB_SHIFT;
      if (movable) this.pbMovable[pb] += n;
      else {
        if (this.pbUnmovable[pb] === 0 && this.pbFt[pb] === MIGRATE_MOVABLE) this.nPolluted++;
        this.pbUnmovable[pb] += n;
      }
    }
  }

  private unaccountAlloc(pfn: number, order: number, movable: boolean): void {
    this.state[pfn] = 0;
    this.nAllocated -= 1 << order;
    if (order <= PAGEBLOCK_ORDER) {
      const pb = pfn >>> PB_SHIFT;
      if (movable) this.pbMovable[pb] -= 1 << order;
      else {
        this.pbUnmovable[pb] -= 1 << order;
        if (this.pbUnmovable[pb] === 0 && this.pbFt[pb] === MIGRATE_MOVABLE) this.nPolluted--;
      }
      return;
    }
    const n = PB_PAGES;
    const end = pfn + (1 << order);
    for (let p = pfn; p < end; p += PB_PAGES) {
      const pb = p >>> PB_SHIFT;
      if (movable) this.pbMovable[pb] -= n;
      else {
        this.pbUnmovable[pb] -= n;
        if (this.pbUnmovable[pb] === 0 && this.pbFt[pb] === MIGRATE_MOVABLE) this.nPolluted--;
      }
    }
  }

  private setPageblockFt(pb: number, ft: number): void {
    // set_pageblock_migratetype(): the pcp types collapse to Unmovable without grouping.
    if (!this.mobilityGrouping && ft < MIGRATE_HIGHATOMIC) ft = MIGRATE_UNMOVABLE;
    const old = this.pbFt[pb]!;
    if (old === ft) return;
    if (this.pbUnmovable[pb]! > 0) {
      if (old === MIGRATE_MOVABLE) this.nPolluted--;
      if (ft === MIGRATE_MOVABLE) this.nPolluted++;
    }
    this.pbFt[pb] = ft;
  }

  /** change_pageblock_range(). */
  private changePageblockRange(pfn: number, order: number, ft: number): void {
    const nPb = order >= PAGEBLOCK_ORDER ? 1 << (order - PAGEBLOCK_ORDER) : 1;
    const pb = pfn >>> PB_SHIFT;
    for (let i = 0; i < nPb; i++) this.setPageblockFt(pb + i, ft);
  }

  private addFree(pfn: number, z: number, ft: number, order: number, toTail: boolean): void {
    const id = (z * NR_FT + ft) * NR_ORD + order;
    if (toTail) this.listAddTail(pfn, id);
    else this.listAddHead(pfn, id);
    this.state[pfn] = ST_FREE | order;
    this.zoneFree[z] += 1 << order;
    this.ftFree[z * NR_FT + ft] += 1 << order;
    this.areaFree[z * NR_ORD + order]++;
  }

  private delFree(pfn: number, z: number, ft: number, order: number): void {
    this.listDel(pfn, (z * NR_FT + ft) * NR_ORD + order);
    this.state[pfn] = 0;
    this.zoneFree[z] -= 1 << order;
    this.ftFree[z * NR_FT + ft] -= 1 << order;
    this.areaFree[z * NR_ORD + order]--;
  }

  private listAddHead(pfn: number, id: number): void {
    const h = this.head[id]!;
    this.next[pfn] = h;
    this.prev[pfn] = -1;
    if (h >= 0) this.prev[h] = pfn;
    else this.tail[id] = pfn;
    this.head[id] = pfn;
    this.count[id]++;
  }

  private listAddTail(pfn: number, id: number): void {
    const t = this.tail[id]!;
    this.prev[pfn] = t;
    this.next[pfn] = -1;
    if (t >= 0) this.next[t] = pfn;
    else this.head[id] = pfn;
    this.tail[id] = pfn;
    this.count[id]++;
  }

  private listDel(pfn: number, id: number): void {
    const p = this.prev[pfn]!;
    const n = this.next[pfn]!;
    if (p >= 0) this.next[p] = n;
    else this.head[id] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail[id] = p;
    this.count[id]--;
  }

  // ---------------------------------------------------------------- validation helpers

  private allocFailed(): null {
    this.nAllocFail++;
    return null;
  }

  private badGfp(gfp: number): never {
    if ((gfp | 0) !== gfp || (gfp & ~GFP_KNOWN_MASK) !== 0) {
      fail(BuddyErrorCode.UnknownFlag, `gfp ${show(gfp)} has bits outside GFP_KNOWN_MASK (unknown: 0x${(((gfp | 0) & ~GFP_KNOWN_MASK) >>> 0).toString(16)})`, { gfp });
    }
    fail(BuddyErrorCode.BadGfp, `gfp ${show(gfp)} combines flags the allocator rejects (two zone modifiers, movable with reclaimable, or __GFP_UNMAPPED with a movable or reclaimable request)`, { gfp });
  }

  private checkPfn(pfn: number): void {
    if (!(pfn >= 0 && pfn < this.endPfn && (pfn | 0) === pfn)) {
      fail(BuddyErrorCode.BadPfn, `pfn ${show(pfn)} is not an integer in [0, ${show(this.endPfn)})`, { pfn });
    }
  }

  private checkZone(zone: number): void {
    if (!Number.isInteger(zone) || zone < 0 || zone >= NR_ZONES) fail(BuddyErrorCode.BadZone, `zone ${show(zone)} must be 0..3`, { zone });
  }

  /** The span of a populated zone; E_BAD_ZONE otherwise. */
  private span(zone: number): ZoneSpan {
    this.checkZone(zone);
    const s = this.layout.zones.find((z) => z.zone === zone);
    if (!s) fail(BuddyErrorCode.BadZone, `zone ${ZONE_NAMES[zone as ZoneType]} is not populated`, { zone });
    return s;
  }
}

function badOrder(order: number): never {
  fail(BuddyErrorCode.BadOrder, `order ${show(order)} must be an integer in 0..${MAX_PAGE_ORDER}`, { order });
}

