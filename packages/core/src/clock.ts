import { CoreErrorCode, fail, show } from './errors.js';

/**
 * Simulated time. Every modeled operation advances a {@link SimClock} by a cost in
 * nanoseconds taken from a {@link CostModel}; results report `time_ns`, never host time.
 *
 * The defaults were measured on the real kernel (Linux 6.18, x86-64, 2-CPU VM, median of
 * 5 runs of C loops) or taken from kernel comments; see `docs/cost-model.md`.
 */
export const DEFAULT_COSTS = {
  /** Read fault mapping the shared zero page, PTE table already present (measured 502-532 ns). */
  fault_read_zero: 500,
  /** Read fault that also allocates a PTE table (measured 1.57-1.65 us). */
  fault_read_zero_new_table: 1600,
  /** Read fault mapping the huge zero page at PMD level with a deposited PTE table (measured 1.38-1.39 us). */
  fault_read_huge_zero: 1400,
  /** Write fault allocating and zeroing a 4 KiB page (measured 2.1-2.6 us). */
  fault_write: 2300,
  /** Write fault that also allocates a PTE table (measured 2.33-2.36 us). */
  fault_write_new_table: 2350,
  /**
   * THP write fault: allocate and zero a 2 MiB page and map it at PMD level (measured: median of
   * 5 runs 174-217 us over 7 runs of packages/mm/test/native/thp-fault.c; median 215 us; the
   * VM's first touch of memory handed back by free page reporting, 4.6-6.6 ms, left out).
   */
  fault_write_thp: 215_000,
  /** MADV_DONTNEED, per PTE table zapped and freed (measured 0.55-0.77 us). */
  dontneed_per_table_freed: 650,
  /** munmap, per zero-page entry (measured 10-11 ns). */
  munmap_per_zero_entry: 10,
  /** munmap, per anonymous page freed (measured 103-106 ns). */
  munmap_per_anon_page: 105,
  /** munmap, per PTE table freed holding one entry (measured 540-550 ns). */
  munmap_per_table_freed: 550,
  /** INVLPG of one page: arch/x86/mm/tlb.c, tlb_single_page_flush_ceiling comment (33 pages ~ 3 us). */
  tlb_flush_single: 100,
  /** Full TLB flush: the same ceiling, above 33 single flushes a full flush is cheaper. */
  tlb_flush_full: 3300,
  /** Sending one TLB-shootdown IPI to a remote CPU. Not measured here: a parameter. */
  tlb_ipi: 1000,
  /** Examining one page-table entry in a software scan (reclaim scanners). Not measured here: a parameter. */
  pte_scan_entry: 2,
  /** Uncontended mmap_lock write acquisition. Not measured here: a parameter. */
  mmap_lock_write: 50,
  /** Uncontended mmap_lock read acquisition. Not measured here: a parameter. */
  mmap_lock_read: 20,
  /** Extra work per page-table walker in the 2021-2022 pte_refcount designs (pte_try_get/pte_put). A parameter. */
  pte_ref_walker_overhead: 15,
  /** Splitting a direct-map huge leaf (allocate and fill a kernel page-table page). A parameter. */
  directmap_split: 2000,
  /** Zeroing a 4 KiB page through a mapping. A parameter. */
  zero_page_4k: 250,
} as const;

/** Names of modeled operations that have a cost. */
export type CostName = keyof typeof DEFAULT_COSTS;
/** Nanoseconds per modeled operation. */
export type CostModel = Readonly<Record<CostName, number>>;

/** Builds a cost model from the defaults and user overrides; unknown names or negative costs throw. */
export function costModel(overrides: Partial<Record<string, number>> = {}): CostModel {
  const model: Record<string, number> = { ...DEFAULT_COSTS };
  for (const [name, ns] of Object.entries(overrides)) {
    if (!(name in DEFAULT_COSTS)) fail(CoreErrorCode.UnknownKey, `unknown cost ${show(name)}; expected one of ${Object.keys(DEFAULT_COSTS).join(', ')}`, { key: name });
    if (typeof ns !== 'number' || !Number.isFinite(ns) || ns < 0) fail(CoreErrorCode.OutOfRange, `cost ${name} must be a non-negative number of ns, got ${show(ns)}`, { key: name, value: ns });
    model[name] = ns;
  }
  return Object.freeze(model) as CostModel;
}

/** A simulated clock: a monotonically increasing count of nanoseconds. */
export class SimClock {
  private ns = 0;
  readonly costs: CostModel;

  constructor(costs: CostModel = costModel()) {
    this.costs = costs;
  }

  /** Current simulated time in ns. */
  get now(): number {
    return this.ns;
  }

  /**
   * Advances by `count` operations of `op` and returns the cost charged. The lookup by name is
   * a megamorphic property load in V8 (~5 ns); a hot path reads `costs.<name>` at its own call
   * site and passes it to {@link SimClock.advance}.
   */
  charge(op: CostName, count = 1): number {
    const cost = this.costs[op] * count;
    this.ns += cost;
    return cost;
  }

  /** Advances by a raw number of nanoseconds (e.g. a throttling delay). */
  advance(ns: number): void {
    if (!(ns >= 0) || !Number.isFinite(ns)) fail(CoreErrorCode.OutOfRange, `cannot advance the clock by ${show(ns)} ns`, { value: ns });
    this.ns += ns;
  }
}
