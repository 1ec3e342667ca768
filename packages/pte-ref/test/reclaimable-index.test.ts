import { describe, expect, it } from 'vitest';
import type { EntryObserver } from '@kmodel/core';
import { PteRef } from '@kmodel/pte-ref';
import { FakePageTable } from './support/fake-page-table.js';
import { ZERO_PFN, anon, zero } from './support/entries.js';

/** Gives `mm` `empty` empty PTE tables and `busy` tables holding one anonymous page. */
function populate(obs: EntryObserver, firstId: number, empty: number, busy: number): void {
  let id = firstId;
  for (let i = 0; i < empty; i++) obs.tableAlloc(id++, 1, id * 512);
  for (let i = 0; i < busy; i++) {
    obs.tableAlloc(id, 1, id * 512);
    obs.pteSet(id++, 0, 0, 0, ...anon(77));
  }
}

describe('reclaimable_pt_bytes', () => {
  it('is 4096 x (empty + zero-only) tables and is listed by reclaimableTables', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(1);
    populate(obs, 0, 3, 2); // tables 0-2 empty, 3-4 busy
    obs.tableAlloc(5, 1, 5 * 512);
    for (let i = 0; i < 512; i++) obs.pteSet(5, i, 0, 0, ...zero());
    expect(ref.reclaimablePtBytes(1)).toBe(4 * 4096);
    expect(ref.reclaimableTables(1).sort((a, b) => a - b)).toEqual([0, 1, 2, 5]);
    expect(ref.metrics(1)).toEqual({ reclaimable_pt_bytes: 16384 });
    expect(ref.pteTableCount(1)).toBe(6);
    obs.tableFree(1, 1);
    obs.tableFree(3, 1);
    expect(ref.reclaimablePtBytes(1)).toBe(3 * 4096);
    expect(ref.reclaimableTables(1).sort((a, b) => a - b)).toEqual([0, 2, 5]);
    expect(ref.pteTableCount(1)).toBe(4);
  });

  it('reclaimableTables is a snapshot: freeing while going through it is safe', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(1);
    populate(obs, 0, 5, 0);
    const list = ref.reclaimableTables(1);
    for (const t of list) obs.tableFree(t, 1);
    expect(list).toHaveLength(5);
    expect(ref.reclaimablePtBytes(1)).toBe(0);
    expect(ref.reclaimableTables(1)).toEqual([]);
  });
});

describe('forEachReclaimableTable', () => {
  it('visits every candidate with its base VPN and lets the callback free it', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(1);
    populate(obs, 0, 6, 3); // tables 0-5 empty (base = (id + 1) * 512), 6-8 busy
    const seen: [number, number][] = [];
    const n = ref.forEachReclaimableTable(1, (t, base) => {
      seen.push([t, base]);
      obs.tableFree(t, 1);
    });
    expect(n).toBe(6);
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([0, 1, 2, 3, 4, 5].map((t) => [t, (t + 1) * 512]));
    expect(ref.reclaimablePtBytes(1)).toBe(0);
    expect(ref.pteTableCount(1)).toBe(3);
  });

  it('stops when the callback returns false', () => {
    const ref = new PteRef(ZERO_PFN);
    populate(ref.observerFor(1), 0, 4, 0);
    expect(ref.forEachReclaimableTable(1, () => false)).toBe(1);
  });
});

describe('the ordered index of address spaces', () => {
  it('orders by reclaimable bytes descending, ties by the smaller MmId, and skips mms with none', () => {
    const ref = new PteRef(ZERO_PFN);
    populate(ref.observerFor(10), 0, 2, 5);
    populate(ref.observerFor(4), 0, 7, 0);
    populate(ref.observerFor(8), 0, 2, 1);
    populate(ref.observerFor(3), 0, 0, 4);
    expect(ref.largest()).toBe(4);
    expect(ref.topReclaimable()).toEqual([
      [4, 7 * 4096],
      [8, 2 * 4096],
      [10, 2 * 4096],
    ]);
    expect([...ref.byReclaimablePtBytes()].map(([mm]) => mm)).toEqual([4, 8, 10]);
    expect(ref.topReclaimable(2)).toEqual([
      [4, 7 * 4096],
      [8, 2 * 4096],
    ]);
    expect(ref.indexedMmCount()).toBe(3);
    expect(ref.totalReclaimablePtBytes()).toBe(11 * 4096);
    expect(ref.mms()).toEqual([3, 4, 8, 10]);
  });

  it('is touched only on transitions, not on ordinary sets and clears', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(1);
    obs.tableAlloc(0, 1, 0); // empty: +4096, one move
    expect(ref.indexMoves).toBe(1);
    obs.pteSet(0, 0, 0, 0, ...anon(1)); // leaves empty: one move
    for (let i = 1; i < 512; i++) obs.pteSet(0, i, 0, 0, ...anon(1 + i));
    for (let i = 1; i < 512; i++) obs.pteClear(0, i, ...anon(1 + i));
    expect(ref.indexMoves).toBe(2);
    obs.pteClear(0, 0, ...anon(1)); // empty again
    for (let i = 0; i < 511; i++) obs.pteSet(0, i, 0, 0, ...zero()); // leaves empty at the first
    obs.pteSet(0, 511, 0, 0, ...zero()); // zero-only
    expect(ref.indexMoves).toBe(5);
    ref.forgetMm(1);
    expect(ref.indexMoves).toBe(6);
  });

  it('re-positions the tree only at a query, and not at all for births given their first entry', () => {
    const ref = new PteRef(ZERO_PFN);
    const a = ref.observerFor(1);
    const b = ref.observerFor(2);
    // 1,000 read faults of mm 1, each a new PTE table with one zero-page entry.
    for (let t = 0; t < 1000; t++) {
      a.tableAlloc(t, 1, t * 512);
      a.pteSet(t, 0, 0, 0, ...zero());
    }
    expect(ref.indexMoves).toBe(2000);
    expect(ref.indexRepositions).toBe(0);
    expect(ref.largest()).toBeUndefined();
    expect(ref.indexRepositions).toBe(0);
    // Two empty tables for mm 2, one for mm 1: each queued mm is placed once, at the query.
    b.tableAlloc(0, 1, 0);
    b.tableAlloc(1, 1, 512);
    a.tableAlloc(1000, 1, 1000 * 512);
    expect(ref.indexRepositions).toBe(0);
    expect(ref.topReclaimable()).toEqual([
      [2, 8192],
      [1, 4096],
    ]);
    expect(ref.indexRepositions).toBe(2);
    // A second query with nothing changed does no tree work.
    expect(ref.indexedMmCount()).toBe(2);
    expect(ref.indexRepositions).toBe(2);
    // A queued mm that exits leaves the queue and the tree at once.
    b.pteSet(0, 0, 0, 0, ...anon(9));
    ref.forgetMm(2);
    expect(ref.indexRepositions).toBe(3);
    expect([...ref.byReclaimablePtBytes()]).toEqual([[1, 4096]]);
    expect(ref.indexRepositions).toBe(3);
  });

  it('byReclaimablePtBytes walks the index as of the call; tables freed meanwhile show at the next query', () => {
    const ref = new PteRef(ZERO_PFN);
    const a = ref.observerFor(1);
    const b = ref.observerFor(2);
    populate(a, 0, 3, 0);
    populate(b, 0, 2, 0);
    const seen: [number, number][] = [];
    for (const e of ref.byReclaimablePtBytes()) {
      seen.push(e);
      // What reclaim-path does with its pick: free the mm's candidate tables.
      if (e[0] === 1) for (const t of ref.reclaimableTables(1)) a.tableFree(t, 1);
    }
    expect(seen).toEqual([
      [1, 3 * 4096],
      [2, 2 * 4096],
    ]);
    expect(ref.reclaimablePtBytes(1)).toBe(0);
    expect(ref.topReclaimable()).toEqual([[2, 2 * 4096]]);
  });

  it('moves an mm when its bytes change and drops it on forgetMm', () => {
    const ref = new PteRef(ZERO_PFN);
    const a = ref.observerFor(1);
    const b = ref.observerFor(2);
    populate(a, 0, 3, 0);
    populate(b, 0, 2, 0);
    expect(ref.largest()).toBe(1);
    b.tableAlloc(50, 1, 50 * 512);
    b.tableAlloc(51, 1, 51 * 512);
    expect(ref.topReclaimable()).toEqual([
      [2, 4 * 4096],
      [1, 3 * 4096],
    ]);
    ref.forgetMm(2);
    expect(ref.topReclaimable()).toEqual([[1, 3 * 4096]]);
    a.pteSet(0, 0, 0, 0, ...anon(1));
    a.pteSet(1, 0, 0, 0, ...anon(1));
    a.pteSet(2, 0, 0, 0, ...anon(1));
    expect(ref.largest()).toBeUndefined();
    expect(ref.indexedMmCount()).toBe(0);
  });

  it('a read-only sweep turns every table zero-only and the attacker becomes the largest', () => {
    const ref = new PteRef(ZERO_PFN);
    const victim = new FakePageTable(ref.observerFor(1));
    const attacker = new FakePageTable(ref.observerFor(2));
    // The victim writes one page per 2 MiB (sparse, not reclaimable); the attacker reads 64 MiB.
    for (let t = 0; t < 32; t++) {
      victim.allocTable(t * 512);
      victim.set(t * 512 + 7, ...anon(5000 + t));
    }
    const tablesTouched: number[] = [];
    for (let vpn = 0; vpn < 32 * 512; vpn++) {
      if (vpn % 512 === 0) tablesTouched.push(attacker.allocTable(vpn));
      attacker.set(vpn, ...zero());
      // Half-way through a table it is neither empty nor zero-only.
      if (vpn % 512 === 255) expect(ref.reclaimablePtBytes(2)).toBe((tablesTouched.length - 1) * 4096);
    }
    for (const t of tablesTouched) {
      expect(ref.isZeroOnly(2, t)).toBe(true);
      expect(ref.pteRefcount(2, t)).toBe(0x80200);
    }
    expect(ref.reclaimablePtBytes(2)).toBe(32 * 4096);
    expect(ref.reclaimablePtBytes(1)).toBe(0);
    expect(ref.largest()).toBe(2);
    expect(ref.verify(2, attacker)).toEqual([]);
    expect(ref.verify(1, victim)).toEqual([]);
  });
});
