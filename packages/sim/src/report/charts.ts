import type { TopLevelSpec } from 'vega-lite';
import type { Report } from './types.js';

/** One chart of the HTML report: an id (stable, used by tests), a title and its vega-lite spec. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

const WIDTH = 640;
const HEIGHT = 220;
/** Page-table levels charted, with the metric that counts their tables (4 KiB each). */
const LEVELS = [
  ['PTE', 'nr_ptes'],
  ['PMD', 'nr_pmds'],
  ['PUD', 'nr_puds'],
] as const;

type Row = Record<string, string | number>;

function column(series: Record<string, number[]>, name: string, n: number): number[] {
  return series[name] ?? new Array<number>(n).fill(0);
}

/** One small chart per level (PTE, PMD, PUD), each with its own y scale, one colour per policy. */
function levelSpec(policies: string[], rows: Row[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Page-table memory per level (MiB)',
    data: { values: rows },
    facet: { row: { field: 'level', type: 'nominal', title: null, sort: LEVELS.map(([l]) => l) } },
    spec: {
      width: WIDTH,
      height: 110,
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'time_ms', type: 'quantitative', title: 'simulated time (ms)' },
        y: { field: 'MiB', type: 'quantitative', title: 'MiB', axis: { format: ',.4~g' } },
        color: { field: 'policy', type: 'nominal', title: 'policy', scale: { domain: policies } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function lineSpec(policies: string[], title: string, rows: Row[], y: string, yTitle: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'step-after', point: rows.length <= 60 },
    encoding: {
      x: { field: 'time_ms', type: 'quantitative', title: 'simulated time (ms)' },
      y: { field: y, type: 'quantitative', title: yTitle, axis: { format: ',.4~g' } },
      color: { field: 'policy', type: 'nominal', title: 'policy', scale: { domain: policies } },
    },
  };
}

/**
 * The charts of the report, one colour per policy: page-table bytes per level, RSS, bytes
 * reclaimed, OOM kills, mmap_lock write hold time.
 */
export function reportCharts(report: Report): ChartSpec[] {
  const levelRows: Row[] = [];
  const rssRows: Row[] = [];
  const reclaimRows: Row[] = [];
  const lockRows: Row[] = [];
  const oomRows: Row[] = [];
  const policies = report.runs.map((r) => r.policy);
  for (const run of report.runs) {
    const t = run.series['time_ns'] ?? [];
    const n = t.length;
    const rss = column(run.series, 'VmRSS', n);
    const freed = column(run.series, 'pt_reclaim.bytes_freed', n);
    const hold = column(run.series, 'mmap_lock.write_hold_ns', n);
    const levels = LEVELS.map(([, m]) => column(run.series, m, n));
    for (let i = 0; i < n; i++) {
      const time_ms = t[i]! / 1e6;
      LEVELS.forEach(([level], l) => levelRows.push({ policy: run.policy, time_ms, level, MiB: (levels[l]![i]! * 4096) / 2 ** 20 }));
      rssRows.push({ policy: run.policy, time_ms, MiB: rss[i]! / 1024 });
      reclaimRows.push({ policy: run.policy, time_ms, MiB: freed[i]! / 2 ** 20 });
      lockRows.push({ policy: run.policy, time_ms, ms: hold[i]! / 1e6 });
    }
    const kills = run.events.filter((e) => e.type === 'oom_kill').length;
    oomRows.push({ policy: run.policy, kills });
  }
  return [
    { id: 'pagetables', title: 'Page-table bytes per level', spec: levelSpec(policies, levelRows) },
    { id: 'rss', title: 'Resident memory', spec: lineSpec(policies, 'VmRSS, all processes (MiB)', rssRows, 'MiB', 'MiB') },
    { id: 'reclaimed', title: 'Page-table bytes reclaimed', spec: lineSpec(policies, 'pt_reclaim.bytes_freed (MiB)', reclaimRows, 'MiB', 'MiB') },
    {
      id: 'oom',
      title: 'OOM kills',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'OOM kills per policy',
        width: WIDTH,
        height: 40 + 24 * Math.max(1, oomRows.length),
        data: { values: oomRows },
        mark: 'bar',
        encoding: {
          y: { field: 'policy', type: 'nominal', title: 'policy', sort: null },
          x: { field: 'kills', type: 'quantitative', title: 'OOM kills', axis: { tickMinStep: 1, format: 'd' } },
          color: { field: 'policy', type: 'nominal', legend: null, scale: { domain: policies } },
        },
      },
    },
    { id: 'mmap-lock', title: 'mmap_lock write hold time', spec: lineSpec(policies, 'mmap_lock.write_hold_ns, cumulative (ms)', lockRows, 'ms', 'ms') },
    ...directMapCharts(report, policies),
  ];
}

/** Costs of memory outside the direct map: one bar per policy and counter (only when a run has them). */
function directMapCharts(report: Report, policies: string[]): ChartSpec[] {
  const counters = ['directmap.split_2m', 'directmap.split_1g', 'directmap.flushes', 'tlb.ipis', 'mermap.failures', 'tlb.stale_hazards'];
  const num = (r: Report['runs'][number], k: string) => (typeof r.final[k] === 'number' ? (r.final[k] as number) : 0);
  if (!report.runs.some((r) => num(r, 'mermap.gets') > 0 || num(r, 'directmap.flushes') > 0)) return [];
  const rows: Row[] = report.runs.flatMap((r) => counters.map((counter) => ({ policy: r.policy, counter, value: num(r, counter) })));
  return [
    {
      id: 'direct-map',
      title: 'Direct map, TLB and mermap',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'Direct-map splits and flushes, IPIs, mermap failures, stale-TLB hazards',
        data: { values: rows },
        facet: { row: { field: 'counter', type: 'nominal', title: null, sort: counters } },
        spec: {
          width: WIDTH,
          height: 20 * Math.max(1, policies.length),
          mark: 'bar',
          encoding: {
            y: { field: 'policy', type: 'nominal', title: null, sort: policies },
            x: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'policy', type: 'nominal', legend: null, scale: { domain: policies } },
          },
        },
        resolve: { scale: { x: 'independent' } },
      },
    },
  ];
}
