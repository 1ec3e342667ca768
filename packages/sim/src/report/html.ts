import { reportCharts } from './charts.js';
import { renderSvg } from './svg.js';
import { summaryColumns, summaryRows } from './table.js';
import type { Report } from './types.js';

/** Events listed per run in the report (the JSON has them all). */
const MAX_EVENTS = 50;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
figure.chart { margin: 1.5em 0; } figure.chart svg { max-width: 100%; height: auto; }
.meta { color: #666; }`;

/**
 * A self-contained HTML report: the summary table, the events (OOM kills, stalls, stale-TLB
 * hazards; the first 50 of each run) and every chart as inline SVG (rendered
 * here from vega-lite specs), no scripts and no external resources, so it opens offline.
 * Each chart is a `<figure class="chart" data-chart="<id>">`.
 */
export async function renderHtml(report: Report, options: { description?: string } = {}): Promise<string> {
  const charts = reportCharts(report);
  const svgs = await Promise.all(charts.map((c) => renderSvg(c.spec)));
  const rows = summaryRows(report);
  const table = `<table id="summary"><thead><tr>${summaryColumns(report).map((c) => `<th>${esc(c.title)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  const events = report.runs.flatMap((r) => r.events.slice(0, MAX_EVENTS).map((e) => ({ policy: r.policy, e })));
  const eventTable = events.length
    ? `<table id="events"><thead><tr><th>policy</th><th>time (ms)</th><th>event</th><th>process</th><th>cgroup</th><th>VmRSS</th><th>VmPTE</th></tr></thead><tbody>${events
        .map(({ policy, e }) => `<tr><td>${esc(policy)}</td><td>${(e.time_ns / 1e6).toFixed(3)}</td><td>${esc(e.type)}</td><td>${esc(String(e['process'] ?? ''))}</td><td>${esc(String(e['cgroup'] ?? ''))}</td><td>${e['VmRSS'] !== undefined ? `${e['VmRSS']} kB` : ''}</td><td>${e['VmPTE'] !== undefined ? `${e['VmPTE']} kB` : ''}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="meta">No OOM kills, stalls or stale-TLB hazards.</p>';
  const figures = charts
    .map((c, i) => `<figure class="chart" data-chart="${esc(c.id)}"><figcaption>${esc(c.title)}</figcaption>${svgs[i]}</figure>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kmodel: ${esc(report.scenario)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<h1>kmodel report: ${esc(report.scenario)}</h1>
<p class="meta">kmodel ${esc(report.kmodel)} · seed ${report.seed} · policies ${report.runs.map((r) => esc(r.policy)).join(', ')}</p>
${options.description ? `<p>${esc(options.description)}</p>` : ''}
<h2>Summary</h2>
${table}
<h2>Events</h2>
${eventTable}
<h2>Charts</h2>
<p class="meta">Simulated time on the x axis. Policies with identical results draw the same line; the one listed last is on top.</p>
${figures}
</body></html>
`;
}
