import { describe, expect, it } from 'vitest';
import type { MetricsBlock } from '@kmodel/sim';
import { runScenario } from '@kmodel/sim';
import { onlyZeroPages } from '../src/zero-aware-reclaim.js';
import { policies, scenario } from '../src/main.js';

const num = (b: MetricsBlock, k: string) => (b[k] as number | undefined) ?? 0;

describe('onlyZeroPages', () => {
  it('accepts a table whose entries are all none or the zero page', () => {
    expect(onlyZeroPages(-1)).toBe(true);
    expect(onlyZeroPages(0)).toBe(false);
  });
});

describe('a user-written policy in the stock machine', () => {
  const report = runScenario(scenario, { policies: ['none', 'reclaim-path', 'zero-aware-reclaim', 'mainline+zero-aware-reclaim'], parts: { policies } });
  const run = (p: string) => report.runs.find((r) => r.policy === p)!;
  const kills = (p: string) => run(p).events.filter((e) => e.type === 'oom_kill').length;

  it('none and the stock reclaim-path OOM-kill workers: one zero entry per table is not a zero PTE page', () => {
    expect(kills('none')).toBeGreaterThan(0);
    expect(kills('reclaim-path')).toBe(kills('none'));
    expect(num(run('reclaim-path').final, 'pt_reclaim.pte_tables_freed')).toBe(0);
  });

  it('zero-aware-reclaim frees those tables before OOM and nobody is killed', () => {
    for (const p of ['zero-aware-reclaim', 'mainline+zero-aware-reclaim']) {
      expect([p, kills(p)]).toEqual([p, 0]);
      expect(num(run(p).final, 'pt_reclaim.pte_tables_freed')).toBeGreaterThan(0);
      expect(num(run(p).final, 'pt_reclaim.entries_scanned')).toBeGreaterThan(0);
      expect(num(run(p).final, 'zero_aware.victims')).toBeGreaterThan(0);
    }
    // Eight workers x 512 tables were read; the cgroup never held more than 12 MiB.
    const cg = (run('zero-aware-reclaim').peak['cgroups'] as Record<string, Record<string, number>>)['/tenant']!;
    expect(cg['memory.current']).toBeLessThanOrEqual(12 << 20);
  });
});
