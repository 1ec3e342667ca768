import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The real binary, as `pnpm kmodel` runs it (the test run happens after `pnpm build`). */
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const CLI = join(ROOT, 'packages/sim/dist/cli.js');
const FIX = join(ROOT, 'packages/sim/test/fixtures');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kmodel(...args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (pnpm build; pnpm test does it)`);
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
    expect(run.final.cgroups['/box']).toMatchObject({ 'memory.current': 4128 * 1024, 'memory.stat.pagetables': 4128 * 1024, 'memory.max': 64 << 20 });
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

describe('kmodel replay', () => {
  it('prints one status record per status op (--json: JSON Lines)', async () => {
    const [json, table] = await Promise.all([kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--json'), kmodel('replay', join(FIX, 'attack-64g.jsonl'))]);
    expect(json.code).toBe(0);
    const recs = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((r) => r.label)).toEqual(['baseline', 'after-attack']);
    // 32768 PTE tables + 64 PMD tables + 1 PUD table = 131332 KiB.
    expect(recs[1]).toMatchObject({ VmPTE: 131332, RssAnon: 0, VmRSS: 0, nr_ptes: 32768, nr_pmds: 64, nr_puds: 1 });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^after-attack\s+131332\s+0\s+0\s/m);
  });

  it('--memory-max: records carry the cgroup, and an OOM kill ends the replay', async () => {
    const r = await kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--memory-max', '64MiB', '--json');
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.length).toBe(2);
    expect(recs[0]).toMatchObject({ label: 'baseline', 'memory.max': 64 << 20, 'memory.current': 4096 });
    expect(recs[1]).toMatchObject({ event: 'oom_kill', after: 'baseline', cgroup: '/kmodel-replay', VmRSS: 0 });
    // Killed with its page tables filling the 64 MiB limit (less the top-level table).
    expect(recs[1].VmPTE).toBeGreaterThan(64 * 1024 - 64);
    expect(recs[1].VmPTE).toBeLessThanOrEqual(64 * 1024 - 4);
  });

  it('--cgroup-v1 --limit: v1 fields', async () => {
    const r = await kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--cgroup-v1', '--limit', '1GiB', '--json');
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs[1]).toMatchObject({ label: 'after-attack', VmPTE: 131332, 'memory.limit_in_bytes': 2 ** 30, 'memory.kmem.usage_in_bytes': (131332 + 4) * 1024, 'memory.usage_in_bytes': (131332 + 4) * 1024 });
  });

  it('exits 2 on a bad trace (naming the line) and on inconsistent cgroup options', async () => {
    const [bad, limit, mix] = await Promise.all([
      kmodel('replay', join(FIX, 'bad-trace.jsonl')),
      kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--limit', '1GiB'),
      kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--memory-max', '12XB'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad-trace\.jsonl:2: .*nowhere/);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit needs --cgroup-v1');
    expect(mix.code).toBe(2);
    expect(mix.stderr).toContain('"12XB" is not a size');
  });
});

describe('kmodel walk', () => {
  it('walks an address level by level with every entry decoded', async () => {
    const r = await kmodel('walk', '0x7f0000201234');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('walk of 0x7f0000201234 (4-level paging)');
    expect(lines[1]).toMatch(/^ {2}PGD\[254\] {2}[0-9a-f]{16} {2}-> pud table at pfn 0x[0-9a-f]+ {2}\[P RW US A D\]$/);
    expect(lines[2]).toMatch(/^ {2}PUD\[ {2}0\] .*-> pmd table/);
    expect(lines[3]).toMatch(/^ {2}PMD\[ {2}1\] .*-> pte table/);
    expect(lines[4]).toMatch(/^ {2}PTE\[ {2}1\] {2}8000000[0-9a-f]{9} {2}-> 4 KiB page at pfn 0x[0-9a-f]+ {2}\[P RW US A D NX\]$/);
    expect(lines[5]).toMatch(/^ {2}physical address 0x[0-9a-f]+234 \(4 KiB page\)$/);
  });

  it('walks inside a scenario process (--json), and exits 2 on a bad address', async () => {
    const [json, bad, kernel] = await Promise.all([
      kmodel('walk', '0x7fffb7e00000', '--scenario', join(FIX, 'tiny.yaml'), '--process', 'reader-0', '--json'),
      kmodel('walk', 'zzz'),
      kmodel('walk', '0xffff888000000000'),
    ]);
    expect(json.code).toBe(0);
    const w = JSON.parse(json.stdout);
    expect(w.steps.map((s: { table: string }) => s.table)).toEqual(['pgd', 'pud', 'pmd', 'pte']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not an address');
    expect(kernel.code).toBe(2);
    expect(kernel.stderr).toContain('is not a user address');
  });
});

describe('kmodel validate', () => {
  it('exits 0 when the model agrees with the kernel and 1 when it does not', async () => {
    const trace = join(ROOT, 'validation/dontneed-whole.jsonl');
    const ok = await kmodel('validate', trace);
    const differs = await kmodel('validate', trace, '--profile', 'linux-6.13');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('1 of 1 traces agree with the kernel');
    expect(differs.code, differs.stderr).toBe(1);
    expect(differs.stdout).toContain('first difference at status "dontneed-whole"');
  });
});
