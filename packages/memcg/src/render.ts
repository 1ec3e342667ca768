import { MemCgroup } from './cgroup.js';
import { MEMORY_EVENT_NAMES } from './events.js';
import { KIND_ANON, KIND_FILE, KIND_KERNEL, KIND_PAGETABLES, KIND_SEC_PAGETABLES } from './kinds.js';
import { V1_UNLIMITED_TEXT } from './limits.js';

/** memory.stat `kernel` (MEMCG_KMEM): all kmem charges, page tables included. */
export function kernelBytes(stat: Float64Array): number {
  return stat[KIND_KERNEL]! + stat[KIND_PAGETABLES]! + stat[KIND_SEC_PAGETABLES]!;
}

/**
 * cgroup v2 memory.stat keys in the kernel's order: memory_stats[] then pgscan, pgsteal and
 * memcg_vm_event_stat[] (mm/memcontrol.c, mainline as of 6.18, built with CONFIG_SWAP,
 * CONFIG_ZSWAP and CONFIG_TRANSPARENT_HUGEPAGE, without NUMA balancing; hugetlb is hidden
 * unless the memory_hugetlb_accounting mount option is set). kmodel models anon, file,
 * kernel, pagetables and sec_pagetables; the LRU keys follow from them (new pages start on
 * the inactive lists); every other key prints 0.
 */
export const MEMORY_STAT_V2_KEYS = [
  'anon', 'file', 'kernel', 'kernel_stack', 'pagetables', 'sec_pagetables', 'percpu', 'sock', 'vmalloc', 'shmem',
  'zswap', 'zswapped', 'file_mapped', 'file_dirty', 'file_writeback', 'swapcached', 'anon_thp', 'file_thp', 'shmem_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable', 'slab',
  'workingset_refault_anon', 'workingset_refault_file', 'workingset_activate_anon', 'workingset_activate_file',
  'workingset_restore_anon', 'workingset_restore_file', 'workingset_nodereclaim',
  'pgdemote_kswapd', 'pgdemote_direct', 'pgdemote_khugepaged',
  'pgscan', 'pgsteal',
  'pgscan_kswapd', 'pgscan_direct', 'pgscan_khugepaged', 'pgsteal_kswapd', 'pgsteal_direct', 'pgsteal_khugepaged',
  'pgfault', 'pgmajfault', 'pgrefill', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed',
  'swpin_zero', 'swpout_zero', 'zswpin', 'zswpout', 'zswpwb',
  'thp_fault_alloc', 'thp_collapse_alloc', 'thp_swpout', 'thp_swpout_fallback',
] as const;

/** The v2 memory.stat values kmodel computes, by key (others are 0). */
export function memoryStatV2(cg: MemCgroup): Record<string, number> {
  const s = cg.stat;
  const out: Record<string, number> = {};
  for (const k of MEMORY_STAT_V2_KEYS) out[k] = 0;
  out.anon = s[KIND_ANON]!;
  out.file = s[KIND_FILE]!;
  out.kernel = kernelBytes(s);
  out.pagetables = s[KIND_PAGETABLES]!;
  out.sec_pagetables = s[KIND_SEC_PAGETABLES]!;
  out.inactive_anon = s[KIND_ANON]!;
  out.inactive_file = s[KIND_FILE]!;
  return out;
}

/** Renders v2 memory.stat as the kernel prints it: one "key value\n" line per key, bytes. */
export function renderMemoryStatV2(cg: MemCgroup): string {
  const v = memoryStatV2(cg);
  let text = '';
  for (const k of MEMORY_STAT_V2_KEYS) text += `${k} ${v[k]}\n`;
  return text;
}

/** Renders memory.events or memory.events.local (__memory_events_show). */
export function renderMemoryEvents(events: Float64Array): string {
  let text = '';
  MEMORY_EVENT_NAMES.forEach((name, i) => (text += `${name} ${events[i]}\n`));
  return text;
}

/**
 * cgroup v1 memory.stat keys (memcg1_stat_format, mm/memcontrol-v1.c), as read on the
 * reference machine (Linux 6.18): local keys, the two hierarchical limits, then total_* keys.
 * v1 has no pagetables key: page tables show only in memory.kmem.usage_in_bytes.
 */
export const MEMORY_STAT_V1_KEYS = [
  'cache', 'rss', 'rss_huge', 'shmem', 'mapped_file', 'dirty', 'writeback', 'workingset_refault_anon', 'workingset_refault_file',
  'swap', 'swapcached', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault', 'inactive_anon', 'active_anon', 'inactive_file',
  'active_file', 'unevictable',
] as const;

function v1Values(s: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of MEMORY_STAT_V1_KEYS) out[k] = 0;
  out.cache = s[KIND_FILE]!;
  out.rss = s[KIND_ANON]!;
  out.inactive_anon = s[KIND_ANON]!;
  out.inactive_file = s[KIND_FILE]!;
  return out;
}

/** Renders v1 memory.stat (bytes; the hierarchical limits as the kernel prints them). */
export function renderMemoryStatV1(cg: MemCgroup): string {
  const local = v1Values(cg.localStat);
  const total = v1Values(cg.stat);
  let limit = Infinity;
  for (let c: MemCgroup | null = cg; c; c = c.parent) limit = Math.min(limit, c.max);
  let text = '';
  for (const k of MEMORY_STAT_V1_KEYS) text += `${k} ${local[k]}\n`;
  text += `hierarchical_memory_limit ${limit === Infinity ? V1_UNLIMITED_TEXT : limit}\n`;
  text += `hierarchical_memsw_limit ${V1_UNLIMITED_TEXT}\n`;
  for (const k of MEMORY_STAT_V1_KEYS) text += `total_${k} ${total[k]}\n`;
  return text;
}
