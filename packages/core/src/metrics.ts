import { CoreErrorCode, fail, show } from './errors.js';

/**
 * The metric names every package counts with (shared reference: metrics.md). Kernel names
 * and units first (`/proc` sizes in kB); where the kernel has no counter the name is
 * `<package>.<what>`. Everything else is bytes, counts or simulated nanoseconds (`_ns`).
 */
export const METRICS = {
  addressSpace: ['VmPTE', 'VmRSS', 'RssAnon', 'pgtables_bytes', 'nr_ptes', 'nr_pmds', 'nr_puds', 'reclaimable_pt_bytes'],
  machine: ['MemTotal', 'MemFree', 'PageTables', 'SecPageTables', 'nr_free_pages', 'pgfault'],
  buddy: ['buddy.fallbacks', 'buddy.claims', 'buddy.steals', 'buddy.unmapped_conversions', 'buddy.movable_blocks_polluted'],
  memcg: [
    'memory.current', 'memory.max', 'memory.high',
    'memory.stat.anon', 'memory.stat.file', 'memory.stat.kernel', 'memory.stat.pagetables', 'memory.stat.sec_pagetables',
    'memory.events.high', 'memory.events.max', 'memory.events.oom', 'memory.events.oom_kill',
    'memory.low', 'memory.min', 'memory.peak', 'memory.events.low', 'memcg.throttled_ns',
    'memory.usage_in_bytes', 'memory.kmem.usage_in_bytes', 'memory.failcnt', 'memory.max_usage_in_bytes',
    'memory.limit_in_bytes', 'memory.oom_control.under_oom', 'memory.oom_control.oom_kill',
  ],
  reclaim: [
    'pt_reclaim.pte_tables_freed', 'pt_reclaim.pmd_tables_freed', 'pt_reclaim.bytes_freed', 'pt_reclaim.entries_scanned',
    'pt_reclaim.refaults', 'mmap_lock.write_hold_ns', 'mmap_lock.waiters',
  ],
  tlb: ['tlb.hits', 'tlb.misses', 'tlb.flush_single', 'tlb.flush_full', 'tlb.ipis', 'tlb.stale_hazards'],
  directmap: ['directmap.split_1g', 'directmap.split_2m', 'directmap.kernel_pt_pages', 'directmap.flushes'],
  mermap: ['mermap.gets', 'mermap.failures', 'mermap.reserved_gets', 'mermap.local_flushes'],
  cost: ['time_ns', 'host_ms'],
} as const;

/** One of the standard metric names. */
export type MetricName = (typeof METRICS)[keyof typeof METRICS][number];

/** A flat snapshot of metrics: name to number. */
export type MetricSnapshot = Record<string, number>;

/**
 * A fixed set of named counters backed by a Float64Array. Names are resolved to slots once
 * ({@link Counters.slot}); hot paths then add by slot index, with no string lookups.
 */
export class Counters {
  private readonly names: readonly string[];
  private readonly index = new Map<string, number>();
  private readonly values: Float64Array;

  constructor(names: readonly string[]) {
    this.names = [...names];
    this.values = new Float64Array(names.length);
    names.forEach((n, i) => {
      if (this.index.has(n)) fail(CoreErrorCode.OutOfRange, `duplicate counter name ${show(n)}`);
      this.index.set(n, i);
    });
  }

  /** Slot index of a counter; throws E_UNKNOWN_KEY for a name not in the set. */
  slot(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) fail(CoreErrorCode.UnknownKey, `unknown counter ${show(name)}; known: ${this.names.join(', ')}`, { key: name });
    return i;
  }

  /** Adds `by` (default 1) to the counter in `slot`. */
  add(slot: number, by = 1): void {
    this.values[slot] += by;
  }

  /** Current value of a counter by name. */
  get(name: string): number {
    return this.values[this.slot(name)]!;
  }

  /** All counters as a plain object, in declaration order. */
  snapshot(): MetricSnapshot {
    const out: MetricSnapshot = {};
    this.names.forEach((n, i) => (out[n] = this.values[i]!));
    return out;
  }

  /** Sets every counter back to 0. */
  reset(): void {
    this.values.fill(0);
  }
}

/**
 * Samples of several metrics over simulated time, column-oriented (the `series` of a
 * report): one `time_ns` column plus one column per metric, all the same length.
 */
export class TimeSeries {
  readonly time_ns: number[] = [];
  readonly columns = new Map<string, number[]>();

  /** Appends one sample; a metric absent from this sample but seen before repeats its last value. */
  sample(time_ns: number, values: MetricSnapshot): void {
    const n = this.time_ns.length;
    this.time_ns.push(time_ns);
    for (const [k, v] of Object.entries(values)) {
      let col = this.columns.get(k);
      if (!col) {
        col = new Array<number>(n).fill(0);
        this.columns.set(k, col);
      }
      col.push(v);
    }
    for (const col of this.columns.values()) if (col.length === n) col.push(n > 0 ? col[n - 1]! : 0);
  }

  /** Number of samples. */
  get length(): number {
    return this.time_ns.length;
  }

  /** The largest value each metric reached. */
  peak(): MetricSnapshot {
    const out: MetricSnapshot = {};
    for (const [k, col] of this.columns) out[k] = col.reduce((a, b) => (b > a ? b : a), -Infinity);
    return out;
  }

  /** Plain-object form, as in the report's `series`. */
  toJSON(): Record<string, number[]> {
    return { time_ns: [...this.time_ns], ...Object.fromEntries([...this.columns].map(([k, v]) => [k, [...v]])) };
  }
}
