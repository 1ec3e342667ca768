// BuddyAllocator is the public face; the work is done by functions over one shared BuddyState,
// a module per concern of mm/page_alloc.c:
//   state.ts          BuddyState (typed arrays, counters) and the internal constants
//   setup.ts          options -> state: zones, zonelists, memblock_free_all, watermarks
//   free-area.ts      free lists, __add_to/__del_page_from_free_list, expand, __rmqueue_smallest
//   pcp.ts            rmqueue_pcplist, rmqueue_bulk, nr_pcp_alloc, free_frozen_page_commit,
//                     free_pcppages_bulk, drain_all_pages
//   page-alloc.ts     get_page_from_freelist, rmqueue, __alloc_pages_slowpath
//   zone-watermark.ts __zone_watermark_ok
//   rmqueue.ts        rmqueue_buddy, __rmqueue
//   fallback.ts       find_suitable_fallback, __rmqueue_claim, try_to_claim_block, __rmqueue_steal
//   highatomic.ts     reserve/unreserve_highatomic_pageblock
//   unmapped.ts       conversions between mapped and unmapped pageblocks
//   free-one-page.ts  __free_one_page (buddy merging), split_large_buddy
//   pageblock.ts      pageblock freetypes, __move_freepages_block
//   accounting.ts     allocated blocks, pageblock contents, the pollution gauge
//   isolation.ts      set/unset_migratetype_isolate, has_unmovable_pages
//   invariants.ts     checkInvariants
//   stats.ts, checks.ts, options.ts: counters/zoneInfo snapshots, argument checks, public types
import {
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_MOVABLE,
  __GFP_RECLAIMABLE,
  __GFP_UNMAPPED,
  fail,
  GFP_KNOWN_MASK,
  gfpMigratetype,
  gfpZone,
  MAX_PAGE_ORDER,
  MIGRATE_ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_UNMOVABLE,
  show,
  ZONE_NORMAL,
  type MetricSnapshot,
  type Migratetype,
  type PageAllocator,
  type Pfn,
  type ZoneType,
} from '@kmodel/core';
import { ALLOC_FLAGS } from './alloc-flags.js';
import * as accountingModule from './accounting.js';
import * as checksModule from './checks.js';
import { BuddyErrorCode } from './errors.js';
import { forEachFreeBlock, freeListId } from './free-area.js';
import * as freeOnePageModule from './free-one-page.js';
import { checkInvariants } from './invariants.js';
import { countPageblocksWithUnmovable, hasUnmovablePages, isolatePageblock, undoIsolatePageblock } from './isolation.js';
import { inRanges, type MemoryLayout, type ZoneSpan } from './layout.js';
import type { BuddyOptions, ZoneInfo } from './options.js';
import * as pageAllocModule from './page-alloc.js';
import * as pcpModule from './pcp.js';
import { setupBuddy } from './setup.js';
import { BUDDY_CONSTS, type BuddyState } from './state.js';
import { counterSnapshot, nrFreePages, zoneInfoOf } from './stats.js';
import { buddyinfo, contigPageInfo, fragmentationIndexOf, pagetypeinfo, unusableIndexOf } from './views.js';

export type { BuddyOptions, ZoneInfo } from './options.js';

// Module-local constants and callees for the allocPages/freePages hot paths (see BUDDY_CONSTS).
const { ALLOC_CMA, ALLOC_NOFRAGMENT, ALLOC_WMARK_LOW } = ALLOC_FLAGS;
const { FT_UU, NR_FT, NR_ORD, PB_PAGES, PB_SHIFT, ST_ALLOC, ST_MOVABLE, ST_ORDER } = BUDDY_CONSTS;
const { accountAlloc, unaccountAlloc } = accountingModule;
const { badGfp, badOrder, checkFreetype, checkOrder, checkPfn, checkZone, zoneSpan } = checksModule;
const { freeOneBlock, splitLargeBuddy } = freeOnePageModule;
const { allocPagesSlowpath, getPageFromFreelist } = pageAllocModule;
const { allocPcpHit, drainAllPages, freeToPcp, pcpAllowedOrder } = pcpModule;

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

  /** Everything else: the state the internal modules share. */
  private readonly s: BuddyState;

  constructor(opts: BuddyOptions = {}) {
    const { state, layout, minFreeKbytes } = setupBuddy(opts);
    this.s = state;
    this.layout = layout;
    this.configCma = state.configCma;
    this.minFreeKbytes = minFreeKbytes;
    this.nrCpus = state.nrCpus;
    this.pcpEnabled = state.pcpEnabled;
    this.mobilityGrouping = state.mobilityGrouping;
  }

  // ---------------------------------------------------------------- PageAllocator

  /**
   * alloc_pages(gfp, order): 2^order contiguous pages, or null when no zone the request may
   * use has them above its watermark. Throws E_BAD_ORDER, E_UNKNOWN_FLAG or E_BAD_GFP.
   */
  allocPages(gfp: number, order: number): Pfn | null {
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    if ((gfp & ~GFP_KNOWN_MASK) !== 0 || (gfp | 0) !== gfp) badGfp(gfp);
    if ((gfp & (__GFP_DMA | __GFP_DMA32)) === (__GFP_DMA | __GFP_DMA32) || (gfp & (__GFP_MOVABLE | __GFP_RECLAIMABLE)) === (__GFP_MOVABLE | __GFP_RECLAIMABLE)) badGfp(gfp);
    const s = this.s;
    const gfpMt = gfpMigratetype(gfp);
    // gfp_migratetype(): everything is Unmovable when grouping by mobility is disabled.
    const mt = s.mobilityGrouping ? gfpMt : MIGRATE_UNMOVABLE;
    let ft: number = mt;
    if (gfp & __GFP_UNMAPPED) {
      if (gfpMt !== MIGRATE_UNMOVABLE) badGfp(gfp);
      ft = FT_UU;
    }
    const highest = gfpZone(gfp);
    const zl = s.zonelists[highest]!;
    if (zl.length === 0) return this.allocFailed();
    const cmaFlag = s.configCma && mt === MIGRATE_MOVABLE ? ALLOC_CMA : 0;
    // Fast path: low watermark; ALLOC_NOFRAGMENT when the preferred zone is Normal (alloc_flags_nofragment).
    const flags = ALLOC_WMARK_LOW | cmaFlag | (zl[0] === ZONE_NORMAL ? ALLOC_NOFRAGMENT : 0);
    if (order === 0 && s.pcpEnabled) {
      const pfn = allocPcpHit(s, zl[0]!, ft, highest, flags);
      if (pfn >= 0) {
        accountAlloc(s, pfn, 0, gfpMt);
        return pfn;
      }
    }
    let pfn = getPageFromFreelist(s, order, ft, highest, flags);
    if (pfn < 0) {
      // Slow path: kswapd would be woken; retry at the min watermark (gfp_to_alloc_flags()).
      pfn = allocPagesSlowpath(s, gfp, order, ft, mt, highest, cmaFlag);
      if (pfn < 0) return this.allocFailed();
    }
    accountAlloc(s, pfn, order, gfpMt);
    return pfn;
  }

  /**
   * __free_pages(pfn, order). Throws E_BAD_PFN, E_BAD_ORDER, E_NOT_ALLOCATED (not the first page
   * of an allocated block) or E_WRONG_ORDER, leaving the allocator unchanged.
   */
  freePages(pfn: Pfn, order: number): void {
    const s = this.s;
    if (!(pfn >= 0 && pfn < s.endPfn && (pfn | 0) === pfn)) {
      fail(BuddyErrorCode.BadPfn, `pfn ${show(pfn)} is not an integer in [0, ${show(s.endPfn)})`, { pfn });
    }
    if (!(order >= 0 && order <= MAX_PAGE_ORDER && (order | 0) === order)) badOrder(order);
    const b = s.pageState[pfn]!;
    if (!(b & ST_ALLOC)) {
      fail(BuddyErrorCode.NotAllocated, `pfn ${show(pfn)} is not the first page of an allocated block`, { pfn, order });
    }
    if ((b & ST_ORDER) !== order) {
      fail(BuddyErrorCode.WrongOrder, `pfn ${show(pfn)} was allocated with order ${b & ST_ORDER}, freed with order ${order}`, { pfn, order, allocatedOrder: b & ST_ORDER });
    }
    unaccountAlloc(s, pfn, order, (b & ST_MOVABLE) !== 0);
    const zone = s.pbZone[pfn >>> PB_SHIFT]!;
    if (s.pcpEnabled && pcpAllowedOrder(order)) {
      freeToPcp(s, pfn, order, zone);
    } else if (order > PB_SHIFT) {
      // __free_pages_ok() -> free_one_page() -> split_large_buddy(): each pageblock is freed
      // with its own freetype, so an isolated (or HighAtomic, CMA, unmapped) half keeps its list.
      splitLargeBuddy(s, pfn, order, zone, false);
    } else {
      freeOneBlock(s, pfn, order, zone, false);
    }
  }

  /** Pages the allocator manages (free, on pcp lists, or allocated): totalram_pages. */
  managedPages(): number {
    return this.s.totalManaged;
  }

  /** NR_FREE_PAGES: pages in the buddy free lists (pcp pages are not counted, as in the kernel). */
  nrFreePages(): number {
    return nrFreePages(this.s);
  }

  /** Pages held on per-CPU lists. */
  pcpPages(): number {
    return this.s.nPcp;
  }

  /** Pages handed out by allocPages and not yet freed. */
  allocatedPages(): number {
    return this.s.nAllocated;
  }

  // ---------------------------------------------------------------- queries

  /** Selects the simulated CPU whose pcp lists the next calls use (0..nrCpus-1). */
  setCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) {
      fail(BuddyErrorCode.BadCpu, `cpu ${show(cpu)} must be an integer in 0..${this.nrCpus - 1}`, { cpu });
    }
    this.s.cpu = cpu;
  }

  /** The zone a PFN belongs to, or -1 outside every zone. */
  zoneOf(pfn: Pfn): ZoneType | -1 {
    const s = this.s;
    checkPfn(pfn, s.endPfn);
    const z = s.pbZone[pfn >>> PB_SHIFT]!;
    if (z === 255 || pfn < s.zoneStart[z]! || pfn >= s.zoneEnd[z]!) return -1;
    return z as ZoneType;
  }

  /** The migratetype of the pageblock holding `pfn` (get_pageblock_migratetype). */
  pageblockMigratetype(pfn: Pfn): Migratetype {
    checkPfn(pfn, this.s.endPfn);
    const ft = this.s.pbFt[pfn >>> PB_SHIFT]!;
    return (ft === FT_UU ? MIGRATE_UNMOVABLE : ft) as Migratetype;
  }

  /** Whether the pageblock holding `pfn` is unmapped from the direct map (its FREETYPE_UNMAPPED bit). */
  isPageblockUnmapped(pfn: Pfn): boolean {
    const s = this.s;
    checkPfn(pfn, s.endPfn);
    const pb = pfn >>> PB_SHIFT;
    const ft = s.pbFt[pb]!;
    // An isolated pageblock keeps its direct-map state (the FREETYPE_UNMAPPED bit it returns to).
    return ft === FT_UU || (ft === MIGRATE_ISOLATE && s.pbSavedFt[pb] === FT_UU);
  }

  /** The free-list index (freetype_idx) of the pageblock holding `pfn`. */
  pageblockFreetype(pfn: Pfn): number {
    checkPfn(pfn, this.s.endPfn);
    return this.s.pbFt[pfn >>> PB_SHIFT]!;
  }

  /** The order a block starting at `pfn` was allocated with, or -1 if `pfn` does not start an allocated block. */
  allocatedOrder(pfn: Pfn): number {
    checkPfn(pfn, this.s.endPfn);
    const b = this.s.pageState[pfn]!;
    return b & ST_ALLOC ? b & ST_ORDER : -1;
  }

  /**
   * Allocated pages in the pageblock holding `pfn`, split as `prep_move_freepages_block()` sees
   * them: movable (LRU) pages and the rest (unmovable and reclaimable allocations).
   */
  pageblockContents(pfn: Pfn): { movable: number; unmovable: number } {
    checkPfn(pfn, this.s.endPfn);
    const pb = pfn >>> PB_SHIFT;
    return { movable: this.s.pbMovable[pb]!, unmovable: this.s.pbUnmovable[pb]! };
  }

  /**
   * Whether [startPfn, endPfn) holds an allocation that is not movable, so that memory offlining
   * or alloc_contig_range() over it would fail (has_unmovable_pages(), at pageblock granularity).
   */
  hasUnmovablePages(startPfn: Pfn, endPfn: Pfn): boolean {
    const s = this.s;
    checkPfn(startPfn, s.endPfn);
    if (!(endPfn > startPfn && endPfn <= s.endPfn && (endPfn | 0) === endPfn)) {
      fail(BuddyErrorCode.BadPfn, `endPfn ${show(endPfn)} must be an integer in (${show(startPfn)}, ${show(s.endPfn)}]`, { endPfn });
    }
    return hasUnmovablePages(s, startPfn, endPfn);
  }

  /** Pageblocks of a zone that hold at least one unmovable or reclaimable allocation, whatever their type: blocks compaction can never empty. */
  pageblocksWithUnmovable(zone: ZoneType): number {
    const span = this.span(zone);
    return countPageblocksWithUnmovable(this.s, span.start, span.end);
  }

  /** Number of free blocks on one free list (zone, freetype index, order). */
  nrFreeBlocks(zone: ZoneType, ft: number, order: number): number {
    checkZone(zone);
    checkFreetype(ft);
    checkOrder(order);
    return this.s.count[freeListId(zone, ft, order)]!;
  }

  /** Number of free blocks of an order in a zone, all freetypes (free_area[order].nr_free). */
  nrFreeArea(zone: ZoneType, order: number): number {
    checkZone(zone);
    checkOrder(order);
    return this.s.areaFree[zone * NR_ORD + order]!;
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
      out[this.s.pbFt[pfn >>> PB_SHIFT]!]!++;
    }
    return out;
  }

  /** A /proc/zoneinfo-like summary of one populated zone. */
  zoneInfo(zone: ZoneType): ZoneInfo {
    return zoneInfoOf(this.s, this.span(zone));
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
    return counterSnapshot(this.s);
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
    checkPfn(pfn, this.s.endPfn);
    return isolatePageblock(this.s, pfn);
  }

  /**
   * unset_migratetype_isolate(): gives an isolated pageblock its freetype back and returns its
   * free pages to the tails of the buddy lists (they were never touched); a wholly free
   * pageblock merges with its free buddy when that is not isolated. E_NOT_ISOLATED if it was
   * not isolated.
   */
  undoIsolatePageblock(pfn: Pfn): void {
    checkPfn(pfn, this.s.endPfn);
    undoIsolatePageblock(this.s, pfn);
  }

  /** drain_all_pages(): returns every pcp page of every CPU to the buddy lists. */
  drainAllPages(): void {
    drainAllPages(this.s);
  }

  /** Drops every zone's watermark boost (what kswapd does once it has balanced the node). */
  resetWatermarkBoost(): void {
    this.s.boost.fill(0);
  }

  /** Calls `fn` for every free buddy block (pcp pages excluded). Not for hot paths. */
  forEachFreeBlock(fn: (pfn: Pfn, order: number, zone: ZoneType, ft: number) => void): void {
    forEachFreeBlock(this.s, fn);
  }

  /** Calls `fn` for every block handed out by allocPages and not yet freed, in PFN order. Not for hot paths. */
  forEachAllocatedBlock(fn: (pfn: Pfn, order: number) => void): void {
    const st = this.s.pageState;
    for (let p = 0; p < this.s.endPfn; p++) if (st[p]! & ST_ALLOC) fn(p, st[p]! & ST_ORDER);
  }

  /**
   * Rebuilds every derived quantity from the per-PFN state and compares: each managed page is
   * covered by exactly one free, pcp or allocated block; free blocks are aligned, within their
   * zone, on the list of their pageblock's freetype with the right order; list counts, zone and
   * per-freetype free counts, pageblock content counters and the pollution gauge all agree. Throws
   * E_BUDDY_INVARIANT on the first mismatch. O(managed pages).
   */
  checkInvariants(): void {
    checkInvariants(this.s);
  }

  // ---------------------------------------------------------------- helpers

  private allocFailed(): null {
    this.s.nAllocFail++;
    return null;
  }

  /** The span of a populated zone; E_BAD_ZONE otherwise. */
  private span(zone: number): ZoneSpan {
    return zoneSpan(this.layout, zone);
  }
}
