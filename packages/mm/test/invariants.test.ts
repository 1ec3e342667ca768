import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { entryPfn, isKmodelError } from '@kmodel/core';
import type { AddressSpace } from '@kmodel/mm';
import { PROT_READ, PROT_WRITE } from '@kmodel/mm';
import { PteRef } from '@kmodel/pte-ref';
import { A, machine } from './helpers/machine.js';

// A 16 MiB window that straddles a 1 GiB boundary, so PMD tables come and go too.
const BASE = A + 512 * 512 - 2048;
const SPAN = 4096;

const range = fc.tuple(fc.integer({ min: 0, max: SPAN - 1 }), fc.integer({ min: 1, max: 1536 })).map(([o, n]) => [BASE + o, Math.min(n, SPAN - o)] as const);
const op = fc.oneof(
  range.map(([v, n]) => ({ k: 'mmap' as const, v, n })),
  range.map(([v, n]) => ({ k: 'munmap' as const, v, n })),
  fc.tuple(range, fc.boolean(), fc.integer({ min: 1, max: 600 })).map(([[v, n], w, s]) => ({ k: 'touch' as const, v, n, w, s })),
  fc.tuple(range, fc.constantFrom('dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read') as fc.Arbitrary<'dontneed'>).map(([[v, n], a]) => ({ k: 'madvise' as const, v, n, a })),
  fc.tuple(range, fc.constantFrom(0, PROT_READ, PROT_READ | PROT_WRITE)).map(([[v, n], p]) => ({ k: 'mprotect' as const, v, n, p })),
  fc.constant({ k: 'fork' as const }),
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function apply(mm: AddressSpace, o: Op): AddressSpace | null {
  try {
    switch (o.k) {
      case 'mmap': mm.mmap({ addr: o.v, pages: o.n, fixedNoreplace: true }); break;
      case 'munmap': mm.munmap(o.v, o.n); break;
      case 'touch': mm.touch(o.v, o.n, o.s, o.w); break;
      case 'madvise': mm.madvise(o.v, o.n, o.a); break;
      case 'mprotect': mm.mprotect(o.v, o.n, o.p); break;
      case 'fork': return mm.fork(1000);
    }
  } catch (e) {
    if (!isKmodelError(e)) throw e;
  }
  return null;
}

/** Recounts RSS and table bytes from the page table itself. */
function check(mm: AddressSpace, zeroPfn: number, hugeZeroPfn: number): void {
  const pt = mm.pageTable;
  const s = mm.status();
  expect(s.nr_ptes).toBe(pt.tableCount(1) + mm.depositedTables);
  expect(s.nr_pmds).toBe(pt.tableCount(2));
  expect(s.nr_puds).toBe(pt.tableCount(3));
  expect(s.pgtables_bytes).toBe((s.nr_ptes + s.nr_pmds + s.nr_puds) * 4096);
  let rss = 0;
  const vmas = [...mm.vmas()];
  pt.walk(0, 2 ** 35, {
    leaf(vpn, level, pfn) {
      if (pfn !== zeroPfn && pfn !== hugeZeroPfn) rss += level === 2 ? 512 : 1;
      expect(vmas.some((v) => v.start <= vpn && vpn < v.end)).toBe(true);
    },
    nonPresent(vpn, _level, lo, hi) {
      // PROT_NONE entries keep their page, and RSS keeps counting it.
      if (entryPfn(lo, hi) !== zeroPfn) rss += 1;
      expect(vmas.some((v) => v.start <= vpn && vpn < v.end)).toBe(true);
    },
  });
  expect(s.RssAnon).toBe(rss * 4);
  for (let i = 1; i < vmas.length; i++) expect(vmas[i - 1]!.end <= vmas[i]!.start).toBe(true);
}

describe('invariants under random operation sequences', () => {
  it('RSS, table counts and VMAs agree with the page table; exit returns every page and charge', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.constantFrom('linux-6.18', 'linux-6.13'), fc.constantFrom('madvise', 'always'), (ops, profile, thp) => {
        const m = machine(1 << 20);
        const free0 = m.allocator.nrFreePages();
        const mm = m.mm({ profile: profile as 'linux-6.18', thp: thp as 'madvise' });
        const children: AddressSpace[] = [];
        for (const o of ops) {
          const child = apply(mm, o);
          if (child !== null) {
            children.push(child);
            check(child, m.zeroPfn, m.hugeZeroPfn);
          }
          check(mm, m.zeroPfn, m.hugeZeroPfn);
        }
        for (const c of children) c.exit();
        mm.exit();
        expect(m.allocator.nrFreePages()).toBe(free0);
        expect(m.charger.bytes.anon ?? 0).toBe(0);
        expect(m.charger.bytes.pagetables ?? 0).toBe(0);
      }),
      { numRuns: 150, seed: 20261123 },
    );
  });

  it('is deterministic: the same operations give the same status, counters and simulated time', () => {
    const run = (ops: Op[]) => {
      const m = machine(1 << 20);
      const mm = m.mm({ thp: 'always' });
      for (const o of ops) apply(mm, o);
      return JSON.stringify([mm.status(), mm.counters(), mm.clock.now, [...mm.vmas()]]);
    };
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => run(ops) === run(ops)), { numRuns: 30, seed: 3 });
  });

  it('tryFreePteTable frees exactly the empty and zero-only PTE tables, and nothing else changes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), fc.constantFrom('madvise', 'always'), fc.boolean(), (ops, thp, observer) => {
        const m = machine(1 << 20);
        // With an observer mm keeps zero-page counts; without one it walks the table.
        const ref = new PteRef(m.zeroPfn);
        const mm = observer ? m.mm({ thp: thp as 'madvise', id: 1, observer: ref.observerFor(1) }) : m.mm({ thp: thp as 'madvise' });
        for (const o of ops) if (o.k !== 'fork') apply(mm, o);
        const pt = mm.pageTable;
        for (let blk = BASE; blk < BASE + SPAN; blk += 512) {
          const present = pt.presentCount(blk, 1);
          let zeroOnly = present >= 0;
          let firstBad = -1;
          if (present > 0)
            pt.walk(blk, blk + 512, {
              leaf(vpn, level, pfn) {
                if (level === 1 && pfn === m.zeroPfn) return true;
                zeroOnly = false;
                firstBad = vpn;
                return false;
              },
              nonPresent(vpn) {
                zeroOnly = false;
                firstBad = vpn;
                return false;
              },
            });
          const before = JSON.stringify([mm.status(), mm.counters()['pt_reclaim.pte_tables_freed']]);
          const scanned0 = mm.counters()['pt_reclaim.entries_scanned']!;
          expect(mm.tryFreePteTable(blk, { allowZeroPages: true, lock: 'none' })).toBe(zeroOnly);
          if (zeroOnly) expect(pt.tableAt(blk, 1)).toBe(-1);
          else {
            expect(JSON.stringify([mm.status(), mm.counters()['pt_reclaim.pte_tables_freed']])).toBe(before);
            expect(pt.presentCount(blk, 1)).toBe(present);
            if (firstBad >= 0) expect(mm.counters()['pt_reclaim.entries_scanned']! - scanned0).toBe(firstBad - blk + 1);
          }
          check(mm, m.zeroPfn, m.hugeZeroPfn);
          if (observer) expect(ref.verify(1, pt)).toEqual([]);
        }
        mm.exit();
        expect(m.charger.bytes.pagetables ?? 0).toBe(0);
      }),
      { numRuns: 120, seed: 11 },
    );
  });

  it('munmap of everything leaves no table below the top', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const m = machine(1 << 20);
        const mm = m.mm();
        for (const o of ops) if (o.k !== 'fork') apply(mm, o);
        mm.munmap(BASE, SPAN);
        expect(mm.status().pgtables_bytes).toBe(0);
        expect(mm.status().RssAnon).toBe(0);
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
