/**
 * `pnpm demo`: the headline comparison. The zero-page attack and allocator churn share a
 * 24 GiB machine inside one memory cgroup; the same workload and seed run under the `none`,
 * `mainline`, `reclaim-path` and `zero-scan` page-table reclaim policies. Prints the summary
 * table and writes the HTML report (charts) to `report-demo.html` in the current folder.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROCESS_IO } from './cli/io.js';
import { progressBar } from './cli/progress.js';
import { renderHtml } from './report/html.js';
import { renderTable } from './report/table.js';
import { runScenario } from './run/run.js';
import { validateScenario } from './scenario/load.js';
import { DEMO_SCENARIO } from './demo-scenario.js';

const scenario = validateScenario(DEMO_SCENARIO, 'demo');
const out = PROCESS_IO;
out.out(`kmodel demo: ${scenario.description}\nPolicies: ${scenario.policies.join(', ')} (same workload, seed ${scenario.seed}).\n\n`);
const bar = progressBar(out);
let report;
try {
  report = runScenario(scenario, bar.onProgress ? { onProgress: bar.onProgress } : {});
} finally {
  bar.stop();
}
out.out(renderTable(report));
const file = resolve('report-demo.html');
writeFileSync(file, await renderHtml(report, { description: scenario.description }));
out.out(`\nHTML report with charts: ${file}\n`);
