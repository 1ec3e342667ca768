import type { Scenario } from '../scenario/schema.js';
import { StockMachine } from './build.js';
import type { MachineConfig, MachineParts } from './parts.js';

/** Machine config of a scenario under one policy. */
export function scenarioMachineConfig(scenario: Scenario, policy: string): MachineConfig {
  const m = scenario.machine;
  return {
    ram: m.ram,
    cpus: m.cpus,
    levels: m.paging_levels,
    profile: m.profile,
    costs: m.costs,
    cgroupVersion: m.cgroup_version,
    cgroups: cgroupsInOrder(scenario.cgroups.map((c) => ({ path: c.path, limits: cgroupLimits(c) }))),
    seed: scenario.seed,
    policy,
  };
}

function cgroupLimits(c: Scenario['cgroups'][number]): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  if (c.memory_max !== undefined) out['memory.max'] = c.memory_max;
  if (c.memory_high !== undefined) out['memory.high'] = c.memory_high;
  if (c.limit_in_bytes !== undefined) out['memory.limit_in_bytes'] = c.limit_in_bytes;
  if (c.oom_kill_disable !== undefined) out['memory.oom_control'] = c.oom_kill_disable;
  return out;
}

/** Adds missing ancestors (without limits) and orders parents before children. */
function cgroupsInOrder(list: { path: string; limits: Record<string, number | boolean> }[]): { path: string; limits: Record<string, number | boolean> }[] {
  const byPath = new Map(list.map((c) => [c.path, c]));
  for (const c of list) {
    const parts = c.path.split('/').filter((s) => s !== '');
    for (let i = 1; i < parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      if (!byPath.has(p)) byPath.set(p, { path: p, limits: {} });
    }
  }
  return [...byPath.values()].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
}

/** Builds the stock machine for a scenario under `policy`, with the user's `parts` in place of stock layers. */
export function buildScenarioMachine(scenario: Scenario, policy: string, parts: MachineParts = {}): StockMachine {
  return new StockMachine(scenarioMachineConfig(scenario, policy), { ...parts, policyParams: { ...scenario.policy_params, ...parts.policyParams } });
}
