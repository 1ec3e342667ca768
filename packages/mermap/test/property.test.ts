import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MERMAP_NR_ALLOCS } from '@kmodel/mermap';
import { setup } from './helpers.js';

const SLICE = 24;

describe('mermap allocator properties', () => {
  it('never reuses an address without a local flush in between; live mappings never overlap; failures only when the kernel rule says so', () => {
    const step = fc.record({ put: fc.boolean(), pick: fc.nat(), pages: fc.integer({ min: 1, max: SLICE }), reserved: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), (steps) => {
        const { mermap, pageTable } = setup(1, 'report', SLICE);
        const live: number[] = [];
        const usedInEpoch = new Uint8Array(SLICE);
        let epoch = 0;
        for (const s of steps) {
          if (s.put && live.length > 0) {
            mermap.put(live.splice(s.pick % live.length, 1)[0]!);
            continue;
          }
          const pages = s.reserved ? 1 : s.pages;
          const ranges = live.map((h) => [mermap.addr(h) - mermap.baseVpn, mermap.addr(h) - mermap.baseVpn + mermap.pages(h)] as const);
          const limit = s.reserved ? SLICE : SLICE - 1;
          const highest = ranges.reduce((m, r) => Math.max(m, r[1]), 0);
          const h = s.reserved ? mermap.getReserved(0, 1000 + s.pick, undefined) : mermap.get(0, 1000 + s.pick, pages);
          const flushes = mermap.metrics()['mermap.local_flushes']!;
          if (flushes > epoch) {
            usedInEpoch.fill(0);
            epoch = flushes;
          }
          if (h < 0) {
            // The kernel fails only when no slot is free or the request does not fit above the highest live mapping.
            expect(live.length === MERMAP_NR_ALLOCS || pages > limit - highest).toBe(true);
            continue;
          }
          const off = mermap.addr(h) - mermap.baseVpn;
          expect(off + pages).toBeLessThanOrEqual(limit);
          for (const [a, b] of ranges) expect(off >= b || off + pages <= a).toBe(true);
          for (let i = off; i < off + pages; i++) {
            expect(usedInEpoch[i], `offset ${i} reused without a flush`).toBe(0);
            usedInEpoch[i] = 1;
            expect(pageTable.entryPfn(mermap.baseVpn + i, 1)).toBe(1000 + s.pick + i - off);
          }
          if (s.reserved) mermap.put(h);
          else live.push(h);
        }
      }),
      { numRuns: 200 },
    );
  });
});
