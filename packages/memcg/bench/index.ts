/**
 * Benchmarks of the charge path. Figures are host-dependent and noisy; nothing is asserted.
 * Run: pnpm --filter @kmodel/memcg bench (build @kmodel/core and @kmodel/memcg first).
 */
import { PAGE_SIZE, SimClock } from '@kmodel/core';
import type { OomHost } from '@kmodel/core';
import { MemcgTree } from '@kmodel/memcg';

function rate(label: string, ops: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${label.padEnd(58)} ${(ops / (ns / 1e9) / 1e6).toFixed(2).padStart(8)} M ops/s  (${(ns / ops).toFixed(1)} ns/op)`);
}

const N = 2_000_000;

// 1. charge + uncharge of one page-table page, mm three levels deep, no limits hit.
{
  const tree = new MemcgTree({ version: 'v2' });
  tree.create('/a');
  tree.create('/a/b', { limits: { 'memory.max': 'max' } });
  tree.create('/a/b/c');
  tree.attach(1, '/a/b/c');
  rate('charge+uncharge 4 KiB pagetables, depth 3, v2', N, () => {
    for (let i = 0; i < N; i++) {
      tree.charge(1, 'pagetables', PAGE_SIZE);
      tree.uncharge(1, 'pagetables', PAGE_SIZE);
    }
  });
}

// 2. the 64 MiB attack: charge tables until the limit, OOM kill at the end.
{
  const tree = new MemcgTree({ version: 'v1' });
  tree.create('/attack', { limits: { 'memory.limit_in_bytes': '64M' } });
  let pt = 0;
  const host: OomHost = {
    oomStats: () => ({ rssPages: 0, pgtablesBytes: pt, swapents: 0, oomScoreAdj: 0 }),
    oomKill: (mm) => tree.uncharge(mm, 'pagetables', pt),
  };
  tree.setOomHost(host);
  tree.attach(1, '/attack');
  let n = 0;
  rate('64 MiB attack: table charges until the OOM kill, v1', 16385, () => {
    while (tree.charge(1, 'pagetables', PAGE_SIZE)) {
      pt += PAGE_SIZE;
      n++;
    }
  });
  console.log(`  tables charged before the kill: ${n}`);
}

// 3. the stock under churn: 8 cgroups on 2 CPUs (7 slots per CPU: refill_stock evicts at random).
{
  const tree = new MemcgTree({ version: 'v1', policy: { nrCpus: 2 } });
  for (let c = 0; c < 8; c++) {
    tree.create(`/c${c}`);
    tree.attach(c + 1, `/c${c}`);
  }
  const ops = 1_000_000;
  rate('charge+uncharge pagetables, 8 cgroups x 2 CPUs (slot eviction)', ops, () => {
    for (let i = 0; i < ops; i++) {
      const mm = (i % 8) + 1;
      tree.setCpu((i >> 3) & 1);
      tree.charge(mm, 'pagetables', PAGE_SIZE);
      tree.uncharge(mm, 'pagetables', PAGE_SIZE);
    }
  });
  console.log(`  pages left in stocks: ${tree.stockedBytes('/') / PAGE_SIZE}`);
}

// 4. charging above memory.high (settled inside the charge once more than a batch is owed; sleeps on the simulated clock).
{
  const clock = new SimClock();
  const tree = new MemcgTree({ version: 'v2', clock });
  tree.create('/h', { limits: { 'memory.high': '4M' } });
  tree.attach(1, '/h');
  const pages = 200_000;
  rate('charge above memory.high (throttle path), v2', pages, () => {
    for (let i = 0; i < pages; i++) tree.charge(1, 'pagetables', PAGE_SIZE);
  });
  console.log(`  simulated throttle time: ${(clock.now / 1e9).toFixed(1)} s`);
}

const mem = process.memoryUsage();
console.log(`host memory: rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB, heapUsed ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB`);
