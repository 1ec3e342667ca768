import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PAT,
  _PAGE_PAT_LARGE,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  Counters,
  fail,
  show,
  SimClock,
  GFP_KERNEL,
  type DirectMapControl,
  type PageAllocator,
  type Level,
  type MetricSnapshot,
  type PagingLevels,
  type Pfn,
  type TableAllocator,
  type Vpn,
} from '@kmodel/core';
import { createPageTable, type X86PageTable } from '@kmodel/pgtable';
import { DirectMapErrorCode as E } from './errors.js';
import { CountingKernelTlb, type KernelTlbFlusher } from './flusher.js';
import { directMapLayout, normalizeRamRanges, pageOffsetVpn, type DirectMapSizes, type LayoutSegment, type RamRange } from './layout.js';

/** __PAGE_KERNEL: present, writable, accessed, dirty, global, no-execute (pgtable_types.h). */
export const PAGE_KERNEL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX;
/** PAGE_KERNEL_LARGE: {@link PAGE_KERNEL} with PSE, for 2 MiB and 1 GiB leaves. */
export const PAGE_KERNEL_LARGE = PAGE_KERNEL | _PAGE_PSE;
/**
 * What __set_pages_np clears (set_direct_map_invalid_noflush): PRESENT, RW and DIRTY; GLOBAL
 * goes too, because it means PROTNONE in a non-present entry (pgprot_clear_protnone_bits).
 */
const NP_CLEAR = _PAGE_PRESENT | _PAGE_RW | _PAGE_DIRTY | _PAGE_GLOBAL;
/** What __set_pages_p sets (set_direct_map_default_noflush): PRESENT and RW only. */
const P_SET = _PAGE_PRESENT | _PAGE_RW;

const PMD_PAGES = 512;
const PUD_PAGES = 512 * 512;

// Per-GiB state: not a 1 GiB leaf (see the blocks), a present leaf, a non-present leaf.
const G_NONE = 0;
const G_LEAF = 1;
const G_LEAF_NP = 2;
// Per-2 MiB-block state (meaningful when its GiB is G_NONE).
const B_HOLE = 0;
const B_LEAF = 1;
const B_LEAF_NP = 2;
const B_PTE = 3;

/** Counter names of a {@link DirectMap} (shared metric names first). */
export const DIRECTMAP_COUNTER_NAMES = [
  'directmap.split_1g',
  'directmap.split_2m',
  'directmap.flushes',
  'directmap.collapse_1g',
  'directmap.collapse_2m',
] as const;

/** Options of {@link DirectMap}. */
export interface DirectMapOptions {
  /** RAM as PFN ranges [start, end) (e820 / memblock memory). Boot maps each with {@link splitMemRange} leaves. */
  ram: readonly RamRange[];
  /** 4- or 5-level paging (page_offset_base moves). Default 4. */
  levels?: PagingLevels;
  /** 1 GiB leaves allowed (X86_FEATURE_GBPAGES and no `nogbpages`). Default true. */
  gbpages?: boolean;
  /**
   * Where split_large_page gets its page-table pages: alloc_pages(GFP_KERNEL, 0), unmovable and
   * not charged to any memcg. Default: a bump allocator handing out PFNs above the top of RAM
   * (so it never collides with a page allocator that manages all RAM).
   * A buddy-backed allocator must tolerate being called while it converts a pageblock.
   */
  tables?: TableAllocator;
  /** Boot-time (memblock) page-table pages. Default: the same bump allocator as `tables`'s default. */
  bootTables?: TableAllocator;
  /** The TLB model that receives flush_tlb_all / flush_tlb_kernel_range. Default: a {@link CountingKernelTlb} on `nrCpus` CPUs. */
  tlb?: KernelTlbFlusher;
  /** CPUs for the default TLB model. Default 1. */
  nrCpus?: number;
  /** Simulated clock charged with `directmap_split` per split (and by the default TLB model). */
  clock?: SimClock;
}

/**
 * Split page-table pages from a page allocator, as split_large_page gets them:
 * alloc_pages(GFP_KERNEL, 0), an unmovable page charged to no memory cgroup. The allocator
 * must tolerate being called while it converts a pageblock (re-entrancy).
 */
export function pageAllocatorTables(allocator: PageAllocator, gfp: number = GFP_KERNEL): TableAllocator {
  return {
    allocTable: () => allocator.allocPages(gfp, 0),
    freeTable: (pfn) => allocator.freePages(pfn, 0),
  };
}

/** A bump allocator of table-page PFNs starting at `base`, reusing freed ones (lowest first is not promised). */
export function bumpTableAllocator(base: Pfn): TableAllocator {
  let next = base;
  const free: Pfn[] = [];
  return {
    allocTable: () => (free.length > 0 ? free.pop()! : next++),
    freeTable: (pfn) => {
      free.push(pfn);
    },
  };
}

/**
 * The kernel direct map over all RAM, kept in a real x86 page table of `@kmodel/pgtable`
 * (init_mm's kernel half), with the arch/x86/mm/pat/set_memory.c rules for changing it:
 *
 * - {@link setDirectMapInvalidNoflush} / {@link setDirectMapDefaultNoflush} change PRESENT
 *   on a PFN range. A huge leaf wholly inside the range keeps its size (try to preserve
 *   the large page); a leaf that the range cuts is split first (split_large_page): one new
 *   page-table page from `tables`, one `flush_tlb_all()` (IPIs to every CPU), and the
 *   vmstat counter direct_map_level{2,3}_splits.
 * - {@link flushTlbKernelRange} is the flush the caller owes after removing pages.
 * - {@link removeRange} / {@link restoreRange} implement `DirectMapControl` for the page allocator.
 * - {@link collapse} folds uniform PTE tables back into 2 MiB leaves and those into 1 GiB
 *   leaves (cpa_collapse_large_pages).
 *
 * Entry flags follow the kernel exactly: a removed page loses PRESENT, RW, DIRTY and GLOBAL;
 * a restored one gets PRESENT and RW back but not DIRTY or GLOBAL, so it no longer matches its
 * untouched neighbours and its 2 MiB region cannot collapse until every page in it went through
 * the same cycle.
 *
 * Every call validates first and changes nothing when it throws or returns false: the
 * page-table pages a change needs are reserved before anything is written.
 */
export class DirectMap implements DirectMapControl {
  readonly levels: PagingLevels;
  readonly gbpages: boolean;
  /** The kernel page table holding the direct map. */
  readonly pageTable: X86PageTable;
  /** VPN of PFN 0's direct-map address (page_offset_base >> 12). */
  readonly baseVpn: Vpn;
  /** RAM ranges, sorted and merged. */
  readonly ram: readonly RamRange[];
  /** Boot layout (for reference and views). */
  readonly bootLayout: readonly LayoutSegment[];
  readonly tlb: KernelTlbFlusher;
  readonly clock: SimClock;
  readonly counters = new Counters(DIRECTMAP_COUNTER_NAMES);

  private readonly gib: Uint8Array;
  private readonly blk: Uint8Array;
  /** Present bits (16 words = 512 pages) of blocks mapped by a PTE table. */
  private readonly bits = new Map<number, Uint32Array>();
  private readonly tables: TableAllocator;
  private readonly bootTables: TableAllocator;
  /** PFNs of table pages that splits allocated (they go back to `tables`). */
  private readonly splitTablePfns = new Set<Pfn>();
  /** Table pages reserved for the change in progress, per level (index 1 = PTE, 2 = PMD). */
  private readonly reserved: [Pfn[], Pfn[], Pfn[]] = [[], [], []];
  /** Scratch: tables a planned change needs, per level. */
  private readonly need = [0, 0, 0];
  private booting = true;
  private leaves = [0, 0, 0, 0];
  private readonly sSplit1g = this.counters.slot('directmap.split_1g');
  private readonly sSplit2m = this.counters.slot('directmap.split_2m');
  private readonly sFlushes = this.counters.slot('directmap.flushes');
  private readonly sCollapse1g = this.counters.slot('directmap.collapse_1g');
  private readonly sCollapse2m = this.counters.slot('directmap.collapse_2m');

  constructor(options: DirectMapOptions) {
    this.ram = normalizeRamRanges(options.ram);
    this.levels = options.levels ?? 4;
    this.gbpages = options.gbpages ?? true;
    this.clock = options.clock ?? new SimClock();
    this.tlb = options.tlb ?? new CountingKernelTlb(options.nrCpus ?? 1, this.clock);
    const top = this.ram[this.ram.length - 1]!.end;
    const bump = bumpTableAllocator(Math.ceil(top / PMD_PAGES) * PMD_PAGES);
    this.tables = options.tables ?? bump;
    this.bootTables = options.bootTables ?? bump;
    this.baseVpn = pageOffsetVpn(this.levels);
    this.gib = new Uint8Array(Math.ceil(top / PUD_PAGES));
    this.blk = new Uint8Array(Math.ceil(top / PMD_PAGES));
    const self = this;
    this.pageTable = createPageTable({
      levels: this.levels,
      kernel: true,
      tables: {
        allocTable: (level: Level) => self.tableFor(level),
        freeTable: (pfn: Pfn, level: Level) => self.releaseTable(pfn, level),
      },
    });
    this.bootLayout = directMapLayout(this.ram, this.gbpages);
    for (const seg of this.bootLayout) this.bootMap(seg);
    this.booting = false;
  }

  // ------------------------------------------------------------------ boot

  private bootMap(seg: LayoutSegment): void {
    const pt = this.pageTable;
    const span = seg.level === 3 ? PUD_PAGES : seg.level === 2 ? PMD_PAGES : 1;
    for (let pfn = seg.startPfn; pfn < seg.endPfn; pfn += span) {
      const vpn = this.baseVpn + pfn;
      if (!pt.allocTable(vpn, seg.level)) fail('E_NOMEM', `boot page-table allocation failed at pfn ${show(pfn)}`);
      if (seg.level === 3) {
        pt.setEntry(vpn, 3, pfn, PAGE_KERNEL_LARGE);
        this.gib[pfn / PUD_PAGES] = G_LEAF;
      } else if (seg.level === 2) {
        pt.setEntry(vpn, 2, pfn, PAGE_KERNEL_LARGE);
        this.blk[pfn / PMD_PAGES] = B_LEAF;
      } else {
        pt.setEntry(vpn, 1, pfn, PAGE_KERNEL);
        const b = Math.floor(pfn / PMD_PAGES);
        this.blk[b] = B_PTE;
        const words = this.blockBits(b);
        words[(pfn & 511) >>> 5] |= 1 << (pfn & 31);
      }
      this.leaves[seg.level]++;
    }
  }

  private blockBits(b: number): Uint32Array {
    let w = this.bits.get(b);
    if (!w) {
      w = new Uint32Array(16);
      this.bits.set(b, w);
    }
    return w;
  }

  private tableFor(level: Level): Pfn | null {
    if (this.booting) return this.bootTables.allocTable(level);
    const pfn = level <= 2 ? this.reserved[level as 1 | 2].pop() : undefined;
    if (pfn === undefined) fail('E_INTERNAL', `direct map asked for a level-${level} table without a reservation`);
    return pfn;
  }

  private releaseTable(pfn: Pfn, level: Level): void {
    if (this.splitTablePfns.delete(pfn)) this.tables.freeTable(pfn, level);
    else this.bootTables.freeTable(pfn, level);
  }

  // ------------------------------------------------------------------ queries

  /** Is `pfn` present in the direct map (kernel_page_present)? Throws E_NOT_RAM outside RAM. */
  kernelPagePresent(pfn: Pfn): boolean {
    this.checkRam(pfn, 1);
    return this.presentAt(pfn);
  }

  private presentAt(pfn: number): boolean {
    const g = this.gib[Math.floor(pfn / PUD_PAGES)];
    if (g !== G_NONE) return g === G_LEAF;
    const b = Math.floor(pfn / PMD_PAGES);
    const s = this.blk[b];
    if (s === B_PTE) return (this.bits.get(b)![(pfn & 511) >>> 5]! & (1 << (pfn & 31))) !== 0;
    return s === B_LEAF;
  }

  /** Size of the leaf mapping `pfn` now: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB) (lookup_address's level). */
  leafLevel(pfn: Pfn): 1 | 2 | 3 {
    this.checkRam(pfn, 1);
    if (this.gib[Math.floor(pfn / PUD_PAGES)] !== G_NONE) return 3;
    return this.blk[Math.floor(pfn / PMD_PAGES)] === B_PTE ? 1 : 2;
  }

  /** Pages of the 2 MiB block holding `pfn` that are present in the direct map (0..512). */
  mappedPagesInBlock(pfn: Pfn): number {
    this.checkCount(pfn, 'pfn');
    const b = Math.floor(pfn / PMD_PAGES);
    if (b >= this.blk.length) return 0;
    const g = this.gib[Math.floor(pfn / PUD_PAGES)];
    if (g !== G_NONE) return g === G_LEAF ? PMD_PAGES : 0;
    const s = this.blk[b];
    if (s === B_LEAF) return PMD_PAGES;
    if (s !== B_PTE) return 0;
    let n = 0;
    for (const w of this.bits.get(b)!) n += popcount(w);
    return n;
  }

  /** /proc/meminfo's DirectMap4k / DirectMap2M / DirectMap1G in kB: pages per leaf size, present or not (direct_pages_count). */
  meminfo(): DirectMapSizes {
    return { DirectMap4k: this.leaves[1]! * 4, DirectMap2M: this.leaves[2]! * 2048, DirectMap1G: this.leaves[3]! * 1048576 };
  }

  /** The DirectMap lines of /proc/meminfo, formatted as arch_report_meminfo prints them. */
  meminfoText(): string {
    const m = this.meminfo();
    const line = (k: string, v: number) => `${k}:    ${String(v).padStart(8, ' ')} kB`;
    return [line('DirectMap4k', m.DirectMap4k), line('DirectMap2M', m.DirectMap2M), ...(this.gbpages ? [line('DirectMap1G', m.DirectMap1G)] : [])].join('\n') + '\n';
  }

  /** The direct-map counters of /proc/vmstat. */
  vmstat(): { direct_map_level2_splits: number; direct_map_level3_splits: number; direct_map_level2_collapses: number; direct_map_level3_collapses: number } {
    const c = this.counters;
    return {
      direct_map_level2_splits: c.get('directmap.split_2m'),
      direct_map_level3_splits: c.get('directmap.split_1g'),
      direct_map_level2_collapses: c.get('directmap.collapse_2m'),
      direct_map_level3_collapses: c.get('directmap.collapse_1g'),
    };
  }

  /** Page-table pages that splits allocated and that collapses have not freed yet. */
  get kernelPtPages(): number {
    return this.splitTablePfns.size;
  }

  /** Metrics: the counters plus the `directmap.kernel_pt_pages` gauge and the DirectMap kB sizes. */
  metrics(): MetricSnapshot {
    return { ...this.counters.snapshot(), 'directmap.kernel_pt_pages': this.kernelPtPages, ...this.meminfo() };
  }

  // ------------------------------------------------------------------ validation

  private checkCount(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0) fail(E.NotRam, `${what} ${show(n)} must be a non-negative safe integer`, { value: n });
  }

  /** Throws E_NOT_RAM unless [pfn, pfn + n) is a non-empty range inside one RAM range. */
  private checkRam(pfn: number, n: number): void {
    this.checkCount(pfn, 'pfn');
    if (!Number.isSafeInteger(n) || n < 1) fail(E.NotRam, `page count ${show(n)} must be a positive integer`, { value: n });
    for (const r of this.ram) if (pfn >= r.start && pfn + n <= r.end) return;
    fail(E.NotRam, `PFN range [${show(pfn)}, ${show(pfn + n)}) does not lie inside one RAM range (RAM: ${this.ram.map((r) => `[${r.start}, ${r.end})`).join(', ')})`, { pfn, nrPages: n });
  }

  /** First PFN in [s, e) whose present state is `present`, or -1. */
  private firstWithState(s: number, e: number, present: boolean): number {
    let cur = s;
    while (cur < e) {
      const g = Math.floor(cur / PUD_PAGES);
      if (this.gib[g] !== G_NONE) {
        if ((this.gib[g] === G_LEAF) === present) return cur;
        cur = Math.min(e, (g + 1) * PUD_PAGES);
        continue;
      }
      const b = Math.floor(cur / PMD_PAGES);
      const st = this.blk[b];
      const bend = Math.min(e, (b + 1) * PMD_PAGES);
      if (st === B_PTE) {
        const w = this.bits.get(b)!;
        for (; cur < bend; cur++) if (((w[(cur & 511) >>> 5]! & (1 << (cur & 31))) !== 0) === present) return cur;
        continue;
      }
      if ((st === B_LEAF) === present) return cur;
      cur = bend;
    }
    return -1;
  }

  /** Page-table pages a change of [s, e) needs (1 GiB and 2 MiB leaves the range cuts), into `need[level]`. */
  private tablesNeeded(s: number, e: number): void {
    const need = this.need;
    need[1] = 0;
    need[2] = 0;
    let cur = s;
    while (cur < e) {
      const g = Math.floor(cur / PUD_PAGES);
      const gs = g * PUD_PAGES;
      if (this.gib[g] !== G_NONE) {
        const gend = Math.min(e, gs + PUD_PAGES);
        if (cur === gs && gend === gs + PUD_PAGES) {
          cur = gend;
          continue;
        }
        need[2]++; // the 1 GiB split: one PMD table
        // 2 MiB leaves of the split GiB that the range cuts: one PTE table each.
        const first = Math.floor(cur / PMD_PAGES);
        const last = Math.floor((gend - 1) / PMD_PAGES);
        if (cur % PMD_PAGES !== 0) need[1]++;
        if (gend % PMD_PAGES !== 0 && (last !== first || cur % PMD_PAGES === 0)) need[1]++;
        cur = gend;
        continue;
      }
      const b = Math.floor(cur / PMD_PAGES);
      const bs = b * PMD_PAGES;
      const bend = Math.min(e, bs + PMD_PAGES);
      if (this.blk[b] !== B_PTE && !(cur === bs && bend === bs + PMD_PAGES)) need[1]++;
      cur = bend;
    }
  }

  /** Takes the planned tables from `tables`; on failure gives back what it took and returns false. */
  private reserveTables(): boolean {
    for (const level of [2, 1] as const) {
      for (let i = 0; i < this.need[level]!; i++) {
        const t = this.tables.allocTable(level);
        if (t === null) {
          this.dropReservations();
          return false;
        }
        this.reserved[level].push(t);
        this.splitTablePfns.add(t);
      }
    }
    return true;
  }

  private dropReservations(): void {
    for (const level of [2, 1] as const) {
      for (const t of this.reserved[level].splice(0)) {
        this.splitTablePfns.delete(t);
        this.tables.freeTable(t, level);
      }
    }
  }

  // ------------------------------------------------------------------ changes

  /**
   * set_direct_map_invalid_noflush / set_direct_map_valid_noflush(page, nr, false): removes
   * [pfn, pfn + nrPages) from the direct map without the final TLB flush (splits still flush,
   * as __split_large_page does). Returns false, changing nothing, when a page-table page for
   * a split could not be allocated (-ENOMEM).
   *
   * Throws E_NOT_RAM for a range outside RAM and E_NOT_MAPPED when a page in the range is
   * already absent.
   */
  setDirectMapInvalidNoflush(pfn: Pfn, nrPages = 1): boolean {
    this.checkRam(pfn, nrPages);
    const bad = this.firstWithState(pfn, pfn + nrPages, false);
    if (bad >= 0) fail(E.NotMapped, `cannot remove [${show(pfn)}, ${show(pfn + nrPages)}) from the direct map: pfn ${show(bad)} is already absent (expected every page present)`, { pfn, nrPages, absent: bad });
    return this.change(pfn, pfn + nrPages, false);
  }

  /**
   * set_direct_map_default_noflush / set_direct_map_valid_noflush(page, nr, true): maps
   * [pfn, pfn + nrPages) again. No flush is owed (x86 does not cache non-present entries).
   * Returns false, changing nothing, when a split's page-table page could not be allocated.
   *
   * Throws E_NOT_RAM for a range outside RAM and E_ALREADY_MAPPED when a page in the range is
   * still present.
   */
  setDirectMapDefaultNoflush(pfn: Pfn, nrPages = 1): boolean {
    this.checkRam(pfn, nrPages);
    const bad = this.firstWithState(pfn, pfn + nrPages, true);
    if (bad >= 0) fail(E.AlreadyMapped, `cannot restore [${show(pfn)}, ${show(pfn + nrPages)}) to the direct map: pfn ${show(bad)} is still mapped (expected every page absent)`, { pfn, nrPages, mapped: bad });
    return this.change(pfn, pfn + nrPages, true);
  }

  /**
   * flush_tlb_kernel_range over the direct-map addresses of [pfn, pfn + nrPages): one INVLPG
   * per page on every CPU up to 33 pages, a full flush above (see {@link KernelTlbFlusher}).
   */
  flushTlbKernelRange(pfn: Pfn, nrPages = 1): void {
    this.checkRam(pfn, nrPages);
    this.tlb.flushTlbKernelRange(this.baseVpn + pfn, this.baseVpn + pfn + nrPages);
    this.counters.add(this.sFlushes);
  }

  /** DirectMapControl: {@link setDirectMapInvalidNoflush} then {@link flushTlbKernelRange}. False (nothing changed) on -ENOMEM. */
  removeRange(pfn: Pfn, nrPages: number): boolean {
    if (!this.setDirectMapInvalidNoflush(pfn, nrPages)) return false;
    this.flushTlbKernelRange(pfn, nrPages);
    return true;
  }

  /** DirectMapControl: {@link setDirectMapDefaultNoflush}; throws E_NOMEM (nothing changed) when a split could not get its table page. */
  restoreRange(pfn: Pfn, nrPages: number): void {
    if (!this.setDirectMapDefaultNoflush(pfn, nrPages)) fail('E_NOMEM', `restoring [${show(pfn)}, ${show(pfn + nrPages)}) needs a split and no page-table page could be allocated`, { pfn, nrPages });
  }

  /** Reserves the tables, then runs the __change_page_attr_set_clr loop over [s, e). */
  private change(s: number, e: number, present: boolean): boolean {
    this.tablesNeeded(s, e);
    if (!this.reserveTables()) return false;
    let cur = s;
    while (cur < e) {
      const g = Math.floor(cur / PUD_PAGES);
      if (this.gib[g] !== G_NONE) {
        const gs = g * PUD_PAGES;
        if (cur === gs && e >= gs + PUD_PAGES) {
          this.setLeaf(gs, 3, present);
          this.gib[g] = present ? G_LEAF : G_LEAF_NP;
          cur = gs + PUD_PAGES;
        } else {
          this.split1g(g);
        }
        continue;
      }
      const b = Math.floor(cur / PMD_PAGES);
      const bs = b * PMD_PAGES;
      if (this.blk[b] === B_PTE) {
        const bend = Math.min(e, bs + PMD_PAGES);
        const w = this.bits.get(b)!;
        for (; cur < bend; cur++) {
          this.setLeaf(cur, 1, present);
          if (present) w[(cur & 511) >>> 5] |= 1 << (cur & 31);
          else w[(cur & 511) >>> 5] &= ~(1 << (cur & 31));
        }
        continue;
      }
      if (cur === bs && e >= bs + PMD_PAGES) {
        this.setLeaf(bs, 2, present);
        this.blk[b] = present ? B_LEAF : B_LEAF_NP;
        cur = bs + PMD_PAGES;
      } else {
        this.split2m(b);
      }
    }
    if (this.reserved[1].length + this.reserved[2].length !== 0) {
      this.dropReservations();
      fail('E_INTERNAL', `direct-map change of [${show(s)}, ${show(e)}) reserved more page-table pages than it used`);
    }
    return true;
  }

  /** Rewrites one leaf's PRESENT state the way __change_page_attr does. */
  private setLeaf(pfn: number, level: 1 | 2 | 3, present: boolean): void {
    const vpn = this.baseVpn + pfn;
    const pt = this.pageTable;
    let f = pt.entryFlags(vpn, level);
    if (present) {
      f |= P_SET;
      if (level > 1) f |= _PAGE_PSE;
    } else {
      f &= ~NP_CLEAR;
      // A non-present large entry carries no PSE (__should_split_large_page adds it only when present).
      if (level > 1) f &= ~(_PAGE_PSE | _PAGE_PAT_LARGE);
    }
    pt.setEntry(vpn, level, pfn, f);
  }

  /** split_large_page of a 1 GiB leaf into 512 2 MiB leaves (one PMD table page, one flush_tlb_all). */
  private split1g(g: number): void {
    const gs = g * PUD_PAGES;
    const vpn = this.baseVpn + gs;
    const pt = this.pageTable;
    const f = pt.entryFlags(vpn, 3);
    pt.clearEntry(vpn, 3);
    pt.allocTable(vpn, 2);
    const present = this.gib[g] === G_LEAF;
    for (let i = 0; i < 512; i++) {
      pt.setEntry(vpn + i * PMD_PAGES, 2, gs + i * PMD_PAGES, f);
      this.blk[g * 512 + i] = present ? B_LEAF : B_LEAF_NP;
    }
    this.gib[g] = G_NONE;
    this.leaves[3]--;
    this.leaves[2] += 512;
    this.counters.add(this.sSplit1g);
    this.afterSplit();
  }

  /** split_large_page of a 2 MiB leaf into 512 PTEs (one PTE table page, one flush_tlb_all). */
  private split2m(b: number): void {
    const bs = b * PMD_PAGES;
    const vpn = this.baseVpn + bs;
    const pt = this.pageTable;
    const large = pt.entryFlags(vpn, 2);
    // pgprot_large_2_4k: drop PSE, move PAT from bit 12 to bit 7.
    const f = (large & ~(_PAGE_PSE | _PAGE_PAT_LARGE)) | (large & _PAGE_PAT_LARGE ? _PAGE_PAT : 0);
    pt.clearEntry(vpn, 2);
    pt.allocTable(vpn, 1);
    for (let i = 0; i < 512; i++) pt.setEntry(vpn + i, 1, bs + i, f);
    const w = this.blockBits(b);
    w.fill(this.blk[b] === B_LEAF ? 0xffffffff : 0);
    this.blk[b] = B_PTE;
    this.leaves[2]--;
    this.leaves[1] += 512;
    this.counters.add(this.sSplit2m);
    this.afterSplit();
  }

  private afterSplit(): void {
    this.clock.charge('directmap_split');
    // __split_large_page: "Do a global flush tlb after splitting the large page".
    this.tlb.flushTlbAll();
    this.counters.add(this.sFlushes);
  }

  /**
   * cpa_collapse_large_pages over the 2 MiB blocks that [pfn, pfn + nrPages) touches: a PTE
   * table whose 512 entries are present with identical flags becomes a 2 MiB leaf
   * (collapse_pmd_page); then, if `gbpages` and all 512 entries of its PMD table are present
   * 2 MiB leaves with identical flags, the GiB becomes a 1 GiB leaf (collapse_pud_page). One
   * flush_tlb_all if anything collapsed; the freed table pages go back where they came from.
   * Returns the number of collapses.
   */
  collapse(pfn: Pfn, nrPages = 1): number {
    this.checkRam(pfn, nrPages);
    const pt = this.pageTable;
    let collapsed = 0;
    const end = pfn + nrPages;
    for (let bs = pfn - (pfn % PMD_PAGES); bs < end; bs += PMD_PAGES) {
      const b = bs / PMD_PAGES;
      if (this.gib[Math.floor(bs / PUD_PAGES)] !== G_NONE || this.blk[b] !== B_PTE) continue;
      const vpn = this.baseVpn + bs;
      const first = pt.entryFlags(vpn, 1);
      if (!(first & _PAGE_PRESENT)) continue;
      let same = true;
      for (let i = 1; i < 512 && same; i++) same = pt.entryFlags(vpn + i, 1) === first && pt.entryPfn(vpn + i, 1) === bs + i;
      if (!same) continue;
      pt.freePteTable(vpn);
      // pgprot_4k_2_large: move PAT from bit 7 to bit 12, then set PSE.
      const large = (first & ~_PAGE_PAT) | (first & _PAGE_PAT ? _PAGE_PAT_LARGE : 0) | _PAGE_PSE;
      pt.setEntry(vpn, 2, bs, large);
      this.bits.delete(b);
      this.blk[b] = B_LEAF;
      this.leaves[1] -= 512;
      this.leaves[2]++;
      this.counters.add(this.sCollapse2m);
      collapsed++;
      if (this.gbpages && this.collapsePud(Math.floor(bs / PUD_PAGES))) collapsed++;
    }
    if (collapsed > 0) {
      this.tlb.flushTlbAll();
      this.counters.add(this.sFlushes);
    }
    return collapsed;
  }

  private collapsePud(g: number): boolean {
    const gs = g * PUD_PAGES;
    if ((g + 1) * PMD_PAGES > this.blk.length) return false;
    for (let i = 0; i < 512; i++) if (this.blk[g * 512 + i] !== B_LEAF) return false;
    const pt = this.pageTable;
    const vpn = this.baseVpn + gs;
    const first = pt.entryFlags(vpn, 2);
    for (let i = 1; i < 512; i++) if (pt.entryFlags(vpn + i * PMD_PAGES, 2) !== first) return false;
    for (let i = 0; i < 512; i++) pt.clearEntry(vpn + i * PMD_PAGES, 2);
    pt.freePmdTable(vpn);
    pt.setEntry(vpn, 3, gs, first);
    for (let i = 0; i < 512; i++) this.blk[g * 512 + i] = B_HOLE;
    this.gib[g] = G_LEAF;
    this.leaves[2] -= 512;
    this.leaves[3]++;
    this.counters.add(this.sCollapse1g);
    return true;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
