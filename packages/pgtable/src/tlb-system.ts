/**
 * N CPUs with their TLBs and CR3s, and Linux's flush policy on top (arch/x86/mm/tlb.c):
 * flush_tlb_mm_range flushes page by page up to `tlb_single_page_flush_ceiling` (33) pages
 * and fully above; other CPUs that run the address space get an IPI
 * (flush_tlb_multi / native_flush_tlb_multi); flush_tlb_kernel_range reaches every CPU.
 */
import { Counters, METRICS, fail, show } from '@kmodel/core';
import type { Level, TlbFlusher, Vpn } from '@kmodel/core';
import { PgtableErrorCode as E } from './errors.js';
import {
  ACCESS_FETCH,
  ACCESS_USER,
  ACCESS_WRITE,
  DEFAULT_PAGING_MODE,
  RIGHT_D,
  RIGHT_G,
  RIGHT_NX,
  RIGHT_U,
  RIGHT_W,
  WalkResult,
  checkPagingMode,
  hardwareWalk,
  hardwareWalkFrom,
} from './hw-walk.js';
import type { PagingMode } from './hw-walk.js';
import type { X86PageTable } from './page-table.js';
import { DEFAULT_TLB_CONFIG, MAX_PCID, Tlb } from './tlb.js';
import type { TlbConfig } from './tlb.js';

/** `tlb_single_page_flush_ceiling` (arch/x86/mm/tlb.c): ranges above it are flushed fully. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** Options of a {@link TlbSystem}. */
export interface TlbSystemOptions {
  /** Number of CPUs (default 2). */
  cpus?: number;
  /** TLB geometry of every CPU. */
  config?: TlbConfig;
  /** CR4.PCIDE (default true). */
  pcide?: boolean;
  /** Control registers for the walks on a miss (default: Linux's). */
  mode?: PagingMode;
  /** Pages above which a range flush becomes a full flush (default 33). */
  flushCeiling?: number;
  /**
   * Compare every TLB hit with a fresh walk and count a stale translation as
   * `tlb.stale_hazards` (sail-riscv's TLB invariant check). Off by default: it costs a walk per hit.
   */
  shadowCheck?: boolean;
}

/** A TLB hit that a fresh walk contradicts. */
export interface StaleHit {
  /**
   * `'tlb'`: a TLB entry gave a frame the tables no longer give. `'pwc'`: a paging-structure
   * cache entry pointed to a table that is no longer in the tree there (freed, or replaced,
   * without a flush); then the PFNs are those of the tables.
   */
  kind: 'tlb' | 'pwc';
  cpu: number;
  pcid: number;
  vpn: Vpn;
  /** Frame the TLB gave (for `'pwc'`: the PFN of the cached table). */
  cachedPfn: number;
  /** Frame the tables give now, or -1 when the walk faults (for `'pwc'`: the table there now, or -1). */
  walkPfn: number;
}

/** Metric names this system counts (metrics.md, TLB group). */
export const TLB_METRICS = METRICS.tlb;

/**
 * The CPUs of a machine: one {@link Tlb} each, the page table and PCID each has loaded, and
 * the `TlbFlusher` the software layers call. `asid` in the flusher interface is the PCID.
 *
 * Counters (`counters`, names from metrics.md): `tlb.hits`, `tlb.misses`; `tlb.flush_single`
 * counts pages invalidated one by one on each CPU and `tlb.flush_full` full flushes on each
 * CPU (like the kernel's per-CPU nr_tlb_local_flush_one / _all plus the remote ones);
 * `tlb.ipis` IPIs sent; `tlb.stale_hazards` stale hits the shadow check found.
 */
export class TlbSystem implements TlbFlusher {
  readonly cpus: Tlb[];
  readonly counters = new Counters(TLB_METRICS);
  /** The CPU that issues flushes (local; the others get IPIs). */
  currentCpu = 0;
  /** Control registers for the walks (validated when set through {@link setMode}). */
  mode: Readonly<PagingMode>;
  readonly flushCeiling: number;
  shadowCheck: boolean;
  /** Stale hits found by the shadow check (the first 1000). */
  readonly staleHits: StaleHit[] = [];
  /** Called on every stale hit the shadow check finds. */
  onStale: ((hit: StaleHit) => void) | undefined;
  /** Result of the last walk {@link access} made on a miss. */
  readonly lastWalk = new WalkResult();

  private readonly loaded: (X86PageTable | null)[];
  /** Page table each PCID was last loaded with (for stale checks of idle PCIDs). */
  private readonly tableOfPcid = new Map<number, X86PageTable>();
  private readonly shadow = new WalkResult();
  private readonly sHits: number;
  private readonly sMisses: number;
  private readonly sSingle: number;
  private readonly sFull: number;
  private readonly sIpis: number;
  private readonly sStale: number;

  constructor(options: TlbSystemOptions = {}) {
    const n = options.cpus ?? 2;
    if (!(Number.isInteger(n) && n >= 1 && n <= 4096)) fail(E.BadTlbParam, `cpu count ${show(n)} out of range, expected 1..4096`, { value: n });
    const ceiling = options.flushCeiling ?? TLB_SINGLE_PAGE_FLUSH_CEILING;
    if (!(Number.isInteger(ceiling) && ceiling >= 0)) fail(E.BadTlbParam, `flush ceiling ${show(ceiling)} must be a non-negative integer`, { value: ceiling });
    this.cpus = Array.from({ length: n }, () => new Tlb(options.config ?? DEFAULT_TLB_CONFIG, options.pcide ?? true));
    this.loaded = new Array<X86PageTable | null>(n).fill(null);
    this.mode = checkPagingMode(options.mode ?? DEFAULT_PAGING_MODE);
    this.flushCeiling = ceiling;
    this.shadowCheck = options.shadowCheck ?? false;
    this.sHits = this.counters.slot('tlb.hits');
    this.sMisses = this.counters.slot('tlb.misses');
    this.sSingle = this.counters.slot('tlb.flush_single');
    this.sFull = this.counters.slot('tlb.flush_full');
    this.sIpis = this.counters.slot('tlb.ipis');
    this.sStale = this.counters.slot('tlb.stale_hazards');
  }

  private checkCpu(cpu: number): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus.length))
      fail(E.BadTlbParam, `cpu ${show(cpu)} out of range, expected 0..${this.cpus.length - 1}`, { value: cpu });
  }

  private checkPcid(pcid: number): void {
    if (!(Number.isInteger(pcid) && pcid >= 0 && pcid <= MAX_PCID)) fail(E.BadTlbParam, `pcid ${show(pcid)} out of range, expected 0..4095`, { value: pcid });
  }

  /**
   * switch_mm_irqs_off: CPU `cpu` loads page table `pt` with `pcid` (a CR3 write; `noFlush`
   * is CR3 bit 63, as Linux sets it when the PCID's entries are still valid).
   */
  switchMm(cpu: number, pt: X86PageTable, pcid: number, noFlush = false): void {
    this.checkCpu(cpu);
    this.checkPcid(pcid);
    const tlb = this.cpus[cpu];
    const n = tlb.writeCr3(pcid, noFlush);
    if (n > 0 || !noFlush) this.counters.add(this.sFull);
    this.loaded[cpu] = pt;
    this.tableOfPcid.set(tlb.pcid, pt);
  }

  /** Changes the control registers the walks use (e.g. PKRU on a context switch). Throws `E_BAD_MODE`. */
  setMode(mode: Readonly<PagingMode>): void {
    this.mode = checkPagingMode(mode);
  }

  /** Page table CPU `cpu` has loaded, or null. */
  loadedTable(cpu: number): X86PageTable | null {
    this.checkCpu(cpu);
    return this.loaded[cpu];
  }

  /** PCID CPU `cpu` runs with. */
  pcidOf(cpu: number): number {
    this.checkCpu(cpu);
    return this.cpus[cpu].pcid;
  }

  /**
   * A memory access by `cpu` to `vpn`: the TLB first, the walk on a miss (which fills the
   * TLB). `access` is ACCESS_* bits. Returns the frame, or -1 on a page fault (then
   * `lastWalk.errorCode` holds the error code). A hit whose cached rights do not allow the
   * access, or a write through an entry cached clean, walks again as the CPU does.
   */
  access(cpu: number, vpn: Vpn, access = 0): number {
    const tlb = this.cpus[cpu];
    if (tlb === undefined) this.checkCpu(cpu);
    const pt = this.loaded[cpu];
    if (pt === null) return fail(E.BadTlbParam, `cpu ${show(cpu)} has no page table loaded (switchMm first)`, { value: cpu });
    const pfn = tlb.lookup(vpn);
    if (pfn >= 0 && allowedByRights(tlb.hitRights, access, this.mode)) {
      this.counters.add(this.sHits);
      if (this.shadowCheck) this.checkHit(cpu, pt, vpn, pfn);
      return pfn;
    }
    this.counters.add(this.sMisses);
    pt.checkVpn(vpn);
    // A paging-structure-cache hit lets the walk start below the top (SDM §4.10.3.2).
    let start = pt.levels;
    const cached = tlb.pwcEnabled ? tlb.pscLookup(vpn, pt.levels) : 0;
    let r: WalkResult;
    if (cached > 0 && this.pscEntryValid(cpu, pt, vpn, cached - 1)) {
      start = cached - 1;
      r = hardwareWalkFrom(pt, vpn, access, this.mode, this.lastWalk, true, tlb.pscHitTable, start, tlb.pscHitRights);
    } else r = hardwareWalk(pt, vpn, access, this.mode, this.lastWalk);
    if (tlb.pwcEnabled) {
      // Cache the table pointers the walk read (entries at levels start .. 2).
      const path = r.path;
      for (let l = Math.min(start, pt.levels); l >= 2; l--) {
        const t = path[l - 1];
        if (t < 0) break;
        tlb.pscFill(vpn, l, t, pt.slab.pfn[t], r.pathRights[l - 1]);
      }
    }
    if (!r.ok) {
      // A fault invalidates the TLB entries for the address (SDM §4.10.4.2).
      tlb.invalidatePage(vpn, tlb.pcid, false);
      return -1;
    }
    tlb.fill(vpn, r.level, r.leafPfn, r.rights);
    return r.pfn;
  }

  /** The frame CPU `cpu` would use for `vpn` under its current PCID, or -1: no walk, no counters, no LRU change. */
  lookup(cpu: number, vpn: Vpn): number {
    this.checkCpu(cpu);
    const tlb = this.cpus[cpu];
    return tlb.peek(vpn, tlb.pcid);
  }

  /** The frame CPU `cpu` caches for `vpn` under `pcid` (loaded or not), or -1; no side effects. */
  peek(cpu: number, pcid: number, vpn: Vpn): number {
    this.checkCpu(cpu);
    this.checkPcid(pcid);
    return this.cpus[cpu].peek(vpn, pcid);
  }

  /**
   * Whether the table a paging-structure-cache entry gives (`tlb.pscHit*`) is still the live
   * table at `level` for `vpn`. A cheap check always (the id is live, at that level, at that
   * PFN); with the shadow check, also that the tree reaches it. A stale entry counts as
   * `tlb.stale_hazards` (the CPU would walk a freed or foreign table), is dropped with the
   * rest of the PCID's walk caches, and the walk starts from the top.
   */
  private pscEntryValid(cpu: number, pt: X86PageTable, vpn: number, level: number): boolean {
    const tlb = this.cpus[cpu];
    const t = tlb.pscHitTable;
    const slab = pt.slab;
    let ok = slab.form[t] !== 0 && slab.level[t] === level && slab.pfn[t] === tlb.pscHitPfn;
    let now = -1;
    if (!ok || this.shadowCheck) {
      const live = pt.tableAt(vpn, level as Level);
      now = live < 0 ? -1 : slab.pfn[live];
      ok = ok && live === t;
    }
    if (ok) return true;
    this.counters.add(this.sStale);
    const hit: StaleHit = { kind: 'pwc', cpu, pcid: tlb.pcid, vpn, cachedPfn: tlb.pscHitPfn, walkPfn: now };
    if (this.staleHits.length < 1000) this.staleHits.push(hit);
    this.onStale?.(hit);
    tlb.pscInvalidate(tlb.pcid);
    return false;
  }

  private checkHit(cpu: number, pt: X86PageTable, vpn: number, pfn: number): void {
    const tlb = this.cpus[cpu];
    const r = hardwareWalk(pt, vpn, 0, PERMISSIVE, this.shadow, false);
    const cached = tlb.hitRights;
    const stale =
      !r.ok ||
      r.pfn !== pfn ||
      (cached & RIGHT_W && !(r.rights & RIGHT_W)) ||
      (cached & RIGHT_U && !(r.rights & RIGHT_U)) ||
      (!(cached & RIGHT_NX) && r.rights & RIGHT_NX);
    if (!stale) return;
    this.counters.add(this.sStale);
    const hit: StaleHit = { kind: 'tlb', cpu, pcid: tlb.pcid, vpn, cachedPfn: pfn, walkPfn: r.ok ? r.pfn : -1 };
    if (this.staleHits.length < 1000) this.staleHits.push(hit);
    this.onStale?.(hit);
  }

  // ------------------------------------------------------------ instructions

  /** INVLPG on `cpu`. */
  invlpg(cpu: number, vpn: Vpn): void {
    this.checkCpu(cpu);
    this.cpus[cpu].invlpg(vpn);
    this.counters.add(this.sSingle);
  }

  /** INVPCID on `cpu` (type 0..3; `vpn` for type 0). */
  invpcid(cpu: number, type: number, pcid: number, vpn: Vpn = 0): void {
    this.checkCpu(cpu);
    this.checkPcid(pcid);
    this.cpus[cpu].invpcid(type, pcid, vpn);
    this.counters.add(type === 0 ? this.sSingle : this.sFull);
  }

  // ------------------------------------------------------------ TlbFlusher

  /**
   * flush_tlb_mm_range: [startVpn, endVpn) of PCID `asid` on every CPU that may cache it.
   * Above `flushCeiling` pages (in units of the stride) the flush is full. CPUs running
   * `asid` other than `currentCpu` get an IPI; CPUs that ran it earlier are flushed without one
   * (Linux defers that to their next switch_mm through tlb_gen, with the same result).
   * `freedTables` changes nothing here: every invalidation also drops the PCID's walk-cache
   * entries, as INVLPG does (SDM §4.10.4.1); Linux needs the flag for CPUs in lazy-TLB mode,
   * which are not modelled.
   */
  flushRange(asid: number, startVpn: Vpn, endVpn: Vpn, _freedTables: boolean, strideLevel: 1 | 2 | 3 = 1): void {
    this.checkPcid(asid);
    if (!(endVpn >= startVpn)) fail(E.BadRange, `flush range end ${show(endVpn)} lies below its start ${show(startVpn)}`, { start: startVpn, end: endVpn });
    const stride = strideLevel === 1 ? 1 : strideLevel === 2 ? 512 : 512 * 512;
    // get_flush_tlb_info: ((end - start) >> stride_shift) > tlb_single_page_flush_ceiling => full.
    const full = Math.floor((endVpn - startVpn) / stride) > this.flushCeiling;
    // flush_tlb_func then invalidates one stride at a time from start while below end.
    const pages = Math.ceil((endVpn - startVpn) / stride);
    for (let c = 0; c < this.cpus.length; c++) {
      const tlb = this.cpus[c];
      const running = tlb.pcid === asid && this.loaded[c] !== null;
      if (!running && !tlb.mayCache(asid)) continue;
      if (running && c !== this.currentCpu) this.counters.add(this.sIpis);
      if (full) {
        tlb.invalidateWhere(asid, false);
        this.counters.add(this.sFull);
      } else {
        for (let v = startVpn; v < endVpn; v += stride) tlb.invalidatePage(v, asid, running);
        this.counters.add(this.sSingle, pages);
      }
    }
  }

  /** flush_tlb_mm: everything of PCID `asid`. */
  flushAll(asid: number): void {
    this.checkPcid(asid);
    for (let c = 0; c < this.cpus.length; c++) {
      const tlb = this.cpus[c];
      const running = tlb.pcid === asid && this.loaded[c] !== null;
      if (!running && !tlb.mayCache(asid)) continue;
      if (running && c !== this.currentCpu) this.counters.add(this.sIpis);
      tlb.invalidateWhere(asid, false);
      this.counters.add(this.sFull);
    }
  }

  /**
   * flush_tlb_kernel_range: every CPU (IPIs to all but `currentCpu`), global entries included;
   * up to `flushCeiling` pages page by page in every PCID (Linux's flush_tlb_one_kernel also
   * invalidates the other ASIDs' copies), else a full flush including globals (flush_tlb_all).
   */
  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void {
    if (!(endVpn >= startVpn)) fail(E.BadRange, `flush range end ${show(endVpn)} lies below its start ${show(startVpn)}`, { start: startVpn, end: endVpn });
    const pages = endVpn - startVpn;
    const full = pages > this.flushCeiling;
    for (let c = 0; c < this.cpus.length; c++) {
      const tlb = this.cpus[c];
      if (c !== this.currentCpu) this.counters.add(this.sIpis);
      if (full) {
        tlb.invalidateWhere(-1, true);
        this.counters.add(this.sFull);
      } else {
        for (let v = startVpn; v < endVpn; v++) tlb.invalidatePage(v, -1, true);
        this.counters.add(this.sSingle, pages);
      }
    }
  }

  /** flush_tlb_all: every entry of every CPU, globals included. */
  flushTlbAll(): void {
    for (let c = 0; c < this.cpus.length; c++) {
      if (c !== this.currentCpu) this.counters.add(this.sIpis);
      this.cpus[c].invalidateWhere(-1, true);
      this.counters.add(this.sFull);
    }
  }

  /** A local flush of everything non-global of `cpu`'s current PCID (no IPI), as a mermap wrap-around does. */
  flushLocal(cpu: number): void {
    this.checkCpu(cpu);
    const tlb = this.cpus[cpu];
    tlb.invalidateWhere(tlb.pcid, false);
    this.counters.add(this.sFull);
  }

  // ------------------------------------------------------------ checkers

  /** CPUs whose TLB holds a valid entry (any PCID) for a page that includes frame `pfn`. */
  cpusCachingPfn(pfn: number): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.cpus.length; c++) if (this.cpus[c].cachesPfn(pfn)) out.push(c);
    return out;
  }

  /** True when any CPU still caches a translation to frame `pfn` (the mermap's stale-TLB check). */
  cachesPfn(pfn: number): boolean {
    for (let c = 0; c < this.cpus.length; c++) if (this.cpus[c].cachesPfn(pfn)) return true;
    return false;
  }

  /**
   * Every TLB entry, on every CPU, that a fresh walk of the page table its PCID was last loaded
   * with contradicts (another frame, a fault, or fewer rights than cached).
   */
  staleEntries(): StaleHit[] {
    const out: StaleHit[] = [];
    for (let c = 0; c < this.cpus.length; c++) {
      this.cpus[c].forEach((vpn, _level, pcid, pfn, rights) => {
        const pt = rights & RIGHT_G ? this.loaded[c] : this.tableOfPcid.get(pcid);
        if (!pt) return;
        const r = hardwareWalk(pt, vpn, 0, PERMISSIVE, this.shadow, false);
        const bad = !r.ok || r.pfn !== pfn || (rights & RIGHT_W && !(r.rights & RIGHT_W)) || (rights & RIGHT_U && !(r.rights & RIGHT_U));
        if (bad) out.push({ kind: 'tlb', cpu: c, pcid, vpn, cachedPfn: pfn, walkPfn: r.ok ? r.pfn : -1 });
      });
    }
    return out;
  }
}

/** A mode that lets a supervisor read anything: the shadow check wants the mapping, not a fault. */
const PERMISSIVE: Readonly<PagingMode> = Object.freeze({ ...DEFAULT_PAGING_MODE, smap: false, smep: false, pke: false });

/** Whether cached `rights` allow `access` without a walk (a write needs W and a cached D). */
function allowedByRights(rights: number, access: number, mode: Readonly<PagingMode>): boolean {
  if (access & ACCESS_USER) {
    if (!(rights & RIGHT_U)) return false;
    if (access & ACCESS_FETCH) return !(rights & RIGHT_NX);
    if (mode.pke) {
      const k = (rights >>> 12) & 0xf;
      const bits = (mode.pkru >>> (2 * k)) & 3;
      if (bits & 1 || (access & ACCESS_WRITE && bits & 2)) return false;
    }
  } else if (access & ACCESS_FETCH) {
    if (rights & RIGHT_NX || (rights & RIGHT_U && mode.smep)) return false;
    return true;
  } else if (rights & RIGHT_U && mode.smap && !mode.ac) return false;
  if (access & ACCESS_WRITE) return (rights & RIGHT_W) !== 0 && (rights & RIGHT_D) !== 0 ? true : !mode.wp && !(access & ACCESS_USER) && (rights & RIGHT_D) !== 0;
  return true;
}
