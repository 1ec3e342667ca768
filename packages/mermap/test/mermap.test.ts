import { describe, expect, it } from 'vitest';
import { _PAGE_GLOBAL, _PAGE_PRESENT, _PAGE_RW } from '@kmodel/core';
import { SimClock } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { MERMAP_SENTINEL_FLAGS, Mermap, MermapTlb, defaultMermapBaseVpn, mmLocalBaseVpn } from '@kmodel/mermap';
import { codeOf, setup as setupWith, TLB_MODELS } from './helpers.js';

describe.each(TLB_MODELS)('on the %s TLB model', (model) => {
  const setup = (nrCpus = 2, mode: 'report' | 'flush_on_free' | 'page_flag' = 'report', slicePages = 512) => setupWith(nrCpus, mode, slicePages, model);

  describe('mermap layout', () => {
    it('puts the slices in the mm-local PGD slot -240, pre-populated with sentinel PTEs', () => {
      expect(mmLocalBaseVpn(4)).toBe(0xffff880000000);
      const { mermap, pageTable } = setup(2);
      expect(mermap.baseVpn).toBe(defaultMermapBaseVpn(4));
      // Two CPUs x 512 pages = two PTE tables (plus the PMD/PUD above), every entry the sentinel.
      expect(pageTable.tableCount(1)).toBe(2);
      expect(pageTable.entryFlags(mermap.baseVpn + 700, 1)).toBe(MERMAP_SENTINEL_FLAGS);
      expect(pageTable.entryPfn(mermap.baseVpn + 700, 1)).toBe(0);
    });
  });

  describe('mermap_kunit.c expectations', () => {
    it('test_basic_alloc: maps one page and the CPU reads it back', () => {
      const { mermap } = setup();
      const h = mermap.get(0, 1234, 1);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(mermap.access(0, mermap.addr(h))).toBe(1234);
    });

    it('test_size: slice-1 page succeeds, a whole slice fails, after large+small a page fails but the reserved page works', () => {
      const { mermap } = setup(1);
      const region = 512 - 1;
      const full = mermap.get(0, 10, region);
      expect(full).toBeGreaterThanOrEqual(0);
      mermap.put(full);
      expect(mermap.get(0, 10, region + 1)).toBe(-1); // the slice minus its reserved page is the limit
      const large = mermap.get(0, 10, region - 1);
      expect(large).toBeGreaterThanOrEqual(0);
      const small = mermap.get(0, 10, 1);
      expect(small).toBeGreaterThanOrEqual(0);
      expect(mermap.get(0, 10, 1)).toBe(-1);
      const reserved = mermap.getReserved(0, 99);
      expect(reserved).toBeGreaterThanOrEqual(0);
      expect(mermap.addr(reserved)).toBe(mermap.baseVpn + 511);
      expect(mermap.access(0, mermap.addr(reserved))).toBe(99);
      mermap.put(reserved);
      expect(mermap.metrics()).toMatchObject({ 'mermap.gets': 5, 'mermap.failures': 2, 'mermap.reserved_gets': 1, 'mermap.local_flushes': 1 });
    });

    it('test_multiple_allocs: 4 live allocations each reach their own page, a 5th fails', () => {
      const { mermap } = setup(2);
      const hs = [0, 1, 2, 3].map((i) => mermap.get(1, 5000 + i, 1));
      expect(hs.every((h) => h >= 0)).toBe(true);
      hs.forEach((h, i) => {
        const vpn = mermap.addr(h);
        expect(vpn).toBeGreaterThanOrEqual(mermap.baseVpn + 512);
        expect(vpn).toBeLessThan(mermap.baseVpn + 1024);
        expect(mermap.access(1, vpn)).toBe(5000 + i);
      });
      expect(mermap.get(1, 9, 1)).toBe(-1); // all four slots live
      expect(mermap.getReserved(1, 9)).toBe(-1); // ... and the reserved get needs a slot too
      expect(mermap.metrics()['mermap.reserved_failures']).toBe(1);
    });

    it('test_tlb_flushed: repeated get/put cycles flush exactly once, at the first address reuse', () => {
      const { mermap } = setup(1);
      let prev = -1;
      let reused = -1;
      for (let i = 0; i < 2000; i++) {
        const h = mermap.get(0, 1, 1);
        expect(h).toBeGreaterThanOrEqual(0);
        const a = mermap.addr(h);
        mermap.put(h);
        if (a < prev) {
          reused = i;
          break;
        }
        prev = a;
        expect(mermap.metrics()['mermap.local_flushes']).toBe(0);
      }
      expect(reused).toBe(511); // 511 usable pages, then the wrap
      expect(mermap.metrics()['mermap.local_flushes']).toBe(1);
      expect(mermap.tlb.metrics()['tlb.flush_full']).toBe(1);
    });
  });

  describe('one local flush per wrap', () => {
    it('2000 single-page cycles wrap at gets 512, 1023 and 1534: three local flushes, no IPI', () => {
      const { mermap, tlb } = setup(2);
      for (let i = 0; i < 2000; i++) mermap.put(mermap.get(1, i, 1));
      expect(mermap.metrics()['mermap.local_flushes']).toBe(3);
      expect(tlb.metrics()).toMatchObject({ 'tlb.flush_full': 3, 'tlb.ipis': 0 });
    });
  });

  describe('bump allocator rules', () => {
    it('does not reuse freed space below the highest live allocation until the end of the slice', () => {
      const { mermap } = setup(1, 'report', 16);
      const a = mermap.get(0, 1, 4); // [0,4)
      const b = mermap.get(0, 1, 8); // [4,12)
      mermap.put(a);
      const c = mermap.get(0, 1, 3); // [12,15): the slice minus the reserved page
      expect(mermap.addr(c) - mermap.baseVpn).toBe(12);
      // Out of space, and the highest live allocation (c) ends at the limit: fail without a flush.
      expect(mermap.get(0, 1, 1)).toBe(-1);
      expect(mermap.metrics()['mermap.local_flushes']).toBe(0);
      mermap.put(c);
      // Highest live is b (end 12): flush, rewind to 12, allocate there.
      const d = mermap.get(0, 1, 2);
      expect(mermap.addr(d) - mermap.baseVpn).toBe(12);
      expect(mermap.metrics()['mermap.local_flushes']).toBe(1);
      mermap.put(b);
      mermap.put(d);
    });
  });

  describe('CPU locality and stale entries', () => {
    it('faults when another CPU touches the mapping, and after put when the CPU had not cached it', () => {
      const { mermap } = setup(2);
      const h = mermap.get(0, 77, 2);
      const vpn = mermap.addr(h);
      expect(mermap.access(1, vpn)).toBe(-1);
      expect(mermap.metrics()['mermap.cross_cpu_faults']).toBe(1);
      expect(mermap.access(0, vpn)).toBe(77);
      mermap.put(h);
      // vpn + 1 was never touched: a walk finds the sentinel and faults.
      expect(mermap.access(0, vpn + 1)).toBe(-1);
      // vpn was touched: the stale TLB entry still serves the old page.
      expect(mermap.access(0, vpn)).toBe(77);
      expect(mermap.metrics()).toMatchObject({ 'mermap.faults': 2, 'mermap.stale_accesses': 1 });
    });

    it('reports a page freed without a flush, with the put and the free', () => {
      const { mermap, checker, clock } = setup(2, 'report');
      const h = mermap.get(1, 300, 1);
      mermap.touch(h);
      const vpn = mermap.addr(h);
      clock.advance(50);
      mermap.put(h);
      clock.advance(50);
      expect(checker.onFree(300, 1, 0)).toBe(1);
      expect(checker.counters.get('tlb.stale_hazards')).toBe(1);
      const hz = checker.hazards[0]!;
      expect(hz).toMatchObject({ pfn: 300, cpu: 1, vpn });
      expect(hz.put).toMatchObject({ op: 'mermap_put', cpu: 1, pfn: 300, nrPages: 1, vpn, time_ns: 50 });
      expect(hz.free).toMatchObject({ op: 'free_pages', cpu: 0, pfn: 300, nrPages: 1, time_ns: 100 });
      expect(hz.put.seq).toBeLessThan(hz.free.seq);
      expect(checker.describe(hz)).toContain('left by mermap_put');
      // A page that was mapped but never touched leaves nothing in the TLB.
      const h2 = mermap.get(1, 301, 1);
      mermap.put(h2);
      expect(checker.onFree(301, 1)).toBe(0);
    });

    it('a local flush (the wrap) clears the stale entries of that CPU only', () => {
      const { mermap, checker, tlb } = setup(2, 'report', 8);
      const a = mermap.get(0, 10, 1);
      mermap.touch(a);
      mermap.put(a);
      const b = mermap.get(1, 20, 1);
      mermap.touch(b);
      mermap.put(b);
      // Fill CPU 0's slice until it wraps.
      for (let i = 0; i < 7; i++) mermap.put(mermap.get(0, 1, 1));
      expect(mermap.metrics()['mermap.local_flushes']).toBe(1);
      expect(tlb.staleCount(10)).toBe(0);
      expect(tlb.staleCount(20)).toBe(1);
      expect(checker.onFree(10, 1)).toBe(0);
      expect(checker.onFree(20, 1)).toBe(1);
    });

    it('flush_on_free flushes on every free; page_flag only for marked pages; neither leaves a hazard', () => {
      for (const mode of ['flush_on_free', 'page_flag'] as const) {
        const { mermap, checker, tlb } = setup(4, mode);
        const h = mermap.get(2, 40, 2);
        mermap.touch(h);
        mermap.put(h);
        expect(checker.onFree(40, 2, 0)).toBe(0);
        expect(checker.onFree(900, 1, 0)).toBe(0); // never mermapped
        expect(checker.counters.get('tlb.stale_hazards')).toBe(0);
        const flushes = mode === 'flush_on_free' ? 2 : 1;
        expect(checker.counters.get('checker.flushes')).toBe(flushes);
        expect(tlb.metrics()).toMatchObject({ 'tlb.flush_full': 4 * flushes, 'tlb.ipis': 3 * flushes });
      }
    });

    it('page_flag: a full flush after the put clears the mark', () => {
      const { mermap, checker, tlb } = setup(2, 'page_flag');
      const h = mermap.get(0, 40, 1);
      mermap.touch(h);
      mermap.put(h);
      expect(checker.needsFlush(40)).toBe(true);
      tlb.flushTlbAll();
      expect(checker.needsFlush(40)).toBe(false);
      expect(checker.onFree(40, 1)).toBe(0);
      expect(checker.counters.get('checker.flushes')).toBe(0);
    });
  });

  describe('bad input changes nothing', () => {
    it('rejects a get larger than the slice, a global mapping, a bad cpu, a dead handle', () => {
      const { mermap, pageTable } = setup(2);
      const before = { m: mermap.metrics(), f: pageTable.entryFlags(mermap.baseVpn, 1) };
      expect(codeOf(() => mermap.get(0, 1, 513))).toBe('E_MERMAP_TOO_LARGE');
      expect(codeOf(() => mermap.get(0, 1, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_GLOBAL))).toBe('E_MERMAP_GLOBAL');
      expect(codeOf(() => mermap.getReserved(0, 1, _PAGE_PRESENT | _PAGE_GLOBAL))).toBe('E_MERMAP_GLOBAL');
      expect(codeOf(() => mermap.get(2, 1, 1))).toBe('E_BAD_CPU');
      expect(codeOf(() => mermap.get(0, 1, 0))).toBe('E_BAD_PAGES');
      expect(codeOf(() => mermap.put(3))).toBe('E_MERMAP_NOT_IN_USE');
      expect(codeOf(() => mermap.access(0, 5))).toBe('E_MERMAP_ADDRESS');
      expect({ m: mermap.metrics(), f: pageTable.entryFlags(mermap.baseVpn, 1) }).toEqual(before);
      const h = mermap.get(0, 1, 1);
      mermap.put(h);
      expect(codeOf(() => mermap.put(h))).toBe('E_MERMAP_NOT_IN_USE');
    });
  });
});

describe('5-level paging', () => {
  it('places the slices in PGD slot -240 of the 57-bit layout', () => {
    expect(mmLocalBaseVpn(5)).toBe(0xff10000000000);
    let next = 1 << 24;
    const pageTable = createPageTable({ levels: 5, tables: { allocTable: () => next++, freeTable: () => {} } });
    const mermap = new Mermap({ pageTable, tlb: new MermapTlb(2, new SimClock()) });
    expect(mermap.prepare()).toBe(true);
    const h = mermap.get(1, 77, 3);
    expect(mermap.addr(h)).toBe(defaultMermapBaseVpn(5) + 512);
    expect(mermap.access(1, mermap.addr(h) + 2)).toBe(79);
  });
});
