import { PAGE_SIZE } from '@kmodel/core';
import type { MmId, OomHost, OomTaskStats } from '@kmodel/core';
import type { MemCgroup } from './cgroup.js';

/** OOM_SCORE_ADJ_MIN (include/uapi/linux/oom.h): the task is never chosen. */
export const OOM_SCORE_ADJ_MIN = -1000;
/** OOM_SCORE_ADJ_MAX. */
export const OOM_SCORE_ADJ_MAX = 1000;

/**
 * oom_badness() (mm/oom_kill.c): the task's resident pages plus swap entries plus page-table
 * pages, shifted by oom_score_adj in units of a thousandth of `totalpages`. Note the kernel
 * divides first (`adj *= totalpages / 1000`), so below 1000 pages the adjustment is 0.
 * Returns null (the kernel's LONG_MIN) for a task that must not be chosen.
 *
 * @param totalpages the OOM domain's size in pages; for a memcg OOM, mem_cgroup_get_max()
 *   (memory.max plus usable swap) or 1 when that is 0.
 */
export function oomBadness(stats: OomTaskStats, totalpages: number): number | null {
  if (stats.oomScoreAdj === OOM_SCORE_ADJ_MIN) return null;
  const points = stats.rssPages + stats.swapents + Math.floor(stats.pgtablesBytes / PAGE_SIZE);
  return points + stats.oomScoreAdj * Math.floor(totalpages / 1000);
}

/** The task select_bad_process() picked, with what it saw. */
export interface OomVictim {
  mm: MmId;
  stats: OomTaskStats;
  cgroup: MemCgroup;
  points: number;
}

/**
 * select_bad_process() for a memcg OOM: the tasks of `over`'s subtree (mem_cgroup_scan_tasks:
 * parents first, attach order), skipping `exempt` ones (already killed) and those the host no
 * longer knows. A later task wins a tie, as oom_evaluate_task() only skips lower scores.
 * @internal
 */
export function selectBadProcess(over: MemCgroup, host: OomHost, exempt: ReadonlySet<MmId>, totalpages: number): OomVictim | null {
  let chosen: OomVictim | null = null;
  for (const c of over.preorder()) {
    for (const mm of c.mms) {
      if (exempt.has(mm)) continue;
      const stats = host.oomStats(mm);
      if (!stats) continue;
      const points = oomBadness(stats, totalpages);
      if (points === null || (chosen && points < chosen.points)) continue;
      chosen = { mm, stats, cgroup: c, points };
    }
  }
  return chosen;
}

/**
 * mem_cgroup_get_oom_group(): the highest cgroup with memory.oom.group set on the way from the
 * victim's cgroup up to the OOM domain `over` (inclusive), or null. The root never counts.
 * @internal
 */
export function oomGroupOf(victimCg: MemCgroup, over: MemCgroup): MemCgroup | null {
  let group: MemCgroup | null = null;
  if (victimCg.isRoot) return null;
  for (let c: MemCgroup | null = victimCg; c; c = c.parent) {
    if (c.oomGroup) group = c;
    if (c === over) break;
  }
  return group;
}
