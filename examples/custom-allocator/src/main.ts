/**
 * Runs the zero-page attack on the stock kmodel machine twice: once on the stock buddy
 * allocator, once on this example's BitmapAllocator. Page tables are the same either way (the
 * allocator only decides which frames back them); the allocator's own counters differ.
 *
 *   pnpm build && pnpm --filter @kmodel/example-custom-allocator start
 */
import { formatBytes } from '@kmodel/core';
import { parseScenario, renderTable, runScenario } from '@kmodel/sim';
import { BitmapAllocator } from './bitmap-allocator.js';

const scenario = parseScenario(`
name: custom-allocator
machine: { ram: 2GiB }
cgroups: [{ path: /box, memory_max: 256MiB }]
processes: [{ name: reader, cgroup: /box }]
workloads:
  - { type: zero-page-attack, size: 16GiB }
  - { type: allocator-churn, arenas: 2, arena_size: 1GiB, rounds: 4 }
`);

const stock = runScenario(scenario);
const allocator = new BitmapAllocator(scenario.machine.ram / 4096);
const mine = runScenario(scenario, { parts: { allocator } });

console.log('stock buddy allocator:');
console.log(renderTable(stock));
console.log('BitmapAllocator:');
console.log(renderTable(mine));
console.log(`BitmapAllocator: ${allocator.allocs} allocations, ${allocator.frees} frees, ${formatBytes(allocator.nrFreePages() * 4096)} free at the end`);
