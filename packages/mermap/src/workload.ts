import {
  __GFP_UNMAPPED,
  Counters,
  fail,
  GFP_KERNEL,
  Rng,
  show,
  SimClock,
  type CostModel,
  type DirectMapControl,
  type MetricSnapshot,
  type PageAllocator,
  type Pfn,
  type TableAllocator,
} from '@kmodel/core';
import { createPageTable, TlbSystem } from '@kmodel/pgtable';
import { MermapErrorCode as E } from './errors.js';
import { Mermap } from './mermap.js';
import { STALE_TLB_MODES, StaleTlbChecker, type StaleHazard, type StaleTlbMode } from './stale.js';
import { MermapTlb, PgtableMermapTlb, type MermapTlbModel } from './tlb.js';

/**
 * How guest_memfd-like memory is kept out of (or in) the direct map:
 * - `direct_map`: (a) it stays in the direct map; the kernel zeroes and copies through it.
 * - `per_page`: (b) each folio is allocated mapped, zeroed through the direct map, then
 *   removed (set_direct_map_valid_noflush + flush_tlb_kernel_range, as secretmem and
 *   guest_memfd NO_DIRECT_MAP do today) and restored before it is freed.
 * - `freetype`: (c) `__GFP_UNMAPPED` from the page allocator, which converts whole
 *   pageblocks; the folio is zeroed through the mermap.
 * In (b) and (c) copy-on-write and read() reach the memory through the mermap.
 */
export type DirectMapStrategy = 'direct_map' | 'per_page' | 'freetype';
/** The strategies in report order. */
export const DIRECT_MAP_STRATEGIES: readonly DirectMapStrategy[] = ['direct_map', 'per_page', 'freetype'];

/** Parameters of {@link runUnmappedWorkload}; every field but `allocations` has a default. */
export interface UnmappedWorkloadOptions {
  /** Folios allocated and zeroed (guest memory population). */
  allocations: number;
  /** Folio order (0 = 4 KiB pages; 9 = 2 MiB folios, larger than a mermap slice can map at once). Default 0. */
  order?: number;
  /** Copy-on-write faults: a live folio is copied into a newly allocated one. Default 0. */
  cowFaults?: number;
  /** read() calls: a live folio is mapped and copied out. Default 0. */
  reads?: number;
  /** Folios freed during the run (random live ones without a mapping held). Default 0. */
  frees?: number;
  /** Free every folio still live at the end (after all mappings are put). Default true. */
  teardown?: boolean;
  /** CPUs. Default 2. */
  nrCpus?: number;
  /** Which CPU runs each operation: seeded random or round-robin. Default `random`. */
  cpuPolicy?: 'random' | 'round_robin';
  /**
   * A mapping taken for a read or a copy is put after 0..maxHold further operations
   * (the task was preempted while holding it, so the CPU's slots and slice fill up).
   * Default 0: every mapping is put before the next operation.
   */
  maxHold?: number;
  /** Stale-TLB checker mode. Default `report`. */
  checker?: StaleTlbMode;
  /** Pages per mermap slice. Default 512. */
  slicePages?: number;
  /** RNG seed. Default 1. */
  seed?: number;
  /** Hazard reports to keep. Default 20. */
  maxReports?: number;
  /**
   * The TLB model: `exact` ({@link MermapTlb}: every filled translation stays until flushed)
   * or `pgtable` (`@kmodel/pgtable`'s set-associative TlbSystem through {@link PgtableMermapTlb}:
   * entries can be evicted, so fewer stale entries survive). Default `exact`.
   */
  tlbModel?: 'exact' | 'pgtable';
}

/** What a strategy's machine provides to the workload. */
export interface StrategyMachine {
  /** The page allocator (for `freetype` it must convert pageblocks on `__GFP_UNMAPPED`). */
  allocator: PageAllocator;
  /** The direct map (per-page removal calls it directly). */
  directMap: DirectMapControl;
  /** Metrics of the machine's layers read at the end (directmap.*, buddy.*, ...). */
  metrics(): MetricSnapshot;
}

/** The shared pieces a machine factory must wire in: the TLB model (as the direct map's flusher) and the clock. */
export interface StrategyEnv {
  strategy: DirectMapStrategy;
  nrCpus: number;
  tlb: MermapTlbModel;
  clock: SimClock;
}

/** Builds the machine for one strategy. */
export type StrategyMachineFactory = (env: StrategyEnv) => StrategyMachine;

/** The outcome of one strategy. */
export interface StrategyResult {
  strategy: DirectMapStrategy;
  /**
   * Final metrics: the machine's (`directmap.split_1g`, `directmap.split_2m`,
   * `directmap.kernel_pt_pages`, `directmap.flushes`, `buddy.*` ...), the mermap's
   * (`mermap.gets`, `mermap.failures`, `mermap.reserved_gets`, `mermap.local_flushes`, ...),
   * the TLB's (`tlb.flush_single`, `tlb.flush_full`, `tlb.ipis`, `tlb.hits`, `tlb.misses`),
   * the checker's (`tlb.stale_hazards`, `checker.flushes`), the workload's (`workload.*`) and
   * `time_ns`.
   */
  metrics: MetricSnapshot;
  /** The first hazards found (each with the put and the free that caused it). */
  hazards: StaleHazard[];
}

/** Counter names of the workload itself. */
export const WORKLOAD_COUNTER_NAMES = [
  'workload.allocations',
  'workload.alloc_failures',
  'workload.cow_faults',
  'workload.reads',
  'workload.frees',
  'workload.pages_zeroed',
  'workload.pages_copied',
  'workload.reserved_fallbacks',
  'workload.unserved_pages',
  'workload.oversize_gets',
] as const;

const OP_ALLOC = 0;
const OP_COW = 1;
const OP_READ = 2;
const OP_FREE = 3;

/** Validates the options and fills the defaults. Throws E_BAD_OPTION naming the bad field. */
export function workloadDefaults(o: UnmappedWorkloadOptions): Required<UnmappedWorkloadOptions> {
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max) fail(E.BadOption, `workload option ${name} = ${show(v)}: expected an integer in ${min}..${max}`, { key: name, value: v });
    return v;
  };
  const r: Required<UnmappedWorkloadOptions> = {
    allocations: int('allocations', o.allocations, 0),
    order: int('order', o.order ?? 0, 0, 10),
    cowFaults: int('cowFaults', o.cowFaults ?? 0, 0),
    reads: int('reads', o.reads ?? 0, 0),
    frees: int('frees', o.frees ?? 0, 0),
    teardown: o.teardown ?? true,
    nrCpus: int('nrCpus', o.nrCpus ?? 2, 1, 4096),
    cpuPolicy: o.cpuPolicy ?? 'random',
    maxHold: int('maxHold', o.maxHold ?? 0, 0),
    checker: o.checker ?? 'report',
    slicePages: int('slicePages', o.slicePages ?? 512, 2, 1 << 20),
    seed: int('seed', o.seed ?? 1, 0),
    maxReports: int('maxReports', o.maxReports ?? 20, 0),
    tlbModel: o.tlbModel ?? 'exact',
  };
  if (r.tlbModel !== 'exact' && r.tlbModel !== 'pgtable') fail(E.BadOption, `workload option tlbModel = ${show(r.tlbModel)}: expected "exact" or "pgtable"`, { key: 'tlbModel' });
  if (r.cpuPolicy !== 'random' && r.cpuPolicy !== 'round_robin') fail(E.BadOption, `workload option cpuPolicy = ${show(r.cpuPolicy)}: expected "random" or "round_robin"`, { key: 'cpuPolicy' });
  if (!STALE_TLB_MODES.includes(r.checker)) fail(E.BadOption, `workload option checker = ${show(r.checker)}: expected one of ${STALE_TLB_MODES.join(', ')}`, { key: 'checker' });
  return r;
}

/** Page-table pages of the workload's own address space (the VMM): PFNs far above any RAM. */
function mmTables(): TableAllocator {
  let next = 2 ** 39;
  return { allocTable: () => next++, freeTable: () => {} };
}

/**
 * Runs the guest_memfd-like workload under one strategy: `allocations` folios allocated
 * and zeroed, then `cowFaults` copy-on-write faults, `reads` read() calls and `frees` frees
 * interleaved in a seeded random order, then (with `teardown`) every folio freed. Frees go
 * through the stale-TLB checker. Deterministic for a seed.
 */
export function runUnmappedWorkload(strategy: DirectMapStrategy, factory: StrategyMachineFactory, options: UnmappedWorkloadOptions, costs?: CostModel): StrategyResult {
  if (!DIRECT_MAP_STRATEGIES.includes(strategy)) fail(E.BadOption, `strategy ${show(strategy)} unknown; expected one of ${DIRECT_MAP_STRATEGIES.join(', ')}`, { value: strategy });
  const o = workloadDefaults(options);
  const clock = new SimClock(costs);
  const tlb: MermapTlbModel = o.tlbModel === 'exact' ? new MermapTlb(o.nrCpus, clock) : new PgtableMermapTlb(new TlbSystem({ cpus: o.nrCpus }), clock);
  const machine = factory({ strategy, nrCpus: o.nrCpus, tlb, clock });
  const checker = new StaleTlbChecker({ mode: o.checker, tlb, maxReports: o.maxReports });
  const pageTable = createPageTable({ levels: 4, tables: mmTables() });
  const mermap = new Mermap({ pageTable, tlb, checker, slicePages: o.slicePages, asid: 1 });
  if (!mermap.prepare()) fail(E.BadOption, 'the workload address space could not prepare its mermap');
  const w = new Workload(strategy, o, machine, mermap, checker, clock);
  w.run();
  const metrics: MetricSnapshot = {
    ...machine.metrics(),
    ...mermap.metrics(),
    ...tlb.metrics(),
    ...checker.counters.snapshot(),
    ...w.counters.snapshot(),
    time_ns: clock.now,
  };
  return { strategy, metrics, hazards: [...checker.hazards] };
}

/** Options of {@link runDirectMapStrategies}. */
export interface DirectMapStrategiesOptions extends UnmappedWorkloadOptions {
  /** Strategies to run, in order. Default all three. */
  strategies?: readonly DirectMapStrategy[];
  /** Builds each strategy's machine (direct map wired to `env.tlb`, allocator wired to the direct map). */
  createMachine: StrategyMachineFactory;
  /** Cost model for the simulated clock. Default the core defaults. */
  costs?: CostModel;
}

/**
 * The three-way comparison of the 2026 design: the same workload and seed under
 * `direct_map`, `per_page` and `freetype`. See {@link StrategyResult} for the metric names.
 */
export function runDirectMapStrategies(options: DirectMapStrategiesOptions): { results: StrategyResult[] } {
  const { strategies = DIRECT_MAP_STRATEGIES, createMachine, costs, ...workload } = options;
  workloadDefaults(workload);
  return { results: strategies.map((s) => runUnmappedWorkload(s, createMachine, workload, costs)) };
}

/** The metrics a strategy comparison shows by default, in this order. */
export const STRATEGY_REPORT_METRICS = [
  'directmap.split_1g',
  'directmap.split_2m',
  'directmap.kernel_pt_pages',
  'directmap.flushes',
  'mermap.gets',
  'mermap.failures',
  'mermap.reserved_gets',
  'mermap.local_flushes',
  'tlb.flush_single',
  'tlb.flush_full',
  'tlb.ipis',
  'tlb.stale_hazards',
  'time_ns',
] as const;

/** A plain-text table: one row per metric, one column per strategy (missing values print as "-"). */
export function formatStrategyTable(results: readonly StrategyResult[], metrics: readonly string[] = STRATEGY_REPORT_METRICS): string {
  const w0 = Math.max(6, ...metrics.map((m) => m.length));
  const cols = results.map((r) => Math.max(r.strategy.length, ...metrics.map((m) => String(r.metrics[m] ?? '-').length)));
  const row = (name: string, cells: string[]) => [name.padEnd(w0), ...cells.map((c, i) => c.padStart(cols[i]!))].join('  ');
  return [row('metric', results.map((r) => r.strategy)), ...metrics.map((m) => row(m, results.map((r) => String(r.metrics[m] ?? '-'))))].join('\n') + '\n';
}

/** The workload's state: live folios, held mappings, counters. */
class Workload {
  readonly counters = new Counters(WORKLOAD_COUNTER_NAMES);
  private readonly rng: Rng;
  private readonly pagesPerFolio: number;
  private readonly gfp: number;
  /** Live folios (first PFNs), swap-remove order. */
  private readonly live: Pfn[] = [];
  /** Mappings held per live folio (a folio with a held mapping is not freed). */
  private readonly held = new Map<Pfn, number>();
  /** Held mappings: [due step, handle, folio pfn]. */
  private pending: [number, number, Pfn][] = [];
  private step = 0;
  private rr = 0;

  constructor(
    private readonly strategy: DirectMapStrategy,
    private readonly o: Required<UnmappedWorkloadOptions>,
    private readonly machine: StrategyMachine,
    private readonly mermap: Mermap,
    private readonly checker: StaleTlbChecker,
    private readonly clock: SimClock,
  ) {
    this.rng = new Rng(o.seed);
    this.pagesPerFolio = 2 ** o.order;
    this.gfp = strategy === 'freetype' ? GFP_KERNEL | __GFP_UNMAPPED : GFP_KERNEL;
  }

  private c(name: (typeof WORKLOAD_COUNTER_NAMES)[number], by = 1): void {
    this.counters.add(this.counters.slot(name), by);
  }

  private cpu(): number {
    if (this.o.cpuPolicy === 'round_robin') return this.rr++ % this.o.nrCpus;
    return this.rng.int(0, this.o.nrCpus - 1);
  }

  run(): void {
    const o = this.o;
    for (let i = 0; i < o.allocations; i++) this.op(OP_ALLOC);
    const left = [0, o.cowFaults, o.reads, o.frees];
    let total = o.cowFaults + o.reads + o.frees;
    while (total > 0) {
      let pick = this.rng.int(0, total - 1);
      let kind = 1;
      while (pick >= left[kind]!) pick -= left[kind++]!;
      left[kind]!--;
      total--;
      this.op(kind);
    }
    for (const [, h, folio] of this.pending) this.release(h, folio);
    this.pending = [];
    if (o.teardown) while (this.live.length > 0) this.freeFolio(this.live.length - 1, this.cpu());
  }

  private op(kind: number): void {
    this.step++;
    this.releaseDue();
    const cpu = this.cpu();
    if (kind === OP_ALLOC) {
      const pfn = this.allocFolio();
      if (pfn >= 0) this.zero(cpu, pfn);
    } else if (kind === OP_COW) {
      this.cow(cpu);
    } else if (kind === OP_READ) {
      this.read(cpu);
    } else {
      this.freeRandom(cpu);
    }
  }

  private releaseDue(): void {
    if (this.pending.length === 0) return;
    const keep: [number, number, Pfn][] = [];
    for (const p of this.pending) {
      if (p[0] <= this.step) this.release(p[1], p[2]);
      else keep.push(p);
    }
    this.pending = keep;
  }

  private release(h: number, folio: Pfn): void {
    this.mermap.put(h);
    const n = this.held.get(folio)! - 1;
    if (n === 0) this.held.delete(folio);
    else this.held.set(folio, n);
  }

  /** Allocates a folio the strategy's way; -1 when the allocator (or the direct map) could not. */
  private allocFolio(): Pfn {
    const pfn = this.machine.allocator.allocPages(this.gfp, this.o.order);
    if (pfn === null) {
      this.c('workload.alloc_failures');
      return -1;
    }
    if (this.strategy === 'per_page') {
      // Zeroed through the direct map first (__GFP_ZERO), then removed and flushed.
      this.clock.charge('zero_page_4k', this.pagesPerFolio);
      this.c('workload.pages_zeroed', this.pagesPerFolio);
      if (!this.machine.directMap.removeRange(pfn, this.pagesPerFolio)) {
        this.machine.allocator.freePages(pfn, this.o.order);
        this.c('workload.alloc_failures');
        return -1;
      }
    }
    this.live.push(pfn);
    this.c('workload.allocations');
    return pfn;
  }

  /** Zeroes a new folio: through the direct map (a), already done (b), through the mermap (c). */
  private zero(cpu: number, pfn: Pfn): void {
    if (this.strategy === 'per_page') return;
    this.c('workload.pages_zeroed', this.pagesPerFolio);
    if (this.strategy === 'direct_map') {
      this.clock.charge('zero_page_4k', this.pagesPerFolio);
      return;
    }
    // __GFP_UNMAPPED | __GFP_ZERO: mermap_get, falling back to mermap_get_reserved per page.
    this.mapAndTouch(cpu, pfn, pfn, false);
  }

  /**
   * Maps [pfn, pfn + pages) through the mermap on `cpu`, touches every page (charging one
   * zero_page_4k per page for the copy or the zeroing) and either puts it now or holds it
   * (`hold`). When the get fails, falls back to one reserved page at a time.
   */
  private mapAndTouch(cpu: number, pfn: Pfn, folio: Pfn, hold: boolean): void {
    const n = this.pagesPerFolio;
    // __mermap_get returns NULL for more than a slice; the model's get throws, so check here.
    const h = n <= this.mermap.slicePages ? this.mermap.get(cpu, pfn, n) : -1;
    if (n > this.mermap.slicePages) this.c('workload.oversize_gets');
    this.clock.charge('zero_page_4k', n);
    if (h >= 0) {
      this.mermap.touch(h);
      const due = hold && this.o.maxHold > 0 ? this.step + this.rng.int(0, this.o.maxHold) : this.step;
      if (due > this.step) {
        this.pending.push([due, h, folio]);
        this.held.set(folio, (this.held.get(folio) ?? 0) + 1);
      } else {
        this.mermap.put(h);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const r = this.mermap.getReserved(cpu, pfn + i);
      if (r < 0) {
        this.c('workload.unserved_pages');
        continue;
      }
      this.c('workload.reserved_fallbacks');
      this.mermap.touch(r);
      this.mermap.put(r);
    }
  }

  private pickLive(): number {
    return this.live.length === 0 ? -1 : this.rng.int(0, this.live.length - 1);
  }

  /** A copy-on-write fault: a new folio gets a copy of a live one. */
  private cow(cpu: number): void {
    const i = this.pickLive();
    if (i < 0) return;
    const src = this.live[i]!;
    const dst = this.machine.allocator.allocPages(this.gfp, this.o.order);
    if (dst === null) {
      this.c('workload.alloc_failures');
      return;
    }
    this.c('workload.cow_faults');
    this.c('workload.pages_copied', this.pagesPerFolio);
    if (this.strategy === 'direct_map') {
      this.clock.charge('zero_page_4k', this.pagesPerFolio);
    } else {
      // The source is unmapped: read it through the mermap.
      this.mapAndTouch(cpu, src, src, true);
      if (this.strategy === 'freetype') {
        // The destination is unmapped too: write it through the mermap.
        this.mapAndTouch(cpu, dst, dst, false);
      } else if (!this.machine.directMap.removeRange(dst, this.pagesPerFolio)) {
        // per_page: written through the direct map, then removed.
        this.machine.allocator.freePages(dst, this.o.order);
        this.c('workload.alloc_failures');
        return;
      }
    }
    this.live.push(dst);
  }

  /** read(): copy a live folio out to user memory. */
  private read(cpu: number): void {
    const i = this.pickLive();
    if (i < 0) return;
    const src = this.live[i]!;
    this.c('workload.reads');
    this.c('workload.pages_copied', this.pagesPerFolio);
    if (this.strategy === 'direct_map') this.clock.charge('zero_page_4k', this.pagesPerFolio);
    else this.mapAndTouch(cpu, src, src, true);
  }

  private freeRandom(cpu: number): void {
    if (this.live.length === 0) return;
    // A folio with a mapping held is busy; take the first idle one from a random start.
    const start = this.pickLive();
    for (let k = 0; k < this.live.length; k++) {
      const i = (start + k) % this.live.length;
      if (!this.held.has(this.live[i]!)) {
        this.freeFolio(i, cpu);
        return;
      }
    }
  }

  private freeFolio(i: number, cpu: number): void {
    const pfn = this.live[i]!;
    this.live[i] = this.live[this.live.length - 1]!;
    this.live.pop();
    // per_page: set_direct_map_default_noflush before the page goes back (no flush owed).
    if (this.strategy === 'per_page') this.machine.directMap.restoreRange(pfn, this.pagesPerFolio);
    this.checker.onFree(pfn, this.pagesPerFolio, cpu);
    this.machine.allocator.freePages(pfn, this.o.order);
    this.c('workload.frees');
  }
}
