import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER } from '@kmodel/core';
import type { Level, TableId } from '@kmodel/core';
import { ACCESS_USER, createPageTable, translate } from '@kmodel/pgtable';
import { CountingTables, RecordingObserver } from './helpers.js';

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

// Vpns drawn from a few 2 MiB spans in two 1 GiB spans, in the low and the high half.
const SPANS = [0, 1, 2, 512, 513, 2 ** 23 - 1];
const vpnArb = (kernelStart: number) =>
  fc.tuple(fc.constantFrom(...SPANS), fc.integer({ min: 0, max: 511 }), fc.boolean()).map(([s, o, high]) => (high ? kernelStart : 0) + s * 512 + o);

type Op =
  | { op: 'map'; vpn: number; pfn: number }
  | { op: 'huge'; vpn: number; pfn: number }
  | { op: 'unmap'; vpn: number }
  | { op: 'zap'; vpn: number; pages: number }
  | { op: 'free'; vpn: number; pages: number }
  | { op: 'freePte'; vpn: number };

function opArb(kernelStart: number): fc.Arbitrary<Op> {
  const v = vpnArb(kernelStart);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('map' as const), vpn: v, pfn: fc.integer({ min: 0, max: 2 ** 40 - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('huge' as const), vpn: v, pfn: fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((x) => x * 512) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('unmap' as const), vpn: v }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('zap' as const), vpn: v.map((x) => x - (x % 512)), pages: fc.constantFrom(512, 1024, 512 * 512) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('free' as const), vpn: v.map((x) => x - (x % 512)), pages: fc.constantFrom(512, 1024, 512 * 512) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('freePte' as const), vpn: v }) },
  );
}

describe('page table against a reference map', () => {
  for (const levels of [4, 5] as const) {
    it(`${levels}-level: after random map / unmap / zap / free, entries and table counts match a recount`, () => {
      const kernelStart = 2 ** 52 - 2 ** (levels === 5 ? 44 : 35);
      fc.assert(
        fc.property(fc.array(opArb(kernelStart), { minLength: 20, maxLength: 150 }), (ops) => {
          const tables = new CountingTables();
          const observer = new RecordingObserver();
          const pt = createPageTable({ levels, tables, observer });
          // reference: 4 KiB entries by vpn, 2 MiB leaves by span start
          const small = new Map<number, number>();
          const huge = new Map<number, number>();
          const hugeOf = (v: number) => v - (v % 512);
          for (const o of ops) {
            switch (o.op) {
              case 'map': {
                if (huge.has(hugeOf(o.vpn))) break;
                pt.allocTable(o.vpn, 1);
                pt.setEntry(o.vpn, 1, o.pfn, RW);
                small.set(o.vpn, o.pfn);
                break;
              }
              case 'huge': {
                const h = hugeOf(o.vpn);
                if (pt.tableAt(h, 1) >= 0 || huge.has(h)) break;
                pt.allocTable(h, 2);
                pt.setEntry(h, 2, o.pfn, RW | _PAGE_PSE);
                huge.set(h, o.pfn);
                break;
              }
              case 'unmap': {
                const had = small.get(o.vpn);
                if (huge.has(hugeOf(o.vpn))) break;
                expect(pt.clearEntry(o.vpn, 1)).toBe(had ?? -1);
                small.delete(o.vpn);
                break;
              }
              case 'zap': {
                const end = o.vpn + o.pages;
                let expected = 0;
                for (const k of [...small.keys()]) if (k >= o.vpn && k < end) (small.delete(k), expected++);
                for (const k of [...huge.keys()]) if (k >= o.vpn && k < end) (huge.delete(k), expected++);
                expect(pt.zapRange(o.vpn, end)).toBe(expected);
                break;
              }
              case 'free':
                pt.freePgtables(o.vpn, o.vpn + o.pages, o.vpn, o.vpn + o.pages);
                break;
              case 'freePte': {
                if (pt.freePteTable(o.vpn)) for (const k of [...small.keys()]) if (hugeOf(k) === hugeOf(o.vpn)) small.delete(k);
                break;
              }
            }
          }
          // entries agree with the reference
          for (const [v, pfn] of small) expect(pt.entryPfn(v, 1)).toBe(pfn);
          for (const [v, pfn] of huge) expect(pt.entryPfn(v + 7, 2)).toBe(pfn);
          // the hardware walk agrees with the reference: every mapped page translates, a few others fault
          const addr = (v: number) => BigInt(v) << 12n;
          for (const [v, pfn] of small) expect(translate(pt, addr(v) + 5n, ACCESS_USER).physAddr).toBe((BigInt(pfn) << 12n) + 5n);
          for (const [v, pfn] of huge) expect(translate(pt, addr(v + 7), ACCESS_USER).physAddr).toBe(BigInt(pfn + 7) << 12n);
          for (const v of [1, 513, kernelStart + 2]) {
            if (small.has(v) || huge.has(v - (v % 512))) continue;
            expect(translate(pt, addr(v), ACCESS_USER)).toMatchObject({ ok: false, physAddr: null });
          }
          const seen = new Map<number, number>();
          const counted = [0, 0, 0, 0, 0, 0];
          const visit = { leaf: (v: number, l: Level, pfn: number) => void seen.set(l === 1 ? v : -v - 1, pfn), table: (_t: TableId, l: Level) => void counted[l]++ };
          pt.walk(0, pt.userEnd, visit);
          pt.walk(pt.kernelStart, 2 ** 52, visit);
          expect(seen.size).toBe(small.size + huge.size);
          for (let l = 1; l < levels; l++) expect(pt.tableCount(l as Level)).toBe(counted[l]);
          expect(tables.live).toBe(counted.reduce((a, b) => a + b, 0) + 1);
          // observer births minus deaths equal the live tables below the top
          const births = observer.calls.filter((c) => c[0] === 'alloc').length;
          // every live table reports the base the observer heard at its birth
          const live = new Map<number, number>();
          for (const c of observer.calls) if (c[0] === 'alloc') live.set(c[1] as number, c[3] as number); else if (c[0] === 'free') live.delete(c[1] as number);
          for (const [t, base] of live) expect(pt.tableBaseVpn(t)).toBe(base);
          const deaths = observer.calls.filter((c) => c[0] === 'free').length;
          expect(births - deaths).toBe(tables.live - 1);
        }),
        { numRuns: 150 },
      );
    });
  }
});
