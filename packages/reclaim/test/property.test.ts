import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { freeUserPtes } from '@kmodel/reclaim';
import type { AddressSpace } from '@kmodel/mm';
import { TABLE_SPAN as T, TestMachine, translations } from './support/machine.js';
import { ALL } from './support/workloads.js';

const SPECS = [...ALL, 'mainline+reclaim-path', 'reclaim-path+pmd-level', 'pte-ref-immediate+zero-scan', 'free-ptes+pmd-level+throttle'];
const TABLES = 8;

type Op =
  | { kind: 'touch'; mm: number; table: number; offset: number; len: number; stride: number; write: boolean }
  | { kind: 'dontneed'; mm: number; table: number; offset: number; len: number }
  | { kind: 'tick' }
  | { kind: 'reclaim'; bytes: number }
  | { kind: 'freePtes' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('touch' as const), mm: fc.nat(1), table: fc.nat(TABLES - 1), offset: fc.nat(T - 1), len: fc.integer({ min: 1, max: 3 * T }), stride: fc.constantFrom(1, 7, 64, T), write: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('dontneed' as const), mm: fc.nat(1), table: fc.nat(TABLES - 1), offset: fc.constantFrom(0, 0, 1, 256), len: fc.constantFrom(1, 256, T, 2 * T, 3 * T) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reclaim' as const), bytes: fc.constantFrom(4096, 1 << 16, 1 << 30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('freePtes' as const) }) },
);

/**
 * Checks what reclaim may do to the translations of one address space: every page that mapped
 * something other than the zero page maps the same frame; a zero-page entry may become none
 * (both read zeroes); nothing new appears. `exempt` pages may change (the operation itself wrote them).
 */
function checkPreserved(mm: AddressSpace, before: Map<number, number>, zeroPfn: number, exempt: (vpn: number) => boolean): void {
  const after = translations(mm);
  for (const [vpn, pfn] of before) {
    if (exempt(vpn)) continue;
    const now = after.get(vpn);
    if (pfn === zeroPfn) expect(now === undefined || now === zeroPfn, `vpn ${vpn} read zeroes before`).toBe(true);
    else expect(now, `vpn ${vpn} mapped pfn ${pfn}`).toBe(pfn);
  }
  for (const vpn of after.keys()) if (!exempt(vpn)) expect(before.has(vpn), `vpn ${vpn} appeared`).toBe(true);
}

describe('property: reclaim never loses data', () => {
  it.each(SPECS)('%s frees no table holding a live mapping, and every translation reads the same after reclaim', (spec) => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 24, max: 400 }), { nil: undefined }), fc.array(op, { minLength: 1, maxLength: 25 }), (limitPages, ops) => {
        const m = new TestMachine({ policy: spec, ram: 64 << 20, ...(limitPages === undefined ? {} : { memoryMax: limitPages * 4096 }), params: spec === 'throttle' ? { mode: 'refuse', minPgtablesBytes: 16384 } : {} });
        const mms = [m.spawn('a'), m.spawn('b')];
        const bases = mms.map((mm) => mm.mmap({ pages: TABLES * T, align: T }));
        for (const o of ops) {
          const live = mms.filter((mm) => !mm.exited);
          const before = new Map(live.map((mm) => [mm, translations(mm)]));
          let exempt: (mm: AddressSpace, vpn: number) => boolean = () => false;
          if (o.kind === 'touch' || o.kind === 'dontneed') {
            const mm = mms[o.mm]!;
            if (mm.exited) continue;
            const start = bases[o.mm]! + o.table * T + o.offset;
            const len = Math.min(o.len, bases[o.mm]! + TABLES * T - start);
            if (o.kind === 'touch') mm.touch(start, len, o.stride, o.write);
            else mm.madvise(start, len, 'dontneed');
            exempt = (x, vpn) => x === mm && vpn >= start && vpn < start + len;
          } else if (o.kind === 'tick') m.tick(1, 20_000_000);
          else if (o.kind === 'reclaim') m.driver.reclaim(null, o.bytes);
          else for (const mm of live) freeUserPtes(mm, m.driver);
          for (const mm of live) {
            if (mm.exited) continue; // OOM-killed by this operation
            checkPreserved(mm, before.get(mm)!, m.zeroPfn, (vpn) => exempt(mm, vpn));
            expect(m.pteRef.verify(mm.id, mm.pageTable)).toEqual([]);
            expect(mm.status().nr_ptes).toBe(mm.pageTable.tableCount(1));
            expect(mm.status().nr_pmds).toBe(mm.pageTable.tableCount(2));
          }
          // memory.stat pagetables = every live table, top tables included.
          const tables = mms.filter((mm) => !mm.exited).reduce((s, mm) => s + mm.pgtablesBytes + 4096, 0);
          expect(m.pagetablesBytes).toBe(tables);
        }
      }),
      { numRuns: 30, seed: 20261123 },
    );
  });
});
