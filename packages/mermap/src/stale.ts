import { Counters, fail, show, type PageAllocator, type Pfn, type Vpn } from '@kmodel/core';
import { MermapErrorCode as E } from './errors.js';
import type { MermapTlbModel } from './tlb.js';

/**
 * What the stale-TLB checker does when pages are freed (the options raised at LSFMM+BPF
 * 2026 for mermap users):
 * - `report`: the caller must flush before freeing; the checker only reports frees of
 *   pages that some CPU still caches (the lockdep-like check).
 * - `flush_on_free`: the free path always flushes every CPU's TLB before an unmapped page
 *   goes back (the allocator cannot tell which pages the mermap touched).
 * - `page_flag`: mermap_put marks the page "flush needed" (a page flag); the free path
 *   flushes only when a freed page carries the mark and no full flush happened since.
 */
export type StaleTlbMode = 'report' | 'flush_on_free' | 'page_flag';
/** The modes, for validation and iteration. */
export const STALE_TLB_MODES: readonly StaleTlbMode[] = ['report', 'flush_on_free', 'page_flag'];

/** One operation that takes part in a hazard. */
export interface TlbOp {
  /** Sequence number (order of operations on the machine). */
  seq: number;
  op: 'mermap_put' | 'free_pages';
  /** CPU that ran it (-1 when unknown, e.g. a free without a CPU). */
  cpu: number;
  /** First PFN concerned and the page count. */
  pfn: Pfn;
  nrPages: number;
  /** Mermap address of a put (VPN), -1 for a free. */
  vpn: Vpn;
  /** Simulated time. */
  time_ns: number;
}

/** A page freed while a CPU still cached a translation to it: both operations that caused it. */
export interface StaleHazard {
  pfn: Pfn;
  /** The CPU holding the stale entry and the mermap address it caches. */
  cpu: number;
  vpn: Vpn;
  /** The mermap_put that rewrote the entry without a flush. */
  put: TlbOp;
  /** The free of the page. */
  free: TlbOp;
}

/** Counter names of a {@link StaleTlbChecker}. */
export const CHECKER_COUNTER_NAMES = ['tlb.stale_hazards', 'checker.frees', 'checker.flushes'] as const;

/** Options of {@link StaleTlbChecker}. */
export interface StaleTlbCheckerOptions {
  mode: StaleTlbMode;
  tlb: MermapTlbModel;
  /** How many hazard reports to keep (all are counted). Default 100. */
  maxReports?: number;
}

/**
 * The stale-TLB checker: on every free of pages, finds CPUs that still cache a translation
 * to them and reports each with the mermap_put that left it and the free, after applying
 * the mode's flush policy (see {@link StaleTlbMode}). Flushes it performs are full flushes
 * of every CPU through the TLB model, so their IPIs and time are counted there.
 */
export class StaleTlbChecker {
  readonly mode: StaleTlbMode;
  readonly tlb: MermapTlbModel;
  readonly counters = new Counters(CHECKER_COUNTER_NAMES);
  /** The first `maxReports` hazards found. */
  readonly hazards: StaleHazard[] = [];
  private readonly maxReports: number;
  private seq = 0;
  // Recorded mermap_put operations (only those that left a stale entry), by id.
  private readonly putCpu: number[] = [];
  private readonly putPfn: number[] = [];
  private readonly putPages: number[] = [];
  private readonly putVpn: number[] = [];
  private readonly putTime: number[] = [];
  private readonly putSeq: number[] = [];
  /** page_flag mode: pfn -> the full-flush generation in which mermap_put marked it. */
  private readonly flushNeeded = new Map<Pfn, number>();
  private readonly sHazards = this.counters.slot('tlb.stale_hazards');
  private readonly sFrees = this.counters.slot('checker.frees');
  private readonly sFlushes = this.counters.slot('checker.flushes');

  /** Throws E_BAD_OPTION for an unknown mode. */
  constructor(options: StaleTlbCheckerOptions) {
    if (!STALE_TLB_MODES.includes(options.mode)) fail(E.BadOption, `stale-TLB mode ${show(options.mode)} unknown; expected one of ${STALE_TLB_MODES.join(', ')}`, { value: options.mode });
    this.mode = options.mode;
    this.tlb = options.tlb;
    this.maxReports = options.maxReports ?? 100;
  }

  /** Records a mermap_put that left stale entries; returns the id the TLB blames them on. */
  recordPut(cpu: number, vpn: Vpn, pfn: Pfn, nrPages: number): number {
    this.putCpu.push(cpu);
    this.putPfn.push(pfn);
    this.putPages.push(nrPages);
    this.putVpn.push(vpn);
    this.putTime.push(this.tlb.clock.now);
    this.putSeq.push(this.seq++);
    return this.putCpu.length - 1;
  }

  /** mermap_put of [pfn, pfn + nrPages): in `page_flag` mode, marks the pages "flush needed". */
  notePut(pfn: Pfn, nrPages: number): void {
    if (this.mode !== 'page_flag') return;
    const gen = this.tlb.fullFlushGeneration;
    for (let i = 0; i < nrPages; i++) this.flushNeeded.set(pfn + i, gen);
  }

  /** Is `pfn` marked "flush needed" (page_flag mode) with no full flush since? */
  needsFlush(pfn: Pfn): boolean {
    return this.flushNeeded.get(pfn) === this.tlb.fullFlushGeneration;
  }

  /**
   * The page allocator frees [pfn, pfn + nrPages) on `cpu`: applies the mode's flush, then
   * reports every stale entry still translating to a freed page. Returns the hazards found.
   */
  onFree(pfn: Pfn, nrPages: number, cpu = -1): number {
    if (!Number.isSafeInteger(pfn) || pfn < 0 || !Number.isSafeInteger(nrPages) || nrPages < 1) fail(E.BadPages, `free of [${show(pfn)}, +${show(nrPages)}) is not a PFN range`, { pfn, nrPages });
    this.counters.add(this.sFrees);
    const tlb = this.tlb;
    if (this.mode === 'flush_on_free') {
      tlb.flushTlbAll();
      this.counters.add(this.sFlushes);
    } else if (this.mode === 'page_flag') {
      let flagged = false;
      for (let i = 0; i < nrPages; i++) {
        if (this.needsFlush(pfn + i)) flagged = true;
        this.flushNeeded.delete(pfn + i);
      }
      if (flagged) {
        tlb.flushTlbAll();
        this.counters.add(this.sFlushes);
      }
    }
    let found = 0;
    let free: TlbOp | null = null;
    for (let i = 0; i < nrPages; i++) {
      const p = pfn + i;
      if (tlb.staleCount(p) === 0) continue;
      free ??= { seq: this.seq++, op: 'free_pages', cpu, pfn, nrPages, vpn: -1, time_ns: tlb.clock.now };
      const f: TlbOp = free;
      tlb.forEachStale(p, (c, vpn, opId) => {
        found++;
        if (this.hazards.length < this.maxReports) this.hazards.push({ pfn: p, cpu: c, vpn, put: this.putOp(opId), free: f });
      });
    }
    this.counters.add(this.sHazards, found);
    return found;
  }

  private putOp(id: number): TlbOp {
    return { seq: this.putSeq[id] ?? -1, op: 'mermap_put', cpu: this.putCpu[id] ?? -1, pfn: this.putPfn[id] ?? -1, nrPages: this.putPages[id] ?? 0, vpn: this.putVpn[id] ?? -1, time_ns: this.putTime[id] ?? 0 };
  }

  /** Human-readable lines for the reports, lockdep style. */
  describe(h: StaleHazard): string {
    return `stale TLB entry: pfn ${h.pfn} freed (op #${h.free.seq} at ${h.free.time_ns} ns${h.free.cpu >= 0 ? ` on cpu ${h.free.cpu}` : ''}) while cpu ${h.cpu} still caches it at vpn 0x${h.vpn.toString(16)}, left by mermap_put (op #${h.put.seq} at ${h.put.time_ns} ns on cpu ${h.put.cpu}) without a TLB flush`;
  }
}

/**
 * Wraps a page allocator so that every free first goes through the checker (the "hook on
 * free" of the design). `cpuOf` tells which CPU frees (default: unknown).
 */
export function withStaleTlbCheck(allocator: PageAllocator, checker: StaleTlbChecker, cpuOf: () => number = () => -1): PageAllocator {
  return {
    allocPages: (gfp, order) => allocator.allocPages(gfp, order),
    freePages: (pfn, order) => {
      checker.onFree(pfn, 2 ** order, cpuOf());
      allocator.freePages(pfn, order);
    },
    managedPages: () => allocator.managedPages(),
    nrFreePages: () => allocator.nrFreePages(),
  };
}
