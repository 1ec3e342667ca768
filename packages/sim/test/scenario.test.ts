import { describe, expect, it } from 'vitest';
import { isKmodelError } from '@kmodel/core';
import { parseDuration, parseScenario, ScenarioErrorCode, type ScenarioIssue } from '@kmodel/sim';

const MINIMAL = `
name: tiny
processes: [{ name: p }]
workloads: [{ type: zero-page-attack, size: 4GiB }]
`;

function issues(text: string): ScenarioIssue[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (e) {
    if (isKmodelError(e, ScenarioErrorCode.Invalid)) return e.details['issues'] as ScenarioIssue[];
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario schema', () => {
  it('applies every default', () => {
    const s = parseScenario(MINIMAL);
    expect(s.seed).toBe(1);
    expect(s.machine).toEqual({ ram: 24 * 2 ** 30, cpus: 2, paging_levels: 4, profile: 'linux-6.18', costs: {}, cgroup_version: 2 });
    expect(s.policies).toEqual(['kernel']);
    expect(s.policy_params).toEqual({});
    expect(s.sample_interval).toBe(1_000_000);
    expect(s.length).toBeUndefined();
    expect(s.processes).toEqual([{ name: 'p', cgroup: '/', count: 1 }]);
    expect(s.workloads).toEqual([{ type: 'zero-page-attack', size: 4 * 2 ** 30, stride: 2 * 2 ** 20 }]);
  });

  it('reads JSON as well as YAML, with sizes and durations in units', () => {
    const s = parseScenario(JSON.stringify({
      name: 'j', seed: 42, machine: { ram: '8GiB', cgroup_version: 1 }, cgroups: [{ path: '/a', limit_in_bytes: '64MiB' }],
      processes: [{ name: 'p', cgroup: '/a', count: 3 }], workloads: [{ type: 'sparse-scan', size: '1TiB' }], length: '2s', sample_interval: '250us',
    }));
    expect(s.machine.ram).toBe(8 * 2 ** 30);
    expect(s.cgroups[0]!.limit_in_bytes).toBe(64 * 2 ** 20);
    expect(s.length).toBe(2e9);
    expect(s.sample_interval).toBe(250_000);
    expect(s.workloads[0]).toMatchObject({ type: 'sparse-scan', size: 2 ** 40, data_pages: 1024, passes: 1 });
  });

  it('names the path of every bad field and what was expected', () => {
    const found = issues(`
name: bad
machine: { ram: 24GB, paging_levels: 3 }
processes: [{ name: p }]
workloads:
  - { type: zero-page-attack, size: 1MiB }
  - { type: bogus }
  - { type: allocator-churn, arenas: 0, release_fraction: 1.5 }
surprise: 1
`);
    const byPath = Object.fromEntries(found.map((i) => [i.path, i.message]));
    expect(Object.keys(byPath).sort()).toEqual(['(root)', 'machine.paging_levels', 'machine.ram', 'workloads[0].size', 'workloads[1].type', 'workloads[2].arenas', 'workloads[2].release_fraction'].sort());
    expect(byPath['machine.ram']).toContain('"24GB" is not a size');
    expect(byPath['machine.paging_levels']).toBe('expected 4 or 5');
    expect(byPath['workloads[0].size']).toBe('size "1MiB" must be a multiple of 2097152 bytes');
    expect(byPath['workloads[1].type']).toContain('expected a workload with type zero-page-attack');
    expect(byPath['(root)']).toContain('"surprise"');
  });

  it('checks references between sections', () => {
    const found = issues(`
name: refs
cgroups: [{ path: /a, limit_in_bytes: 1GiB }]
processes: [{ name: p, cgroup: /nope }, { name: p }]
workloads: [{ type: zero-page-attack, size: 2MiB, processes: [q] }]
policies: [none, none]
`);
    expect(found).toEqual([
      { path: 'cgroups[0]', message: 'limit_in_bytes / oom_kill_disable are cgroup v1 files; set machine.cgroup_version: 1 or use memory_max' },
      { path: 'processes[0].cgroup', message: 'unknown cgroup "/nope"; expected "/" or one of the paths under cgroups' },
      { path: 'processes[1].name', message: 'duplicate process name "p"' },
      { path: 'workloads[0].processes[0]', message: 'unknown process "q"; expected one of p' },
      { path: 'policies[1]', message: 'policy "none" is listed twice' },
    ]);
  });

  it('limits the processes to the 4095 PCIDs of the TLB model', () => {
    expect(issues('name: many\nprocesses: [{ name: a, count: 4000 }, { name: b, count: 96 }]\nworkloads: [{ type: zero-page-attack, size: 2MiB }]\n')).toEqual([
      { path: 'processes', message: '4096 processes in all; at most 4095 (one PCID each)' },
    ]);
  });

  it('puts the file name and every issue in the error message', () => {
    expect(() => parseScenario('name: x\nprocesses: []\nworkloads: []\n', 'f.yaml')).toThrow(/^E_SCENARIO_INVALID: f\.yaml is not a valid scenario:\n  processes: .*\n  workloads: /);
  });

  it('rejects text that is not YAML', () => {
    expect(() => parseScenario('name: [unclosed', 'x.yaml')).toThrow(/E_SCENARIO_SYNTAX: x\.yaml is not valid YAML or JSON/);
  });
});

describe('parseDuration', () => {
  it('parses integers and units', () => {
    expect(parseDuration(17)).toBe(17);
    expect(parseDuration('3us')).toBe(3000);
    expect(parseDuration('10ms')).toBe(10_000_000);
    expect(parseDuration('2s')).toBe(2e9);
  });
  it('rejects fractions, unknown units and negatives', () => {
    expect(() => parseDuration('1.5ms')).toThrow(/E_BAD_DURATION/);
    expect(() => parseDuration('3min')).toThrow(/E_BAD_DURATION/);
    expect(() => parseDuration(-1)).toThrow(/E_OUT_OF_RANGE/);
  });
});
