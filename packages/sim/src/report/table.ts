import { formatBytes } from '@kmodel/core';
import type { MetricsBlock, Report, RunResult } from './types.js';

/** A number from a metrics block (0 when absent or nested). */
export function metric(block: MetricsBlock, name: string): number {
  const v = block[name];
  return typeof v === 'number' ? v : 0;
}

/** Columns of the summary table, in order. */
export const SUMMARY_COLUMNS: readonly { title: string; cell: (r: RunResult) => string }[] = [
  { title: 'policy', cell: (r) => r.policy },
  { title: 'PageTables peak', cell: (r) => formatBytes(metric(r.peak, 'PageTables') * 1024) },
  { title: 'PageTables end', cell: (r) => formatBytes(metric(r.final, 'PageTables') * 1024) },
  { title: 'PT reclaimed', cell: (r) => formatBytes(metric(r.final, 'pt_reclaim.bytes_freed')) },
  { title: 'PTE tables freed', cell: (r) => String(metric(r.final, 'pt_reclaim.pte_tables_freed')) },
  { title: 'VmRSS end', cell: (r) => formatBytes(metric(r.final, 'VmRSS') * 1024) },
  { title: 'OOM kills', cell: (r) => String(r.events.filter((e) => e.type === 'oom_kill').length) },
  { title: 'mmap_lock write', cell: (r) => `${(metric(r.final, 'mmap_lock.write_hold_ns') / 1e6).toFixed(3)} ms` },
  { title: 'sim time', cell: (r) => `${(metric(r.final, 'time_ns') / 1e6).toFixed(3)} ms` },
];

/** Columns added when a run kept memory outside the direct map (the unmapped-guest workload). */
export const DIRECT_MAP_COLUMNS: readonly { title: string; cell: (r: RunResult) => string }[] = [
  { title: 'DM splits', cell: (r) => String(metric(r.final, 'directmap.split_1g') + metric(r.final, 'directmap.split_2m')) },
  { title: 'DM flushes', cell: (r) => String(metric(r.final, 'directmap.flushes')) },
  { title: 'TLB IPIs', cell: (r) => String(metric(r.final, 'tlb.ipis')) },
  { title: 'mermap gets', cell: (r) => String(metric(r.final, 'mermap.gets')) },
  { title: 'mermap fails', cell: (r) => String(metric(r.final, 'mermap.failures')) },
  { title: 'stale TLB', cell: (r) => String(metric(r.final, 'tlb.stale_hazards')) },
];

/** The columns of a report's summary: the page-table columns, plus the direct-map ones when any run used the mermap or changed the direct map. */
export function summaryColumns(report: Report): readonly { title: string; cell: (r: RunResult) => string }[] {
  const dm = report.runs.some((r) => metric(r.final, 'mermap.gets') > 0 || metric(r.final, 'directmap.flushes') > 0 || metric(r.final, 'workload.allocations') > 0);
  return dm ? [...SUMMARY_COLUMNS, ...DIRECT_MAP_COLUMNS] : SUMMARY_COLUMNS;
}

/** The summary table's cells, one row per run. */
export function summaryRows(report: Report): string[][] {
  const cols = summaryColumns(report);
  return report.runs.map((r) => cols.map((c) => c.cell(r)));
}

/** The summary as an aligned plain-text table (what `kmodel run` prints). */
export function renderTable(report: Report): string {
  const head = summaryColumns(report).map((c) => c.title);
  const rows = summaryRows(report);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}
