import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScenario, reportJson, runScenario } from '@kmodel/sim';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** Every random choice of the stock workloads in one small scenario, under two policies. */
const text = (seed: number) => `
name: determinism
seed: ${seed}
machine: { ram: 2GiB }
cgroups: [{ path: /c, memory_max: 24MiB }]
processes: [{ name: a, cgroup: /c, count: 2 }, { name: b }]
workloads:
  - { type: zero-page-attack, processes: [a], size: 8GiB }
  - { type: allocator-churn, processes: [b], arenas: 2, arena_size: 64MiB, rounds: 3, touch_per_round: 8MiB, run_size: 2MiB }
  - { type: vm-balloon-migration, processes: [b], guest_memory: 16MiB, balloon_fraction: 0.5 }
  - { type: sparse-scan, processes: [b], size: 4GiB, data_pages: 50 }
policies: [none, freetype]
sample_interval: 20us
`;

describe('determinism', () => {
  it('the same scenario and seed give byte-identical JSON', () => {
    const one = reportJson(runScenario(parseScenario(text(11))));
    const two = reportJson(runScenario(parseScenario(text(11))));
    expect(two).toBe(one);
    const report = JSON.parse(one);
    // The attack fills the 24 MiB cgroup: OOM kills happen, and they are part of what must repeat.
    expect(report.runs[0].events.filter((e: { type: string }) => e.type === 'oom_kill').length).toBeGreaterThan(0);
    expect(report.runs[0].series.time_ns.length).toBeGreaterThan(10);
  });

  it('another seed gives another run', () => {
    const a = runScenario(parseScenario(text(11))).runs[0]!;
    const b = runScenario(parseScenario(text(12))).runs[0]!;
    expect(JSON.stringify(b.final)).not.toBe(JSON.stringify(a.final));
  });

  it('the CLI prints byte-identical --json for the same scenario, without host_ms', () => {
    const cli = join(ROOT, 'packages/sim/dist/cli.js');
    const scenario = join(ROOT, 'packages/sim/test/fixtures/tiny.yaml');
    const one = execFileSync(process.execPath, [cli, 'run', scenario, '--json'], { encoding: 'utf8' });
    const two = execFileSync(process.execPath, [cli, 'run', scenario, '--json'], { encoding: 'utf8' });
    expect(two).toBe(one);
    expect(one).not.toContain('host_ms');
  });
});
