import type { MmId } from '@kmodel/core';
import { NR_CHARGE_KINDS } from './kinds.js';
import { NR_MEMORY_EVENTS } from './events.js';

/**
 * One memory cgroup (struct mem_cgroup): its page counter (usage, limits, watermark, failcnt),
 * hierarchical statistics by charge kind, and event counters. Internal: users reach it
 * through {@link MemcgTree}.
 * @internal
 */
export class MemCgroup {
  readonly path: string;
  readonly parent: MemCgroup | null;
  readonly children: MemCgroup[] = [];
  /** Address spaces attached here, in attach order. */
  readonly mms = new Set<MmId>();

  /** page_counter memory: bytes charged to this cgroup and its descendants. */
  usage = 0;
  /** page_counter watermark: memory.peak / memory.max_usage_in_bytes. */
  watermark = 0;
  /** page_counter failcnt: charges that failed at this counter. */
  failcnt = 0;
  /** memory.max / memory.limit_in_bytes (bytes; Infinity = none). */
  max = Infinity;
  /** memory.high (v2). */
  high = Infinity;
  /** memory.low (v2). */
  low = 0;
  /** memory.min (v2). */
  min = 0;
  /** v1 kmem page counter (kernel, pagetables, sec_pagetables). */
  kmem = 0;
  kmemWatermark = 0;
  /** memory.oom_control oom_kill_disable (v1). */
  oomKillDisable = false;
  /** memory.oom.group (v2): an OOM kill in this subtree kills the whole group. */
  oomGroup = false;

  /** Hierarchical bytes by charge kind (memory.stat; v1 total_*). */
  readonly stat = new Float64Array(NR_CHARGE_KINDS);
  /** Bytes by charge kind charged by tasks in this cgroup itself (v1 memory.stat local keys). */
  readonly localStat = new Float64Array(NR_CHARGE_KINDS);
  /** memory.events (hierarchical on v2). */
  readonly events = new Float64Array(NR_MEMORY_EVENTS);
  /** memory.events.local. */
  readonly eventsLocal = new Float64Array(NR_MEMORY_EVENTS);
  /** Simulated ns that tasks of this subtree slept in memory.high throttling. */
  throttledNs = 0;

  constructor(path: string, parent: MemCgroup | null) {
    this.path = path;
    this.parent = parent;
  }

  /** True for the root cgroup. */
  get isRoot(): boolean {
    return this.parent === null;
  }

  /** This cgroup and its descendants, parents before children (css_for_each_descendant_pre). */
  *preorder(): Generator<MemCgroup> {
    yield this;
    for (const c of this.children) yield* c.preorder();
  }

  /** True if `this` is `other` or lies below it. */
  isDescendantOf(other: MemCgroup): boolean {
    for (let c: MemCgroup | null = this; c; c = c.parent) if (c === other) return true;
    return false;
  }
}
