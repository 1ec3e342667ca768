import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { _PAGE_PRESENT, _PAGE_PSE, isKmodelError } from '@kmodel/core';
import { DirectMap } from '@kmodel/directmap';

const PUD = 512 * 512;
const RAM = { start: 100, end: 2 * PUD + 3000 };

/** The leaf the page table holds for `pfn`, read from the table itself. */
function tableLeaf(dm: DirectMap, pfn: number): { level: number; present: boolean } {
  const level = dm.leafLevel(pfn);
  const span = level === 3 ? PUD : level === 2 ? 512 : 1;
  const vpn = dm.baseVpn + pfn - (pfn % span);
  const flags = dm.pageTable.entryFlags(vpn, level);
  if (level > 1 && flags & _PAGE_PRESENT) expect(flags & _PAGE_PSE).toBe(_PAGE_PSE);
  expect(dm.pageTable.entryPfn(vpn, level)).toBe(pfn - (pfn % span));
  return { level, present: (flags & _PAGE_PRESENT) !== 0 };
}

describe('DirectMap against a reference set of removed pages', () => {
  it('property: any sequence of removes, restores and collapses keeps state, table and meminfo consistent', () => {
    const range = fc.record({
      start: fc.oneof(fc.integer({ min: RAM.start, max: RAM.end - 1 }), fc.constantFrom(512, PUD, PUD + 512, 2 * PUD - 512)),
      len: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(512, 1024, PUD)),
      op: fc.constantFrom('remove', 'restore', 'collapse'),
    });
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 25 }), (ops) => {
        const dm = new DirectMap({ ram: [RAM], nrCpus: 2 });
        const removed = new Set<number>();
        const touched: number[] = [];
        for (const { start, len, op } of ops) {
          const end = Math.min(start + len, RAM.end);
          const n = end - start;
          if (op === 'collapse') {
            dm.collapse(start, n);
          } else {
            let allOk = true;
            for (let p = start; p < end && allOk; p++) allOk = removed.has(p) === (op === 'restore');
            try {
              if (op === 'remove') expect(dm.removeRange(start, n)).toBe(true);
              else dm.restoreRange(start, n);
              expect(allOk).toBe(true);
              for (let p = start; p < end; p++) {
                if (op === 'remove') removed.add(p);
                else removed.delete(p);
              }
            } catch (e) {
              if (!isKmodelError(e)) throw e;
              expect(allOk).toBe(false);
              expect(e.code).toBe(op === 'remove' ? 'E_NOT_MAPPED' : 'E_ALREADY_MAPPED');
            }
          }
          touched.push(start, end - 1, Math.max(RAM.start, start - 1), Math.min(RAM.end - 1, end));
          for (const p of touched) {
            expect(dm.kernelPagePresent(p)).toBe(!removed.has(p));
            expect(tableLeaf(dm, p).present).toBe(!removed.has(p));
          }
          const m = dm.meminfo();
          expect((m.DirectMap4k + m.DirectMap2M + m.DirectMap1G) / 4).toBe(RAM.end - RAM.start);
          const c = dm.counters;
          expect(dm.kernelPtPages).toBe(c.get('directmap.split_1g') + c.get('directmap.split_2m') - c.get('directmap.collapse_1g') - c.get('directmap.collapse_2m'));
          // The two edge blocks (412 and 440 RAM pages) plus one PTE table per split 2 MiB block.
          expect(dm.pageTable.tableCount(1)).toBe(2 + (m.DirectMap4k / 4 - 412 - 440) / 512);
        }
        // The whole table: every present leaf maps its own PFN, and they cover RAM minus the removed pages.
        let present = 0;
        dm.pageTable.walk(dm.baseVpn, dm.baseVpn + RAM.end, {
          leaf: (vpn, level, pfn) => {
            expect(pfn).toBe(vpn - dm.baseVpn);
            present += level === 3 ? PUD : level === 2 ? 512 : 1;
          },
        });
        expect(present).toBe(RAM.end - RAM.start - removed.size);
      }),
      { numRuns: 60 },
    );
  });
});
