import { Counters, fail, show, SimClock, type Vpn } from '@kmodel/core';
import { MermapErrorCode as E } from './errors.js';

/** tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c). */
const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** Counter names of a {@link MermapTlb}. */
export const MERMAP_TLB_COUNTER_NAMES = ['tlb.hits', 'tlb.misses', 'tlb.flush_single', 'tlb.flush_full', 'tlb.ipis'] as const;

/**
 * Per-CPU TLB contents for the mermap region, with the staleness bookkeeping the stale-TLB
 * checker needs ("which CPUs still cache a translation to this PFN, and which operation
 * left it there").
 *
 * Entries are keyed by a number the caller chooses (the mermap uses address space × slot);
 * each holds the PFN it translates to. An entry is *stale* once the page-table entry behind
 * it no longer maps that PFN (mermap_put rewrote it without a flush); the TLB still serves it.
 *
 * It also implements the direct map's `KernelTlbFlusher` (`flushTlbKernelRange`,
 * `flushTlbAll`), so that the direct map's full flushes clear these entries too. Range
 * flushes of direct-map addresses (≤ 33 pages) leave mermap entries alone: other pages.
 *
 * Only translations the model fills are held (no capacity limit, no eviction): a real TLB may
 * drop an entry earlier, never later, so hazards found here are possible, not certain.
 */
export class MermapTlb {
  readonly nrCpus: number;
  readonly counters = new Counters(MERMAP_TLB_COUNTER_NAMES);
  readonly clock: SimClock;
  /** Full flushes that reached every CPU so far (flush_tlb_all): a generation number. */
  fullFlushGeneration = 0;
  private readonly pfnOf: Map<number, number>[] = [];
  /** key -> id of the put that made the entry stale (only stale entries are here). */
  private readonly staleOp: Map<number, number>[] = [];
  /** pfn -> number of stale entries on all CPUs. */
  private readonly stalePfns = new Map<number, number>();
  private readonly sHits = this.counters.slot('tlb.hits');
  private readonly sMisses = this.counters.slot('tlb.misses');
  private readonly sSingle = this.counters.slot('tlb.flush_single');
  private readonly sFull = this.counters.slot('tlb.flush_full');
  private readonly sIpis = this.counters.slot('tlb.ipis');

  /** Throws E_BAD_CPU unless `nrCpus` is an integer in 1..4096. */
  constructor(nrCpus: number, clock: SimClock = new SimClock()) {
    if (!Number.isInteger(nrCpus) || nrCpus < 1 || nrCpus > 4096) fail(E.BadCpu, `nrCpus ${show(nrCpus)} must be an integer in 1..4096`, { value: nrCpus });
    this.nrCpus = nrCpus;
    this.clock = clock;
    for (let c = 0; c < nrCpus; c++) {
      this.pfnOf.push(new Map());
      this.staleOp.push(new Map());
    }
  }

  /** Throws E_BAD_CPU unless `cpu` is 0..nrCpus-1. */
  checkCpu(cpu: number): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.nrCpus)) fail(E.BadCpu, `cpu ${show(cpu)} does not exist (expected 0..${this.nrCpus - 1})`, { value: cpu });
  }

  /** The PFN `cpu` caches for `key` (a hit is counted), or -1 (a miss is counted). */
  lookup(cpu: number, key: number): number {
    const pfn = this.pfnOf[cpu]!.get(key);
    if (pfn === undefined) {
      this.counters.add(this.sMisses);
      return -1;
    }
    this.counters.add(this.sHits);
    return pfn;
  }

  /** Caches `key -> pfn` on `cpu` after a successful walk. */
  fill(cpu: number, key: number, pfn: number): void {
    this.dropStale(cpu, key);
    this.pfnOf[cpu]!.set(key, pfn);
  }

  /** True when `cpu` caches `key`. */
  caches(cpu: number, key: number): boolean {
    return this.pfnOf[cpu]!.has(key);
  }

  /** The page-table entry behind `key` changed without a flush: `cpu`'s entry (if any) is now stale, blamed on operation `opId`. */
  markStale(cpu: number, key: number, opId: number): boolean {
    const pfn = this.pfnOf[cpu]!.get(key);
    if (pfn === undefined || this.staleOp[cpu]!.has(key)) return false;
    this.staleOp[cpu]!.set(key, opId);
    this.stalePfns.set(pfn, (this.stalePfns.get(pfn) ?? 0) + 1);
    return true;
  }

  /** Is `cpu`'s entry for `key` stale? */
  isStale(cpu: number, key: number): boolean {
    return this.staleOp[cpu]!.has(key);
  }

  /** Number of stale entries translating to `pfn` on any CPU. */
  staleCount(pfn: number): number {
    return this.stalePfns.get(pfn) ?? 0;
  }

  /** Calls `visit(cpu, key, opId)` for every stale entry translating to `pfn`. */
  forEachStale(pfn: number, visit: (cpu: number, key: number, opId: number) => void): void {
    if (!this.stalePfns.has(pfn)) return;
    for (let c = 0; c < this.nrCpus; c++) {
      const pfns = this.pfnOf[c]!;
      for (const [key, op] of this.staleOp[c]!) if (pfns.get(key) === pfn) visit(c, key, op);
    }
  }

  /** Does any CPU cache a translation to `pfn` (stale or not)? */
  cachesPfn(pfn: number): boolean {
    for (const m of this.pfnOf) for (const p of m.values()) if (p === pfn) return true;
    return false;
  }

  /** INVLPG of `key` on `cpu` only. */
  invalidate(cpu: number, key: number): void {
    this.dropStale(cpu, key);
    this.pfnOf[cpu]!.delete(key);
  }

  private dropStale(cpu: number, key: number): void {
    const op = this.staleOp[cpu]!.get(key);
    if (op === undefined) return;
    this.staleOp[cpu]!.delete(key);
    const pfn = this.pfnOf[cpu]!.get(key)!;
    const n = this.stalePfns.get(pfn)! - 1;
    if (n === 0) this.stalePfns.delete(pfn);
    else this.stalePfns.set(pfn, n);
  }

  private clearCpu(cpu: number): void {
    for (const key of this.staleOp[cpu]!.keys()) this.dropStale(cpu, key);
    this.pfnOf[cpu]!.clear();
  }

  /** __flush_tlb_all on one CPU, no IPI (arch_mermap_flush_tlb). */
  flushLocal(cpu: number): void {
    this.checkCpu(cpu);
    this.clearCpu(cpu);
    this.counters.add(this.sFull);
    this.clock.charge('tlb_flush_full');
  }

  /** flush_tlb_all: a full flush on every CPU, IPIs to the others. */
  flushTlbAll(): void {
    for (let c = 0; c < this.nrCpus; c++) this.clearCpu(c);
    this.fullFlushGeneration++;
    this.counters.add(this.sFull, this.nrCpus);
    this.clock.charge('tlb_flush_full');
    this.sendIpis();
  }

  /** flush_tlb_kernel_range: a full flush above 33 pages, else INVLPG per page on every CPU (direct-map pages: no mermap entry is hit). */
  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void {
    const pages = endVpn - startVpn;
    if (pages <= 0) return;
    if (pages > TLB_SINGLE_PAGE_FLUSH_CEILING) {
      this.flushTlbAll();
      return;
    }
    this.counters.add(this.sSingle, pages * this.nrCpus);
    this.clock.charge('tlb_flush_single', pages);
    this.sendIpis();
  }

  private sendIpis(): void {
    const remote = this.nrCpus - 1;
    if (remote === 0) return;
    this.counters.add(this.sIpis, remote);
    this.clock.charge('tlb_ipi', remote);
  }
}
