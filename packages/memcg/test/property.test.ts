import { PAGE_SIZE, SimClock, isKmodelError } from '@kmodel/core';
import type { ChargeKind, MmId, Reclaimer } from '@kmodel/core';
import { CHARGE_KINDS, MemcgTree } from '@kmodel/memcg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

const PATHS = ['/', '/a', '/a/b', '/a/c', '/d'] as const;
const MMS = [1, 2, 3, 4, 5, 6] as const;
const NR_CPUS = 3;

type Op =
  | { op: 'charge'; mm: MmId; kind: ChargeKind; pages: number }
  | { op: 'uncharge'; mm: MmId; kind: ChargeKind; fraction: number }
  | { op: 'attach'; mm: MmId; path: string }
  | { op: 'limit'; path: string; pages: number | null }
  | { op: 'high'; path: string; pages: number | null }
  | { op: 'exit'; mm: MmId }
  | { op: 'cpu'; cpu: number }
  | { op: 'drain'; path: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('charge' as const), mm: fc.constantFrom(...MMS), kind: fc.constantFrom(...CHARGE_KINDS), pages: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('uncharge' as const), mm: fc.constantFrom(...MMS), kind: fc.constantFrom(...CHARGE_KINDS), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('attach' as const), mm: fc.constantFrom(...MMS), path: fc.constantFrom(...PATHS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('limit' as const), path: fc.constantFrom('/a', '/a/b', '/a/c', '/d'), pages: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), mm: fc.constantFrom(...MMS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('high' as const), path: fc.constantFrom('/a', '/a/b', '/a/c', '/d'), pages: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cpu' as const), cpu: fc.integer({ min: 0, max: NR_CPUS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drain' as const), path: fc.constantFrom(...PATHS) }) },
);

/**
 * The invariant: every cgroup's statistics (each memory.stat kind, v1 kmem) equal the sum of
 * what the live address spaces of its subtree hold charged, and its page counter (usage) is
 * that sum plus the pages of its subtree waiting in the per-CPU stocks, never negative.
 * (Limits may be passed by the forced charges made inside reclaim, so they are not checked here.)
 */
function checkInvariants(tree: MemcgTree, ledger: Map<MmId, Record<ChargeKind, number>>): void {
  for (const path of tree.paths()) {
    const expected: Record<ChargeKind, number> = { anon: 0, file: 0, kernel: 0, pagetables: 0, sec_pagetables: 0 };
    for (const [mm, held] of ledger) {
      const at = tree.cgroupOf(mm);
      if (at === path || path === '/' || at.startsWith(`${path}/`)) for (const k of CHARGE_KINDS) expected[k] += held[k];
    }
    const m = tree.metrics(path);
    const total = expected.anon + expected.file + expected.kernel + expected.pagetables + expected.sec_pagetables;
    const kmem = expected.kernel + expected.pagetables + expected.sec_pagetables;
    const stocked = tree.stockedBytes(path);
    expect(stocked).toBeGreaterThanOrEqual(0);
    expect(m[tree.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes']).toBeGreaterThanOrEqual(0);
    expect(stocked % PAGE_SIZE).toBe(0);
    if (tree.version === 'v2') {
      expect(m['memory.current']).toBe(total + stocked);
    } else {
      expect(m['memory.usage_in_bytes']).toBe(total + stocked);
      expect(m['memory.kmem.usage_in_bytes']).toBe(kmem);
    }
    expect(m['memory.stat.anon']).toBe(expected.anon);
    expect(m['memory.stat.file']).toBe(expected.file);
    expect(m['memory.stat.kernel']).toBe(kmem);
    expect(m['memory.stat.pagetables']).toBe(expected.pagetables);
    expect(m['memory.stat.sec_pagetables']).toBe(expected.sec_pagetables);
  }
}

describe('property: cgroup charges equal the live pages charged to them, at every level', () => {
  it.each(['v1', 'v2'] as const)('%s', (version) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        // The test's own ledger of live charges, kept apart from the tree.
        const ledger = new Map<MmId, Record<ChargeKind, number>>();
        const held = (mm: MmId) => {
          let h = ledger.get(mm);
          if (!h) ledger.set(mm, (h = { anon: 0, file: 0, kernel: 0, pagetables: 0, sec_pagetables: 0 }));
          return h;
        };
        // Reclaim drops file pages of the tasks in the asked cgroup, half of what is asked
        // from each, and may itself charge (a forced charge, as under PF_MEMALLOC).
        let tree!: MemcgTree;
        const reclaimer: Reclaimer = {
          reclaim(cgroup, bytes) {
            let freed = 0;
            for (const mm of tree.tasksIn(cgroup ?? '/')) {
              if (tree.isKilled(mm)) continue;
              const n = Math.min(tree.chargedBy(mm, 'file'), Math.ceil(bytes / 2 / PAGE_SIZE) * PAGE_SIZE);
              if (n > 0) {
                tree.uncharge(mm, 'file', n);
                held(mm).file -= n;
                freed += n;
              }
              if (tree.charge(mm, 'kernel', PAGE_SIZE)) held(mm).kernel += PAGE_SIZE;
            }
            return freed;
          },
        };
        tree = new MemcgTree({ version, reclaimer, clock: new SimClock(), policy: { nrCpus: NR_CPUS } });
        for (const p of PATHS.slice(1)) tree.create(p);
        const host = new FakeProcesses(tree);
        const oomKill = host.oomKill.bind(host);
        host.oomKill = (mm) => {
          oomKill(mm);
          ledger.delete(mm);
        };
        for (const mm of MMS) host.spawn(mm, '/');
        const limitFile = version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
        for (const o of ops) {
          switch (o.op) {
            case 'charge':
              if (host.charge(o.mm, o.kind, o.pages * PAGE_SIZE)) held(o.mm)[o.kind] += o.pages * PAGE_SIZE;
              break;
            case 'uncharge': {
              const have = tree.isKilled(o.mm) ? 0 : held(o.mm)[o.kind];
              const n = Math.floor((have / PAGE_SIZE) * o.fraction) * PAGE_SIZE;
              tree.uncharge(o.mm, o.kind, n);
              if (n > 0) held(o.mm)[o.kind] -= n;
              break;
            }
            case 'attach':
              try {
                tree.attach(o.mm, o.path);
              } catch (e) {
                if (!isKmodelError(e, 'E_ATTACH_NOMEM')) throw e;
              }
              break;
            case 'limit':
              try {
                tree.write(o.path, limitFile, o.pages === null ? (version === 'v2' ? 'max' : '-1') : String(o.pages * PAGE_SIZE));
              } catch (e) {
                if (!isKmodelError(e, 'E_BUSY')) throw e;
              }
              break;
            case 'high':
              if (version === 'v2') tree.write(o.path, 'memory.high', o.pages === null ? 'max' : String(o.pages * PAGE_SIZE));
              break;
            case 'cpu':
              tree.setCpu(o.cpu);
              break;
            case 'drain':
              tree.drainStock(o.path);
              expect(tree.stockedBytes(o.path)).toBe(0);
              break;
            case 'exit':
              tree.exit(o.mm);
              ledger.delete(o.mm);
              host.procs.delete(o.mm);
              break;
          }
          checkInvariants(tree, ledger);
        }
      }),
      { numRuns: 150, seed: 20261123 },
    );
  });
});
