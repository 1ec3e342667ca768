import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_RW,
  Counters,
  fail,
  show,
  type MetricSnapshot,
  type PageTable,
  type PagingLevels,
  type Pfn,
  type Vpn,
} from '@kmodel/core';
import { MermapErrorCode as E } from './errors.js';
import type { StaleTlbChecker } from './stale.js';
import type { MermapTlbModel } from './tlb.js';

/** Live allocations per (mm, CPU): `struct mermap_cpu { ... allocs[4] }` (include/linux/mermap_types.h). */
export const MERMAP_NR_ALLOCS = 4;
/**
 * Pages in one CPU's slice: MERMAP_CPU_REGION_SIZE = PAGE_SIZE << MAX_PAGECACHE_ORDER
 * (the largest folio; 2 MiB on x86-64). A parameter ({@link MermapOptions.slicePages}).
 */
export const MERMAP_CPU_REGION_PAGES = 512;
/** PAGE_KERNEL_NOGLOBAL: PAGE_KERNEL without _PAGE_GLOBAL, what the unmapped-zeroing patch maps with. */
export const PAGE_KERNEL_NOGLOBAL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
/**
 * The "unmapped" sentinel PTE: pfn_pte(0, pgprot_nx(PAGE_NONE)), non-present but not none, so
 * apply_to_existing_page_range still visits it (mm/mermap.c set_unmapped_pte). PAGE_NONE on
 * x86 is ACCESSED | GLOBAL, and GLOBAL means PROTNONE in a non-present entry.
 */
export const MERMAP_SENTINEL_FLAGS = _PAGE_ACCESSED | _PAGE_GLOBAL | _PAGE_NX;

/**
 * MM_LOCAL_BASE_ADDR >> 12: PGD slot -240 (arch/x86/include/asm/pgtable_64_types.h in the mm
 * tree), shared with the LDT remap (LDT_BASE_ADDR, 2 MiB).
 */
export function mmLocalBaseVpn(levels: PagingLevels = 4): Vpn {
  const pgdirShift = levels === 5 ? 48n : 39n;
  return Number(((1n << 64n) - (240n << pgdirShift)) >> 12n);
}

/**
 * Default MERMAP_BASE_ADDR >> 12: right after the 2 MiB LDT remap in the mm-local PGD slot.
 * The mm-tree snapshot does not show the definition, so this placement is an assumption; it
 * only matters for the VPNs reported.
 */
export function defaultMermapBaseVpn(levels: PagingLevels = 4): Vpn {
  return mmLocalBaseVpn(levels) + 512;
}

/** Options of {@link Mermap}. */
export interface MermapOptions {
  /** The address space's page table (its mm-local kernel region holds the slices). */
  pageTable: PageTable;
  /** The machine's per-CPU TLB model (shared by every mm and by the direct map). */
  tlb: MermapTlbModel;
  /** Address-space id (the PCID, 1..4095 with `PgtableMermapTlb`), to tell this mm's TLB entries from other mms'. Default 1. */
  asid?: number;
  /** Pages per CPU slice. Default {@link MERMAP_CPU_REGION_PAGES}. */
  slicePages?: number;
  /** First VPN of CPU 0's slice. Default {@link defaultMermapBaseVpn}. */
  baseVpn?: Vpn;
  /** The stale-TLB checker that records puts (and, in page_flag mode, marks pages). */
  checker?: StaleTlbChecker;
}

/** Counter names of a {@link Mermap} (shared metric names first). */
export const MERMAP_COUNTER_NAMES = [
  'mermap.gets',
  'mermap.failures',
  'mermap.reserved_gets',
  'mermap.local_flushes',
  'mermap.reserved_failures',
  'mermap.puts',
  'mermap.faults',
  'mermap.cross_cpu_faults',
  'mermap.stale_accesses',
] as const;

/**
 * The mermap of one address space (mm/mermap.c in the mm tree): CPU-local, ephemeral
 * kernel mappings of pages that are absent from the direct map.
 *
 * Each CPU owns a slice of `slicePages` pages at `baseVpn + cpu × slicePages`, a bump pointer
 * and at most {@link MERMAP_NR_ALLOCS} live allocations. A normal get may use the slice minus
 * its last page; it allocates right after the highest live allocation, and when the bump
 * pointer runs out it rewinds to the end of the highest live allocation (or the slice base)
 * with one local full TLB flush, or fails. {@link getReserved} may use the last page too and is
 * meant for one page with preemption off. {@link put} rewrites the entries to the sentinel
 * *without* a TLB flush: the CPU may keep a stale translation until the next wrap.
 *
 * Handles are small integers (`cpu × 4 + slot`), -1 for failure; no object per call.
 *
 * Accesses ({@link access}) model the CPU: a TLB hit serves the cached PFN (stale or not), a
 * miss walks the page table. An access to another CPU's slice faults: the locality is logical
 * (the hardware would allow it), and the model enforces it as a debugging kernel would.
 */
export class Mermap {
  readonly nrCpus: number;
  readonly slicePages: number;
  readonly baseVpn: Vpn;
  readonly asid: number;
  readonly pageTable: PageTable;
  readonly tlb: MermapTlbModel;
  readonly counters = new Counters(MERMAP_COUNTER_NAMES);
  private readonly checker: StaleTlbChecker | undefined;
  private prepared = false;
  /** mc->next_addr as an offset into the CPU's slice. */
  private readonly nextAddr: Int32Array;
  private readonly inUse: Uint8Array;
  private readonly allocBase: Int32Array;
  private readonly allocEnd: Int32Array;
  private readonly allocPfn: Float64Array;
  private readonly regionPages: number;
  private readonly sGets = this.counters.slot('mermap.gets');
  private readonly sFailures = this.counters.slot('mermap.failures');
  private readonly sReserved = this.counters.slot('mermap.reserved_gets');
  private readonly sLocalFlushes = this.counters.slot('mermap.local_flushes');
  private readonly sReservedFailures = this.counters.slot('mermap.reserved_failures');
  private readonly sPuts = this.counters.slot('mermap.puts');
  private readonly sFaults = this.counters.slot('mermap.faults');
  private readonly sCrossCpu = this.counters.slot('mermap.cross_cpu_faults');
  private readonly sStale = this.counters.slot('mermap.stale_accesses');

  /** Throws E_BAD_PAGES for a slice size that is not a positive integer. */
  constructor(options: MermapOptions) {
    this.pageTable = options.pageTable;
    this.tlb = options.tlb;
    this.nrCpus = options.tlb.nrCpus;
    this.slicePages = options.slicePages ?? MERMAP_CPU_REGION_PAGES;
    if (!Number.isInteger(this.slicePages) || this.slicePages < 2) fail(E.BadPages, `slicePages ${show(this.slicePages)} must be an integer >= 2 (one page is reserved)`, { value: this.slicePages });
    this.baseVpn = options.baseVpn ?? defaultMermapBaseVpn(options.pageTable.levels);
    this.asid = options.asid ?? 1;
    this.checker = options.checker;
    this.regionPages = this.nrCpus * this.slicePages;
    this.nextAddr = new Int32Array(this.nrCpus);
    const n = this.nrCpus * MERMAP_NR_ALLOCS;
    this.inUse = new Uint8Array(n);
    this.allocBase = new Int32Array(n);
    this.allocEnd = new Int32Array(n);
    this.allocPfn = new Float64Array(n);
  }

  /**
   * mermap_mm_prepare: pre-populates every possible CPU's slice with sentinel PTEs so that
   * later gets never allocate. Idempotent. Returns false when the page table could not get a
   * table page (-ENOMEM); tables already allocated stay for mm teardown, as in the kernel.
   */
  prepare(): boolean {
    if (this.prepared) return true;
    const pt = this.pageTable;
    const end = this.baseVpn + this.regionPages;
    for (let vpn = this.baseVpn; vpn < end; vpn++) {
      if (vpn === this.baseVpn || vpn % 512 === 0) if (!pt.allocTable(vpn, 1)) return false;
      pt.setEntry(vpn, 1, 0, MERMAP_SENTINEL_FLAGS);
    }
    this.prepared = true;
    return true;
  }

  /** mermap_ready(): prepared. */
  get ready(): boolean {
    return this.prepared;
  }

  private checkGet(cpu: number, pfn: Pfn, nrPages: number, prot: number): void {
    if (!this.prepared) fail(E.NotPrepared, 'mermap_get before mermap_mm_prepare');
    this.tlb.checkCpu(cpu);
    if (!Number.isInteger(nrPages) || nrPages < 1) fail(E.BadPages, `mermap_get of ${show(nrPages)} pages: expected a positive integer`, { value: nrPages });
    if (nrPages > this.slicePages) fail(E.TooLarge, `mermap_get of ${show(nrPages)} pages exceeds the ${this.slicePages}-page slice of a CPU`, { value: nrPages, slicePages: this.slicePages });
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn + nrPages > 2 ** 40) fail(E.BadPages, `pfn range [${show(pfn)}, +${nrPages}) is not below 2^40`, { pfn, nrPages });
    if (prot & _PAGE_GLOBAL) fail(E.GlobalMapping, `protection ${show(prot)} has _PAGE_GLOBAL; mermap mappings are mm-local and must not be global (arch_mermap_pgprot_allowed)`, { value: prot });
    if (!(prot & _PAGE_PRESENT)) fail(E.BadPages, `protection ${show(prot)} lacks _PAGE_PRESENT`, { value: prot });
  }

  /**
   * mermap_get(page, size, prot) on `cpu`: maps `nrPages` consecutive PFNs from `pfn`.
   * Returns a handle, or -1 when the slice has no room or all four slots are live (a
   * failure, counted). Throws E_MERMAP_TOO_LARGE for more pages than a slice,
   * E_MERMAP_GLOBAL for a global protection, E_BAD_CPU, E_BAD_PAGES, E_MERMAP_NOT_PREPARED.
   */
  get(cpu: number, pfn: Pfn, nrPages: number, prot: number = PAGE_KERNEL_NOGLOBAL): number {
    this.checkGet(cpu, pfn, nrPages, prot);
    this.counters.add(this.sGets);
    const h = this.mermapAlloc(cpu, nrPages, false);
    if (h < 0) {
      this.counters.add(this.sFailures);
      return -1;
    }
    this.mapPages(h, pfn, prot);
    return h;
  }

  /**
   * mermap_get_reserved(page, prot) on `cpu`: one page that may use the slice's last page.
   * The kernel says it always succeeds; its code still returns NULL when all four slots are
   * live or a reserved mapping is already live at the slice end, and so does this model
   * (-1, counted as `mermap.reserved_failures`).
   */
  getReserved(cpu: number, pfn: Pfn, prot: number = PAGE_KERNEL_NOGLOBAL): number {
    this.checkGet(cpu, pfn, 1, prot);
    this.counters.add(this.sReserved);
    const h = this.mermapAlloc(cpu, 1, true);
    if (h < 0) {
      this.counters.add(this.sReservedFailures);
      return -1;
    }
    this.mapPages(h, pfn, prot);
    return h;
  }

  /** mermap_alloc() of mm/mermap.c, in slice offsets. */
  private mermapAlloc(cpu: number, size: number, useReserve: boolean): number {
    const cpuEnd = useReserve ? this.slicePages : this.slicePages - 1;
    const s0 = cpu * MERMAP_NR_ALLOCS;
    if (this.nextAddr[cpu]! + size > cpuEnd) {
      // Would there be room after a TLB flush? Only above the highest live allocation.
      let newNext = 0;
      for (let i = 0; i < MERMAP_NR_ALLOCS; i++) if (this.inUse[s0 + i]) newNext = Math.max(newNext, this.allocEnd[s0 + i]!);
      if (size > cpuEnd - newNext) return -1;
      this.tlb.flushLocal(cpu);
      this.counters.add(this.sLocalFlushes);
      this.nextAddr[cpu] = newNext;
    }
    let slot = -1;
    for (let i = 0; i < MERMAP_NR_ALLOCS; i++) {
      if (!this.inUse[s0 + i]) {
        slot = s0 + i;
        break;
      }
    }
    if (slot < 0) return -1;
    this.inUse[slot] = 1;
    this.allocBase[slot] = this.nextAddr[cpu]!;
    this.allocEnd[slot] = this.nextAddr[cpu]! + size;
    this.nextAddr[cpu] = this.nextAddr[cpu]! + size;
    return slot;
  }

  private mapPages(h: number, pfn: Pfn, prot: number): void {
    const cpu = Math.floor(h / MERMAP_NR_ALLOCS);
    const vpn0 = this.baseVpn + cpu * this.slicePages + this.allocBase[h]!;
    const n = this.allocEnd[h]! - this.allocBase[h]!;
    this.allocPfn[h] = pfn;
    for (let i = 0; i < n; i++) this.pageTable.setEntry(vpn0 + i, 1, pfn + i, prot);
  }

  /** Throws E_MERMAP_NOT_IN_USE unless `h` is a live handle. */
  private checkHandle(h: number): void {
    if (!(Number.isInteger(h) && h >= 0 && h < this.inUse.length && this.inUse[h])) fail(E.NotInUse, `handle ${show(h)} is not a live mermap allocation`, { value: h });
  }

  /** mermap_addr(): the first VPN of a live allocation. */
  addr(h: number): Vpn {
    this.checkHandle(h);
    return this.baseVpn + Math.floor(h / MERMAP_NR_ALLOCS) * this.slicePages + this.allocBase[h]!;
  }

  /** Pages of a live allocation. */
  pages(h: number): number {
    this.checkHandle(h);
    return this.allocEnd[h]! - this.allocBase[h]!;
  }

  /** The CPU that owns a live allocation. */
  cpuOf(h: number): number {
    this.checkHandle(h);
    return Math.floor(h / MERMAP_NR_ALLOCS);
  }

  /**
   * mermap_put(): rewrites the entries to the sentinel with no TLB flush. Translations the
   * owning CPU cached become stale (blamed on this put in the checker's reports); in page_flag
   * mode the pages are marked "flush needed". Throws E_MERMAP_NOT_IN_USE for a dead handle.
   */
  put(h: number): void {
    this.checkHandle(h);
    const cpu = Math.floor(h / MERMAP_NR_ALLOCS);
    const off0 = cpu * this.slicePages + this.allocBase[h]!;
    const n = this.allocEnd[h]! - this.allocBase[h]!;
    const pfn = this.allocPfn[h]!;
    const vpn0 = this.baseVpn + off0;
    let opId = -1;
    for (let i = 0; i < n; i++) {
      this.pageTable.setEntry(vpn0 + i, 1, 0, MERMAP_SENTINEL_FLAGS);
      if (this.tlb.caches(cpu, this.asid, vpn0 + i)) {
        if (opId < 0) opId = this.checker ? this.checker.recordPut(cpu, vpn0, pfn, n) : 0;
        this.tlb.markStale(cpu, this.asid, vpn0 + i, opId);
      }
    }
    this.checker?.notePut(pfn, n);
    this.inUse[h] = 0;
    this.counters.add(this.sPuts);
  }

  /**
   * CPU `cpu` reads or writes the mermap page at `vpn`: returns the PFN it reaches, or -1
   * for a page fault (no mapping, or another CPU's slice). A TLB hit is served even when the
   * entry is stale (counted as `mermap.stale_accesses`). Throws E_MERMAP_ADDRESS outside the
   * region.
   */
  access(cpu: number, vpn: Vpn): number {
    this.tlb.checkCpu(cpu);
    const off = vpn - this.baseVpn;
    if (!(Number.isInteger(off) && off >= 0 && off < this.regionPages)) fail(E.NotMermap, `vpn ${show(vpn)} is outside the mermap region [${show(this.baseVpn)}, ${show(this.baseVpn + this.regionPages)})`, { value: vpn });
    if (Math.floor(off / this.slicePages) !== cpu) {
      this.counters.add(this.sFaults);
      this.counters.add(this.sCrossCpu);
      return -1;
    }
    const pfn = this.tlb.translate(cpu, this.asid, this.pageTable, vpn);
    if (pfn < 0) this.counters.add(this.sFaults);
    else if (this.tlb.lastHitStale) this.counters.add(this.sStale);
    return pfn;
  }

  /** Touches every page of a live allocation from its own CPU (zeroing or copying through it); returns the pages reached. */
  touch(h: number): number {
    const vpn = this.addr(h);
    const cpu = Math.floor(h / MERMAP_NR_ALLOCS);
    const n = this.allocEnd[h]! - this.allocBase[h]!;
    let ok = 0;
    for (let i = 0; i < n; i++) if (this.access(cpu, vpn + i) >= 0) ok++;
    return ok;
  }

  /** Live allocations on `cpu`. */
  liveOn(cpu: number): number {
    this.tlb.checkCpu(cpu);
    let n = 0;
    for (let i = 0; i < MERMAP_NR_ALLOCS; i++) n += this.inUse[cpu * MERMAP_NR_ALLOCS + i]!;
    return n;
  }

  /** mermap_mm_teardown's check: throws E_MERMAP_NOT_IN_USE naming a live slot if any remains. */
  assertIdle(): void {
    const i = this.inUse.indexOf(1);
    if (i >= 0) fail(E.NotInUse, `mermap teardown with allocation ${i} (cpu ${Math.floor(i / MERMAP_NR_ALLOCS)}) still live`, { value: i });
  }

  /** The counters as metrics. */
  metrics(): MetricSnapshot {
    return this.counters.snapshot();
  }
}
