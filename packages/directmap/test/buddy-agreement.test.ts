import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { __GFP_UNMAPPED, GFP_KERNEL, GFP_HIGHUSER_MOVABLE, MiB, type TableAllocator } from '@kmodel/core';
import { BuddyAllocator, x86Layout } from '@kmodel/buddy';
import { DirectMap, pageAllocatorTables, ramRangesExcluding } from '@kmodel/directmap';

const PB = 512;

/** Builds buddy + direct map over the same x86 layout; table pages may be made to fail. */
function machine(memoryMiB: number, tableFails: () => boolean) {
  const layout = x86Layout({ memory: memoryMiB * MiB });
  const ram = ramRangesExcluding(layout.endPfn, layout.holes);
  let next = 1 << 30;
  const tables: TableAllocator = { allocTable: () => (tableFails() ? null : next++), freeTable: () => {} };
  const dm = new DirectMap({ ram, tables, nrCpus: 2 });
  const buddy = new BuddyAllocator({ layout, directMap: dm, nrCpus: 2 });
  return { layout, ram, dm, buddy };
}

/** RAM pages of the pageblock starting at `pb`. */
function ramPagesIn(ram: readonly { start: number; end: number }[], pb: number): number {
  let n = 0;
  for (const r of ram) n += Math.max(0, Math.min(r.end, pb + PB) - Math.max(r.start, pb));
  return n;
}

function checkAgreement(m: ReturnType<typeof machine>): void {
  for (let pb = 0; pb < m.layout.endPfn; pb += PB) {
    const ramPages = ramPagesIn(m.ram, pb);
    if (ramPages === 0 || m.buddy.zoneOf(Math.max(pb, 1)) < 0) continue;
    const mapped = m.dm.mappedPagesInBlock(pb);
    if (m.buddy.isPageblockUnmapped(pb)) expect(mapped, `pageblock ${pb} unmapped in buddy`).toBe(0);
    else expect(mapped, `pageblock ${pb} mapped in buddy`).toBe(ramPages);
  }
}

describe('buddy and direct map agree on every pageblock', () => {
  it('after a fixed unmapped/mapped sequence', () => {
    const m = machine(64, () => false);
    const got: [number, number][] = [];
    for (let i = 0; i < 700; i++) {
      const pfn = m.buddy.allocPages(GFP_KERNEL | __GFP_UNMAPPED, 0);
      expect(pfn).not.toBeNull();
      got.push([pfn!, 0]);
    }
    expect(m.buddy.counters()['buddy.unmapped_conversions']).toBe(2);
    expect(m.dm.metrics()).toMatchObject({ 'directmap.split_2m': 0 });
    checkAgreement(m);
    for (const [pfn, o] of got) m.buddy.freePages(pfn, o);
    checkAgreement(m);
  });

  it('property: any interleaving of unmapped and mapped allocations and frees, with failing splits', () => {
    const op = fc.record({
      kind: fc.constantFrom('unmapped', 'kernel', 'movable', 'free'),
      order: fc.integer({ min: 0, max: 10 }),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), (ops, fails) => {
        let k = 0;
        const m = machine(48, () => fails[k++ % fails.length]! && k % 3 === 0);
        const live: [number, number][] = [];
        for (const o of ops) {
          if (o.kind === 'free') {
            if (live.length === 0) continue;
            const [pfn, order] = live.splice(o.pick % live.length, 1)[0]!;
            m.buddy.freePages(pfn, order);
          } else {
            const gfp = o.kind === 'unmapped' ? GFP_KERNEL | __GFP_UNMAPPED : o.kind === 'kernel' ? GFP_KERNEL : GFP_HIGHUSER_MOVABLE;
            const pfn = m.buddy.allocPages(gfp, o.order);
            if (pfn !== null) {
              live.push([pfn, o.order]);
              if (o.kind === 'unmapped') expect(m.dm.kernelPagePresent(pfn)).toBe(false);
            }
          }
          checkAgreement(m);
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('split page-table pages from the buddy allocator itself', () => {
  it('per-page removal takes one unmovable page per split; pageblock conversion re-enters buddy for the 1 GiB split', () => {
    const layout = x86Layout({ memory: 8192 * MiB });
    const ram = ramRangesExcluding(layout.endPfn, layout.holes);
    // The direct map needs the allocator and the allocator the direct map: tie the knot.
    let buddy!: BuddyAllocator;
    const dm = new DirectMap({ ram, tables: { allocTable: (l) => pageAllocatorTables(buddy).allocTable(l), freeTable: (p, l) => pageAllocatorTables(buddy).freeTable(p, l) } });
    buddy = new BuddyAllocator({ layout, directMap: dm });
    const before = buddy.allocatedPages();
    const pages: number[] = [];
    for (let i = 0; i < 600; i++) {
      const pfn = buddy.allocPages(GFP_KERNEL, 0)!;
      expect(dm.removeRange(pfn, 1)).toBe(true);
      pages.push(pfn);
    }
    const pt = dm.kernelPtPages;
    expect(pt).toBe(dm.counters.get('directmap.split_1g') + dm.counters.get('directmap.split_2m'));
    expect(buddy.allocatedPages() - before).toBe(600 + pt);
    // Unmapped allocations convert pageblocks; a split inside that conversion allocates from buddy again.
    for (let i = 0; i < 2000; i++) expect(buddy.allocPages(GFP_KERNEL | __GFP_UNMAPPED, 0)).not.toBeNull();
    expect(buddy.counters()['buddy.unmapped_conversions']).toBeGreaterThanOrEqual(4);
    expect(buddy.allocatedPages() - before).toBe(600 + 2000 + dm.kernelPtPages);
    for (const p of pages) dm.restoreRange(p, 1);
    buddy.checkInvariants();
    checkAgreement({ layout, ram, dm, buddy });
  });
});
