import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIX, kmodel, requireBuild, ROOT } from './support/kmodel.js';

beforeAll(requireBuild);

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
    // One table page charged a 64-page batch of the page counter (the per-CPU charge stock).
    expect(recs[0]).toMatchObject({ label: 'baseline', 'memory.max': 64 << 20, 'memory.current': 64 * 4096 });
    expect(recs[1]).toMatchObject({ event: 'oom_kill', after: 'baseline', cgroup: '/kmodel-replay', VmRSS: 0 });
    // Killed with its page tables filling the 64 MiB limit (less the top-level table).
    expect(recs[1].VmPTE).toBeGreaterThan(64 * 1024 - 64);
    expect(recs[1].VmPTE).toBeLessThanOrEqual(64 * 1024 - 4);
  });

  it('--cgroup-v1 --limit: v1 fields', async () => {
    const r = await kmodel('replay', join(FIX, 'attack-64g.jsonl'), '--cgroup-v1', '--limit', '1GiB', '--json');
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // kmem counts the 32834 table pages exactly; usage_in_bytes moves in 64-page batches: 514 of them.
    expect(recs[1]).toMatchObject({ label: 'after-attack', VmPTE: 131332, 'memory.limit_in_bytes': 2 ** 30, 'memory.kmem.usage_in_bytes': (131332 + 4) * 1024, 'memory.usage_in_bytes': 514 * 64 * 4096 });
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
