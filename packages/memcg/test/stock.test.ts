import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, GiB, MiB, PAGE_SIZE, __GFP_NORETRY } from '@kmodel/core';
import type { ReclaimRequest } from '@kmodel/core';
import { MemcgTree } from '@kmodel/memcg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

/**
 * The per-CPU charge stock against the live kernel (Linux 6.18 x86-64, cgroup v1 memory
 * controller, 2026-11-23). The probe: a process pinned to one CPU joins a fresh cgroup, maps
 * 64 GiB PROT_READ | MAP_NORESERVE at 0x100000000000 (a new 512 GiB slot) and reads one byte per
 * 2 MiB; after every read it preads memory.usage_in_bytes, memory.failcnt and
 * memory.kmem.usage_in_bytes from descriptors opened (and read once) before joining, so nothing
 * but page tables is charged: read i needs i + 1 + ceil(i / 512) table pages (one PUD, a PMD per
 * GiB, a PTE table per read).
 */
function probe(limit: string | null) {
  const tree = new MemcgTree({ version: 'v1' });
  tree.create('/kmstock', limit === null ? {} : { limits: { 'memory.limit_in_bytes': limit } });
  const host = new FakeProcesses(tree);
  host.spawn(1, '/kmstock');
  const pages = (file: string) => Number(tree.read('/kmstock', file)) / (file === 'memory.failcnt' ? 1 : PAGE_SIZE);
  return { tree, host, pages };
}

describe('the per-CPU charge stock (consume_stock / refill_stock, MEMCG_CHARGE_BATCH = 64)', () => {
  it('usage_in_bytes moves a batch of 64 pages at a time while kmem counts each table (live: 1 GiB read)', () => {
    const { tree, host, pages } = probe(null);
    const seen: [number, number, number][] = [];
    for (let i = 1; i <= 512; i++) {
      expect(host.readEvery2MiB(1, 2 * MiB)).toBe(true);
      if ([1, 62, 63, 126, 127, 511, 512].includes(i)) seen.push([i, pages('memory.usage_in_bytes'), pages('memory.kmem.usage_in_bytes')]);
    }
    // Live: read 1 → usage 64 pages, kmem 3; read 63 → 128 / 65; read 511 → 576 / 513; read 512 → 576 / 514.
    expect(seen).toEqual([[1, 64, 3], [62, 64, 64], [63, 128, 65], [126, 128, 128], [127, 192, 129], [511, 576, 513], [512, 576, 514]]);
    expect(tree.stockedBytes('/kmstock')).toBe(62 * PAGE_SIZE);
    expect(tree.read('/kmstock', 'memory.max_usage_in_bytes')).toBe(`${576 * PAGE_SIZE}\n`);
    // Live, a second after the exit: usage_in_bytes 229376 (56 pages), kmem 0. The 514 tables
    // went back to the stock one by one: 62 + 514 pages, drained each time the slot passed 64.
    host.procs.delete(1);
    tree.exit(1);
    expect(tree.read('/kmstock', 'memory.usage_in_bytes')).toBe('229376\n');
    expect(tree.read('/kmstock', 'memory.kmem.usage_in_bytes')).toBe('0\n');
  });

  it('failcnt at a limit on a batch boundary: 19 failed tries before the OOM kill, 17 after (live: 64M)', () => {
    const { tree, host, pages } = probe('64M');
    let atOom = -1;
    const oomKill = host.oomKill.bind(host);
    host.oomKill = (mm) => {
      atOom = pages('memory.failcnt');
      oomKill(mm);
    };
    expect(host.readEvery2MiB(1, 16351 * 2 * MiB)).toBe(true);
    // Live: read 16351 → usage 16384 pages = the limit, kmem 16384, failcnt 0.
    expect([pages('memory.usage_in_bytes'), pages('memory.kmem.usage_in_bytes'), pages('memory.failcnt')]).toEqual([16384, 16384, 0]);
    expect(host.readEvery2MiB(1, 2 * MiB)).toBe(false);
    // Live: the OOM report said "memory: usage 65536kB, limit 65536kB, failcnt 19": the batch of
    // 64, the single page, the retry after drain_all_stock() and MAX_RECLAIM_RETRIES more.
    expect(atOom).toBe(19);
    // Live: memory.failcnt 36 once the task was gone (it retried a full set after killing itself),
    // oom_kill 1, and a second later usage_in_bytes 16384: 4 pages left in the stock.
    expect(tree.read('/kmstock', 'memory.failcnt')).toBe('36\n');
    expect(tree.read('/kmstock', 'memory.oom_control')).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    expect(tree.read('/kmstock', 'memory.usage_in_bytes')).toBe('16384\n');
    expect(host.killed).toEqual([1]);
  });

  it('failcnt below a limit off the batch boundary: every charge first fails at 64 pages (live: 16364 pages)', () => {
    const { tree, host, pages } = probe(String(16364 * PAGE_SIZE));
    let atOom = -1;
    const oomKill = host.oomKill.bind(host);
    host.oomKill = (mm) => {
      atOom = pages('memory.failcnt');
      oomKill(mm);
    };
    expect(host.readEvery2MiB(1, 16287 * 2 * MiB)).toBe(true);
    // 255 batches: usage 16320 pages with kmem 16320, nothing failed yet.
    expect([pages('memory.usage_in_bytes'), pages('memory.kmem.usage_in_bytes'), pages('memory.failcnt')]).toEqual([16320, 16320, 0]);
    expect(host.readEvery2MiB(1, 2 * MiB)).toBe(true);
    // Live: read 16288 → usage 16321 pages, kmem 16321, failcnt 1 (64 did not fit, 1 did).
    expect([pages('memory.usage_in_bytes'), pages('memory.kmem.usage_in_bytes'), pages('memory.failcnt')]).toEqual([16321, 16321, 1]);
    expect(host.readEvery2MiB(1, 43 * 2 * MiB)).toBe(true);
    // Live: read 16331 → usage 16364 = the limit, failcnt 44.
    expect([pages('memory.usage_in_bytes'), pages('memory.failcnt')]).toEqual([16364, 44]);
    expect(host.readEvery2MiB(1, 2 * MiB)).toBe(false);
    // Live: "limit 65456kB, failcnt 63" in the OOM report, memory.failcnt 80 afterwards.
    expect(atOom).toBe(63);
    expect(tree.read('/kmstock', 'memory.failcnt')).toBe('80\n');
  });

  it('each CPU has its own stock; a charge on another CPU charges a new batch', () => {
    const tree = new MemcgTree({ version: 'v2', policy: { nrCpus: 2 } });
    tree.create('/a');
    tree.attach(1, '/a');
    expect(tree.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    tree.setCpu(1);
    expect(tree.charge(1, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(tree.metrics('/a')['memory.current']).toBe(128 * PAGE_SIZE);
    expect(tree.stockedBytes('/a')).toBe(126 * PAGE_SIZE);
    // Freed on CPU 1, the page goes to CPU 1's stock.
    tree.uncharge(1, 'pagetables', PAGE_SIZE);
    expect(tree.metrics('/a')['memory.current']).toBe(128 * PAGE_SIZE);
    // Anonymous memory is uncharged straight from the page counters.
    expect(tree.charge(1, 'anon', PAGE_SIZE)).toBe(true);
    tree.uncharge(1, 'anon', PAGE_SIZE);
    expect(tree.metrics('/a')['memory.current']).toBe(127 * PAGE_SIZE);
    tree.drainStock('/a');
    expect(tree.metrics('/a')['memory.current']).toBe(PAGE_SIZE);
    expect(() => tree.setCpu(2)).toThrow(/E_OUT_OF_RANGE.*\[0, 1\]/);
    expect(tree.cpu).toBe(1);
  });

  it('a charge above a batch goes to the page counters whole; the root is charged exactly', () => {
    const tree = new MemcgTree({ version: 'v2' });
    tree.create('/a');
    tree.attach(1, '/a');
    tree.attach(2, '/');
    expect(tree.charge(1, 'anon', 100 * PAGE_SIZE)).toBe(true);
    expect(tree.stockedBytes('/a')).toBe(0);
    expect(tree.charge(2, 'pagetables', PAGE_SIZE)).toBe(true);
    expect(tree.metrics('/')['memory.current']).toBe(101 * PAGE_SIZE);
    // A cgroup that goes away gives its stock back to its ancestors.
    tree.create('/b');
    tree.attach(3, '/b');
    expect(tree.charge(3, 'kernel', PAGE_SIZE)).toBe(true);
    expect(tree.metrics('/')['memory.current']).toBe(165 * PAGE_SIZE);
    tree.exit(3);
    tree.remove('/b');
    expect(tree.metrics('/')['memory.current']).toBe(101 * PAGE_SIZE);
  });

  it('writing a limit drains the stocks before it reclaims', () => {
    const asked: ReclaimRequest[] = [];
    const tree = new MemcgTree({ version: 'v2', reclaimer: { reclaim: (_c, _b, r) => (asked.push(r!), 0) } });
    tree.create('/a');
    tree.attach(1, '/a');
    expect(tree.charge(1, 'pagetables', 10 * PAGE_SIZE)).toBe(true);
    expect(tree.metrics('/a')['memory.current']).toBe(64 * PAGE_SIZE);
    tree.write('/a', 'memory.max', String(10 * PAGE_SIZE));
    expect(tree.metrics('/a')['memory.current']).toBe(10 * PAGE_SIZE);
    expect(asked).toEqual([]);
    expect(tree.metrics('/a')['memory.events.oom']).toBe(0);
  });

  it('drain_all_stock empties every CPU that holds stock of the subtree, all of its slots (live: nested v1 cgroups)', () => {
    // Live: in /kmA/kmB a process on CPU 1 held 559 pages (memory.stat + kmem) with
    // usage_in_bytes 576; /kmA showed 640 (64 pages it had charged itself, for the new child's
    // kernel objects). Writing 559 pages to kmB's memory.limit_in_bytes succeeded, and /kmA then
    // read 561 pages: its own stock on that CPU was drained too.
    const tree = new MemcgTree({ version: 'v1', policy: { nrCpus: 2 } });
    tree.create('/kmA');
    tree.create('/kmA/kmB');
    tree.create('/other');
    tree.attach(1, '/kmA');
    tree.attach(2, '/kmA/kmB');
    tree.attach(3, '/other');
    tree.setCpu(1);
    expect(tree.charge(1, 'kernel', 3 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(2, 'pagetables', 10 * PAGE_SIZE)).toBe(true);
    tree.setCpu(0);
    expect(tree.charge(3, 'kernel', PAGE_SIZE)).toBe(true);
    expect(tree.read('/kmA', 'memory.usage_in_bytes')).toBe(`${128 * PAGE_SIZE}\n`);
    tree.write('/kmA/kmB', 'memory.limit_in_bytes', String(10 * PAGE_SIZE));
    expect(tree.read('/kmA/kmB', 'memory.usage_in_bytes')).toBe(`${10 * PAGE_SIZE}\n`);
    expect(tree.read('/kmA', 'memory.usage_in_bytes')).toBe(`${13 * PAGE_SIZE}\n`);
    // CPU 0 held nothing of /kmA/kmB: /other keeps its stock.
    expect(tree.stockedBytes('/other')).toBe(63 * PAGE_SIZE);
  });

  it('the GFP mask: no direct reclaim fails at once, __GFP_HIGH forces, __GFP_NORETRY stops after the drain', () => {
    const asked: ReclaimRequest[] = [];
    const tree = new MemcgTree({ version: 'v1', reclaimer: { reclaim: (_c, _b, r) => (asked.push(r!), 0) } });
    tree.create('/a', { limits: { 'memory.limit_in_bytes': '256K' } }); // 64 pages
    const host = new FakeProcesses(tree);
    host.spawn(1, '/a');
    expect(tree.charge(1, 'anon', 64 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(1, 'kernel', PAGE_SIZE, GFP_NOWAIT)).toBe(false);
    expect(asked).toEqual([]);
    // GFP_NOWAIT may still spin: the batch fails, then the single page; no reclaim, no OOM.
    expect(tree.read('/a', 'memory.failcnt')).toBe('2\n');
    expect(tree.charge(1, 'kernel', PAGE_SIZE, GFP_ATOMIC)).toBe(true);
    expect(tree.read('/a', 'memory.usage_in_bytes')).toBe(`${65 * PAGE_SIZE}\n`);
    expect(tree.charge(1, 'kernel', PAGE_SIZE, GFP_KERNEL | __GFP_NORETRY)).toBe(false);
    expect(asked.map((r) => [r.reason, r.mm, r.kind, r.nrPages, r.gfp])).toEqual([
      ['max', 1, 'kernel', 1, GFP_KERNEL | __GFP_NORETRY],
      ['max', 1, 'kernel', 1, GFP_KERNEL | __GFP_NORETRY],
    ]);
    expect(host.killed).toEqual([]);
    expect(() => tree.charge(1, 'kernel', PAGE_SIZE, -1)).toThrow(/E_NOT_INTEGER/);
  });

  it('rejects a policy the stock cannot hold', () => {
    expect(() => new MemcgTree({ policy: { chargeBatchPages: 128 } })).toThrow(/E_OUT_OF_RANGE.*at most 127/);
    expect(() => new MemcgTree({ policy: { nrCpus: 0 } })).toThrow(/E_OUT_OF_RANGE.*nrCpus/);
  });

  it('property: freeing n kernel pages at once equals freeing them one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 700 }), (pre, n) => {
        const run = (oneByOne: boolean) => {
          const tree = new MemcgTree({ version: 'v2' });
          tree.create('/a');
          tree.attach(1, '/a');
          expect(tree.charge(1, 'pagetables', n * PAGE_SIZE)).toBe(true);
          // Leave `pre` pages in the stock: a 64-page batch with 64 - pre taken from it.
          if (pre < 64) expect(tree.charge(1, 'kernel', (64 - pre) * PAGE_SIZE)).toBe(true);
          if (oneByOne) for (let i = 0; i < n; i++) tree.uncharge(1, 'pagetables', PAGE_SIZE);
          else tree.uncharge(1, 'pagetables', n * PAGE_SIZE);
          const current = tree.metrics('/a')['memory.current'];
          const stocked = tree.stockedBytes('/a');
          expect(stocked).toBeLessThanOrEqual(64 * PAGE_SIZE);
          expect(current).toBe(tree.metrics('/a')['memory.stat.kernel'] + stocked);
          return [current, stocked];
        };
        expect(run(false)).toEqual(run(true));
      }),
      { numRuns: 200, seed: 6418 },
    );
  });

  it('property: charges are conserved over CPUs (stocks + memory.stat = page counter), attacks included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 * GiB / (2 * MiB) })), { minLength: 1, maxLength: 12 }), (steps) => {
        const tree = new MemcgTree({ version: 'v1', policy: { nrCpus: 4 } });
        tree.create('/j', { limits: { 'memory.limit_in_bytes': '8M' } });
        const host = new FakeProcesses(tree);
        steps.forEach(([, ], i) => host.spawn(i + 1, '/j'));
        steps.forEach(([cpu, reads], i) => {
          tree.setCpu(cpu);
          if (host.procs.has(i + 1)) host.readEvery2MiB(i + 1, reads * 2 * MiB);
          const usage = Number(tree.read('/j', 'memory.usage_in_bytes'));
          expect(usage).toBe(Number(tree.read('/j', 'memory.kmem.usage_in_bytes')) + tree.stockedBytes('/j'));
          expect(usage).toBeGreaterThanOrEqual(0);
          expect(Number(tree.read('/j', 'memory.max_usage_in_bytes'))).toBeLessThanOrEqual(8 * MiB);
        });
      }),
      { numRuns: 60, seed: 1123 },
    );
  });
});
