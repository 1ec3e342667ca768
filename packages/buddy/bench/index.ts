/**
 * @kmodel/buddy benchmarks: order-0 alloc+free pairs per second (with and without per-CPU
 * lists), a page-table-like churn, and high-order allocations per second on a fragmented zone.
 * Figures are host-dependent and never asserted.
 */
import { BuddyAllocator } from '@kmodel/buddy';
import { GFP_HIGHUSER_MOVABLE, GFP_PGTABLE_USER, GFP_TRANSHUGE_LIGHT, GFP_KERNEL, __GFP_UNMAPPED, __GFP_ZERO } from '@kmodel/core';

/** Prints ops per second of wall time and of this process's CPU time (steadier on a shared host). */
function rate(label: string, ops: number, fn: () => void): void {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(c0);
  const wall = (ops / ns) * 1e3;
  const perCpu = ops / (cpu.user + cpu.system);
  console.log(
    `${label.padEnd(58)} ${wall.toFixed(2).padStart(8)} M/s wall ${perCpu.toFixed(2).padStart(8)} M/s cpu  (${ops} in ${(ns / 1e6).toFixed(0)} ms)`,
  );
}

function pairs(b: BuddyAllocator, gfp: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = b.allocPages(gfp, 0)!;
    b.freePages(p, 0);
  }
}

const N = 20_000_000;
const ab0 = process.memoryUsage().arrayBuffers;
const t0 = process.hrtime.bigint();
const pcp = new BuddyAllocator();
const built = Number(process.hrtime.bigint() - t0) / 1e6;
const perPage = (process.memoryUsage().arrayBuffers - ab0) / pcp.layout.endPfn;
console.log(`24 GiB allocator built in ${built.toFixed(0)} ms; typed arrays ${perPage.toFixed(2)} bytes per page frame`);
const noPcp = new BuddyAllocator({ pcp: false });
pairs(pcp, GFP_PGTABLE_USER, 100_000);
pairs(noPcp, GFP_PGTABLE_USER, 100_000);
rate('order-0 alloc+free pairs, pcp on (GFP_PGTABLE_USER)', N, () => pairs(pcp, GFP_PGTABLE_USER, N));
rate('order-0 alloc+free pairs, pcp off (GFP_PGTABLE_USER)', N, () => pairs(noPcp, GFP_PGTABLE_USER, N));
rate('order-0 alloc+free pairs, pcp on (GFP_HIGHUSER_MOVABLE)', N, () => pairs(pcp, GFP_HIGHUSER_MOVABLE, N));

// 1 M page-table pages held, as in the 2 TiB attack, then released.
{
  const b = new BuddyAllocator();
  const held = new Int32Array(1 << 20);
  rate('1 Mi page-table allocations (held), pcp on', held.length, () => {
    for (let i = 0; i < held.length; i++) held[i] = b.allocPages(GFP_PGTABLE_USER, 0)!;
  });
  rate('1 Mi page-table frees, pcp on', held.length, () => {
    for (let i = 0; i < held.length; i++) b.freePages(held[i]!, 0);
  });
}

// Page-table placement: the model side of bench/live/pagetable-placement.c (one PTE table and one
// user page per 2 MiB touched, a PMD table per 512 touches).
{
  const b = new BuddyAllocator({ nrCpus: 2 });
  const before = b.pageblockCounts(2)[0]!;
  for (let i = 0; i < 100_000; i++) {
    if (i % 512 === 0) b.allocPages(GFP_PGTABLE_USER, 0);
    b.allocPages(GFP_PGTABLE_USER, 0);
    b.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0);
  }
  const c = b.counters();
  console.log(
    `page-table placement, 100000 touches: Normal Unmovable pageblocks ${before} -> ${b.pageblockCounts(2)[0]}, ` +
      `claims ${c['buddy.claims']}, steals ${c['buddy.steals']}, movable blocks polluted ${c['buddy.movable_blocks_polluted']}`,
  );
}

// Fragmented zone: fill 1 GiB with movable order-0 pages, free every other one, then ask for THPs.
{
  const b = new BuddyAllocator({ memory: 4 * 1024 ** 3, pcp: false });
  const n = 600_000;
  const held = new Int32Array(n);
  for (let i = 0; i < n; i++) held[i] = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
  for (let i = 0; i < n; i += 2) b.freePages(held[i]!, 0);
  let ok = 0;
  const thps: number[] = [];
  rate('order-9 allocation attempts, fragmented 4 GiB machine', 2000, () => {
    for (let i = 0; i < 2000; i++) {
      const p = b.allocPages(GFP_TRANSHUGE_LIGHT, 9);
      if (p !== null) {
        ok++;
        thps.push(p);
      }
    }
  });
  console.log(`  (${ok} of 2000 succeeded)`);
  for (const p of thps) b.freePages(p, 9);
  rate('order-3 alloc+free pairs on the fragmented machine', 1_000_000, () => {
    for (let i = 0; i < 1_000_000; i++) {
      const p = b.allocPages(GFP_KERNEL, 3)!;
      b.freePages(p, 3);
    }
  });
}

// Unmapped allocations: conversions per pageblock.
{
  const b = new BuddyAllocator({ memory: 4 * 1024 ** 3 });
  const n = 200_000;
  const held = new Int32Array(n);
  rate('unmapped order-0 allocations (with pageblock conversions)', n, () => {
    for (let i = 0; i < n; i++) held[i] = b.allocPages(GFP_KERNEL | __GFP_UNMAPPED, 0)!;
  });
  console.log(`  buddy.unmapped_conversions = ${b.counters()['buddy.unmapped_conversions']}`);
}

const mu = process.memoryUsage();
console.log(`host memory: rss ${(mu.rss / 2 ** 20).toFixed(0)} MiB, arrayBuffers ${(mu.arrayBuffers / 2 ** 20).toFixed(0)} MiB (6 allocators alive)`);
