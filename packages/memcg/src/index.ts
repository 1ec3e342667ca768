/**
 * @packageDocumentation
 * Memory cgroups for kmodel: a hierarchy that charges address spaces' memory (page tables
 * included, as GFP_PGTABLE_USER is accounted) by memory.stat category, enforces memory.max
 * with reclaim and an OOM killer that counts page tables in oom_badness, throttles at
 * memory.high, and renders the cgroup v2 and v1 files in the kernel's text format.
 */
export { MemcgErrorCode } from './errors.js';
export { CHARGE_KINDS, kindIndex } from './kinds.js';
export { MEMORY_EVENT_NAMES } from './events.js';
export type { MemoryEventName } from './events.js';
export { PAGE_COUNTER_MAX, V1_UNLIMITED_TEXT, memparse, parseLimit, parseLimitText, formatLimitV1, formatLimitV2 } from './limits.js';
export type { CgroupVersion, LimitInput } from './limits.js';
export { OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX, oomBadness } from './oom.js';
export {
  DEFAULT_HZ, MAX_RECLAIM_RETRIES, MEMCG_DELAY_PRECISION_SHIFT, MEMCG_DELAY_SCALING_SHIFT, MEMCG_CHARGE_BATCH, SWAP_CLUSTER_MAX, calculateHighDelay, calculateOverage,
} from './high-delay.js';
export type { HighDelayPolicy } from './high-delay.js';
export { MEMORY_STAT_V1_KEYS, MEMORY_STAT_V2_KEYS } from './render.js';
export { MemcgTree } from './tree.js';
export { NR_MEMCG_STOCK } from './stock.js';
export type {
  CgroupLimits, CgroupOptions, MemcgEvent, MemcgPolicy, MemcgTreeOptions, OomKillEvent, OomNoVictimEvent, OomStall, OomStallEvent,
} from './types.js';
export { AccountingAllocator, CurrentMm } from './accounting-allocator.js';
