import { NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, type DirectMapControl } from '@kmodel/core';
import { FT_UNMOVABLE_UNMAPPED, NR_FREETYPE_IDXS } from './freetype.js';
import type { PfnRange } from './layout.js';

const NR_ZONES = 4;
const PAGE_ALLOC_COSTLY_ORDER = 3;
const NR_PCP_LISTS = 4 * (PAGE_ALLOC_COSTLY_ORDER + 1) + 2;
const NR_BUDDY_LISTS = NR_ZONES * NR_FREETYPE_IDXS * NR_PAGE_ORDERS;

/**
 * The allocator's internal constants. Modules destructure them into module-local constants
 * (`const { ST_FREE, NR_FT } = BUDDY_CONSTS;`) instead of importing each name: V8 folds a
 * module's own `const` into optimized code, but reads an imported binding from its module cell
 * at every use, which cost about 15 % on order-0 alloc/free pairs when these modules were split
 * out of one file. For the same reason the hot modules (buddy, pcp, page-alloc, free-one-page)
 * take their callees from namespace imports into module-local constants.
 */
export const BUDDY_CONSTS = {
  // Per-PFN state byte (the model's page->flags: PageBuddy, buddy_order, page owner).
  /** Low bits: the order of the block this page starts. */
  ST_ORDER: 0x0f,
  /** First page of a free buddy block (PageBuddy), order in the low bits. */
  ST_FREE: 0x10,
  /** First page of a block handed out by allocPages. */
  ST_ALLOC: 0x20,
  /** First page of a block sitting on a per-CPU list. */
  ST_PCP: 0x40,
  /** With ST_ALLOC: the allocation was movable (counts as an LRU page for pageblock claiming). */
  ST_MOVABLE: 0x80,
  /** Free-list indexes (NR_FREETYPE_IDXS). */
  NR_FT: NR_FREETYPE_IDXS,
  /** NR_PAGE_ORDERS. */
  NR_ORD: NR_PAGE_ORDERS,
  NR_ZONES,
  /** pageblock_order. */
  PB_SHIFT: PAGEBLOCK_ORDER,
  /** pageblock_nr_pages. */
  PB_PAGES: PAGEBLOCK_NR_PAGES,
  /** The free-list index of Unmovable|Unmapped. */
  FT_UU: FT_UNMOVABLE_UNMAPPED,
  PAGE_ALLOC_COSTLY_ORDER,
  /** pcp lists: 4 freetypes (3 pcp migratetypes + unmovable-unmapped) x orders 0..3, then 2 THP lists (mapped, unmapped). */
  NR_PCP_LISTS,
  /** Buddy free lists come first in the list arrays: one per (zone, freetype, order); pcp lists follow. */
  NR_BUDDY_LISTS,
} as const;

const { NR_FT, NR_ORD, PB_PAGES } = BUDDY_CONSTS;

/** The scalars a {@link BuddyState} is sized and configured by, settled by `setupBuddy()`. */
export interface BuddyStateConfig {
  endPfn: number;
  nrCpus: number;
  pcpEnabled: boolean;
  mobilityGrouping: boolean;
  configCma: boolean;
  directMap: DirectMapControl;
  boostFactor: number;
  totalManaged: number;
  managedRanges: PfnRange[];
}

/**
 * Everything the allocator knows, shared by the functions of the other internal modules
 * (free-area, pcp, rmqueue, fallback, ...), which take it as their first argument the way
 * mm/page_alloc.c passes `struct zone *`. All in typed arrays: one state byte and two Int32
 * list links per PFN (9 bytes per page: 57 MB for 24 GiB), one freetype byte and two Uint16
 * content counters per pageblock. Free lists are intrusive doubly linked lists per
 * (zone, freetype, order); a free block is always on the list of its pageblock's freetype, as
 * in the kernel since v6.10.
 *
 * Every field is set in the constructor, so every instance has one shape and the hot paths'
 * property loads stay monomorphic.
 * @internal
 */
export class BuddyState {
  readonly endPfn: number;
  readonly nrCpus: number;
  readonly pcpEnabled: boolean;
  /** false = page_group_by_mobility_disabled: every request and pageblock is Unmovable. */
  readonly mobilityGrouping: boolean;
  readonly configCma: boolean;
  readonly directMap: DirectMapControl;
  /** vm.watermark_boost_factor. */
  readonly boostFactor: number;
  /** totalram_pages. */
  readonly totalManaged: number;
  readonly managedRanges: readonly PfnRange[];

  // per PFN
  /** ST_* bits of the first page of each block. */
  readonly pageState: Uint8Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  // per pageblock
  readonly pbFt: Uint8Array;
  /** Zone of each pageblock, 255 outside every zone. */
  readonly pbZone: Uint8Array;
  readonly pbMovable: Uint16Array;
  readonly pbUnmovable: Uint16Array;
  /** The freetype an isolated pageblock returns to (the kernel keeps it beside PB_migrate_isolate). */
  readonly pbSavedFt: Uint8Array;
  // lists: buddy lists [0, NR_BUDDY_LISTS), then pcp lists
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly count: Int32Array;
  // per zone
  readonly zoneStart = new Float64Array(NR_ZONES);
  readonly zoneEnd = new Float64Array(NR_ZONES);
  readonly zonePresent = new Float64Array(NR_ZONES);
  readonly zoneManaged = new Float64Array(NR_ZONES);
  /** NR_FREE_PAGES per zone. */
  readonly zoneFree = new Float64Array(NR_ZONES);
  /** Free pages per (zone, freetype). */
  readonly ftFree = new Float64Array(NR_ZONES * NR_FT);
  /** free_area[order].nr_free per (zone, order). */
  readonly areaFree = new Int32Array(NR_ZONES * NR_ORD);
  /** min, low, high, promo per zone. */
  readonly wmark = new Float64Array(NR_ZONES * 4);
  readonly boost = new Float64Array(NR_ZONES);
  /** lowmem_reserve[zone][highest]. */
  readonly lowmemReserve = new Float64Array(NR_ZONES * NR_ZONES);
  readonly reservedHighatomic = new Float64Array(NR_ZONES);
  readonly pcpHigh = new Int32Array(NR_ZONES);
  readonly pcpBatch = new Int32Array(NR_ZONES);
  // per (zone, cpu)
  readonly pcpCount: Int32Array;
  readonly pcpAllocFactor: Uint8Array;
  readonly populated: boolean[] = [false, false, false, false];
  /** zonelists[highest] = populated zones <= highest, highest first. */
  readonly zonelists: Int8Array[] = [];
  /** The simulated CPU whose pcp lists are in use. */
  cpu = 0;
  /** The rmqueue mode __rmqueue() remembers across one bulk refill (enum rmqueue_mode). */
  rmqm = 0;
  // counters
  nFallbacks = 0;
  nClaims = 0;
  nSteals = 0;
  nUnmapped = 0;
  nRemapped = 0;
  nUnmapFailures = 0;
  /** Movable pageblocks holding unmovable or reclaimable allocations (a gauge). */
  nPolluted = 0;
  nAllocFail = 0;
  nKswapdWakes = 0;
  nAllocated = 0;
  nPcp = 0;

  constructor(c: BuddyStateConfig) {
    this.endPfn = c.endPfn;
    this.nrCpus = c.nrCpus;
    this.pcpEnabled = c.pcpEnabled;
    this.mobilityGrouping = c.mobilityGrouping;
    this.configCma = c.configCma;
    this.directMap = c.directMap;
    this.boostFactor = c.boostFactor;
    this.totalManaged = c.totalManaged;
    this.managedRanges = c.managedRanges;
    this.pageState = new Uint8Array(c.endPfn);
    this.next = new Int32Array(c.endPfn);
    this.prev = new Int32Array(c.endPfn);
    const nPb = Math.ceil(c.endPfn / PB_PAGES);
    this.pbFt = new Uint8Array(nPb);
    this.pbZone = new Uint8Array(nPb).fill(255);
    this.pbMovable = new Uint16Array(nPb);
    this.pbUnmovable = new Uint16Array(nPb);
    this.pbSavedFt = new Uint8Array(nPb);
    const nLists = NR_BUDDY_LISTS + NR_ZONES * c.nrCpus * NR_PCP_LISTS;
    this.head = new Int32Array(nLists).fill(-1);
    this.tail = new Int32Array(nLists).fill(-1);
    this.count = new Int32Array(nLists);
    this.pcpCount = new Int32Array(NR_ZONES * c.nrCpus);
    this.pcpAllocFactor = new Uint8Array(NR_ZONES * c.nrCpus);
  }
}
