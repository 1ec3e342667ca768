import type { MetricsBlock, Report } from './types.js';

function flatten(block: MetricsBlock): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(block)) {
    if (typeof v === 'number') out.set(k, v);
    else for (const [owner, metrics] of Object.entries(v)) for (const [m, x] of Object.entries(metrics)) out.set(`${k}.${owner}.${m}`, x);
  }
  return out;
}

function cell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The report as CSV, one row per (policy, metric): `policy,metric,final,peak`. Per-process and
 * per-cgroup metrics are named `processes.<name>.<metric>` and `cgroups.<path>.<metric>`.
 */
export function renderCsv(report: Report): string {
  const lines = ['policy,metric,final,peak'];
  for (const run of report.runs) {
    const fin = flatten(run.final);
    const peak = flatten(run.peak);
    for (const [name, v] of fin) lines.push([run.policy, name, String(v), String(peak.get(name) ?? v)].map(cell).join(','));
  }
  return lines.join('\n') + '\n';
}
