/**
 * Runs a cgroup-wide zero-page attack (eight processes each reading one byte per 2 MiB over
 * 1 GiB inside a 12 MiB cgroup) on the stock kmodel machine under three policies: none, the
 * stock reclaim-path, and this example's zero-aware-reclaim, plugged in without touching any
 * package.
 *
 *   pnpm build && pnpm --filter @kmodel/example-custom-policy start
 */
import { ReclaimDriver, createPolicy, policyModules } from '@kmodel/reclaim';
import { parseScenario, renderTable, runScenario } from '@kmodel/sim';
import type { PolicyFactory } from '@kmodel/sim';
import { zeroAwareReclaim } from './zero-aware-reclaim.js';

export const scenario = parseScenario(`
name: custom-policy
seed: 1
machine: { ram: 1GiB }
cgroups: [{ path: /tenant, memory_max: 12MiB }]
processes: [{ name: worker, cgroup: /tenant, count: 8 }]
workloads:
  - { type: zero-page-attack, size: 1GiB, stride: 2MiB }
`);

/** The policies by name: two stock ones through the registry, and the custom one, alone and combined with mainline. */
export const policies: Record<string, PolicyFactory> = {
  'reclaim-path': createPolicy('reclaim-path'),
  'zero-aware-reclaim': (ctx) => new ReclaimDriver(ctx, [zeroAwareReclaim()]),
  'mainline+zero-aware-reclaim': (ctx) => new ReclaimDriver(ctx, [...policyModules('mainline'), zeroAwareReclaim()]),
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = runScenario(scenario, { policies: ['none', ...Object.keys(policies)], parts: { policies } });
  console.log(renderTable(report));
}
