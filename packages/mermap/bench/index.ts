/**
 * Host-side speed of the mermap model (not simulated time). Figures are noisy on a shared
 * machine; nothing here asserts a timing.
 */
import { MiB, NOOP_DIRECT_MAP } from '@kmodel/core';
import { BuddyAllocator, x86Layout } from '@kmodel/buddy';
import { createPageTable } from '@kmodel/pgtable';
import { Mermap, MermapTlb, StaleTlbChecker, runDirectMapStrategies } from '@kmodel/mermap';

function rate(name: string, ops: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(52)} ${(ops / (ns / 1e9)).toFixed(0).padStart(12)} ops/s  (${(ns / 1e6).toFixed(1)} ms)`);
}

let next = 1 << 24;
const pageTable = createPageTable({ levels: 4, tables: { allocTable: () => next++, freeTable: () => {} } });
const tlb = new MermapTlb(8);
const checker = new StaleTlbChecker({ mode: 'report', tlb });
const mermap = new Mermap({ pageTable, tlb, checker });
rate('mermap_mm_prepare, 8 CPUs x 512 pages', 1, () => mermap.prepare());
const N = 500_000;
rate(`get/put of 1 page x ${N}`, N, () => {
  for (let i = 0; i < N; i++) mermap.put(mermap.get(i & 7, i, 1));
});
rate(`get/touch/put of 4 pages x ${N / 4}`, N / 4, () => {
  for (let i = 0; i < N / 4; i++) {
    const h = mermap.get(i & 7, i * 4, 4);
    mermap.touch(h);
    mermap.put(h);
  }
});
rate(`checker.onFree x ${N}`, N, () => {
  for (let i = 0; i < N; i++) checker.onFree(i, 1);
});
console.log(mermap.metrics(), checker.counters.snapshot());

rate('three strategies, 20000 allocations + 7000 COW/reads', 1, () => {
  const { results } = runDirectMapStrategies({
    allocations: 20000, cowFaults: 2000, reads: 5000, frees: 2000, maxHold: 4, nrCpus: 4, seed: 7,
    createMachine: ({ nrCpus }) => {
      const allocator = new BuddyAllocator({ layout: x86Layout({ memory: 2048 * MiB }), directMap: NOOP_DIRECT_MAP, nrCpus });
      return { allocator, directMap: NOOP_DIRECT_MAP, metrics: () => allocator.counters() };
    },
  });
  console.log(results.map((r) => `${r.strategy}: ${r.metrics['mermap.gets']} gets, ${r.metrics['tlb.stale_hazards']} hazards`).join('; '));
});
const m = process.memoryUsage();
console.log(`host memory: rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`);
