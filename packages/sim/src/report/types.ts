/**
 * The report of `kmodel run` / `kmodel compare` (shared reference: metrics.md). Metric names
 * are the kernel's (`VmPTE`, `PageTables` in kB; `pgtables_bytes` in bytes) or
 * `<package>.<what>`. Everything is a function of the scenario and seed, except `host_ms`,
 * which appears only when asked for (`--host-time`).
 */

/** Machine-wide metrics plus per-process and per-cgroup metrics nested by name / path. */
export interface MetricsBlock {
  [metric: string]: number | Record<string, Record<string, number>>;
}

/** Something that happened at one simulated instant (an OOM kill, a policy trigger...). */
export interface SimEvent {
  readonly time_ns: number;
  readonly type: string;
  readonly [field: string]: string | number | boolean;
}

/** One run of the scenario under one policy. */
export interface RunResult {
  readonly policy: string;
  readonly final: MetricsBlock;
  readonly peak: MetricsBlock;
  /** Column-oriented samples: `time_ns` plus one column per sampled metric, all the same length. */
  readonly series: Record<string, number[]>;
  readonly events: SimEvent[];
  /** Host wall time of the run in ms; present only when the caller asked for it. */
  readonly host_ms?: number;
}

/** The whole report, as `--json` prints it. */
export interface Report {
  readonly kmodel: string;
  readonly scenario: string;
  readonly seed: number;
  readonly runs: RunResult[];
}

/** The machine-wide metrics sampled into every run's series (the HTML charts read these). */
export const SERIES_METRICS = [
  'PageTables',
  'nr_ptes',
  'nr_pmds',
  'nr_puds',
  'VmRSS',
  'RssAnon',
  'MemFree',
  'reclaimable_pt_bytes',
  'pt_reclaim.bytes_freed',
  'memory.events.oom_kill',
  'mmap_lock.write_hold_ns',
] as const;
