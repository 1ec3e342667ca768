import { existsSync, readFileSync } from 'node:fs';
import { machine, release, version } from 'node:os';
import { gunzipSync } from 'node:zlib';

/** Kernel config options that decide the page-table numbers of a trace. */
export const RELEVANT_CONFIG: readonly string[] = [
  'CONFIG_PT_RECLAIM',
  'CONFIG_MMU_GATHER_RCU_TABLE_FREE',
  'CONFIG_PGTABLE_LEVELS',
  'CONFIG_TRANSPARENT_HUGEPAGE',
  'CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS',
  'CONFIG_TRANSPARENT_HUGEPAGE_MADVISE',
  'CONFIG_SPLIT_PTE_PTLOCKS',
  'CONFIG_MEMCG',
];

/** The kernel a native run happened on: what a recording must state to be reproducible. */
export interface KernelEnvironment {
  /** `uname -r`. */
  readonly release: string;
  /** `uname -v`. */
  readonly version: string;
  /** `uname -m`. */
  readonly machine: string;
  /** Whether 5-level paging is active (the `la57` CPU flag, which Linux clears when it runs 4-level). */
  readonly la57: boolean;
  /** {@link RELEVANT_CONFIG} options from /proc/config.gz or /boot/config-<release>; `"n"` when unset, empty when unreadable. */
  readonly config: Readonly<Record<string, string>>;
  /** Where `config` came from, or `"unavailable"`. */
  readonly configSource: string;
  /** The active choice of /sys/kernel/mm/transparent_hugepage/{enabled,defrag} and use_zero_page. */
  readonly thp: { readonly enabled: string; readonly defrag: string; readonly useZeroPage: string };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The bracketed choice of a sysfs selector such as `always [madvise] never`. */
function selected(path: string): string {
  const text = readText(path)?.trim();
  if (text === undefined) return 'unavailable';
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? text;
}

function kernelConfig(rel: string): { config: Record<string, string>; source: string } {
  let text: string | undefined;
  let source = 'unavailable';
  if (existsSync('/proc/config.gz')) {
    try {
      text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
      source = '/proc/config.gz';
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) {
    text = readText(`/boot/config-${rel}`);
    if (text !== undefined) source = `/boot/config-${rel}`;
  }
  const config: Record<string, string> = {};
  if (text === undefined) return { config, source };
  for (const key of RELEVANT_CONFIG) {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
    config[key] = m?.[1] ?? 'n';
  }
  return { config, source };
}

/** Describes the running kernel (uname, paging levels, relevant config, THP mode). Linux only. */
export function kernelEnvironment(): KernelEnvironment {
  const rel = release();
  const { config, source } = kernelConfig(rel);
  const cpuinfo = readText('/proc/cpuinfo') ?? '';
  return {
    release: rel,
    version: version(),
    machine: machine(),
    la57: /^flags\s*:.*\bla57\b/m.test(cpuinfo),
    config,
    configSource: source,
    thp: {
      enabled: selected('/sys/kernel/mm/transparent_hugepage/enabled'),
      defrag: selected('/sys/kernel/mm/transparent_hugepage/defrag'),
      useZeroPage: readText('/sys/kernel/mm/transparent_hugepage/use_zero_page')?.trim() ?? 'unavailable',
    },
  };
}
