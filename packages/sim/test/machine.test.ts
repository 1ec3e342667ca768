import { describe, expect, it } from 'vitest';
import { NOOP_CHARGER, type Charger, type TlbFlusher } from '@kmodel/core';
import { join } from 'node:path';
import { loadScenario, MmProcess, parseScenario, runPolicy, StockMachine, type PolicyFactory } from '@kmodel/sim';
import { ROOT } from './support/kmodel.js';

const scenario = parseScenario(`
name: parts
seed: 2
machine: { ram: 1GiB }
cgroups: [{ path: /c, memory_max: 512MiB }]
processes: [{ name: p, cgroup: /c }]
workloads:
  - { type: zero-page-attack, size: 4GiB }
  - { type: allocator-churn, arenas: 1, arena_size: 64MiB, rounds: 2, touch_per_round: 8MiB, run_size: 2MiB, release_align: 2MiB, release_fraction: 1 }
policies: [kernel]
`);

describe('every layer of the machine can be replaced', () => {
  it('a user charger sees every page-table charge (and the report then has no cgroups)', () => {
    const charged: Record<string, number> = {};
    const charger: Charger = {
      charge: (_mm, kind, bytes) => ((charged[kind] = (charged[kind] ?? 0) + bytes), true),
      uncharge: (_mm, kind, bytes) => void (charged[kind] = (charged[kind] ?? 0) - bytes),
    };
    const run = runPolicy(scenario, 'kernel', { parts: { charger } });
    expect(run.final['cgroups']).toEqual({});
    // Charged page tables = the live page tables, PGD included.
    expect(charged['pagetables']).toBe((run.final['PageTables'] as number) * 1024);
    expect(charged['anon']).toBe((run.final['RssAnon'] as number) * 1024);
  });

  it('a user TLB receives the flushes of MADV_DONTNEED', () => {
    let ranges = 0;
    const tlb: TlbFlusher = { flushRange: () => void ranges++, flushAll: () => {} };
    const run = runPolicy(scenario, 'kernel', { parts: { tlb, charger: NOOP_CHARGER } });
    expect(ranges).toBeGreaterThan(0);
    expect(run.final['tlb.flush_single']).toBeUndefined(); // the stock TLB model is not there
  });

  it('the stock TLB model counts flushes and IPIs of a process scheduled on both CPUs', () => {
    const run = runPolicy(scenario, 'kernel');
    // Each DONTNEED of a 2 MiB run is 512 pages, above the 33-page ceiling: a full flush on both
    // CPUs that may cache the process, an IPI to the one not running the call.
    expect(run.final['tlb.flush_full']).toBe(2 * 8);
    expect(run.final['tlb.ipis']).toBe(8);
    expect(run.final['tlb.flush_single']).toBe(0);
  });

  it('a user policy gets its hooks called and its counters reported', () => {
    let zaps = 0;
    let tables = 0;
    const mine: PolicyFactory = () => ({
      name: 'mine',
      hooks: { afterZap: () => void zaps++, onTableAlloc: () => void tables++ },
      counters: () => ({ 'mine.zaps': zaps }),
    });
    const run = runPolicy(scenario, 'mine', { parts: { policies: { mine } } });
    expect(zaps).toBe(8); // two rounds x four 2 MiB runs, each given back by one DONTNEED
    expect(run.final['mine.zaps']).toBe(zaps);
    expect(tables).toBe((run.final['nr_ptes'] as number) + (run.final['nr_pmds'] as number) + (run.final['nr_puds'] as number) + (run.final['pt_reclaim.pte_tables_freed'] as number));
  });

  it('two workloads of one process map separate regions', () => {
    const two = parseScenario('name: two\nmachine: { ram: 1GiB }\nprocesses: [{ name: p }]\nworkloads: [{ type: zero-page-attack, size: 2GiB }, { type: zero-page-attack, size: 2GiB }]\n');
    let regions: unknown;
    const run = runPolicy(two, 'kernel', { onMachineDone: (m) => (regions = (m.processes[0] as MmProcess).regionList().map((r) => r.name)) });
    expect(regions).toEqual(['w0.attack', 'w1.attack']);
    expect(run.final['nr_ptes']).toBe(2 * 1024);
  });

  it('an unknown policy is bad input naming the known ones', () => {
    expect(() => new StockMachine({ ram: 2 ** 30, cpus: 1, levels: 4, profile: 'linux-6.18', costs: {}, cgroupVersion: 2, cgroups: [], seed: 1, policy: 'nope' })).toThrow(/E_UNKNOWN_POLICY: unknown policy "nope"/);
  });

  it('a process in a missing cgroup is refused', () => {
    const m = new StockMachine({ ram: 2 ** 30, cpus: 1, levels: 4, profile: 'linux-6.18', costs: {}, cgroupVersion: 2, cgroups: [], seed: 1, policy: 'kernel' });
    expect(() => m.spawn('x', '/nope')).toThrow(/E_NO_CGROUP/);
    expect(m.processes).toHaveLength(0);
  });
});

describe('runs', () => {
  it('length stops the run at that much simulated time; samples fall on the interval', () => {
    const long = parseScenario('name: len\nmachine: { ram: 1GiB }\nprocesses: [{ name: p }]\nworkloads: [{ type: zero-page-attack, size: 64GiB }]\nsample_interval: 1ms\nlength: 10ms\n');
    const run = runPolicy(long, 'kernel');
    const t = run.series['time_ns']!;
    const end = run.final['time_ns'] as number;
    // Stopped within one op (512 faults of 1.6 us each) after 10 ms, far before the 32768 faults of the whole attack.
    expect(end).toBeGreaterThanOrEqual(10e6);
    expect(end).toBeLessThan(10e6 + 512 * 1600 + 1);
    expect(run.final['nr_ptes'] as number).toBeLessThan(32768);
    expect(t[0]).toBe(0);
    for (let i = 1; i < t.length - 1; i++) expect(Math.floor(t[i]! / 1e6)).toBe(i); // first sample past each 1 ms mark
    expect(t.at(-1)).toBe(end);
  });

  it('PageTables counts the top table, and the P4D tables with 5-level paging, besides pgtables_bytes', () => {
    const text = (levels: number) => `name: pt\nmachine: { ram: 1GiB, paging_levels: ${levels} }\nprocesses: [{ name: p }]\nworkloads: [{ type: zero-page-attack, size: 2GiB }]\n`;
    const four = runPolicy(parseScenario(text(4)), 'kernel').final;
    const five = runPolicy(parseScenario(text(5)), 'kernel').final;
    expect(four['pgtables_bytes']).toBe(five['pgtables_bytes']);
    expect(four['PageTables']).toBe((four['pgtables_bytes'] as number) / 1024 + 4);
    expect(five['PageTables']).toBe((five['pgtables_bytes'] as number) / 1024 + 8);
  });

  it('a trace file runs as a workload, found next to the scenario file', () => {
    const file = join(ROOT, 'packages/sim/test/fixtures/trace-workload.yaml');
    const run = runPolicy(loadScenario(file), 'kernel', { scenarioPath: file });
    expect((run.final['processes'] as Record<string, Record<string, number>>)['t-1']).toMatchObject({ VmPTE: 131332, nr_ptes: 32768 });
    expect(run.final['nr_ptes']).toBe(2 * 32768);
    expect(() => runPolicy(loadScenario(file), 'kernel')).toThrow(/E_SCENARIO_READ: cannot read trace "attack-64g.jsonl"/);
  });

  it('a cgroup v1 with the OOM killer disabled stalls the task instead of killing it', () => {
    const v1 = parseScenario(`
name: stall
machine: { ram: 1GiB, cgroup_version: 1 }
cgroups: [{ path: /c, limit_in_bytes: 8MiB, oom_kill_disable: true }]
processes: [{ name: p, cgroup: /c }]
workloads: [{ type: zero-page-attack, size: 64GiB }]
`);
    const run = runPolicy(v1, 'kernel');
    expect(run.events.map((e) => e.type)).toEqual(['oom_stall', 'fault_oom']);
    const proc = (run.final['processes'] as Record<string, Record<string, number>>)['p']!;
    expect(proc['alive']).toBe(0);
    // The page tables stay charged, just under the limit.
    expect(proc['VmPTE']! + 4).toBeLessThanOrEqual(8 * 1024);
    expect((run.final['cgroups'] as Record<string, Record<string, number>>)['/c']!['memory.oom_control.under_oom']).toBe(1);
  });
});
