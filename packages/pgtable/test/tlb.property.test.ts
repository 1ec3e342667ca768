import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_USER } from '@kmodel/core';
import { ACCESS_USER, ACCESS_WRITE, createPageTable, MmuGather, TlbSystem } from '@kmodel/pgtable';
import type { X86PageTable } from '@kmodel/pgtable';
import { CountingTables } from './helpers.js';

const URW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
const RO = _PAGE_PRESENT | _PAGE_USER;

type Op =
  | { k: 'access'; cpu: number; vpn: number; write: boolean }
  | { k: 'map'; mm: number; vpn: number; pfn: number; ro: boolean }
  | { k: 'unmap'; mm: number; vpn: number }
  | { k: 'zap'; mm: number; vpn: number; pages: number }
  | { k: 'switch'; cpu: number; mm: number; noFlush: boolean }
  | { k: 'freeTables'; mm: number; vpn: number };

// A small vpn space so that accesses often hit mapped pages; zaps of 600 pages still cross PTE tables.
const vpn = fc.oneof(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 500, max: 524 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('access' as const), cpu: fc.integer({ min: 0, max: 2 }), vpn, write: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('map' as const), mm: fc.integer({ min: 0, max: 1 }), vpn, pfn: fc.integer({ min: 1, max: 1 << 20 }), ro: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('unmap' as const), mm: fc.integer({ min: 0, max: 1 }), vpn }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('zap' as const), mm: fc.integer({ min: 0, max: 1 }), vpn, pages: fc.constantFrom(1, 8, 33, 34, 600) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('switch' as const), cpu: fc.integer({ min: 0, max: 2 }), mm: fc.integer({ min: 0, max: 1 }), noFlush: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('freeTables' as const), mm: fc.integer({ min: 0, max: 1 }), vpn }) },
);

/** Runs `ops` on 3 CPUs and 2 address spaces (PCIDs 1 and 2), flushing as Linux requires. */
function run(ops: Op[]) {
  const sys = new TlbSystem({
    cpus: 3,
    shadowCheck: true,
    // A tiny TLB, so that evictions happen often.
    config: { pte: { entries: 4, ways: 2 }, pmd: { entries: 2, ways: 2 }, pud: { entries: 2, ways: 2 }, pwc: { entries: 4, ways: 2 } },
  });
  const pts: X86PageTable[] = [0, 1].map(() => createPageTable({ levels: 4, tables: new CountingTables() }));
  const mmOf = [0, 0, 1];
  for (let c = 0; c < 3; c++) sys.switchMm(c, pts[mmOf[c]], mmOf[c] + 1);
  for (const o of ops) {
    switch (o.k) {
      case 'access': {
        sys.currentCpu = o.cpu;
        sys.access(o.cpu, o.vpn, ACCESS_USER | (o.write ? ACCESS_WRITE : 0));
        break;
      }
      case 'map': {
        const pt = pts[o.mm];
        pt.allocTable(o.vpn, 1);
        const wasPresent = pt.entryPfn(o.vpn, 1) >= 0;
        pt.setEntry(o.vpn, 1, o.pfn, o.ro ? RO : URW);
        // Changing a present PTE needs a flush; none -> present does not (x86 caches no non-present entries).
        if (wasPresent) sys.flushRange(o.mm + 1, o.vpn, o.vpn + 1, false);
        break;
      }
      case 'unmap': {
        if (pts[o.mm].clearEntry(o.vpn, 1) >= 0) sys.flushRange(o.mm + 1, o.vpn, o.vpn + 1, false);
        break;
      }
      case 'zap': {
        const tlb = new MmuGather(sys, o.mm + 1);
        pts[o.mm].zapRange(o.vpn, o.vpn + o.pages, (v, l) => tlb.removeTlbEntry(v, l));
        tlb.finish();
        break;
      }
      case 'switch': {
        mmOf[o.cpu] = o.mm;
        sys.switchMm(o.cpu, pts[o.mm], o.mm + 1, o.noFlush);
        break;
      }
      case 'freeTables': {
        // unmap a 2 MiB span and free its tables (free_pgtables), then the freed_tables flush
        const s = o.vpn - (o.vpn % 512);
        const tlb = new MmuGather(sys, o.mm + 1);
        pts[o.mm].zapRange(s, s + 512, (v, l) => tlb.removeTlbEntry(v, l));
        const freed = pts[o.mm].freePgtables(s, s + 512, s, s + 512);
        if (freed[1] > 0) tlb.freeTable(s, 1);
        tlb.finish();
        break;
      }
    }
  }
  return { sys, pts };
}

describe('TLB shadow check', () => {
  it('finds no stale hit when every required flush is done', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 100, maxLength: 300 }), (ops) => {
        const { sys } = run(ops);
        expect(sys.counters.get('tlb.stale_hazards')).toBe(0);
        expect(sys.staleEntries()).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('finds the stale hit when a required flush is skipped on purpose', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 100 }), vpn, fc.integer({ min: 1, max: 1 << 20 }), (ops, v, pfn) => {
        const { sys, pts } = run(ops);
        const cpu = 2; // runs mm 1 (PCID 2) unless switched; use whatever it runs now
        const pt = sys.loadedTable(cpu)!;
        pt.allocTable(v, 1);
        pt.setEntry(v, 1, pfn, URW);
        sys.flushRange(sys.pcidOf(cpu), v, v + 1, false);
        expect(sys.access(cpu, v, ACCESS_USER)).toBe(pfn);
        const before = sys.counters.get('tlb.stale_hazards');
        // The bug under test: remap without flush_tlb_range.
        pt.setEntry(v, 1, pfn + 1, URW);
        expect(sys.access(cpu, v, ACCESS_USER)).toBe(pfn);
        expect(sys.counters.get('tlb.stale_hazards')).toBe(before + 1);
        expect(sys.staleEntries().some((s) => s.kind === 'tlb' && s.cpu === cpu && s.vpn === v && s.cachedPfn === pfn && s.walkPfn === pfn + 1)).toBe(true);
        void pts;
      }),
      { numRuns: 100 },
    );
  });
});
