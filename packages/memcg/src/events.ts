/**
 * memory.events counters (enum memcg_memory_event, include/linux/memcontrol.h), in the
 * order __memory_events_show() prints them.
 */
export const MEMORY_EVENT_NAMES = ['low', 'high', 'max', 'oom', 'oom_kill', 'oom_group_kill', 'sock_throttled'] as const;
export type MemoryEventName = (typeof MEMORY_EVENT_NAMES)[number];
export const MEMCG_LOW = 0;
export const MEMCG_HIGH = 1;
export const MEMCG_MAX = 2;
export const MEMCG_OOM = 3;
export const MEMCG_OOM_KILL = 4;
export const MEMCG_OOM_GROUP_KILL = 5;
export const NR_MEMORY_EVENTS = MEMORY_EVENT_NAMES.length;
