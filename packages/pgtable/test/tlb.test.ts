import { describe, expect, it } from 'vitest';
import { _PAGE_GLOBAL, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER } from '@kmodel/core';
import {
  ACCESS_USER,
  ACCESS_WRITE,
  createPageTable,
  DEFAULT_TLB_CONFIG,
  INVPCID_TYPE_ALL_INCL_GLOBAL,
  INVPCID_TYPE_ALL_NON_GLOBAL,
  INVPCID_TYPE_INDIV_ADDR,
  INVPCID_TYPE_SINGLE_CTXT,
  MmuGather,
  PF_PROT,
  PF_USER,
  PF_WRITE,
  Tlb,
  TlbSystem,
} from '@kmodel/pgtable';
import type { X86PageTable } from '@kmodel/pgtable';
import { codeOf, CountingTables } from './helpers.js';

const URW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | 0x60; // A and D preset: no A/D walks

function mapped(pages: number[], extra = 0): X86PageTable {
  const pt = createPageTable({ levels: 4, tables: new CountingTables() });
  for (const v of pages) {
    pt.allocTable(v, 1);
    pt.setEntry(v, 1, 1000 + v, URW | extra);
  }
  return pt;
}

function counters(sys: TlbSystem) {
  return sys.counters.snapshot();
}

describe('Tlb (one CPU)', () => {
  it('hits only for the PCID it was filled under, or for global entries', () => {
    const t = new Tlb();
    t.writeCr3(1, false);
    t.fill(10, 1, 500, 0);
    expect(t.lookup(10)).toBe(500);
    t.writeCr3(2, true);
    expect(t.lookup(10)).toBe(-1);
    t.fill(11, 1, 501, 1 << 8); // global
    t.writeCr3(1, true);
    expect(t.lookup(10)).toBe(500);
    expect(t.lookup(11)).toBe(501);
    // CR3 write without no-flush drops the PCID's non-global entries; globals survive.
    t.writeCr3(1, false);
    expect(t.lookup(10)).toBe(-1);
    expect(t.lookup(11)).toBe(501);
  });

  it('huge entries give the frame inside the page', () => {
    const t = new Tlb();
    t.fill(512 * 3 + 17, 2, 512 * 8, 0);
    expect(t.lookup(512 * 3 + 100)).toBe(512 * 8 + 100);
    expect(t.hitLevel).toBe(2);
    t.fill(512 * 512 * 2, 3, 512 * 512 * 4, 0);
    expect(t.lookup(512 * 512 * 2 + 1000)).toBe(512 * 512 * 4 + 1000);
  });

  it('INVLPG drops the current PCID and global entries of that page; INVPCID types 0..3', () => {
    const t = new Tlb();
    t.writeCr3(1, true);
    t.fill(5, 1, 50, 0);
    t.fill(6, 1, 60, 1 << 8);
    t.writeCr3(2, true);
    t.fill(5, 1, 55, 0);
    t.writeCr3(1, true);
    expect(t.invlpg(5)).toBe(1); // PCID 1's entry only
    expect(t.invlpg(6)).toBe(1); // global
    t.writeCr3(2, true);
    expect(t.lookup(5)).toBe(55);
    // type 0: one address of one PCID, never globals
    t.fill(7, 1, 70, 1 << 8);
    expect(t.invpcid(INVPCID_TYPE_INDIV_ADDR, 2, 7)).toBe(0);
    expect(t.invpcid(INVPCID_TYPE_INDIV_ADDR, 2, 5)).toBe(1);
    // type 1: a PCID's non-global entries
    t.fill(8, 1, 80, 0);
    expect(t.invpcid(INVPCID_TYPE_SINGLE_CTXT, 2)).toBe(1);
    expect(t.lookup(7)).toBe(70);
    // type 3: every non-global; type 2: everything
    t.fill(9, 1, 90, 0);
    expect(t.invpcid(INVPCID_TYPE_ALL_NON_GLOBAL, 0)).toBe(1);
    expect(t.size()).toBe(1);
    expect(t.invpcid(INVPCID_TYPE_ALL_INCL_GLOBAL, 0)).toBe(1);
    expect(t.size()).toBe(0);
    expect(codeOf(() => t.invpcid(4, 0))).toBe('E_BAD_TLB_PARAM');
  });

  it('evicts the least recently used way of a full set', () => {
    const t = new Tlb({ pte: { entries: 2, ways: 2 }, pmd: { entries: 1, ways: 1 }, pud: { entries: 1, ways: 1 } });
    t.fill(1, 1, 11, 0);
    t.fill(2, 1, 12, 0);
    t.lookup(1);
    t.fill(3, 1, 13, 0);
    expect([t.lookup(1), t.lookup(2), t.lookup(3)]).toEqual([11, -1, 13]);
    expect(codeOf(() => new Tlb({ pte: { entries: 12, ways: 4 }, pmd: { entries: 1, ways: 1 }, pud: { entries: 1, ways: 1 } }))).toBe('E_BAD_TLB_PARAM');
  });

  it('without CR4.PCIDE every CR3 write flushes all non-global entries', () => {
    const t = new Tlb(undefined, false);
    t.fill(1, 1, 11, 0);
    t.writeCr3(5, true);
    expect(t.pcid).toBe(0);
    expect(t.lookup(1)).toBe(-1);
  });
});

describe('TlbSystem', () => {
  it('counts hits and misses, walks on a miss, and faults without filling', () => {
    const sys = new TlbSystem({ cpus: 2 });
    const pt = mapped([100, 101]);
    sys.switchMm(0, pt, 1);
    expect(sys.access(0, 100, ACCESS_USER)).toBe(1100);
    expect(sys.access(0, 100, ACCESS_USER)).toBe(1100);
    expect(sys.access(0, 200, ACCESS_USER)).toBe(-1);
    expect(sys.lastWalk.errorCode).toBe(PF_USER);
    expect(counters(sys)).toMatchObject({ 'tlb.hits': 1, 'tlb.misses': 2 });
    // The first walk cached the PDE: the miss on vpn 200 reads only the PTE (which is none).
    expect(sys.lastWalk.memRefs).toBe(1);
    expect(sys.lastWalk.level).toBe(1);
    const cold = new TlbSystem({ cpus: 1, config: { ...DEFAULT_TLB_CONFIG, pwc: { entries: 0, ways: 1 } } });
    cold.switchMm(0, pt, 1);
    cold.access(0, 100, ACCESS_USER);
    cold.access(0, 200, ACCESS_USER);
    expect(cold.lastWalk.memRefs).toBe(4);
  });

  it('a write through a read-only cached entry walks and faults', () => {
    const sys = new TlbSystem();
    const pt = createPageTable({ levels: 4, tables: new CountingTables() });
    pt.allocTable(7, 1);
    pt.setEntry(7, 1, 70, _PAGE_PRESENT | _PAGE_USER);
    sys.switchMm(0, pt, 1);
    expect(sys.access(0, 7, ACCESS_USER)).toBe(70);
    expect(sys.access(0, 7, ACCESS_USER | ACCESS_WRITE)).toBe(-1);
    expect(sys.lastWalk.errorCode).toBe(PF_PROT | PF_WRITE | PF_USER);
    // the fault dropped the entry: the next read misses
    sys.access(0, 7, ACCESS_USER);
    expect(counters(sys)['tlb.misses']).toBe(3);
  });

  it('flushRange: up to 33 pages page by page, above that fully; IPIs to the other CPUs running the PCID', () => {
    const sys = new TlbSystem({ cpus: 3 });
    const pt = mapped(Array.from({ length: 40 }, (_, i) => i));
    sys.switchMm(0, pt, 1);
    sys.switchMm(1, pt, 1);
    sys.switchMm(2, mapped([]), 2);
    sys.counters.reset();
    for (let v = 0; v < 40; v++) sys.access(0, v, ACCESS_USER), sys.access(1, v, ACCESS_USER);
    sys.flushRange(1, 0, 33, false);
    expect(counters(sys)).toMatchObject({ 'tlb.flush_single': 66, 'tlb.flush_full': 0, 'tlb.ipis': 1 });
    expect(sys.lookup(0, 32)).toBe(-1);
    expect(sys.lookup(0, 33)).toBe(1033);
    sys.flushRange(1, 0, 34, false);
    expect(counters(sys)).toMatchObject({ 'tlb.flush_single': 66, 'tlb.flush_full': 2, 'tlb.ipis': 2 });
    expect(sys.lookup(1, 39)).toBe(-1);
    // stride 2 MiB: 33 huge pages still go one by one
    sys.flushRange(1, 0, 33 * 512, false, 2);
    expect(counters(sys)['tlb.flush_single']).toBe(66 + 66);
  });

  it('a CPU that ran the PCID earlier is flushed without an IPI', () => {
    const sys = new TlbSystem({ cpus: 2 });
    const a = mapped([1]);
    sys.switchMm(1, a, 1);
    sys.access(1, 1, ACCESS_USER);
    sys.switchMm(1, mapped([]), 2, true);
    sys.counters.reset();
    sys.flushAll(1);
    expect(counters(sys)).toMatchObject({ 'tlb.ipis': 0, 'tlb.flush_full': 1 });
    sys.switchMm(1, a, 1, true);
    expect(sys.lookup(1, 1)).toBe(-1);
  });

  it('a CPU that switched away and back with the no-flush bit does not see an entry flushed meanwhile', () => {
    const sys = new TlbSystem({ cpus: 2, shadowCheck: true });
    const a = mapped([5]);
    sys.switchMm(1, a, 1);
    expect(sys.access(1, 5, ACCESS_USER)).toBe(1005);
    sys.switchMm(1, mapped([]), 2, true);
    a.setEntry(5, 1, 51, URW);
    sys.flushRange(1, 5, 6, false);
    sys.switchMm(1, a, 1, true);
    expect(sys.access(1, 5, ACCESS_USER)).toBe(51);
    expect(sys.counters.get('tlb.stale_hazards')).toBe(0);
  });

  it('flushTlbKernelRange reaches every CPU and global entries', () => {
    const sys = new TlbSystem({ cpus: 4 });
    const k = createPageTable({ levels: 4, tables: new CountingTables(), kernel: true });
    const v = k.kernelStart + 5;
    k.allocTable(v, 1);
    k.setEntry(v, 1, 4242, _PAGE_PRESENT | _PAGE_RW | _PAGE_GLOBAL | 0x60);
    for (let c = 0; c < 4; c++) {
      sys.switchMm(c, k, c + 1);
      expect(sys.access(c, v)).toBe(4242);
    }
    expect(sys.cpusCachingPfn(4242)).toEqual([0, 1, 2, 3]);
    sys.switchMm(2, k, 9); // CR3 write: globals survive
    expect(sys.lookup(2, v)).toBe(4242);
    sys.counters.reset();
    sys.flushTlbKernelRange(v, v + 1);
    expect(counters(sys)).toMatchObject({ 'tlb.ipis': 3, 'tlb.flush_single': 4 });
    expect(sys.cachesPfn(4242)).toBe(false);
  });

  it('a kernel range over 33 pages is flush_tlb_all: globals go on every CPU', () => {
    const sys = new TlbSystem({ cpus: 2 });
    const k = createPageTable({ levels: 4, tables: new CountingTables(), kernel: true });
    const v = k.kernelStart;
    k.allocTable(v, 1);
    k.setEntry(v, 1, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_GLOBAL | 0x60);
    k.setEntry(v + 100, 1, 2, _PAGE_PRESENT | _PAGE_RW | 0x60);
    for (let c = 0; c < 2; c++) {
      sys.switchMm(c, k, 1);
      sys.access(c, v);
      sys.access(c, v + 100);
    }
    sys.counters.reset();
    sys.flushTlbKernelRange(v + 200, v + 234); // 34 pages, none of them cached: still a full flush
    expect(counters(sys)).toMatchObject({ 'tlb.flush_full': 2, 'tlb.flush_single': 0, 'tlb.ipis': 1 });
    expect([sys.lookup(0, v), sys.lookup(1, v + 100)]).toEqual([-1, -1]);
  });

  it('flushAll sends IPIs to the other CPUs running the PCID only; INVPCID counts as a flush', () => {
    const sys = new TlbSystem({ cpus: 4 });
    const a = mapped([1]);
    for (let c = 0; c < 3; c++) sys.switchMm(c, a, 7);
    sys.switchMm(3, mapped([]), 8);
    sys.currentCpu = 1;
    sys.counters.reset();
    sys.flushAll(7);
    expect(counters(sys)).toMatchObject({ 'tlb.ipis': 2, 'tlb.flush_full': 3 });
    sys.invpcid(3, INVPCID_TYPE_SINGLE_CTXT, 8);
    sys.invpcid(3, INVPCID_TYPE_INDIV_ADDR, 8, 5);
    expect(counters(sys)).toMatchObject({ 'tlb.flush_full': 4, 'tlb.flush_single': 1 });
  });

  it('the shadow check reports a stale hit only when a required flush was skipped', () => {
    const sys = new TlbSystem({ cpus: 2, shadowCheck: true });
    const pt = mapped([10, 11]);
    sys.switchMm(0, pt, 1);
    sys.access(0, 10, ACCESS_USER);
    sys.access(0, 11, ACCESS_USER);
    // Proper unmap: clear, then flush.
    pt.clearEntry(10, 1);
    sys.flushRange(1, 10, 11, false);
    expect(sys.access(0, 10, ACCESS_USER)).toBe(-1);
    expect(counters(sys)['tlb.stale_hazards']).toBe(0);
    // Skipped flush: the TLB still gives the old frame.
    pt.clearEntry(11, 1);
    expect(sys.access(0, 11, ACCESS_USER)).toBe(1011);
    expect(counters(sys)['tlb.stale_hazards']).toBe(1);
    expect(sys.staleHits).toEqual([{ kind: 'tlb', cpu: 0, pcid: 1, vpn: 11, cachedPfn: 1011, walkPfn: -1 }]);
    expect(sys.staleEntries()).toEqual([{ kind: 'tlb', cpu: 0, pcid: 1, vpn: 11, cachedPfn: 1011, walkPfn: -1 }]);
    expect(sys.cachesPfn(1011)).toBe(true);
  });

  it('rejects bad CPUs, PCIDs and ranges', () => {
    const sys = new TlbSystem({ cpus: 2 });
    expect(codeOf(() => sys.switchMm(2, mapped([]), 1))).toBe('E_BAD_TLB_PARAM');
    expect(codeOf(() => sys.switchMm(0, mapped([]), 4096))).toBe('E_BAD_TLB_PARAM');
    expect(codeOf(() => sys.access(0, 1))).toBe('E_BAD_TLB_PARAM');
    expect(codeOf(() => sys.flushRange(1, 5, 4, false))).toBe('E_BAD_RANGE');
    expect(codeOf(() => new TlbSystem({ cpus: 0 }))).toBe('E_BAD_TLB_PARAM');
  });
});

describe('paging-structure caches', () => {
  it('a PDE-cache hit walks one level; 5-level paging caches the PML5E, PML4E, PDPTE and PDE', () => {
    const sys = new TlbSystem({ cpus: 1 });
    const pt = createPageTable({ levels: 5, tables: new CountingTables() });
    for (const v of [0, 1, 512]) {
      pt.allocTable(v, 1);
      pt.setEntry(v, 1, 7000 + v, URW);
    }
    sys.switchMm(0, pt, 1);
    sys.access(0, 0, ACCESS_USER);
    expect(sys.lastWalk.memRefs).toBe(5);
    expect(sys.cpus[0].pscSize()).toBe(4);
    sys.access(0, 1, ACCESS_USER);
    expect(sys.lastWalk.memRefs).toBe(1); // PDE cached
    sys.access(0, 512, ACCESS_USER);
    expect(sys.lastWalk.memRefs).toBe(2); // PDPTE cached, new PDE read
    const far = 2 ** 27 * 3; // another PML4 slot under the same PML5E
    pt.allocTable(far, 1);
    pt.setEntry(far, 1, 5, URW);
    expect(sys.access(0, far, ACCESS_USER)).toBe(5);
    expect(sys.lastWalk.memRefs).toBe(4); // PML5E cached: PML4E, PDPTE, PDE, PTE read
    const far2 = 2 ** 27 * 3 + 2 ** 18 * 7; // another PDPT slot under that PML4E
    pt.allocTable(far2, 1);
    pt.setEntry(far2, 1, 6, URW);
    expect(sys.access(0, far2, ACCESS_USER)).toBe(6);
    expect(sys.lastWalk.memRefs).toBe(3); // PML4E cached
    // INVLPG drops every walk-cache entry of the PCID.
    sys.invlpg(0, 12345);
    expect(sys.cpus[0].pscSize()).toBe(0);
  });

  it('a PTE table freed without a flush leaves a stale PDE-cache entry, which the next miss reports', () => {
    const sys = new TlbSystem({ cpus: 1 });
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables });
    pt.allocTable(0, 1);
    pt.setEntry(0, 1, 9, URW);
    sys.switchMm(0, pt, 1);
    expect(sys.access(0, 0, ACCESS_USER)).toBe(9);
    const oldPfn = pt.tablePfn(pt.tableAt(0, 1));
    // Reclaim frees the table and installs a new one, but forgets the flush.
    pt.zapRange(0, 512);
    pt.freePteTable(0);
    pt.allocTable(0, 1);
    pt.setEntry(1, 1, 10, URW);
    expect(sys.access(0, 1, ACCESS_USER)).toBe(10); // the model falls back to a full walk
    expect(sys.staleHits).toEqual([{ kind: 'pwc', cpu: 0, pcid: 1, vpn: 1, cachedPfn: oldPfn, walkPfn: pt.tablePfn(pt.tableAt(0, 1)) }]);
    // With the flush Linux does (freed_tables), nothing is stale.
    pt.zapRange(0, 512);
    pt.freePteTable(0);
    sys.flushRange(1, 0, 512, true);
    pt.allocTable(0, 1);
    pt.setEntry(2, 1, 11, URW);
    expect(sys.access(0, 2, ACCESS_USER)).toBe(11);
    expect(sys.counters.get('tlb.stale_hazards')).toBe(1);
  });
});

describe('walk caches on idle CPUs', () => {
  it('a flush with freed tables reaches a CPU that holds only walk-cache entries of the PCID', () => {
    const sys = new TlbSystem({ cpus: 2, shadowCheck: true });
    const pt = mapped([0]);
    pt.clearEntry(0, 1); // the PTE table stays, empty
    sys.switchMm(1, pt, 1);
    expect(sys.access(1, 0, ACCESS_USER)).toBe(-1); // faults: walk caches filled, no TLB entry
    sys.switchMm(1, mapped([]), 2, true);
    pt.freePgtables(0, 512, 0, 512);
    sys.flushRange(1, 0, 1, true);
    pt.allocTable(0, 1);
    pt.setEntry(0, 1, 77, URW);
    sys.switchMm(1, pt, 1, true);
    expect(sys.access(1, 0, ACCESS_USER)).toBe(77);
    expect(sys.counters.get('tlb.stale_hazards')).toBe(0);
  });

  it('... also after its TLB entries for the PCID were evicted', () => {
    const tiny = { pte: { entries: 1, ways: 1 }, pmd: { entries: 1, ways: 1 }, pud: { entries: 1, ways: 1 }, pwc: { entries: 4, ways: 4 } };
    const sys = new TlbSystem({ cpus: 2, shadowCheck: true, config: tiny });
    const a = mapped([0]);
    const b = mapped([5]);
    sys.switchMm(1, a, 1);
    sys.access(1, 0, ACCESS_USER);
    sys.switchMm(1, b, 2, true);
    sys.access(1, 5, ACCESS_USER); // evicts PCID 1's only TLB entry; its walk caches stay
    a.zapRange(0, 512);
    a.freePgtables(0, 512, 0, 512);
    sys.flushRange(1, 0, 1, true);
    a.allocTable(0, 1);
    a.setEntry(0, 1, 78, URW);
    sys.switchMm(1, a, 1, true);
    expect(sys.access(1, 0, ACCESS_USER)).toBe(78);
    expect(sys.counters.get('tlb.stale_hazards')).toBe(0);
  });
});

describe('MmuGather', () => {
  it('gathers an unmap into one flush and frees pages only after it', () => {
    const sys = new TlbSystem({ cpus: 2 });
    const pt = mapped([0, 1, 2, 3]);
    sys.switchMm(0, pt, 3);
    for (let v = 0; v < 4; v++) sys.access(0, v, ACCESS_USER);
    const freed: number[] = [];
    const tlb = new MmuGather(sys, 3, (pfn) => {
      expect(sys.cachesPfn(pfn)).toBe(false);
      freed.push(pfn);
    });
    pt.zapRange(1, 3, (v, level, pfn) => {
      tlb.removeTlbEntry(v, level);
      tlb.removePage(pfn);
    });
    expect(freed).toEqual([]);
    tlb.finish();
    expect(freed).toEqual([1001, 1002]);
    expect(counters(sys)['tlb.flush_single']).toBe(2);
    expect(sys.lookup(0, 0)).toBe(1000);
  });

  it('a 2 MiB leaf flushes with the PMD stride; a freed table marks freedTables', () => {
    const calls: unknown[][] = [];
    const flusher = { flushRange: (...a: unknown[]) => void calls.push(['range', ...a]), flushAll: (a: number) => void calls.push(['all', a]) };
    const g = new MmuGather(flusher, 4);
    g.removeTlbEntry(512 * 3 + 9, 2);
    g.freeTable(512 * 3, 1);
    g.finish();
    expect(calls).toEqual([['range', 4, 512 * 3, 512 * 4, true, 2]]);
    const full = new MmuGather(flusher, 4, undefined, true);
    full.removeTlbEntry(1, 1);
    full.finish();
    expect(calls[1]).toEqual(['all', 4]);
  });
});

describe('2 MiB pages in the TLB', () => {
  it('one entry covers the 512 pages of a 2 MiB leaf', () => {
    const sys = new TlbSystem();
    const pt = createPageTable({ levels: 4, tables: new CountingTables() });
    pt.allocTable(512, 2);
    pt.setEntry(512, 2, 512 * 10, URW | _PAGE_PSE);
    sys.switchMm(0, pt, 1);
    for (let v = 512; v < 1024; v++) expect(sys.access(0, v, ACCESS_USER)).toBe(512 * 10 + v - 512);
    expect(counters(sys)).toMatchObject({ 'tlb.misses': 1, 'tlb.hits': 511 });
  });
});

describe('queries without side effects', () => {
  it('peek finds an idle PCID\'s entry and leaves the LRU order alone', () => {
    const t = new Tlb({ pte: { entries: 2, ways: 2 }, pmd: { entries: 1, ways: 1 }, pud: { entries: 1, ways: 1 } });
    t.writeCr3(1, true);
    t.fill(1, 1, 11, 0);
    t.fill(2, 1, 12, 0);
    // A lookup would make 1 the most recent; peek must not.
    expect(t.peek(1, 1)).toBe(11);
    expect(t.peek(1, 2)).toBe(-1);
    t.fill(3, 1, 13, 0); // evicts the least recent: 1
    expect([t.peek(1, 1), t.peek(2, 1), t.peek(3, 1)]).toEqual([-1, 12, 13]);
    const sys = new TlbSystem({ cpus: 1 });
    const pt = mapped([4]);
    sys.switchMm(0, pt, 5);
    sys.access(0, 4, ACCESS_USER);
    sys.switchMm(0, mapped([]), 6, true);
    expect(sys.lookup(0, 4)).toBe(-1);
    expect(sys.peek(0, 5, 4)).toBe(1004);
    expect(sys.counters.get('tlb.hits')).toBe(0);
  });
});
