import type { ScenarioInput } from './scenario/schema.js';

/**
 * The scenario of `pnpm demo`: a zero-page attacker (two processes) and an allocator-churning
 * service in one 320 MiB cgroup on a 24 GiB machine, under none, mainline, reclaim-path and zero-scan.
 */
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

