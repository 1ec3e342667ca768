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
   */
  charge(mm: MmId, kind: ChargeKind, bytes: number): boolean;
  /** Returns a charge when the memory is freed. */
  uncharge(mm: MmId, kind: ChargeKind, bytes: number): void;
}

/** A charger that accepts everything, for users without cgroups. */
export const NOOP_CHARGER: Charger = {
  charge: () => true,
  uncharge: () => {},
};

/**
 * Reclaim on behalf of a cgroup or the machine (try_to_free_mem_cgroup_pages analog):
 * asked by the memcg layer for room before it declares OOM. Page-table reclaim policies plug in here.
 */
export interface Reclaimer {
  /** Tries to free `bytes` charged to cgroup `cgroup` (null: the whole machine). Returns the bytes actually freed. */
  reclaim(cgroup: string | null, bytes: number): number;
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
