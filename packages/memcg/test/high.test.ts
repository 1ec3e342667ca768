import { MiB, PAGE_SIZE, SimClock } from '@kmodel/core';
import type { Reclaimer } from '@kmodel/core';
import { MAX_RECLAIM_RETRIES, MemcgTree, calculateHighDelay, calculateOverage } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

describe('calculate_high_delay', () => {
  it('reproduces the kernel comment table (memory.high = 100M, HZ = 1000, one 64-page batch)', () => {
    const highPages = (100 * MiB) / PAGE_SIZE;
    const ms = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 120].map((usageMb) =>
      Math.min(calculateHighDelay(calculateOverage((usageMb * MiB) / PAGE_SIZE, highPages), 64, 1000), 2000),
    );
    expect(ms).toEqual([6, 25, 57, 102, 159, 230, 313, 409, 518, 639, 774, 921, 1081, 1254, 1439, 1638, 1849, 2000, 2000]);
    expect(calculateOverage(100, 100)).toBe(0n);
    expect(calculateHighDelay(0n, 64, 1000)).toBe(0);
  });
});

describe('memory.high', () => {
  function setup(high: string, reclaimer?: Reclaimer) {
    const clock = new SimClock();
    const tree = new MemcgTree({ version: 'v2', clock, ...(reclaimer ? { reclaimer } : {}) });
    tree.create('/job', { limits: { 'memory.high': high } });
    const host = new FakeProcesses(tree);
    host.spawn(1, '/job');
    return { clock, tree, host };
  }

  it('throttles with a simulated sleep on return to user once a batch is charged above it (HZ = 250)', () => {
    // high = 16 MiB = 4096 pages. The page counter is charged 64 pages at a time, so the
    // 4097th page charges the batch that takes memory.current to 4160 pages: the task owes 64
    // pages and settles them on its return to user mode. overage = 64 << 20 / 4096 = 16384;
    // 16384^2 * 250 >> 34 = 3 jiffies = 12 ms.
    const { clock, tree, host } = setup('16M');
    for (let i = 0; i < 4096; i++) expect(host.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(clock.now).toBe(0);
    expect(tree.metrics('/job')['memory.current']).toBe(4096 * PAGE_SIZE);
    expect(host.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(clock.now).toBe(12_000_000);
    const m = tree.metrics('/job');
    expect(m['memcg.throttled_ns']).toBe(12_000_000);
    // One reclaim_high per try: the first and MAX_RECLAIM_RETRIES more without progress.
    expect(m['memory.events.high']).toBe(1 + MAX_RECLAIM_RETRIES);
    expect(m['memory.current']).toBe(4160 * PAGE_SIZE);
    expect(m['memory.stat.pagetables']).toBe(4097 * PAGE_SIZE);
    // The next 63 pages come from the stock and owe nothing.
    for (let i = 0; i < 63; i++) expect(host.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(clock.now).toBe(12_000_000);
  });

  it('without returns to user, a task owing more than a batch settles inside the charge', () => {
    const clock = new SimClock();
    const tree = new MemcgTree({ version: 'v2', clock });
    tree.create('/job', { limits: { 'memory.high': '16M' } });
    tree.attach(1, '/job');
    for (let i = 0; i < 4160; i++) expect(tree.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    // Owes 64 (not more than a batch): nothing yet.
    expect(clock.now).toBe(0);
    // The 4161st page charges the next batch: 128 pages owed, usage 4224: overage 32768,
    // 32768^2 * 250 >> 34 = 15 jiffies, scaled by 128 / 64 = 30 jiffies = 120 ms.
    expect(tree.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(clock.now).toBe(120_000_000);
    tree.returnToUser(1); // nothing left to settle
    expect(clock.now).toBe(120_000_000);
  });

  it('never kills: usage runs far past it, each batch sleeping at most 2 s', () => {
    // high = 1 MiB (256 pages): every later batch is >= 25 % over, clamped to 2 s (500 jiffies).
    const { clock, tree, host } = setup('1M');
    for (let i = 0; i < 512; i++) expect(host.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    // Batches complete at 320, 384, 448 and 512 pages.
    expect(clock.now).toBe(4 * 2_000_000_000);
    const m = tree.metrics('/job');
    expect(m['memory.current']).toBe(2 * MiB);
    expect(m['memory.events.oom']).toBe(0);
    expect(m['memory.events.oom_kill']).toBe(0);
    expect(m['memory.events.max']).toBe(0);
    expect(tree.events).toEqual([]);
  });

  it('a small overage is not worth a sleep (penalty <= HZ/100)', () => {
    const { clock, tree, host } = setup('64M');
    expect(host.charge(1, 'anon', 64 * MiB + 64 * PAGE_SIZE)).toBe(true);
    expect(clock.now).toBe(0);
    expect(tree.metrics('/job')['memory.events.high']).toBe(1);
  });

  it('reclaim that brings usage back under it avoids the sleep', () => {
    let tree!: MemcgTree;
    const reclaimer: Reclaimer = {
      reclaim(cgroup, bytes) {
        // Drop file cache of task 1, as page reclaim would.
        const have = tree.chargedBy(1, 'file');
        const n = Math.min(have, Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE);
        if (cgroup === '/job' && n > 0) tree.uncharge(1, 'file', n);
        return n;
      },
    };
    const s = setup('16M', reclaimer);
    tree = s.tree;
    expect(s.host.charge(1, 'file', 8 * MiB)).toBe(true);
    for (let i = 0; i < 4160 - 2048; i++) expect(s.host.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(s.clock.now).toBe(0);
    expect(tree.metrics('/job')['memory.current']).toBe(4096 * PAGE_SIZE);
    expect(tree.metrics('/job')['memory.events.high']).toBe(1);
  });

  it('writing memory.high below usage reclaims but does not kill', () => {
    const { tree, host } = setup('max');
    expect(host.charge(1, 'anon', 32 * MiB)).toBe(true);
    tree.write('/job', 'memory.high', '8M');
    expect(tree.read('/job', 'memory.high')).toBe(`${8 * MiB}\n`);
    expect(tree.metrics('/job')['memory.current']).toBe(32 * MiB);
    expect(host.killed).toEqual([]);
  });
});
