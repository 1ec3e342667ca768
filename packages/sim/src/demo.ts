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
import type { ScenarioInput } from './scenario/schema.js';

/** The demo's scenario (also a valid scenario file, written as an object). */
export const DEMO_SCENARIO: ScenarioInput = {
  name: 'headline',
  description: 'A zero-page attacker and an allocator-churning service in one 320 MiB cgroup on a 24 GiB machine.',
  seed: 1,
  machine: { ram: '24GiB', cpus: 2, profile: 'linux-6.18' },
  cgroups: [{ path: '/tenant', memory_max: '320MiB' }],
  processes: [
    { name: 'attacker', cgroup: '/tenant', count: 2 },
    { name: 'service', cgroup: '/tenant' },
  ],
  workloads: [
    { type: 'zero-page-attack', processes: ['attacker'], size: '64GiB', stride: '2MiB' },
    { type: 'allocator-churn', processes: ['service'], arenas: 4, arena_size: '4GiB', rounds: 16, touch_per_round: '64MiB', touch_stride: '64KiB', run_size: '4MiB', release_fraction: 0.75, release_align: '4KiB' },
  ],
  policies: ['none', 'mainline', 'reclaim-path', 'zero-scan'],
  sample_interval: '2ms',
};

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
writeFileSync(file, await renderHtml(report));
out.out(`\nHTML report with charts: ${file}\n`);
