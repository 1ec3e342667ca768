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

/** The summary table's cells, one row per run. */
export function summaryRows(report: Report): string[][] {
  return report.runs.map((r) => SUMMARY_COLUMNS.map((c) => c.cell(r)));
}

/** The summary as an aligned plain-text table (what `kmodel run` prints). */
export function renderTable(report: Report): string {
  const head = SUMMARY_COLUMNS.map((c) => c.title);
  const rows = summaryRows(report);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}
