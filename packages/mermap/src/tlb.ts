import { Counters, fail, show, SimClock, type MetricSnapshot, type PageTable, type Vpn, _PAGE_PRESENT } from '@kmodel/core';
import { INVPCID_TYPE_ALL_INCL_GLOBAL, type TlbSystem, type X86PageTable } from '@kmodel/pgtable';
import { MermapErrorCode as E } from './errors.js';

/** tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c). */
const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/**
 * What the mermap and the stale-TLB checker need from a per-CPU TLB model. Two
 * implementations: {@link MermapTlb} (exact bookkeeping of every translation the model
 * fills, no capacity limit) and {@link PgtableMermapTlb} (on `@kmodel/pgtable`'s
 * set-associative `TlbSystem`, where entries can also be evicted). Both are the direct map's
 * `KernelTlbFlusher` too, so its flushes clear mermap entries.
 */
export interface MermapTlbModel {
  readonly nrCpus: number;
  /** The clock flushes are charged to (and the checker timestamps with). */
  readonly clock: SimClock;
  /** Full flushes that reached every CPU so far (flush_tlb_all): a generation number. */
  readonly fullFlushGeneration: number;
  /** Whether the last {@link translate} was served by a stale entry. */
  readonly lastHitStale: boolean;
  /** Throws E_BAD_CPU unless `cpu` is 0..nrCpus-1. */
  checkCpu(cpu: number): void;
  /** CPU `cpu`, running address space `asid` with page table `pt`, accesses `vpn`: the PFN reached, or -1 for a fault. */
  translate(cpu: number, asid: number, pt: PageTable, vpn: Vpn): number;
  /** Does `cpu` cache a translation of `vpn` for `asid`? */
  caches(cpu: number, asid: number, vpn: Vpn): boolean;
  /** The entry behind `vpn` was rewritten without a flush: `cpu`'s cached translation (if any) is now stale, blamed on `opId`. */
  markStale(cpu: number, asid: number, vpn: Vpn, opId: number): boolean;
  /** Number of stale entries translating to `pfn` on any CPU. */
  staleCount(pfn: number): number;
  /** Calls `visit(cpu, vpn, opId)` for every stale entry translating to `pfn`. */
  forEachStale(pfn: number, visit: (cpu: number, vpn: Vpn, opId: number) => void): void;
  /** __flush_tlb_all on one CPU, no IPI (arch_mermap_flush_tlb). */
  flushLocal(cpu: number): void;
  /** flush_tlb_all. */
  flushTlbAll(): void;
  /** flush_tlb_kernel_range. */
  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void;
  /** `tlb.*` counters. */
  metrics(): MetricSnapshot;
}

/** Counter names of a {@link MermapTlb}. */
export const MERMAP_TLB_COUNTER_NAMES = ['tlb.hits', 'tlb.misses', 'tlb.flush_single', 'tlb.flush_full', 'tlb.ipis'] as const;

/** One CPU's translations of one address space. */
interface AsidEntries {
  /** vpn -> pfn. */
  pfn: Map<number, number>;
  /** vpn -> id of the put that made the entry stale (stale entries only). */
  stale: Map<number, number>;
}

/**
 * Exact per-CPU TLB bookkeeping for the mermap: every translation the model fills stays
 * until a flush removes it (no capacity limit, no eviction; a real TLB may drop an entry
 * earlier, never later, so hazards found here are possible, not certain). Entries are per
 * (CPU, address space), as PCIDs tag them. An entry is *stale* once the page-table entry
 * behind it no longer maps its PFN (mermap_put rewrote it without a flush).
 *
 * Range flushes of direct-map addresses (at most 33 pages) leave mermap entries alone: they
 * are other pages.
 */
export class MermapTlb implements MermapTlbModel {
  readonly nrCpus: number;
  readonly counters = new Counters(MERMAP_TLB_COUNTER_NAMES);
  readonly clock: SimClock;
  fullFlushGeneration = 0;
  lastHitStale = false;
  private readonly cpus: Map<number, AsidEntries>[] = [];
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
    for (let c = 0; c < nrCpus; c++) this.cpus.push(new Map());
  }

  checkCpu(cpu: number): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.nrCpus)) fail(E.BadCpu, `cpu ${show(cpu)} does not exist (expected 0..${this.nrCpus - 1})`, { value: cpu });
  }

  private entries(cpu: number, asid: number): AsidEntries {
    const m = this.cpus[cpu]!;
    let e = m.get(asid);
    if (!e) {
      e = { pfn: new Map(), stale: new Map() };
      m.set(asid, e);
    }
    return e;
  }

  translate(cpu: number, asid: number, pt: PageTable, vpn: Vpn): number {
    const e = this.entries(cpu, asid);
    const hit = e.pfn.get(vpn);
    if (hit !== undefined) {
      this.counters.add(this.sHits);
      this.lastHitStale = e.stale.has(vpn);
      return hit;
    }
    this.counters.add(this.sMisses);
    this.lastHitStale = false;
    if (!(pt.entryFlags(vpn, 1) & _PAGE_PRESENT)) return -1;
    const pfn = pt.entryPfn(vpn, 1);
    e.pfn.set(vpn, pfn);
    return pfn;
  }

  caches(cpu: number, asid: number, vpn: Vpn): boolean {
    return this.cpus[cpu]!.get(asid)?.pfn.has(vpn) ?? false;
  }

  markStale(cpu: number, asid: number, vpn: Vpn, opId: number): boolean {
    const e = this.cpus[cpu]!.get(asid);
    const pfn = e?.pfn.get(vpn);
    if (e === undefined || pfn === undefined || e.stale.has(vpn)) return false;
    e.stale.set(vpn, opId);
    this.stalePfns.set(pfn, (this.stalePfns.get(pfn) ?? 0) + 1);
    return true;
  }

  staleCount(pfn: number): number {
    return this.stalePfns.get(pfn) ?? 0;
  }

  forEachStale(pfn: number, visit: (cpu: number, vpn: Vpn, opId: number) => void): void {
    if (!this.stalePfns.has(pfn)) return;
    for (let c = 0; c < this.nrCpus; c++) {
      for (const e of this.cpus[c]!.values()) for (const [vpn, op] of e.stale) if (e.pfn.get(vpn) === pfn) visit(c, vpn, op);
    }
  }

  /** Does any CPU cache a translation to `pfn` (stale or not)? */
  cachesPfn(pfn: number): boolean {
    for (const m of this.cpus) for (const e of m.values()) for (const p of e.pfn.values()) if (p === pfn) return true;
    return false;
  }

  private clearCpu(cpu: number): void {
    for (const e of this.cpus[cpu]!.values()) {
      for (const vpn of e.stale.keys()) {
        const pfn = e.pfn.get(vpn)!;
        const n = this.stalePfns.get(pfn)! - 1;
        if (n === 0) this.stalePfns.delete(pfn);
        else this.stalePfns.set(pfn, n);
      }
    }
    this.cpus[cpu]!.clear();
  }

  flushLocal(cpu: number): void {
    this.checkCpu(cpu);
    this.clearCpu(cpu);
    this.counters.add(this.sFull);
    this.clock.charge('tlb_flush_full');
  }

  flushTlbAll(): void {
    for (let c = 0; c < this.nrCpus; c++) this.clearCpu(c);
    this.fullFlushGeneration++;
    this.counters.add(this.sFull, this.nrCpus);
    this.clock.charge('tlb_flush_full');
    this.sendIpis();
  }

  /** Above 33 pages a full flush, else INVLPG per page on every CPU (direct-map pages: no mermap entry is hit). */
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

  metrics(): MetricSnapshot {
    return this.counters.snapshot();
  }
}

/**
 * The mermap's TLB needs on `@kmodel/pgtable`'s `TlbSystem` (set-associative per-CPU TLBs
 * with PCIDs, hardware walks, LRU eviction). A CPU is switched (CR3 with the no-flush bit) to
 * the address space's page table before it translates; the PCID is the address-space id
 * (1..4095). The adapter keeps which put blamed which stale entry, checking against the
 * TlbSystem's contents when asked, so entries the TLB evicted no longer count.
 *
 * Pass the adapter (not the TlbSystem) to the direct map, so that its flushes are charged
 * to the clock and advance the full-flush generation. The local flush is
 * `__flush_tlb_all()` as arch_mermap_flush_tlb does it: INVPCID "all, including globals" on
 * that CPU.
 */
export class PgtableMermapTlb implements MermapTlbModel {
  readonly nrCpus: number;
  readonly clock: SimClock;
  readonly system: TlbSystem;
  fullFlushGeneration = 0;
  lastHitStale = false;
  /** pfn -> blamed entries as flat (cpu, asid, vpn, opId) quadruples; pruned when checked. */
  private readonly blame = new Map<number, number[]>();

  constructor(system: TlbSystem, clock: SimClock = new SimClock()) {
    this.system = system;
    this.clock = clock;
    this.nrCpus = system.cpus.length;
  }

  checkCpu(cpu: number): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.nrCpus)) fail(E.BadCpu, `cpu ${show(cpu)} does not exist (expected 0..${this.nrCpus - 1})`, { value: cpu });
  }

  private load(cpu: number, asid: number, pt: PageTable): void {
    const sys = this.system;
    if (sys.loadedTable(cpu) !== pt || sys.pcidOf(cpu) !== asid) sys.switchMm(cpu, pt as X86PageTable, asid, true);
  }

  /** PFN `cpu` caches for (asid, vpn), or -1 (no counters). */
  private cachedPfn(cpu: number, asid: number, vpn: Vpn): number {
    const sys = this.system;
    if (sys.pcidOf(cpu) === asid) return sys.lookup(cpu, vpn);
    let found = -1;
    sys.cpus[cpu]!.forEach((v, level, pcid, pfn) => {
      if (level === 1 && v === vpn && pcid === asid) found = pfn;
    });
    return found;
  }

  translate(cpu: number, asid: number, pt: PageTable, vpn: Vpn): number {
    this.load(cpu, asid, pt);
    // A hit is stale when the page table no longer maps what the TLB gives.
    const cached = this.system.lookup(cpu, vpn);
    this.lastHitStale = cached >= 0 && (!(pt.entryFlags(vpn, 1) & _PAGE_PRESENT) || pt.entryPfn(vpn, 1) !== cached);
    return this.system.access(cpu, vpn);
  }

  caches(cpu: number, asid: number, vpn: Vpn): boolean {
    return this.cachedPfn(cpu, asid, vpn) >= 0;
  }

  markStale(cpu: number, asid: number, vpn: Vpn, opId: number): boolean {
    const pfn = this.cachedPfn(cpu, asid, vpn);
    if (pfn < 0) return false;
    let list = this.blame.get(pfn);
    if (!list) {
      list = [];
      this.blame.set(pfn, list);
    }
    list.push(cpu, asid, vpn, opId);
    return true;
  }

  /** Drops blamed entries the TLB no longer holds; returns the live quadruples for `pfn`. */
  private prune(pfn: number): number[] {
    const list = this.blame.get(pfn);
    if (!list) return [];
    const keep: number[] = [];
    for (let i = 0; i < list.length; i += 4) {
      const [cpu, asid, vpn, op] = [list[i]!, list[i + 1]!, list[i + 2]!, list[i + 3]!];
      if (this.cachedPfn(cpu, asid, vpn) === pfn) keep.push(cpu, asid, vpn, op);
    }
    if (keep.length === 0) this.blame.delete(pfn);
    else this.blame.set(pfn, keep);
    return keep;
  }

  staleCount(pfn: number): number {
    return this.prune(pfn).length / 4;
  }

  forEachStale(pfn: number, visit: (cpu: number, vpn: Vpn, opId: number) => void): void {
    const list = this.prune(pfn);
    for (let i = 0; i < list.length; i += 4) visit(list[i]!, list[i + 2]!, list[i + 3]!);
  }

  flushLocal(cpu: number): void {
    this.checkCpu(cpu);
    this.system.invpcid(cpu, INVPCID_TYPE_ALL_INCL_GLOBAL, 0);
    this.clock.charge('tlb_flush_full');
  }

  flushTlbAll(): void {
    this.system.flushTlbAll();
    this.fullFlushGeneration++;
    this.blame.clear();
    this.clock.charge('tlb_flush_full');
    if (this.nrCpus > 1) this.clock.charge('tlb_ipi', this.nrCpus - 1);
  }

  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void {
    const pages = endVpn - startVpn;
    if (pages <= 0) return;
    if (pages > this.system.flushCeiling) {
      this.flushTlbAll();
      return;
    }
    this.system.flushTlbKernelRange(startVpn, endVpn);
    this.clock.charge('tlb_flush_single', pages);
    if (this.nrCpus > 1) this.clock.charge('tlb_ipi', this.nrCpus - 1);
  }

  metrics(): MetricSnapshot {
    const m = this.system.counters.snapshot();
    delete m['tlb.stale_hazards'];
    return m;
  }
}
