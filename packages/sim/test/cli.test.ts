import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, FIX, kmodel, requireBuild, run } from './support/kmodel.js';

let dir: string;
beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(join(tmpdir(), 'kmodel-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kmodel --help and usage errors', () => {
  it('prints help for the program and every command, exit 0', async () => {
    const [top, ...subs] = await Promise.all([kmodel('--help'), ...['run', 'compare', 'replay', 'walk', 'validate'].map((c) => kmodel(c, '--help'))]);
    expect(top.code).toBe(0);
    for (const c of ['run', 'compare', 'replay', 'walk', 'validate']) expect(top.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(subs.map((s) => s.code)).toEqual([0, 0, 0, 0, 0]);
    expect(subs[0]!.stdout).toContain('--html <file>');
    expect(subs[1]!.stdout).toContain('--policy <list>');
    expect(subs[1]!.stdout).toContain('  zero-scan: ');
    expect(subs[2]!.stdout).toContain('--memory-max <size>');
    expect(subs[3]!.stdout).toContain('--scenario <file>');
    expect(subs[4]!.stdout).toContain('--profile <name>');
  });

  it('exits 2 on an unknown command, an unknown option or a missing argument', async () => {
    const [cmd, opt, arg, policy] = await Promise.all([kmodel('frobnicate'), kmodel('run', '--bogus', 'x.yaml'), kmodel('replay'), kmodel('compare', join(FIX, 'tiny.yaml'))]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("unknown option '--bogus'");
    expect(arg.code).toBe(2);
    expect(arg.stderr).toContain("missing required argument 'trace'");
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain("required option '--policy <list>' not specified");
  });
});

describe('kmodel run / compare', () => {
  it('draws a progress bar on a terminal (script(1) gives it a pty)', async () => {
    const r = await run('script', ['-qec', `${process.execPath} ${CLI} run ${join(FIX, 'tiny.yaml')}`, '/dev/null']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ none \[[^\]]*\] \d+% \| \d+\/4 ops/);
    expect(r.stdout).toMatch(/policy\s+PageTables peak/);
  });

  it('prints the summary table with no progress bar when piped', async () => {
    const r = await kmodel('run', join(FIX, 'tiny.yaml'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^policy\s+PageTables peak\s+PageTables end/);
    // Two readers x (512 PTE tables + 2 PMD tables + 1 PUD table + the PGD) = 2 x 2064 KiB = 4128 KiB.
    expect(lines[2]).toMatch(/^none\s+4\.03 MiB\s+4\.03 MiB\s+0 B\s+0\s+0 B\s+0\s/);
  });

  it('--json gives the metrics.md shape with exact numbers', async () => {
    const r = await kmodel('run', join(FIX, 'tiny.yaml'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['kmodel', 'scenario', 'seed', 'runs']);
    expect(report).toMatchObject({ scenario: 'tiny', seed: 3 });
    const run = report.runs[0];
    expect(Object.keys(run)).toEqual(['policy', 'final', 'peak', 'series', 'events']);
    expect(run.final).toMatchObject({ nr_ptes: 1024, nr_pmds: 4, nr_puds: 2, PageTables: 4128, VmRSS: 0, pgfault: 1024, 'memory.events.oom_kill': 0 });
    expect(run.final.processes['reader-0']).toMatchObject({ VmPTE: 2060, nr_ptes: 512, nr_pmds: 2, nr_puds: 1, alive: 1 });
    // 1032 table pages; the page counter moves in 64-page batches (the per-CPU charge stock): 17.
    expect(run.final.cgroups['/box']).toMatchObject({ 'memory.current': 17 * 64 * 4096, 'memory.stat.pagetables': 4128 * 1024, 'memory.max': 64 << 20 });
    expect(run.series.time_ns.length).toBe(run.series.nr_ptes.length);
    expect(run.series.nr_ptes[0]).toBe(0);
    expect(run.series.nr_ptes.at(-1)).toBe(1024);
    expect(run.host_ms).toBeUndefined();
  });

  it('--host-time adds host_ms; --csv prints policy,metric,final,peak', async () => {
    const [timed, csv] = await Promise.all([kmodel('run', join(FIX, 'tiny.yaml'), '--json', '--host-time'), kmodel('run', join(FIX, 'tiny.yaml'), '--csv')]);
    expect(typeof JSON.parse(timed.stdout).runs[0].host_ms).toBe('number');
    expect(csv.code).toBe(0);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('policy,metric,final,peak');
    expect(rows).toContain('none,nr_ptes,1024,1024');
    expect(rows).toContain('none,processes.reader-1.VmPTE,2060,2060');
    expect(rows).toContain('none,cgroups./box.memory.stat.pagetables,4227072,4227072');
  });

  it('--html writes a self-contained report and says where', async () => {
    const file = join(dir, 'report.html');
    const r = await kmodel('run', join(FIX, 'tiny.yaml'), '--html', file);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`HTML report written to ${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html.match(/<figure class="chart"/g)?.length).toBe(5);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('compare runs the same workload under each policy, side by side', async () => {
    const r = await kmodel('compare', join(FIX, 'tiny.yaml'), '--policy', 'none,freetype', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.runs.map((x: { policy: string }) => x.policy)).toEqual(['none', 'freetype']);
    expect(report.runs[1].final.nr_ptes).toBe(report.runs[0].final.nr_ptes);
  });

  it('exits 2 on an invalid scenario, naming the bad field; on a missing file; on an unknown policy', async () => {
    const [bad, missing, policy, both] = await Promise.all([
      kmodel('run', join(FIX, 'bad.yaml')),
      kmodel('run', join(dir, 'nope.yaml')),
      kmodel('compare', join(FIX, 'tiny.yaml'), '--policy', 'none,nonsense'),
      kmodel('run', join(FIX, 'tiny.yaml'), '--json', '--csv'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_SCENARIO_INVALID');
    expect(bad.stderr).toContain('workloads[0].size: size "3MiB" must be a multiple of 2097152 bytes');
    expect(bad.stdout).toBe('');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('E_SCENARIO_READ: cannot read scenario');
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain('unknown policy "nonsense"');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--json and --csv both print to stdout');
  });
});

