import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderHtml, reportCharts, runScenario, type Report } from '@kmodel/sim';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A two-policy report with known series, so the charts have something to draw. */
function sampleReport(): Report {
  const run = (policy: string, k: number) => ({
    policy,
    final: { PageTables: 4096 * k, time_ns: 3e6, 'pt_reclaim.bytes_freed': 0 },
    peak: { PageTables: 8192 * k },
    series: {
      time_ns: [0, 1e6, 2e6, 3e6],
      nr_ptes: [0, 256 * k, 512 * k, 256],
      nr_pmds: [0, 1, 2, 2],
      nr_puds: [0, 1, 1, 1],
      VmRSS: [0, 1024, 2048, 2048],
      'pt_reclaim.bytes_freed': [0, 0, 4096 * k, 8192 * k],
      'mmap_lock.write_hold_ns': [0, 100, 200, 300 * k],
    },
    events: k === 2 ? [{ time_ns: 2e6, type: 'oom_kill', process: 'p' }] : [],
  });
  return { kmodel: '0.0.0', scenario: 'chart-test', seed: 7, runs: [run('none', 1), run('reclaim-path', 2)] };
}

// In CI the browser must be there: a missing chromium fails the suite instead of skipping it.
const haveChromium = existsSync(CHROMIUM);
if (process.env['CI'] && !haveChromium) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for this test`);

describe.runIf(haveChromium)('HTML report in headless Chromium', () => {
  let dir: string;
  let browser: BrowserContext;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmodel-html-'));
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders every chart as an SVG with drawn marks, and loads nothing from the network', async () => {
    const report = sampleReport();
    const file = join(dir, 'report.html');
    writeFileSync(file, await renderHtml(report));
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: f.getAttribute('data-chart'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg ? svg.querySelectorAll('.mark-line path, .mark-rect path, .mark-symbol path').length : 0,
          legend: svg?.textContent ?? '',
        };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual(reportCharts(report).map((c) => c.id));
    expect(charts.map((c) => c.id)).toEqual(['pagetables', 'rss', 'reclaimed', 'oom', 'mmap-lock']);
    for (const c of charts) {
      expect(c.width, c.id!).toBeGreaterThan(200);
      expect(c.height, c.id!).toBeGreaterThan(50);
      expect(c.marks, c.id!).toBeGreaterThan(0);
      expect(c.legend, c.id!).toContain('reclaim-path');
    }
    // Only the file itself was requested.
    expect(requests).toEqual([`file://${file}`]);
    const rows = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    expect(rows).toEqual(['none', 'reclaim-path']);
    const events = await page.$$eval('#events tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(events).toEqual([['reclaim-path', '2.000', 'oom_kill', 'p', '', '', '']]);
    await page.close();
  });

  it('renders every chart of real runs, the direct-map chart included', async () => {
    const report = runScenario(
      parseScenario(`
name: real
machine: { ram: 1GiB }
cgroups: [{ path: /c, memory_max: 16MiB }]
processes: [{ name: a, cgroup: /c, count: 2 }, { name: g }]
workloads:
  - { type: zero-page-attack, processes: [a], size: 8GiB }
  - { type: unmapped-guest, processes: [g], guest_memory: 4MiB }
policies: [none, zero-scan, per-page]
sample_interval: 100us
`),
    );
    const file = join(dir, 'real.html');
    writeFileSync(file, await renderHtml(report));
    const page = await browser.newPage();
    await page.goto(`file://${file}`);
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => ({ id: f.getAttribute('data-chart'), height: f.querySelector('svg')?.getBoundingClientRect().height ?? 0, marks: f.querySelectorAll('svg .mark-line path, svg .mark-rect path').length })),
    );
    expect(charts.map((c) => c.id)).toEqual(['pagetables', 'rss', 'reclaimed', 'oom', 'mmap-lock', 'direct-map']);
    for (const c of charts) {
      expect(c.height, c.id!).toBeGreaterThan(50);
      expect(c.marks, c.id!).toBeGreaterThan(0);
    }
    await page.close();
  });
});
