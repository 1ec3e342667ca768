/** Identity of an address space (and of the task that owns it) across packages. */
export type MmId = number;

/** What a charge is for: the memory.stat categories. */
export type ChargeKind = 'anon' | 'file' | 'kernel' | 'pagetables' | 'sec_pagetables';

/**
 * Memory-cgroup charging as the allocating layers see it (mem_cgroup_charge /
 * __memcg_kmem_charge_page). Page-table pages are charged as `pagetables` because they are
 * allocated with GFP_PGTABLE_USER (__GFP_ACCOUNT). The stock implementation is `@kmodel/memcg`.
 */
export interface Charger {
  /**
   * Charges `bytes` of `kind` to the cgroup of `mm`. May reclaim, throttle or OOM-kill a task
   * (possibly `mm` itself) to make room. Returns false when the charge could not be made; the
   * caller then fails the allocation (VM_FAULT_OOM / -ENOMEM) and changes nothing else.
   *
   * @param gfp the allocation's GFP mask (try_charge_memcg's gfp_mask): without
   *   `__GFP_DIRECT_RECLAIM` the charge fails instead of reclaiming, with `__GFP_NORETRY` it fails
   *   before retrying and the OOM killer. Default: what the kernel allocates `kind` with
   *   (GFP_PGTABLE_USER for page tables, GFP_HIGHUSER_MOVABLE for anon and file, GFP_KERNEL_ACCOUNT otherwise).
   */
  charge(mm: MmId, kind: ChargeKind, bytes: number, gfp?: number): boolean;
  /** Returns a charge when the memory is freed. */
  uncharge(mm: MmId, kind: ChargeKind, bytes: number): void;
  /**
   * The task `mm` returns to user mode (resume_user_mode_work): work the charges left for
   * this moment runs now, i.e. memory.high reclaim and throttling
   * (mem_cgroup_handle_over_high). The address-space layer calls it at the end of every
   * fault and memory syscall; a charger without such work omits it.
   */
  returnToUser?(mm: MmId): void;
}

/** A charger that accepts everything, for users without cgroups. */
export const NOOP_CHARGER: Charger = {
  charge: () => true,
  uncharge: () => {},
};

/**
 * Why the memcg layer asks for reclaim: the three callers of try_to_free_mem_cgroup_pages()
 * in mm/memcontrol.c and mm/memcontrol-v1.c.
 * - `max`: direct reclaim inside a charge that hit memory.max / memory.limit_in_bytes
 *   (try_charge_memcg), repeated up to MAX_RECLAIM_RETRIES times before the OOM killer runs.
 * - `high`: the cgroup is above memory.high; the charging task reclaims when it returns to
 *   user mode, or inside the charge once it owes more than a batch
 *   (mem_cgroup_handle_over_high → reclaim_high). Never followed by an OOM kill.
 * - `limit`: a write to memory.max / memory.high (memory_max_write, memory_high_write) or to
 *   v1 memory.limit_in_bytes (mem_cgroup_resize_max) below the usage. No task is charging.
 */
export type ReclaimReason = 'max' | 'high' | 'limit';

/** MEMCG_RECLAIM_MAY_SWAP (include/linux/swap.h): reclaim may swap anonymous memory out. */
export const MEMCG_RECLAIM_MAY_SWAP = 1 << 1;
/** MEMCG_RECLAIM_PROACTIVE: proactive reclaim (memory.reclaim), not on behalf of an allocation. */
export const MEMCG_RECLAIM_PROACTIVE = 1 << 2;

/**
 * The arguments of try_to_free_mem_cgroup_pages(memcg, nr_pages, gfp_mask, reclaim_options)
 * besides the cgroup, and the task that reclaims (`current`).
 */
export interface ReclaimRequest {
  /** Why reclaim runs. */
  readonly reason: ReclaimReason;
  /**
   * The task in whose charge (or return to user mode) reclaim runs, or null for a limit write.
   * A policy must not free the tables that task's fault in progress is building.
   */
  readonly mm: MmId | null;
  /** What `mm` is charging (null when reclaim does not run inside a charge: `high` at return to user, `limit`). */
  readonly kind: ChargeKind | null;
  /** The charge's GFP mask (GFP_KERNEL for `limit` and for `high` at return to user). */
  readonly gfp: number;
  /**
   * nr_pages as the kernel passes it: the pages being charged for `max` (not the batch), the
   * pages charged above memory.high (or SWAP_CLUSTER_MAX on a retry) for `high`, the excess
   * over the new limit for a v2 `limit` write and 1 for a v1 one. The reclaim target in bytes
   * is the second argument of {@link Reclaimer.reclaim}.
   */
  readonly nrPages: number;
  /** reclaim_options: MEMCG_RECLAIM_MAY_SWAP and/or MEMCG_RECLAIM_PROACTIVE bits. */
  readonly reclaimOptions: number;
}

/**
 * Reclaim on behalf of a cgroup or the machine (try_to_free_mem_cgroup_pages analog):
 * asked by the memcg layer for room before it declares OOM, above memory.high, and when a
 * limit is lowered. Page-table reclaim policies plug in here.
 */
export interface Reclaimer {
  /**
   * Tries to free `bytes` charged to cgroup `cgroup` (null: the whole machine). Returns the
   * bytes actually freed. `request` says why and for whom (absent: reclaim with no task and no
   * cgroup limit behind it, e.g. a user or test asking the machine for room).
   */
  reclaim(cgroup: string | null, bytes: number, request?: ReclaimRequest): number;
}

/** A reclaimer that frees nothing. */
export const NOOP_RECLAIMER: Reclaimer = { reclaim: () => 0 };

/** What the OOM killer needs to know about a task (oom_badness inputs). */
export interface OomTaskStats {
  /** Resident pages (get_mm_rss: file + anon + shmem). */
  rssPages: number;
  /** mm->pgtables_bytes. */
  pgtablesBytes: number;
  /** Swap entries (get_mm_counter(mm, MM_SWAPENTS)). */
  swapents: number;
  /** oom_score_adj, -1000..1000. */
  oomScoreAdj: number;
}

/** The tasks the OOM killer may pick from, and how to kill one (the layer that owns the address spaces implements this). */
export interface OomHost {
  /** Current badness inputs of a live task, or null if it has exited. */
  oomStats(mm: MmId): OomTaskStats | null;
  /** Kills the task: its address space is torn down (exit_mmap) and its memory uncharged. */
  oomKill(mm: MmId): void;
}
