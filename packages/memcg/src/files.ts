import { CoreErrorCode, fail, show } from '@kmodel/core';
import type { MetricSnapshot } from '@kmodel/core';
import { MemCgroup } from './cgroup.js';
import { MemcgErrorCode } from './errors.js';
import { MEMCG_OOM_KILL, MEMORY_EVENT_NAMES } from './events.js';
import { KIND_ANON, KIND_FILE, KIND_PAGETABLES, KIND_SEC_PAGETABLES } from './kinds.js';
import { formatLimitV1, formatLimitV2, parseLimit } from './limits.js';
import type { CgroupVersion, LimitInput } from './limits.js';
import { kernelBytes, renderMemoryEvents, renderMemoryStatV1, renderMemoryStatV2 } from './render.js';

/** The files of one cgroup: which exist and are writable per version, their text and their numbers. */
export const V2_WRITABLE = ['memory.max', 'memory.high', 'memory.low', 'memory.min', 'memory.oom.group'] as const;
export const V1_WRITABLE = ['memory.limit_in_bytes', 'memory.kmem.limit_in_bytes', 'memory.oom_control', 'memory.max_usage_in_bytes', 'memory.failcnt'] as const;
export const V2_FILES = ['memory.current', 'memory.min', 'memory.low', 'memory.high', 'memory.max', 'memory.peak', 'memory.oom.group', 'memory.events', 'memory.events.local', 'memory.stat'] as const;
export const V1_FILES = [
  'memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.limit_in_bytes', 'memory.failcnt', 'memory.kmem.usage_in_bytes',
  'memory.kmem.max_usage_in_bytes', 'memory.kmem.limit_in_bytes', 'memory.kmem.failcnt', 'memory.oom_control', 'memory.stat', 'memory.use_hierarchy',
] as const;

/** The files of a version. */
export function filesOf(version: CgroupVersion): readonly string[] {
  return version === 'v2' ? V2_FILES : V1_FILES;
}

/** The writable files of a version. */
export function writableOf(version: CgroupVersion): readonly string[] {
  return version === 'v2' ? V2_WRITABLE : V1_WRITABLE;
}

/** Throws E_UNKNOWN_KEY unless `file` exists in `version`, naming the other version when it has it. */
export function checkFile(file: string, version: CgroupVersion): void {
  if (filesOf(version).includes(file)) return;
  const other = version === 'v2' ? 'v1' : 'v2';
  const hint = filesOf(other).includes(file) ? ` (a cgroup ${other} file)` : '';
  fail(CoreErrorCode.UnknownKey, `unknown ${version} file ${show(file)}${hint}; expected one of ${filesOf(version).join(', ')}`, { key: file });
}

/** Settings `MemcgTree.create` accepts: the writable files except the two reset files of v1. */
const SETTINGS_EXCLUDED = new Set(['memory.max_usage_in_bytes', 'memory.failcnt']);

/** memory.oom_control and memory.oom.group accept 0 or 1 (EINVAL otherwise). */
export function parseFlag(text: string, file: string): boolean {
  const t = String(text).trim();
  if (t !== '0' && t !== '1') fail(MemcgErrorCode.BadLimit, `${file} ${show(text)} must be 0 or 1`, { value: text });
  return t === '1';
}

/** Files that hold a 0/1 flag rather than a size. */
export function isFlagFile(file: string): boolean {
  return file === 'memory.oom_control' || file === 'memory.oom.group';
}

/** Validates one setting of `CgroupOptions.limits`; returns the parsed value (bytes, or a flag for oom_control). */
export function parseSetting(file: string, value: LimitInput | boolean, version: CgroupVersion): number | boolean {
  const settings = writableOf(version).filter((f) => !SETTINGS_EXCLUDED.has(f));
  if (!settings.includes(file)) fail(CoreErrorCode.UnknownKey, `unknown ${version} limit ${show(file)}; expected one of ${settings.join(', ')}`, { key: file });
  if (isFlagFile(file)) return typeof value === 'boolean' ? value : parseFlag(String(value), file);
  if (typeof value === 'boolean') return fail(MemcgErrorCode.BadLimit, `${file} ${show(value)} is not a limit`, { value });
  return parseLimit(value, version, file);
}

/** The text of a file (checked with {@link checkFile}), as the kernel prints it. */
export function readFile(cg: MemCgroup, file: string, version: CgroupVersion, underOom: boolean): string {
  if (version === 'v2') {
    switch (file) {
      case 'memory.current':
        return `${cg.usage}\n`;
      case 'memory.min':
        return `${formatLimitV2(cg.min)}\n`;
      case 'memory.low':
        return `${formatLimitV2(cg.low)}\n`;
      case 'memory.high':
        return `${formatLimitV2(cg.high)}\n`;
      case 'memory.max':
        return `${formatLimitV2(cg.max)}\n`;
      case 'memory.peak':
        return `${cg.watermark}\n`;
      case 'memory.oom.group':
        return `${cg.oomGroup ? 1 : 0}\n`;
      case 'memory.events':
        return renderMemoryEvents(cg.events);
      case 'memory.events.local':
        return renderMemoryEvents(cg.eventsLocal);
      default:
        return renderMemoryStatV2(cg);
    }
  }
  switch (file) {
    case 'memory.usage_in_bytes':
      return `${cg.usage}\n`;
    case 'memory.max_usage_in_bytes':
      return `${cg.watermark}\n`;
    case 'memory.limit_in_bytes':
      return `${formatLimitV1(cg.max)}\n`;
    case 'memory.failcnt':
      return `${cg.failcnt}\n`;
    case 'memory.kmem.usage_in_bytes':
      return `${cg.kmem}\n`;
    case 'memory.kmem.max_usage_in_bytes':
      return `${cg.kmemWatermark}\n`;
    case 'memory.kmem.limit_in_bytes':
      return `${formatLimitV1(Infinity)}\n`;
    case 'memory.kmem.failcnt':
      return '0\n';
    case 'memory.oom_control':
      return `oom_kill_disable ${cg.oomKillDisable ? 1 : 0}\nunder_oom ${underOom ? 1 : 0}\noom_kill ${cg.events[MEMCG_OOM_KILL]}\n`;
    case 'memory.use_hierarchy':
      return '1\n';
    default:
      return renderMemoryStatV1(cg);
  }
}

/** The cgroup's numbers under the metric names of metrics.md (see `MemcgTree.metrics`). */
export function cgroupMetrics(cg: MemCgroup, version: CgroupVersion, underOom: boolean): MetricSnapshot {
  const s = cg.stat;
  const stat = {
    'memory.stat.anon': s[KIND_ANON]!,
    'memory.stat.file': s[KIND_FILE]!,
    'memory.stat.kernel': kernelBytes(s),
    'memory.stat.pagetables': s[KIND_PAGETABLES]!,
    'memory.stat.sec_pagetables': s[KIND_SEC_PAGETABLES]!,
  };
  if (version === 'v2') {
    const out: MetricSnapshot = {
      'memory.current': cg.usage,
      'memory.max': cg.max,
      'memory.high': cg.high,
      'memory.low': cg.low,
      'memory.min': cg.min,
      'memory.peak': cg.watermark,
      ...stat,
    };
    for (let i = 0; i <= MEMCG_OOM_KILL; i++) out[`memory.events.${MEMORY_EVENT_NAMES[i]}`] = cg.events[i]!;
    out['memcg.throttled_ns'] = cg.throttledNs;
    return out;
  }
  return {
    'memory.usage_in_bytes': cg.usage,
    'memory.max_usage_in_bytes': cg.watermark,
    'memory.limit_in_bytes': cg.max,
    'memory.failcnt': cg.failcnt,
    'memory.kmem.usage_in_bytes': cg.kmem,
    ...stat,
    'memory.oom_control.under_oom': underOom ? 1 : 0,
    'memory.oom_control.oom_kill': cg.events[MEMCG_OOM_KILL]!,
  };
}
