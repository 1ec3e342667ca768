import { describe, expect, it } from 'vitest';
import { isKmodelError, type EntryObserver } from '@kmodel/core';
import { PteRef, PteRefErrorCode, type ZeroRule } from '@kmodel/pte-ref';
import { NONE, ZERO_PFN, anon, marker, swap, zero, zeroProtNone, type Entry } from './support/entries.js';

const MM = 7;
const T = 3;

function setup(zeroRule: ZeroRule = 'rfc'): { ref: PteRef; obs: EntryObserver } {
  const ref = new PteRef(ZERO_PFN, { zeroRule });
  const obs = ref.observerFor(MM);
  obs.tableAlloc(T, 1, 512 * 10);
  return { ref, obs };
}

function set(obs: EntryObserver, index: number, from: Entry, to: Entry): void {
  obs.pteSet(T, index, from[0], from[1], to[0], to[1]);
}

function counts(ref: PteRef): [number, number] {
  return [ref.mappedCount(MM, T), ref.zeroCount(MM, T)];
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('track_pte_set', () => {
  it('none -> anon: mapped 0 -> 1, zero stays 0', () => {
    const { ref, obs } = setup();
    set(obs, 0, NONE, anon(900));
    expect(counts(ref)).toEqual([1, 0]);
    expect(ref.pteRefcount(MM, T)).toBe(0x001);
  });

  it('none -> zero page: mapped and zero both 0 -> 1 (word 0x401)', () => {
    const { ref, obs } = setup();
    set(obs, 5, NONE, zero());
    expect(counts(ref)).toEqual([1, 1]);
    expect(ref.pteRefcount(MM, T)).toBe(0x401);
  });

  it('none -> swap entry or marker: mapped++, zero unchanged even when the offset bits equal the zero PFN', () => {
    const { ref, obs } = setup();
    set(obs, 1, NONE, swap(ZERO_PFN));
    set(obs, 2, NONE, marker());
    expect(counts(ref)).toEqual([2, 0]);
  });

  it('none -> PROT_NONE zero page counts as zero (pte_present includes _PAGE_PROTNONE)', () => {
    const { ref, obs } = setup();
    set(obs, 1, NONE, zeroProtNone());
    expect(counts(ref)).toEqual([1, 1]);
  });

  it('zero -> anon (COW of the zero page without a clear): zero 1 -> 0, mapped stays 1', () => {
    const { ref, obs } = setup();
    set(obs, 9, NONE, zero());
    set(obs, 9, zero(), anon(901));
    expect(counts(ref)).toEqual([1, 0]);
  });

  it('zero -> swap entry: zero 1 -> 0, mapped stays 1', () => {
    const { ref, obs } = setup();
    set(obs, 9, NONE, zero());
    set(obs, 9, zero(), swap(ZERO_PFN));
    expect(counts(ref)).toEqual([1, 0]);
  });

  it('zero -> zero with other flags (e.g. accessed cleared): nothing changes', () => {
    const { ref, obs } = setup();
    set(obs, 9, NONE, zero());
    set(obs, 9, zero(), zero(1 << 11));
    expect(counts(ref)).toEqual([1, 1]);
  });

  it('anon -> anon and swap -> anon (do_swap_page): nothing changes', () => {
    const { ref, obs } = setup();
    set(obs, 4, NONE, anon(902));
    set(obs, 4, anon(902), anon(903));
    set(obs, 6, NONE, swap(77));
    set(obs, 6, swap(77), anon(904));
    expect(counts(ref)).toEqual([2, 0]);
  });

  it("rfc rule: anon/migration -> zero leaves zero at 0 (the RFC's asymmetry)", () => {
    const { ref, obs } = setup('rfc');
    set(obs, 4, NONE, swap(55));
    set(obs, 4, swap(55), zero());
    expect(counts(ref)).toEqual([1, 0]);
    set(obs, 5, NONE, anon(905));
    set(obs, 5, anon(905), zero());
    expect(counts(ref)).toEqual([2, 0]);
  });

  it('symmetric rule: anon/migration -> zero makes zero 0 -> 1 -> 2', () => {
    const { ref, obs } = setup('symmetric');
    set(obs, 4, NONE, swap(55));
    set(obs, 4, swap(55), zero());
    expect(counts(ref)).toEqual([1, 1]);
    set(obs, 5, NONE, anon(905));
    set(obs, 5, anon(905), zero());
    expect(counts(ref)).toEqual([2, 2]);
  });
});

describe('track_pte_clear', () => {
  it('clear of anon: mapped 2 -> 1; clear of zero: mapped 1 -> 0 and zero 1 -> 0', () => {
    const { ref, obs } = setup();
    set(obs, 0, NONE, anon(900));
    set(obs, 1, NONE, zero());
    expect(counts(ref)).toEqual([2, 1]);
    obs.pteClear(T, 0, ...anon(900));
    expect(counts(ref)).toEqual([1, 1]);
    obs.pteClear(T, 1, ...zero());
    expect(counts(ref)).toEqual([0, 0]);
  });

  it('clear of a none entry changes nothing', () => {
    const { ref, obs } = setup();
    set(obs, 0, NONE, anon(900));
    obs.pteClear(T, 3, 0, 0);
    expect(counts(ref)).toEqual([1, 0]);
  });

  it('clear of a swap entry with zero-PFN-looking bits: mapped--, zero untouched', () => {
    const { ref, obs } = setup();
    set(obs, 0, NONE, zero());
    set(obs, 1, NONE, swap(ZERO_PFN));
    obs.pteClear(T, 1, ...swap(ZERO_PFN));
    expect(counts(ref)).toEqual([1, 1]);
  });

  it("rfc rule: clearing a zero entry the RFC never counted underflows, and nothing changes", () => {
    const { ref, obs } = setup('rfc');
    set(obs, 4, NONE, anon(905));
    set(obs, 4, anon(905), zero());
    const e = thrown(() => obs.pteClear(T, 4, ...zero()));
    expect(isKmodelError(e, PteRefErrorCode.Underflow)).toBe(true);
    expect(counts(ref)).toEqual([1, 0]);
  });
});

describe('empty and zero-only tables', () => {
  it('512 zero-page sets make a zero-only table (word 0x80200); one COW makes it ordinary', () => {
    const { ref, obs } = setup();
    for (let i = 0; i < 512; i++) set(obs, i, NONE, zero());
    expect(ref.pteRefcount(MM, T)).toBe((512 << 10) | 512);
    expect(ref.isZeroOnly(MM, T)).toBe(true);
    expect(ref.isEmpty(MM, T)).toBe(false);
    expect(ref.reclaimablePtBytes(MM)).toBe(4096);
    set(obs, 17, zero(), anon(999));
    expect(counts(ref)).toEqual([512, 511]);
    expect(ref.isZeroOnly(MM, T)).toBe(false);
    expect(ref.reclaimablePtBytes(MM)).toBe(0);
  });

  it('a new table is empty (pte_ref_init) and stops being empty at its first set', () => {
    const { ref, obs } = setup();
    expect(ref.isEmpty(MM, T)).toBe(true);
    expect(ref.reclaimablePtBytes(MM)).toBe(4096);
    expect(ref.reclaimableTables(MM)).toEqual([T]);
    set(obs, 0, NONE, marker());
    expect(ref.isEmpty(MM, T)).toBe(false);
    expect(ref.reclaimableTables(MM)).toEqual([]);
    obs.pteClear(T, 0, ...marker());
    expect(ref.reclaimableTables(MM)).toEqual([T]);
  });

  it('511 zero entries and one none entry: neither empty nor zero-only', () => {
    const { ref, obs } = setup();
    for (let i = 0; i < 511; i++) set(obs, i, NONE, zero());
    expect(counts(ref)).toEqual([511, 511]);
    expect(ref.isZeroOnly(MM, T)).toBe(false);
    expect(ref.reclaimablePtBytes(MM)).toBe(0);
  });
});

describe('bad input', () => {
  it('a 513th set overflows with E_PTE_REF_OVERFLOW and leaves the word at 512', () => {
    const { ref, obs } = setup();
    for (let i = 0; i < 512; i++) set(obs, i, NONE, anon(1000 + i));
    const before = ref.pteRefcount(MM, T);
    const e = thrown(() => set(obs, 0, NONE, zero()));
    expect(isKmodelError(e, PteRefErrorCode.Overflow)).toBe(true);
    expect((e as Error).message).toContain('513');
    expect(ref.pteRefcount(MM, T)).toBe(before);
    expect(counts(ref)).toEqual([512, 0]);
  });

  it('clearing from mapped 0 underflows with E_PTE_REF_UNDERFLOW and leaves the table empty', () => {
    const { ref, obs } = setup();
    const e = thrown(() => obs.pteClear(T, 0, ...anon(1)));
    expect(isKmodelError(e, PteRefErrorCode.Underflow)).toBe(true);
    expect(counts(ref)).toEqual([0, 0]);
    expect(ref.reclaimablePtBytes(MM)).toBe(4096);
  });

  it('symmetric rule: a zero++ past mapped (an old entry the counters never saw) is E_PTE_REF_INVARIANT', () => {
    const { ref, obs } = setup('symmetric');
    const e = thrown(() => set(obs, 0, anon(5), zero()));
    expect(isKmodelError(e, PteRefErrorCode.Invariant)).toBe(true);
    expect(counts(ref)).toEqual([0, 0]);
  });

  it('pteSet with a none new entry is E_PTE_REF_SET_NONE', () => {
    const { ref, obs } = setup();
    expect(isKmodelError(thrown(() => set(obs, 0, anon(5), NONE)), PteRefErrorCode.SetNone)).toBe(true);
    expect(counts(ref)).toEqual([0, 0]);
  });

  it('unknown tables, levels and indexes are refused', () => {
    const { ref, obs } = setup();
    expect(isKmodelError(thrown(() => obs.pteSet(99, 0, 0, 0, ...zero())), PteRefErrorCode.UnknownTable)).toBe(true);
    expect(isKmodelError(thrown(() => obs.pteSet(T, 512, 0, 0, ...zero())), 'E_OUT_OF_RANGE')).toBe(true);
    expect(isKmodelError(thrown(() => obs.pteSet(T, -1, 0, 0, ...zero())), 'E_OUT_OF_RANGE')).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableAlloc(T, 1, 0)), PteRefErrorCode.TableExists)).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableAlloc(T, 2, 0)), PteRefErrorCode.TableExists)).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableFree(T, 2)), PteRefErrorCode.TableExists)).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableFree(4, 1)), PteRefErrorCode.UnknownTable)).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableAlloc(4, 1, 100)), 'E_OUT_OF_RANGE')).toBe(true);
    expect(isKmodelError(thrown(() => obs.tableAlloc(-4, 1, 0)), 'E_OUT_OF_RANGE')).toBe(true);
    expect(isKmodelError(thrown(() => ref.mappedCount(MM, 4)), PteRefErrorCode.UnknownTable)).toBe(true);
    expect(ref.pteTableCount(MM)).toBe(1);
    expect(ref.reclaimablePtBytes(MM)).toBe(4096);
  });

  it('queries about an unknown mm are E_PTE_REF_UNKNOWN_MM, naming the mm', () => {
    const { ref } = setup();
    const e = thrown(() => ref.reclaimablePtBytes(8));
    expect(isKmodelError(e, PteRefErrorCode.UnknownMm)).toBe(true);
    expect((e as Error).message).toContain('8 (0x8)');
    expect(isKmodelError(thrown(() => ref.forgetMm(8)), PteRefErrorCode.UnknownMm)).toBe(true);
    expect(isKmodelError(thrown(() => ref.observerFor(-1)), 'E_NOT_INTEGER')).toBe(true);
    expect(isKmodelError(thrown(() => new PteRef(-3)), 'E_NOT_INTEGER')).toBe(true);
    expect(isKmodelError(thrown(() => new PteRef(1, { zeroRule: 'nope' as ZeroRule })), 'E_OUT_OF_RANGE')).toBe(true);
  });

  it('a forgotten mm observer fails instead of resurrecting the mm', () => {
    const { ref, obs } = setup();
    ref.forgetMm(MM);
    expect(isKmodelError(thrown(() => set(obs, 0, NONE, zero())), PteRefErrorCode.UnknownMm)).toBe(true);
    expect(ref.knows(MM)).toBe(false);
    expect(ref.largest()).toBeUndefined();
  });
});

describe('tables at other levels and table reuse', () => {
  it('PMD/PUD tables are ignored; a TableId reused as a PTE table starts from 0', () => {
    const { ref, obs } = setup();
    obs.tableAlloc(0, 2, 0);
    obs.tableAlloc(1, 3, 0);
    expect(ref.pteTableCount(MM)).toBe(1);
    for (let i = 0; i < 10; i++) set(obs, i, NONE, anon(i + 1));
    obs.tableFree(T, 1);
    expect(ref.pteTableCount(MM)).toBe(0);
    expect(ref.reclaimablePtBytes(MM)).toBe(0);
    obs.tableAlloc(T, 2, 0);
    obs.tableFree(T, 2);
    obs.tableAlloc(T, 1, 1024);
    expect(counts(ref)).toEqual([0, 0]);
    expect(ref.tableBaseVpn(MM, T)).toBe(1024);
  });

  it('an ignored observer (init_mm) counts nothing and leaves the mm unknown', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(0, { ignore: true });
    obs.tableAlloc(0, 1, 0);
    obs.pteSet(0, 0, 0, 0, ...zero());
    expect(ref.knows(0)).toBe(false);
    expect(ref.largest()).toBeUndefined();
  });

  it('observerFor returns the same observer for the same mm', () => {
    const ref = new PteRef(ZERO_PFN);
    expect(ref.observerFor(2)).toBe(ref.observerFor(2));
    expect(ref.observerFor(2)).not.toBe(ref.observerFor(3));
  });

  it('TableIds far apart grow the arrays without losing counts', () => {
    const ref = new PteRef(ZERO_PFN);
    const obs = ref.observerFor(1);
    obs.tableAlloc(0, 1, 0);
    obs.pteSet(0, 0, 0, 0, ...zero());
    obs.tableAlloc(100_000, 1, 512);
    obs.pteSet(100_000, 1, 0, 0, ...anon(3));
    expect(ref.pteRefcount(1, 0)).toBe(0x401);
    expect(ref.pteRefcount(1, 100_000)).toBe(0x001);
  });
});
