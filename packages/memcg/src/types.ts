import type { MmId, OomHost, Reclaimer, SimClock } from '@kmodel/core';
import type { HighDelayPolicy } from './high-delay.js';
import type { CgroupVersion, LimitInput } from './limits.js';

/** Tunables of the model that the kernel fixes at build time or leaves to heuristics. */
export interface MemcgPolicy {
  /** CONFIG_HZ: the unit of the memory.high penalty (jiffies). Default 250, the reference machine's. */
  hz: number;
  /** Reclaim attempts without progress before a memory.max OOM (MAX_RECLAIM_RETRIES = 16). */
  maxReclaimRetries: number;
  /**
   * MEMCG_CHARGE_BATCH = 64: pages charged to the page counters at a time (the surplus waits in
   * the per-CPU stock) and the over-high debt above which a charge settles it at once. At most 127.
   */
  chargeBatchPages: number;
  /** CPUs with a charge stock each (default 1: a single-task model runs on one CPU; see `MemcgTree.setCpu`). */
  nrCpus: number;
  /** Seed of the random choice of the stock slot refill_stock() drains when all NR_MEMCG_STOCK are taken (default 0). */
  stockSeed: number;
  /** The memory.high penalty in jiffies; default the kernel's `calculateHighDelay`. */
  highDelay: HighDelayPolicy;
  /**
   * When a charging task's OOM kill tears down the victim, the victim's page tables stay
   * charged through the charging task's next OOM decision (default true). The OOM reaper
   * unmaps a victim's memory but frees no page tables, and exit_mmap frees them through
   * deferred table freeing; on the live 6.18 kernel a task faulting page tables in a full
   * cgroup therefore saw a second OOM right after the first and killed the next-largest task
   * (itself, when it was that), while a victim's anonymous memory was back in time. False:
   * everything the victim frees is uncharged at once.
   */
  lateTableFree: boolean;
}

/** Options of a `MemcgTree`. */
export interface MemcgTreeOptions {
  /** The interface of the hierarchy: `'v2'` (unified, default) or `'v1'` (legacy memory controller). */
  version?: CgroupVersion;
  /** Asked for room before OOM and by memory.high; default frees nothing. */
  reclaimer?: Reclaimer;
  /** The tasks the OOM killer picks from; without one, a cgroup OOM cannot kill and the charge fails. */
  oomHost?: OomHost;
  /** Advanced by memory.high throttling delays and read for event times. */
  clock?: SimClock;
  policy?: Partial<MemcgPolicy>;
}

/** Limits and settings accepted by `MemcgTree.create`, by file name. */
export type CgroupLimits = Partial<Record<string, LimitInput | boolean>>;

/** Options of `MemcgTree.create`. */
export interface CgroupOptions {
  /** Must equal the hierarchy's version when given (a check for callers that pass it along). */
  version?: CgroupVersion;
  /** Create missing ancestors too (without limits), like `mkdir -p`. */
  parents?: boolean;
  /**
   * Initial settings by file name (entries whose value is undefined are skipped): v2
   * `memory.max`, `memory.high`, `memory.low`, `memory.min`, `memory.oom.group` (true or 1);
   * v1 `memory.limit_in_bytes`, `memory.kmem.limit_in_bytes` (accepted, no effect, as in 6.18)
   * and `memory.oom_control` (true or 1: OOM killer disabled).
   */
  limits?: CgroupLimits;
}

/** The OOM killer killed a task (oom_kill_process). Sizes are the victim's just before the kill. */
export interface OomKillEvent {
  type: 'oom_kill';
  time_ns: number;
  /** The cgroup whose limit was hit (oom_memcg). */
  cgroup: string;
  /** The victim's cgroup (task_memcg). */
  task_memcg: string;
  /** The victim. */
  mm: MmId;
  /** The task that was charging when the OOM happened, or null for an OOM from a limit write. */
  trigger_mm: MmId | null;
  rss_pages: number;
  /** RSS in kB, as VmRSS. */
  VmRSS: number;
  pgtables_bytes: number;
  /** Page tables in kB, as VmPTE and the kernel's "pgtables:" in the kill message. */
  VmPTE: number;
  swapents: number;
  oom_score_adj: number;
  /** oom_badness() of the victim. */
  points: number;
  /** The OOM domain's size in pages (mem_cgroup_get_max). */
  totalpages: number;
}

/** cgroup v1 with the OOM killer disabled: a charging task waits in mem_cgroup_oom_synchronize. */
export interface OomStallEvent {
  type: 'oom_stall';
  time_ns: number;
  cgroup: string;
  mm: MmId;
}

/** An OOM with nothing to kill (every task exempt, or no OomHost): the charge fails. */
export interface OomNoVictimEvent {
  type: 'oom_no_victim';
  time_ns: number;
  cgroup: string;
  trigger_mm: MmId | null;
}

/** What a `MemcgTree` records in its `events`. */
export type MemcgEvent = OomKillEvent | OomStallEvent | OomNoVictimEvent;

/** A task stalled under a v1 cgroup with oom_kill_disable (reported as `under_oom`). */
export interface OomStall {
  mm: MmId;
  cgroup: string;
  since_ns: number;
}

