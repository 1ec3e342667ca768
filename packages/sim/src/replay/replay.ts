import { GiB, NOOP_CHARGER } from '@kmodel/core';
import { StockMachine } from '../machine/build.js';
import type { MachineParts } from '../machine/parts.js';
import type { KernelProfile } from '../scenario/schema.js';
import type { StatusRecord, Trace } from '../trace/index.js';
import { traceWorkload } from '../workload/stock.js';

/** Options of {@link replayTrace}. */
export interface ReplayOptions {
  /** Kernel profile (default `linux-6.18`). */
  readonly profile?: KernelProfile;
  /** Replay inside a cgroup v2 with this `memory.max` (bytes). */
  readonly memoryMax?: number;
  /** Replay inside a cgroup v1 with this `memory.limit_in_bytes` (bytes). */
  readonly cgroupV1Limit?: number;
  /** With `cgroupV1Limit`: memory.oom_control's oom_kill_disable, so the task stalls at the limit instead of being killed. */
  readonly oomKillDisable?: boolean;
  /** Physical memory of the machine (default 24 GiB, like the reference machine). */
  readonly ram?: number;
  /** Layers to use instead of the stock ones. */
  readonly parts?: MachineParts;
  /** Called after each `mmap` op with its trace line and the start address the model mapped it at. */
  readonly onMmap?: (line: number, addr: bigint) => void;
}

/** The record that ends a replay whose process was OOM-killed. */
export interface OomKillRecord {
  readonly event: 'oom_kill';
  /** Label of the last status record before the kill ("" if none). */
  readonly after: string;
  readonly time_ns: number;
  /** The cgroup whose limit was hit. */
  readonly cgroup: string;
  /** The victim's sizes when it was killed: kB (`VmRSS`, `VmPTE`), pages and bytes. */
  readonly VmRSS: number;
  readonly VmPTE: number;
  readonly rss_pages: number;
  readonly pgtables_bytes: number;
  /** oom_badness() of the victim and the OOM domain's size in pages. */
  readonly points: number;
  readonly totalpages: number;
}

/** The record that ends a replay whose task stalled at a v1 limit with the OOM killer disabled. */
export interface OomStallRecord {
  readonly event: 'oom_stall';
  /** Label of the last status record before the stall ("" if none). */
  readonly after: string;
  readonly time_ns: number;
  readonly cgroup: string;
  /** The task's sizes when it stalled (kB). */
  readonly VmRSS: number;
  readonly VmPTE: number;
  readonly pgtables_bytes: number;
}

/** What {@link replayTrace} returns: status records, possibly ended by one OOM-kill or OOM-stall record. */
export type ReplayRecord = StatusRecord | OomKillRecord | OomStallRecord;

/** Name of the cgroup a limited replay runs in. */
export const REPLAY_CGROUP = '/kmodel-replay';

/**
 * Replays a trace (format v1) in one process of a fresh stock machine and returns one status
 * record per `status` op, with the fields of /proc/self/status and /proc/meminfo (kB) and then
 * the table counters (`nr_ptes`, `nr_pmds`, `nr_puds`, `pgtables_bytes`, `reclaimable_pt_bytes`).
 * With `memoryMax` (v2) or `cgroupV1Limit` (v1) the process runs in a limited cgroup and each
 * record carries that cgroup's metrics; an OOM kill ends the replay with an
 * {@link OomKillRecord}.
 */
export function replayTrace(trace: Trace, options: ReplayOptions = {}): ReplayRecord[] {
  const v1 = options.cgroupV1Limit !== undefined;
  const limited = v1 || options.memoryMax !== undefined;
  const machine = new StockMachine(
    {
      ram: options.ram ?? 24 * GiB,
      cpus: 2,
      levels: 4,
      profile: options.profile ?? 'linux-6.18',
      costs: {},
      cgroupVersion: v1 ? 1 : 2,
      cgroups: limited
        ? [{ path: REPLAY_CGROUP, limits: v1 ? { 'memory.limit_in_bytes': options.cgroupV1Limit!, ...(options.oomKillDisable ? { 'memory.oom_control': true } : {}) } : { 'memory.max': options.memoryMax! } }]
        : [],
      seed: 1,
      policy: 'kernel',
    },
    // Without a limit there is nothing to charge against: skip the memcg layer (it costs time per table).
    limited ? options.parts : { charger: NOOP_CHARGER, ...options.parts },
  );
  const proc = machine.spawn('trace', limited ? REPLAY_CGROUP : '/');
  machine.schedule(proc);
  const records: ReplayRecord[] = [];
  let last = '';
  // traceWorkload yields one mmap per mmap op, in order: their lines, for onMmap.
  const mmapLines = trace.ops.flatMap((op) => (op.op === 'mmap' ? [op.line] : []));
  let mmaps = 0;
  for (const op of traceWorkload(trace).ops) {
    const m = proc.apply(op);
    if (op.op === 'mmap' && options.onMmap !== undefined && proc.alive) {
      const start = proc.regionList().find((r) => r.name === op.region)!.start;
      options.onMmap(mmapLines[mmaps]!, BigInt(start));
    }
    if (op.op === 'mmap') mmaps++;
    if (op.op === 'status' && m) {
      const snap = machine.snapshot();
      const cg = limited ? snap.cgroups[REPLAY_CGROUP] : undefined;
      records.push({
        label: op.label,
        VmPTE: m.VmPTE,
        RssAnon: m.RssAnon,
        VmRSS: m.VmRSS,
        PageTables: snap.machine['PageTables']!,
        nr_ptes: m.nr_ptes,
        nr_pmds: m.nr_pmds,
        nr_puds: m.nr_puds,
        pgtables_bytes: m.pgtables_bytes,
        reclaimable_pt_bytes: m.reclaimable_pt_bytes,
        ...(cg ?? {}),
      });
      last = op.label;
    }
    if (!proc.alive && !proc.mmSpace.exited) {
      // Stalled (v1, OOM killer disabled): the task waits at the limit with everything still charged.
      const stall = machine.memcg?.events.find((e) => e.type === 'oom_stall');
      const m = proc.metrics();
      records.push({ event: 'oom_stall', after: last, time_ns: stall?.time_ns ?? machine.clock.now, cgroup: stall?.cgroup ?? REPLAY_CGROUP, VmRSS: m.VmRSS, VmPTE: m.VmPTE, pgtables_bytes: m.pgtables_bytes });
      break;
    }
    if (!proc.alive) {
      const kill = machine.memcg?.events.find((e) => e.type === 'oom_kill');
      if (kill && kill.type === 'oom_kill') {
        records.push({
          event: 'oom_kill',
          after: last,
          time_ns: kill.time_ns,
          cgroup: kill.cgroup,
          VmRSS: kill.VmRSS,
          VmPTE: kill.VmPTE,
          rss_pages: kill.rss_pages,
          pgtables_bytes: kill.pgtables_bytes,
          points: kill.points,
          totalpages: kill.totalpages,
        });
      }
      break;
    }
  }
  return records;
}

/** The status records of a replay (without a final OOM-kill or OOM-stall record). */
export function statusRecords(records: readonly ReplayRecord[]): StatusRecord[] {
  return records.filter((r): r is StatusRecord => !('event' in r));
}

/** Replay records as an aligned text table (status records), then the OOM kill if any. */
export function formatReplay(records: readonly ReplayRecord[]): string {
  const status = statusRecords(records);
  const cols = ['label', 'VmPTE', 'RssAnon', 'VmRSS', 'PageTables', 'nr_ptes', 'nr_pmds', 'nr_puds'];
  const extra = status.length ? Object.keys(status[0]!).filter((k) => k.startsWith('memory.')) : [];
  const head = [...cols, ...extra];
  const rows = status.map((r) => head.map((k) => String(r[k] ?? '')));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), ...rows.map(line)];
  out.push('(VmPTE, RssAnon, VmRSS, PageTables in kB)');
  for (const r of records) {
    if ('event' in r) out.push(`OOM ${r.event === 'oom_kill' ? 'kill' : 'stall (OOM killer disabled)'} after "${r.after}" in ${r.cgroup}: VmRSS ${r.VmRSS} kB, VmPTE ${r.VmPTE} kB (pgtables_bytes ${r.pgtables_bytes})`);
  }
  return out.join('\n') + '\n';
}
