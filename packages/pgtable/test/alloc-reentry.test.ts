import { describe, expect, it } from 'vitest';
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_USER } from '@kmodel/core';
import type { Level } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import type { X86PageTable } from '@kmodel/pgtable';
import { codeOf, CountingTables, RecordingObserver } from './helpers.js';

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
const VPN = 0x7f0000123;

/**
 * A table allocator that runs `onAlloc` once, inside the next allocation of a table at
 * `armLevel`, before handing the page out (a memcg charge that enters reclaim).
 */
class ReentrantTables extends CountingTables {
  pt: X86PageTable | null = null;
  armLevel = 0;
  onAlloc: ((pt: X86PageTable) => void) | null = null;
  levels: number[] = [];
  override allocTable(level: Level): number | null {
    this.levels.push(level);
    if (level === this.armLevel && this.onAlloc !== null && this.pt !== null) {
      const f = this.onAlloc;
      this.onAlloc = null;
      f(this.pt);
    }
    return super.allocTable(level);
  }
}

function make(levels: 4 | 5 = 4) {
  const tables = new ReentrantTables();
  const observer = new RecordingObserver();
  const pt = createPageTable({ levels, tables, observer });
  tables.pt = pt;
  return { tables, observer, pt };
}

describe('allocTable with an allocator that changes the page table (pmd_install)', () => {
  it('the PTE-table allocation frees the empty PMD and PUD tables it would hook into: they are made again, nothing leaks', () => {
    const { pt, tables, observer } = make();
    expect(pt.allocTable(VPN, 2)).toBe(true); // empty PUD and PMD tables
    const oldPmd = pt.tableAt(VPN, 2);
    const oldPmdPfn = pt.tablePfn(oldPmd);
    tables.armLevel = 1;
    tables.onAlloc = (p) => {
      // reclaim inside the charge: free_pgtables over the whole lower half
      expect(p.freePgtables(0, p.userEnd, 0, p.userEnd)).toEqual([0, 0, 1, 1, 0, 0]);
    };
    tables.levels = [];
    expect(pt.allocTable(VPN, 1)).toBe(true);
    // the PTE page first, then a PUD and a PMD page for the parents that went meanwhile
    expect(tables.levels).toEqual([1, 3, 2]);
    expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3), pt.tableCount(4)]).toEqual([1, 1, 1, 1]);
    expect(tables.live).toBe(4); // top, PUD, PMD, PTE: every page handed out is live or given back
    expect(tables.freed).toContain(oldPmdPfn);
    const pte = pt.tableAt(VPN, 1);
    expect(pte).toBeGreaterThanOrEqual(0);
    expect(pt.presentCount(VPN, 2)).toBe(1);
    expect(pt.presentCount(VPN, 3)).toBe(1);
    expect(pt.tablePfn(pte)).toBe(0x100003); // the first page allocated in the call
    expect(pt.entryPfn(VPN, 2)).toBe(0x100003);
    pt.setEntry(VPN, 1, 0x1234, RW);
    expect(pt.entryPfn(VPN, 1)).toBe(0x1234);
    // births minus deaths equal the live tables below the top
    const births = observer.calls.filter((c) => c[0] === 'alloc').length;
    const deaths = observer.calls.filter((c) => c[0] === 'free').length;
    expect(births - deaths).toBe(3);
    expect(pt.tableBaseVpn(pte)).toBe(0x7f0000000);
  });

  it('a PMD-table allocation that frees the PUD parent: the PUD is made again (5-level)', () => {
    const { pt, tables } = make(5);
    expect(pt.allocTable(VPN, 3)).toBe(true); // P4D and PUD tables
    tables.armLevel = 2;
    tables.onAlloc = (p) => {
      expect(p.freePgtables(0, p.userEnd, 0, p.userEnd)).toEqual([0, 0, 0, 1, 1, 0]);
    };
    expect(pt.allocTable(VPN, 1)).toBe(true);
    expect([1, 2, 3, 4, 5].map((l) => pt.tableCount(l as Level))).toEqual([1, 1, 1, 1, 1]);
    expect(tables.live).toBe(5);
  });

  it('the allocation populates the entry itself (a nested fault): the spare page goes back (pte_free)', () => {
    const { pt, tables } = make();
    expect(pt.allocTable(VPN, 2)).toBe(true);
    tables.armLevel = 1;
    tables.onAlloc = (p) => {
      expect(p.allocTable(VPN + 5, 1)).toBe(true); // takes pfn 0x100003
    };
    expect(pt.allocTable(VPN, 1)).toBe(true);
    expect(pt.tableCount(1)).toBe(1);
    expect(pt.tablePfn(pt.tableAt(VPN, 1))).toBe(0x100003);
    expect(tables.freed).toEqual([0x100004]); // the outer call's page, never installed
    expect(tables.live).toBe(4);
  });

  it('the allocation fails after freeing the parent: false, and no page is kept', () => {
    const { pt, tables } = make();
    expect(pt.allocTable(VPN, 2)).toBe(true);
    tables.armLevel = 1;
    tables.onAlloc = (p) => {
      p.freePgtables(0, p.userEnd, 0, p.userEnd);
      tables.budget = 1; // the PTE page is the last one
    };
    expect(pt.allocTable(VPN, 1)).toBe(false);
    expect([pt.tableCount(1), pt.tableCount(2), pt.tableCount(3)]).toEqual([0, 0, 0]);
    expect(tables.live).toBe(1); // only the top table
  });

  it('a huge leaf installed during the allocation: E_HUGE_LEAF, the page goes back', () => {
    const { pt, tables } = make();
    expect(pt.allocTable(VPN, 2)).toBe(true);
    tables.armLevel = 1;
    tables.onAlloc = (p) => p.setEntry(VPN, 2, 0x200000, RW | 0x80);
    const live = tables.live;
    expect(codeOf(() => pt.allocTable(VPN, 1))).toBe('E_HUGE_LEAF');
    expect(tables.live).toBe(live);
    expect(pt.tableCount(1)).toBe(0);
    expect(pt.entryPfn(VPN, 2)).toBe(0x200000);
  });
});

/** An observer whose hooks throw while `armed` names them. */
class ThrowingObserver extends RecordingObserver {
  armed = '';
  override pteSet(table: number, index: number, oldLo: number, oldHi: number, newLo: number, newHi: number): void {
    if (this.armed === 'set') throw new Error('pteSet refused');
    super.pteSet(table, index, oldLo, oldHi, newLo, newHi);
  }
  override pteClear(table: number, index: number, oldLo: number, oldHi: number): void {
    if (this.armed === 'clear') throw new Error('pteClear refused');
    super.pteClear(table, index, oldLo, oldHi);
  }
  override tableAlloc(table: number, level: Level, baseVpn: number): void {
    if (this.armed === 'alloc') throw new Error('tableAlloc refused');
    super.tableAlloc(table, level, baseVpn);
  }
  override tableFree(table: number, level: Level): void {
    if (this.armed === 'free') throw new Error('tableFree refused');
    super.tableFree(table, level);
  }
}

describe('the observer hears a change before it is written (track_pte_set before set_pte)', () => {
  function setup() {
    const tables = new CountingTables();
    const observer = new ThrowingObserver();
    const pt = createPageTable({ levels: 4, tables, observer });
    pt.allocTable(VPN, 1);
    pt.setEntry(VPN, 1, 0x1234, RW);
    return { pt, tables, observer };
  }

  it('a throwing pteSet leaves the entry as it was, for a new and for a changed entry', () => {
    const { pt, observer } = setup();
    observer.armed = 'set';
    expect(() => pt.setEntry(VPN, 1, 0x5678, RW)).toThrow('pteSet refused');
    expect(pt.entryPfn(VPN, 1)).toBe(0x1234);
    expect(() => pt.setEntry(VPN + 1, 1, 0x5678, RW)).toThrow('pteSet refused');
    expect(pt.entryPfn(VPN + 1, 1)).toBe(-1);
    expect(pt.presentCount(VPN, 1)).toBe(1);
  });

  it('a throwing pteClear leaves the entry in place (clearEntry and zapRange)', () => {
    const { pt, observer } = setup();
    observer.armed = 'clear';
    expect(() => pt.clearEntry(VPN, 1)).toThrow('pteClear refused');
    expect(pt.entryPfn(VPN, 1)).toBe(0x1234);
    expect(() => pt.zapRange(VPN, VPN + 1)).toThrow('pteClear refused');
    expect(pt.entryPfn(VPN, 1)).toBe(0x1234);
    expect(pt.presentCount(VPN, 1)).toBe(1);
  });

  it('a throwing tableAlloc leaves the entry none and gives the page back', () => {
    const { pt, tables, observer } = setup();
    const live = tables.live;
    observer.armed = 'alloc';
    expect(() => pt.allocTable(VPN + 512, 1)).toThrow('tableAlloc refused');
    expect(pt.tableAt(VPN + 512, 1)).toBe(-1);
    expect(pt.presentCount(VPN, 2)).toBe(1);
    expect(pt.tableCount(1)).toBe(1);
    expect(tables.live).toBe(live);
    observer.armed = '';
    expect(pt.allocTable(VPN + 512, 1)).toBe(true);
    expect(pt.presentCount(VPN, 2)).toBe(2);
  });

  it('a throwing tableFree leaves the PTE table hooked (freePteTable and freePgtables)', () => {
    const { pt, tables, observer } = setup();
    const t = pt.tableAt(VPN, 1);
    const live = tables.live;
    observer.armed = 'free';
    expect(() => pt.freePteTable(VPN)).toThrow('tableFree refused');
    expect(pt.tableAt(VPN, 1)).toBe(t);
    expect(pt.entryPfn(VPN, 1)).toBe(0x1234);
    observer.armed = '';
    pt.clearEntry(VPN, 1);
    observer.armed = 'free';
    expect(() => pt.freePgtables(0x7f0000000, 0x7f0000200, 0x7f0000000, 0x7f0000200)).toThrow('tableFree refused');
    expect(pt.tableAt(VPN, 1)).toBe(t);
    expect(pt.tableCount(1)).toBe(1);
    expect(tables.live).toBe(live);
  });
});
