import {
  _PAGE_PAT_LARGE,
  _PAGE_PSE,
  PACKED_FLAGS_MASK,
  fail,
  show,
} from '@kmodel/core';
import type {
  EntryObserver,
  Level,
  PageTable,
  PageTableFactory,
  PageTableOptions,
  PagingLevels,
  Pfn,
  TableAllocator,
  TableId,
  TablesFreed,
  Vpn,
  WalkOps,
} from '@kmodel/core';
import { PgtableErrorCode as E } from './errors.js';
import {
  ENTRY_P,
  ENTRY_PSE,
  VPN_END,
  _KERNPG_TABLE,
  _PAGE_TABLE,
  isTablePointer,
  leafFlags,
  leafPfn,
  makeLo,
  makeHi,
  tableIndex,
} from './entry.js';
import { CHUNK_MASK, CHUNK_SHIFT, FORM_DENSE, NO_CHILD, PTE_SLOT_WORDS, TableSlab } from './slab.js';

/** Options of {@link createPageTable}: the core options plus x86 choices. */
export interface X86PageTableOptions extends PageTableOptions {
  /**
   * A kernel page table (init_mm, the direct map): table pointers get `_KERNPG_TABLE`
   * (no `_PAGE_USER`) instead of `_PAGE_TABLE` (pmd_populate_kernel vs pmd_populate).
   */
  kernel?: boolean;
}

const TWO32 = 4294967296;

/** Pages covered by one PMD table (1 GiB). */
const PMD_SPAN_PAGES = 512 * 512;

/** Pages covered by one entry at level l (index = level). */
const ENTRY_SPAN = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4, 512 ** 5];

/**
 * x86-64 page tables of one address space: the stock {@link PageTable}.
 *
 * Addresses are virtual page numbers of the full 64-bit address (`addr >> 12`, at most 52
 * bits, so exact in a JavaScript number): the lower canonical half is `[0, 2^35)` with
 * 4-level paging and `[0, 2^44)` with 5-level; the upper (kernel) half starts at
 * `2^52 - 2^35` or `2^52 - 2^44` (e.g. the direct map base `0xffff888000000000` is vpn
 * `0xffff888000000`). Any other vpn is non-canonical (`E_NONCANONICAL`). Range ends may
 * also be the end of a half (`2^35`, `2^44` or `2^52`).
 *
 * Host storage: see `slab.ts`; a one-entry PTE table costs about 94 host bytes and a full one
 * 4 KiB + 30 bytes.
 */
export class X86PageTable implements PageTable {
  readonly levels: PagingLevels;
  /** Virtual-address width: 48 or 57 bits. */
  readonly vaBits: 48 | 57;
  /** The top-level table (PGD / PML4 or PML5); it lives as long as the page table. */
  readonly top: TableId;
  /** PFN of the top-level table (the value CR3 holds). */
  readonly topPfn: Pfn;
  /** First vpn above the lower canonical half. */
  readonly userEnd: Vpn;
  /** First vpn of the upper canonical half. */
  readonly kernelStart: Vpn;

  /** @internal */
  readonly slab = new TableSlab();
  private readonly tables: TableAllocator;
  private readonly observer: EntryObserver | undefined;
  private readonly tableLo: number;
  private readonly counts = [0, 0, 0, 0, 0, 0];
  // One-entry caches of the last PTE table (key = vpn / 512) and the last PMD table
  // (key = vpn / 512^2) found or made: consecutive faults and zaps stay in one 2 MiB / 1 GiB
  // span, and the hardware's paging-structure caches do the same. Both forget on any free
  // that could concern them (dropTable, clearAll).
  private ptKey = -1;
  private ptId = -1;
  private pmdKey = -1;
  private pmdId = -1;
  // Scratch index lists, one per level, for ordered traversals.
  private readonly scratch: Int32Array[] = [0, 1, 2, 3, 4, 5].map(() => new Int32Array(512));

  constructor(options: X86PageTableOptions) {
    const { levels } = options;
    if (levels !== 4 && levels !== 5) fail(E.BadLevel, `paging levels ${show(levels)} not supported, expected 4 or 5`, { value: levels });
    this.levels = levels;
    this.vaBits = levels === 5 ? 57 : 48;
    this.userEnd = 2 ** (this.vaBits - 13);
    this.kernelStart = VPN_END - this.userEnd;
    this.tables = options.tables;
    this.observer = options.observer;
    this.tableLo = options.kernel ? _KERNPG_TABLE : _PAGE_TABLE;
    const pfn = this.tables.allocTable(levels);
    if (pfn === null) fail(E.NoMemory, `the table allocator could not provide the level-${levels} top table`);
    this.checkPfn(pfn);
    this.topPfn = pfn;
    this.top = this.slab.allocId(levels, pfn, -1, 0);
    this.counts[levels] = 1;
  }

  // ---------------------------------------------------------------- validation

  /** Throws E_NONCANONICAL unless `vpn` is a canonical page number. */
  checkVpn(vpn: number, what = 'vpn'): void {
    if (vpn >= 0 && vpn < this.userEnd && Math.floor(vpn) === vpn) return;
    if (vpn >= this.kernelStart && vpn < VPN_END && Math.floor(vpn) === vpn) return;
    this.badVpn(vpn, what);
  }

  private badVpn(vpn: number, what: string): never {
    if (!Number.isSafeInteger(vpn) || vpn < 0)
      fail(E.NonCanonical, `${what} ${show(vpn)} is not a page number (expected a non-negative safe integer)`, { value: vpn });
    return fail(
      E.NonCanonical,
      `${what} ${show(vpn)} is not canonical with ${this.levels}-level paging (expected < ${show(this.userEnd)} or in [${show(this.kernelStart)}, 2^52))`,
      { value: vpn },
    );
  }

  /** Validates [start, end): canonical, ordered, not across the hole. */
  private checkRange(start: number, end: number): void {
    this.checkVpn(start, 'start vpn');
    if (!(end === this.userEnd || end === VPN_END)) this.checkVpn(end, 'end vpn');
    if (end < start) fail(E.BadRange, `range end ${show(end)} lies below its start ${show(start)}`, { start, end });
    if (start < this.userEnd && end > this.userEnd)
      fail(E.BadRange, `range [${show(start)}, ${show(end)}) spans the non-canonical hole`, { start, end });
  }

  private checkLevel(level: number, max: number): void {
    if (!((level | 0) === level && level >= 1 && level <= max))
      fail(E.BadLevel, `level ${show(level)} unknown here, expected 1..${max}`, { value: level });
  }

  private checkPfn(pfn: number): void {
    if (!(pfn >= 0 && pfn < 2 ** 40 && Math.floor(pfn) === pfn))
      fail(E.PfnRange, `pfn ${show(pfn)} is beyond the 52-bit physical-address width (expected an integer in [0, 2^40))`, { value: pfn });
  }

  // ---------------------------------------------------------------- lookup

  /** Descends to the table at `level` covering `vpn`; -1 when missing or a leaf sits above. */
  private lookup(vpn: number, level: number): number {
    if (level === 1) {
      const key = Math.floor(vpn / 512);
      if (key === this.ptKey) return this.ptId;
      const t = this.descend(vpn, 1);
      if (t >= 0) {
        this.ptKey = key;
        this.ptId = t;
      }
      return t;
    }
    return this.descend(vpn, level);
  }

  private descend(vpn: number, level: number): number {
    const slab = this.slab;
    const lo = vpn >>> 0;
    const hi = (vpn - lo) / TWO32;
    let t = this.top;
    let l: number = this.levels;
    if (level <= 2 && Math.floor(vpn / PMD_SPAN_PAGES) === this.pmdKey) {
      t = this.pmdId;
      l = 2;
    }
    for (; l > level; l--) {
      if (l === 2) this.rememberPmd(vpn, t);
      const i = tableIndex(lo, hi, l);
      const p = slab.pos(t, i);
      if (p < 0) return -1;
      if ((slab.read(p) & (ENTRY_P | ENTRY_PSE)) !== ENTRY_P) return -1;
      t = slab.read(slab.childPos(t, i, p));
    }
    return t;
  }

  /** Caches `t` as the PMD table covering `vpn`. */
  private rememberPmd(vpn: number, t: number): void {
    this.pmdKey = Math.floor(vpn / PMD_SPAN_PAGES);
    this.pmdId = t;
  }

  /** Level of the non-table, non-none entry above the PTE level that the walk for `vpn` stops at, or 0. */
  private upperLeafLevel(vpn: number): number {
    const slab = this.slab;
    const lo = vpn >>> 0;
    const hi = (vpn - lo) / TWO32;
    let t = this.top;
    for (let l = this.levels; l > 1; l--) {
      const i = tableIndex(lo, hi, l);
      const p = slab.pos(t, i);
      if (p < 0) return 0;
      const elo = slab.read(p);
      const ehi = slab.read(p + 1);
      if (elo === 0 && ehi === 0) return 0;
      if (!isTablePointer(elo)) return l;
      t = slab.read(slab.childPos(t, i, p));
    }
    return 0;
  }

  // ---------------------------------------------------------------- PageTable

  /**
   * Allocates the tables down to `level` covering `vpn` (__pud_alloc / __pmd_alloc /
   * __pte_alloc); false when the allocator failed (tables installed before the failure stay).
   *
   * Each missing table is allocated first and its entry re-checked afterwards, as __pte_alloc
   * does with pmd_install (mm/memory.c: allocate, then take the lock and re-check
   * `pmd_none`): the allocator may charge a memcg, run reclaim and free tables of this very
   * page table (the parent found before the call included). When any table was freed during
   * the call the walk is done again from the top and missing parents are made again the same
   * way; a page nobody needs any more (the entry was populated meanwhile) goes back to the
   * allocator (pte_free).
   */
  allocTable(vpn: Vpn, level: Level): boolean {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    return this.populate(vpn, level);
  }

  private populate(vpn: number, level: number): boolean {
    const slab = this.slab;
    const lo = vpn >>> 0;
    const hi = (vpn - lo) / TWO32;
    let t = this.top;
    let l: number = this.levels;
    if (level === 1) {
      const key = Math.floor(vpn / 512);
      if (key === this.ptKey) return true;
      if (Math.floor(vpn / PMD_SPAN_PAGES) === this.pmdKey) {
        t = this.pmdId;
        l = 2;
      }
    }
    while (l > level) {
      if (l === 2) this.rememberPmd(vpn, t);
      const i = tableIndex(lo, hi, l);
      let p = slab.pos(t, i);
      if (p >= 0) {
        const elo = slab.read(p);
        if (elo !== 0 || slab.read(p + 1) !== 0) {
          if (!isTablePointer(elo))
            fail(E.HugeLeaf, `vpn ${show(vpn)}: a level-${l} entry that is not a table pointer (huge leaf or non-present entry) sits where a level-${l - 1} table is needed`, { vpn, level: l });
          t = slab.read(slab.childPos(t, i, p));
          l--;
          continue;
        }
      }
      // __pte_alloc: pte_alloc_one first, with no lock (here: no position) held across it.
      const childLevel = (l - 1) as Level;
      const gen = this.freeGen;
      const pfn = this.tables.allocTable(childLevel);
      if (pfn === null) return false;
      this.checkPfn(pfn);
      if (this.freeGen !== gen) {
        // The allocation freed tables of this page table (reclaim inside a memcg charge),
        // maybe `t` itself: make the parents again if they went and find `t` afresh.
        t = this.reparent(vpn, l, pfn, childLevel);
        if (t < 0) return false;
      }
      // pmd_install: re-check pmd_none; if the entry was populated meanwhile (or a leaf landed
      // there), pte_free the spare page and look at the entry again.
      p = slab.pos(t, i);
      if (p >= 0 && (slab.read(p) !== 0 || slab.read(p + 1) !== 0)) {
        this.tables.freeTable(pfn, childLevel);
        continue;
      }
      t = this.install(t, i, childLevel, pfn, vpn - (vpn % ENTRY_SPAN[l]));
      l--;
    }
    if (level === 1) {
      this.ptKey = Math.floor(vpn / 512);
      this.ptId = t;
    }
    return true;
  }

  /**
   * After an allocation that freed tables: makes the tables down to `level` covering `vpn`
   * again and returns the one at `level`; -1 (with `pfn` given back) when that fails.
   */
  private reparent(vpn: number, level: number, pfn: number, childLevel: Level): number {
    let ok = false;
    try {
      ok = this.populate(vpn, level);
    } finally {
      if (!ok) this.tables.freeTable(pfn, childLevel);
    }
    return ok ? this.descend(vpn, level) : -1;
  }

  /** Bumped whenever a table is freed: a position held across an allocator call is stale when it moved. */
  private freeGen = 0;

  /**
   * pmd_populate / pud_populate / p4d_populate: hooks page `pfn` as a new level-`childLevel`
   * table into none entry `i` of `t`; returns the new table. The observer hears `tableAlloc`
   * before the entry is written: if it throws, the page goes back to the allocator and the
   * entry stays none.
   */
  private install(t: number, i: number, childLevel: number, pfn: number, base: number): number {
    const slab = this.slab;
    const c = slab.allocId(childLevel, pfn, t, i);
    if (this.observer !== undefined) {
      try {
        this.observer.tableAlloc(c, childLevel as Level, base);
      } catch (e) {
        slab.freeId(c);
        this.tables.freeTable(pfn, childLevel as Level);
        throw e;
      }
    }
    slab.insert(t, i, makeLo(pfn, this.tableLo), makeHi(pfn, 0), c);
    this.counts[childLevel]++;
    return c;
  }

  /** @inheritDoc */
  tableAt(vpn: Vpn, level: Level): TableId {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    return this.lookup(vpn, level);
  }

  /** Word position of the entry at `level` for `vpn`, or -1 when none or missing. */
  private entryPos(vpn: number, level: number): number {
    const t = this.lookup(vpn, level);
    if (t < 0) return -1;
    const lo = vpn >>> 0;
    const p = this.slab.pos(t, tableIndex(lo, (vpn - lo) / TWO32, level));
    if (p < 0) return -1;
    const slab = this.slab;
    return slab.read(p) === 0 && slab.read(p + 1) === 0 ? -1 : p;
  }

  /** @inheritDoc */
  entryPfn(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const p = this.entryPos(vpn, level);
    if (p < 0) return -1;
    return leafPfn(this.slab.read(p), this.slab.read(p + 1), level);
  }

  /** @inheritDoc */
  entryFlags(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const p = this.entryPos(vpn, level);
    if (p < 0) return 0;
    return leafFlags(this.slab.read(p), this.slab.read(p + 1), level);
  }

  /** Low half (bits 0..31) of the raw entry at `level` for `vpn`; 0 when none or missing. */
  entryLo(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const p = this.entryPos(vpn, level);
    return p < 0 ? 0 : this.slab.read(p);
  }

  /** High half (bits 32..63) of the raw entry at `level` for `vpn`; 0 when none or missing. */
  entryHi(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const p = this.entryPos(vpn, level);
    return p < 0 ? 0 : this.slab.read(p + 1);
  }

  /** @inheritDoc */
  presentCount(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const t = this.lookup(vpn, level);
    return t < 0 ? -1 : this.slab.count[t];
  }

  /**
   * Sets the entry at `level` (set_pte_at / set_pmd_at / set_pud_at); the table must exist.
   * Level 2 or 3 with `_PAGE_PSE` makes a 2 MiB / 1 GiB leaf; `(0, 0)` clears the entry.
   *
   * Throws `E_NONCANONICAL`, `E_BAD_LEVEL` for level ≥ 4 (x86-64 has no leaves above 1 GiB), `E_PFN_RANGE`,
   * `E_BAD_FLAGS` (unknown bits; PAT_LARGE on a 4 KiB PTE; a present entry above the PTE
   * level without `_PAGE_PSE`: tables are installed by {@link allocTable}), `E_UNALIGNED`
   * (a huge leaf's PFN not aligned to 2 MiB / 1 GiB), `E_NO_TABLE`, and `E_TABLE_PRESENT`
   * when the entry points to a table.
   */
  setEntry(vpn: Vpn, level: Level, pfn: Pfn, flags: number): void {
    this.checkVpn(vpn);
    if (!(level === 1 || level === 2 || level === 3))
      fail(E.BadLevel, `level ${show(level)} cannot hold a leaf, expected 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB)`, { value: level });
    this.checkPfn(pfn);
    // Exact for any number: a fraction, a negative number or NaN never survives the mask unchanged.
    if ((flags & PACKED_FLAGS_MASK) !== flags)
      fail(E.BadFlags, `flags ${show(flags)} hold bits outside the packed-flags mask 0x1ffffff`, { value: flags });
    if (level === 1) {
      if (flags & _PAGE_PAT_LARGE) fail(E.BadFlags, `flags ${show(flags)}: _PAGE_PAT_LARGE is only for 2 MiB / 1 GiB leaves (bit 12 is a PFN bit in a PTE)`, { value: flags });
    } else {
      if ((flags & (ENTRY_P | _PAGE_PSE)) === ENTRY_P)
        fail(E.BadFlags, `flags ${show(flags)}: a present level-${level} entry must be a huge leaf (_PAGE_PSE); tables are installed by allocTable`, { value: flags, level });
      if (flags & _PAGE_PSE) {
        const align = ENTRY_SPAN[level];
        if (pfn % align !== 0)
          fail(E.Unaligned, `pfn ${show(pfn)} of a level-${level} huge leaf is not aligned to ${align} pages (${level === 2 ? '2 MiB' : '1 GiB'})`, { value: pfn, level });
      }
    }
    if (pfn === 0 && flags === 0) {
      this.clearEntry(vpn, level);
      return;
    }
    const t = this.lookup(vpn, level);
    if (t < 0) fail(E.NoTable, `no level-${level} table covers vpn ${show(vpn)} (allocate it first, or a huge leaf sits above)`, { vpn, level });
    const slab = this.slab;
    const vlo = vpn >>> 0;
    const i = tableIndex(vlo, (vpn - vlo) / TWO32, level);
    const p = slab.pos(t, i);
    const oldLo = p < 0 ? 0 : slab.read(p);
    const oldHi = p < 0 ? 0 : slab.read(p + 1);
    const newLo = makeLo(pfn, flags);
    const newHi = makeHi(pfn, flags);
    if (level > 1 && isTablePointer(oldLo))
      fail(E.TablePresent, `vpn ${show(vpn)}: the level-${level} entry points to a table; free it first (freePteTable / freePmdTable)`, { vpn, level });
    // track_pte_set runs before set_pte (the 2022 RFC): an observer that throws leaves the entry as it was.
    if (level === 1) this.observer?.pteSet(t, i, oldLo, oldHi, newLo, newHi);
    if (oldLo === 0 && oldHi === 0) {
      slab.insert(t, i, newLo, newHi, NO_CHILD);
    } else {
      slab.write(p, newLo);
      slab.write(p + 1, newHi);
    }
  }

  /**
   * Clears the entry at `level` (ptep_get_and_clear / pmd_clear); returns the old PFN, or -1
   * when it was none or its table is missing.
   *
   * Throws `E_TABLE_PRESENT` when the entry points to a table (unhooking a table without
   * freeing it would leak it: use {@link freePteTable}, {@link freePmdTable} or
   * {@link freePgtables}). At level 1 the observer hears `pteClear` even for a none entry.
   */
  clearEntry(vpn: Vpn, level: Level): number {
    this.checkVpn(vpn);
    this.checkLevel(level, this.levels);
    const t = this.lookup(vpn, level);
    if (t < 0) return -1;
    const slab = this.slab;
    const vlo = vpn >>> 0;
    const i = tableIndex(vlo, (vpn - vlo) / TWO32, level);
    const p = slab.pos(t, i);
    const oldLo = p < 0 ? 0 : slab.read(p);
    const oldHi = p < 0 ? 0 : slab.read(p + 1);
    if (oldLo === 0 && oldHi === 0) {
      if (level === 1) this.observer?.pteClear(t, i, 0, 0);
      return -1;
    }
    if (level > 1 && isTablePointer(oldLo))
      fail(E.TablePresent, `vpn ${show(vpn)}: the level-${level} entry points to a table; free it with freePteTable / freePmdTable / freePgtables`, { vpn, level });
    // track_pte_clear before the entry goes: an observer that throws leaves it in place.
    if (level === 1) this.observer?.pteClear(t, i, oldLo, oldHi);
    slab.remove(t, i, p);
    return leafPfn(oldLo, oldHi, level);
  }

  /**
   * Clears every leaf in [startVpn, endVpn) (zap_pte_range and its PMD / PUD siblings),
   * calling `visit` with each before it goes; returns how many entries went. Tables stay.
   *
   * Non-present leaves (swap entries, markers) are cleared too; `visit` gets their decoded
   * bits and can tell them apart by the missing `_PAGE_PRESENT`. Visits go in ascending vpn
   * order; a huge leaf is visited with its first vpn and PFN. Throws `E_PARTIAL_HUGE` (and
   * clears nothing) when the range cuts a huge leaf.
   */
  zapRange(startVpn: Vpn, endVpn: Vpn, visit?: (vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void): number {
    this.checkRange(startVpn, endVpn);
    if (startVpn === endVpn) return 0;
    this.checkHugeCut(startVpn, endVpn);
    return this.zapTable(this.top, this.levels, this.tableBase(startVpn, this.levels), startVpn, endVpn, visit, false);
  }

  /**
   * {@link zapRange} with CONFIG_PT_RECLAIM's reclaim_pt (zap_pte_range, mm/pt_reclaim.c:
   * try_get_and_clear_pmd + free_pte): every PTE table whose whole 2 MiB span lies inside
   * [startVpn, endVpn) and that holds no entry once its part of the range is zapped is
   * cleared from its PMD entry and freed in the same pass. PMD and higher tables stay.
   * Returns the number of PTE tables freed.
   *
   * The observer hears `pteClear` for every entry and then `tableFree` for every table
   * freed. `visit`, as for zapRange, hears each leaf before it goes and must not change this
   * page table. Same errors as zapRange (nothing changes on a bad range).
   */
  zapRangeReclaimPt(startVpn: Vpn, endVpn: Vpn, visit?: (vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void): number {
    this.checkRange(startVpn, endVpn);
    if (startVpn === endVpn) return 0;
    this.checkHugeCut(startVpn, endVpn);
    this.ptFreed = 0;
    this.zapTable(this.top, this.levels, this.tableBase(startVpn, this.levels), startVpn, endVpn, visit, true);
    return this.ptFreed;
  }

  /** PTE tables freed by the current zapRangeReclaimPt. */
  private ptFreed = 0;

  /** Throws E_PARTIAL_HUGE when [startVpn, endVpn) cuts a huge leaf at either end. */
  private checkHugeCut(startVpn: number, endVpn: number): void {
    for (let k = 0; k < 2; k++) {
      const v = k === 0 ? startVpn : endVpn - 1;
      const l = this.upperLeafLevel(v);
      if (l === 0) continue;
      const span = ENTRY_SPAN[l];
      const base = v - (v % span);
      if (base < startVpn || base + span > endVpn)
        fail(E.PartialHuge, `range [${show(startVpn)}, ${show(endVpn)}) cuts the level-${l} leaf at vpn ${show(base)}`, { start: startVpn, end: endVpn, leaf: base, level: l });
    }
  }

  /** First vpn of the table at `level` covering `vpn` (for the top table, of its half's index 0). */
  private tableBase(vpn: number, level: number): number {
    return vpn - (vpn % ENTRY_SPAN[level + 1]);
  }

  private zapTable(t: number, level: number, base: number, start: number, end: number, visit: ((vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void) | undefined, reclaimPt: boolean): number {
    const slab = this.slab;
    if (level === 2 && slab.form[t] === FORM_DENSE) return this.zapPmd(t, base, start, end, visit, reclaimPt);
    const es = ENTRY_SPAN[level];
    const list = this.scratch[level];
    const n = this.collect(t, level, base, start, end, list);
    let cleared = 0;
    for (let k = 0; k < n; k++) {
      const i = list[k];
      const p = slab.pos(t, i);
      const elo = slab.read(p);
      const ehi = slab.read(p + 1);
      const ebase = base + i * es;
      if (level > 1 && isTablePointer(elo)) {
        const c = slab.read(slab.childPos(t, i, p));
        const cs = start > ebase ? start : ebase;
        const ce = end < ebase + es ? end : ebase + es;
        if (level > 2) {
          cleared += this.zapTable(c, level - 1, ebase, cs, ce, visit, reclaimPt);
          continue;
        }
        // reclaim_pt: the whole table is in the range and ends up empty.
        const whole = reclaimPt && cs === ebase && ce === ebase + 512;
        cleared += this.zapPte(c, ebase, cs - ebase, ce - ebase, visit, whole);
        if (whole && slab.count[c] === 0) {
          // visit and the observer leave this page table alone, so `p` still holds.
          this.unhookAndFree(t, i, p, c, 1);
          this.ptFreed++;
        }
        continue;
      }
      visit?.(ebase, level as Level, leafPfn(elo, ehi, level), leafFlags(elo, ehi, level));
      if (level === 1) this.observer?.pteClear(t, i, elo, ehi);
      slab.remove(t, i, p);
      cleared++;
    }
    return cleared;
  }

  /**
   * zap_pmd_range over a dense PMD table `t` (first vpn `base`), reading its entries in place:
   * 2 MiB leaves are visited and cleared, PTE tables zapped (and, with `reclaimPt`, freed when
   * wholly inside the range and empty).
   */
  private zapPmd(t: number, base: number, start: number, end: number, visit: ((vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void) | undefined, reclaimPt: boolean): number {
    const slab = this.slab;
    const count = slab.count;
    const i0 = start <= base ? 0 : Math.floor((start - base) / 512);
    const i1 = Math.min(511, Math.floor((end - 1 - base) / 512));
    const a = slab.block[t];
    const w = slab.chunks[a >>> CHUNK_SHIFT];
    const o = a & CHUNK_MASK;
    let cleared = 0;
    for (let i = i0; i <= i1; i++) {
      const q = o + (i << 1);
      const elo = w[q];
      const ehi = w[q + 1];
      if (elo === 0 && ehi === 0) continue;
      const ebase = base + i * 512;
      if (isTablePointer(elo)) {
        const c = w[o + 1024 + i];
        const j0 = start > ebase ? start - ebase : 0;
        const j1 = end < ebase + 512 ? end - ebase : 512;
        const whole = reclaimPt && j0 === 0 && j1 === 512;
        const n = count[c];
        if (n === 1 && slab.form[c] !== FORM_DENSE) {
          // A table with one entry (one touch per 2 MiB, the common case here), without zapPte.
          const cb = slab.block[c];
          const cw = slab.chunks[cb >>> CHUNK_SHIFT];
          const co = cb & CHUNK_MASK;
          const bi = cw[co];
          if (bi >= j0 && bi < j1) {
            const lo = cw[co + 1];
            const hi = cw[co + 2];
            if (visit !== undefined) visit(ebase + bi, 1, (hi & 0xfffff) * 1048576 + (lo >>> 12), (lo & 0xfff) | ((hi >>> 20) << 12));
            this.observer?.pteClear(c, bi, lo, hi);
            count[c] = 0;
            cleared++;
          }
        } else if (n !== 0) cleared += this.zapPte(c, ebase, j0, j1, visit, whole);
        if (!whole || count[c] !== 0) continue;
        // unhookAndFree of an empty PTE table, inline: slab.remove of entry i of this dense
        // PMD table (its words and child slot) without re-reading what this loop knows.
        this.observer?.tableFree(c, 1);
        w[q] = 0;
        w[q + 1] = 0;
        w[o + 1024 + i] = NO_CHILD;
        const left = count[t] - 1;
        if (left === 0) slab.reset(t);
        else count[t] = left;
        this.dropTable(c, 1);
        this.ptFreed++;
      } else {
        visit?.(ebase, 2, leafPfn(elo, ehi, 2), leafFlags(elo, ehi, 2));
        slab.remove(t, i, a + (i << 1));
        cleared++;
      }
      if (count[t] === 0) break; // the PMD table went back to the small form
    }
    return cleared;
  }

  /**
   * zap_pte_range over entries [i0, i1) of PTE table `t` (first vpn `base`): visits and clears
   * every non-none entry in ascending order; returns how many. A dense table left empty goes
   * back to the small form unless `freeing` (it is about to be freed). The range comes as
   * small table indices, not vpns: a vpn above 2^30 is a heap number in V8, boxed per call.
   */
  private zapPte(t: number, base: number, i0: number, i1: number, visit: ((vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void) | undefined, freeing: boolean): number {
    const slab = this.slab;
    let n = slab.count[t];
    if (n === 0) return 0;
    const obs = this.observer;
    const a = slab.block[t];
    const w = slab.chunks[a >>> CHUNK_SHIFT];
    const o = a & CHUNK_MASK;
    const count = slab.count;
    let cleared = 0;
    if (slab.form[t] === FORM_DENSE) {
      for (let i = i0; i < i1; i++) {
        const q = o + (i << 1);
        const lo = w[q];
        const hi = w[q + 1];
        if (lo === 0 && hi === 0) continue;
        if (visit !== undefined) visit(base + i, 1, (hi & 0xfffff) * 1048576 + (lo >>> 12), (lo & 0xfff) | ((hi >>> 20) << 12));
        if (obs !== undefined) obs.pteClear(t, i, lo, hi);
        w[q] = 0;
        w[q + 1] = 0;
        count[t] = --n;
        cleared++;
        if (n === 0) break;
      }
      if (n === 0 && !freeing) slab.reset(t);
      return cleared;
    }
    // Small form: at most SMALL_SLOTS unordered (index, lo, hi) slots; take the lowest index each time.
    for (;;) {
      let best = -1;
      let bi = 512;
      const last = o + n * PTE_SLOT_WORDS;
      for (let q = o; q < last; q += PTE_SLOT_WORDS) {
        const i = w[q];
        if (i >= i0 && i < i1 && i < bi) {
          bi = i;
          best = q;
        }
      }
      if (best < 0) return cleared;
      const lo = w[best + 1];
      const hi = w[best + 2];
      if (visit !== undefined) visit(base + bi, 1, (hi & 0xfffff) * 1048576 + (lo >>> 12), (lo & 0xfff) | ((hi >>> 20) << 12));
      if (obs !== undefined) obs.pteClear(t, bi, lo, hi);
      n--;
      const l = o + n * PTE_SLOT_WORDS;
      if (best !== l) {
        w[best] = w[l];
        w[best + 1] = w[l + 1];
        w[best + 2] = w[l + 2];
      }
      count[t] = n;
      cleared++;
      if (n === 0) return cleared;
    }
  }

  /** Fills `out` with the ascending indices of the non-none entries of `t` whose span meets [start, end); returns how many. */
  private collect(t: number, level: number, base: number, start: number, end: number, out: Int32Array): number {
    const slab = this.slab;
    const es = ENTRY_SPAN[level];
    const i0 = start <= base ? 0 : Math.floor((start - base) / es);
    const i1 = Math.min(511, Math.floor((end - 1 - base) / es));
    let n = 0;
    if (slab.form[t] === 2) {
      const a = slab.block[t];
      const w = slab.chunks[a >>> 20];
      const o = a & 0xfffff;
      for (let i = i0; i <= i1; i++) if (w[o + 2 * i] !== 0 || w[o + 2 * i + 1] !== 0) out[n++] = i;
      return n;
    }
    const a = slab.block[t];
    const w = slab.chunks[a >>> 20];
    const o = a & 0xfffff;
    const last = o + slab.count[t] * slab.slotWords(t);
    for (let q = o, s = slab.slotWords(t); q < last; q += s) {
      const i = w[q];
      if (i < i0 || i > i1) continue;
      // insertion sort: at most SMALL_SLOTS entries
      let j = n++;
      while (j > 0 && out[j - 1] > i) {
        out[j] = out[j - 1];
        j--;
      }
      out[j] = i;
    }
    return n;
  }

  /** @inheritDoc */
  freePgtables(startVpn: Vpn, endVpn: Vpn, floorVpn: Vpn, ceilingVpn: Vpn): TablesFreed {
    this.checkRange(startVpn, endVpn);
    const ceiling = ceilingVpn === 0 ? VPN_END : ceilingVpn;
    if (!(floorVpn === 0 || floorVpn === this.userEnd)) this.checkVpn(floorVpn, 'floor vpn');
    if (!(ceiling === this.userEnd || ceiling === VPN_END)) this.checkVpn(ceiling, 'ceiling vpn');
    if (floorVpn > startVpn || ceiling < endVpn)
      fail(E.BadRange, `floor ${show(floorVpn)} / ceiling ${show(ceilingVpn)} must enclose [${show(startVpn)}, ${show(endVpn)})`, { start: startVpn, end: endVpn, floor: floorVpn, ceiling: ceilingVpn });
    const freed: TablesFreed = [0, 0, 0, 0, 0, 0];
    if (startVpn < endVpn) this.freeRange(this.top, this.levels, this.tableBase(startVpn, this.levels), startVpn, endVpn, floorVpn, ceiling, freed);
    return freed;
  }

  // free_pgd_range -> free_p4d_range -> free_pud_range -> free_pmd_range -> free_pte_range
  // (mm/memory.c): a table goes when its whole span lies inside [floor, ceiling); here it
  // must also be empty, since nothing guarantees the caller zapped first.
  private freeRange(t: number, level: number, base: number, start: number, end: number, floor: number, ceiling: number, freed: TablesFreed): void {
    const slab = this.slab;
    if (level === 2 && slab.form[t] === FORM_DENSE) {
      freed[1] += this.freePteRange(t, base, start, end, floor, ceiling);
      return;
    }
    const es = ENTRY_SPAN[level];
    const list = this.scratch[level];
    const n = this.collect(t, level, base, start, end, list);
    for (let k = 0; k < n; k++) {
      const i = list[k];
      const p = slab.pos(t, i);
      const elo = slab.read(p);
      if (!isTablePointer(elo)) continue;
      const c = slab.read(slab.childPos(t, i, p));
      const cbase = base + i * es;
      if (level - 1 > 1) this.freeRange(c, level - 1, cbase, Math.max(start, cbase), Math.min(end, cbase + es), floor, ceiling, freed);
      if (slab.count[c] === 0 && cbase >= floor && cbase + es <= ceiling) {
        this.unhookAndFree(t, i, p, c, level - 1);
        freed[level - 1]++;
      }
    }
  }

  /**
   * pmd_clear + pte_free (and the upper-level siblings): unhooks table `t` (entry `i` of
   * `parent`, at word `p`) and frees it with every table below it. For a table with no table
   * below it the observer hears `tableFree` before anything changes, so a throwing observer
   * leaves the table hooked.
   */
  /**
   * free_pte_range over a dense PMD table `t` (first vpn `base`): frees each empty PTE table
   * met in [start, end) whose 2 MiB lies inside [floor, ceiling), reading the PMD entries in
   * place; returns how many.
   */
  private freePteRange(t: number, base: number, start: number, end: number, floor: number, ceiling: number): number {
    const slab = this.slab;
    const count = slab.count;
    const i0 = start <= base ? 0 : Math.floor((start - base) / 512);
    const i1 = Math.min(511, Math.floor((end - 1 - base) / 512));
    const a = slab.block[t];
    const w = slab.chunks[a >>> CHUNK_SHIFT];
    const o = a & CHUNK_MASK;
    let n = 0;
    for (let i = i0; i <= i1; i++) {
      const lo = w[o + (i << 1)];
      if (!isTablePointer(lo)) continue;
      const c = w[o + 1024 + i];
      const cbase = base + i * 512;
      if (count[c] !== 0 || cbase < floor || cbase + 512 > ceiling) continue;
      this.unhookAndFree(t, i, a + (i << 1), c, 1);
      n++;
      if (count[t] === 0) break; // the PMD table went back to the small form
    }
    return n;
  }

  private unhookAndFree(parent: number, i: number, p: number, t: number, level: number): void {
    const slab = this.slab;
    if (level === 1 || slab.count[t] === 0) {
      this.observer?.tableFree(t, level as Level);
      slab.remove(parent, i, p);
      this.dropTable(t, level);
      return;
    }
    slab.remove(parent, i, p);
    this.releaseTable(t, level);
  }

  /** Frees table `t` (already unhooked) and every table below it. */
  private releaseTable(t: number, level: number): void {
    const slab = this.slab;
    if (level > 1 && slab.count[t] > 0) {
      const list = this.scratch[level];
      const n = this.collect(t, level, 0, 0, 512 * ENTRY_SPAN[level], list);
      for (let k = 0; k < n; k++) {
        const i = list[k];
        const p = slab.pos(t, i);
        if (isTablePointer(slab.read(p))) this.releaseTable(slab.read(slab.childPos(t, i, p)), level - 1);
      }
    }
    this.observer?.tableFree(t, level as Level);
    this.dropTable(t, level);
  }

  /** Releases the storage of unhooked table `t` and gives its page back (the observer has heard `tableFree`). */
  private dropTable(t: number, level: number): void {
    const slab = this.slab;
    const pfn = slab.pfn[t];
    slab.freeId(t);
    this.freeGen++;
    this.counts[level]--;
    if (this.ptId === t) this.ptKey = -1;
    if (level > 1) {
      this.ptKey = -1;
      this.pmdKey = -1;
    }
    this.tables.freeTable(pfn, level as Level);
  }

  /**
   * Unhooks and frees the PTE table covering `vpn` (pmd_clear + pte_free), whatever it holds;
   * false when there is none.
   *
   * Entries still in the table vanish with it: the observer hears `tableFree` only, not a
   * `pteClear` per entry.
   */
  freePteTable(vpn: Vpn): boolean {
    this.checkVpn(vpn);
    return this.freeTableAt(vpn, 1);
  }

  /**
   * Unhooks and frees the PMD table covering `vpn` (pud_clear + pmd_free); false when there is
   * none. Throws `E_TABLE_BUSY` when it still holds entries.
   */
  freePmdTable(vpn: Vpn): boolean {
    this.checkVpn(vpn);
    const t = this.lookup(vpn, 2);
    if (t >= 0 && this.slab.count[t] > 0)
      fail(E.TableBusy, `the PMD table covering vpn ${show(vpn)} still holds ${this.slab.count[t]} entries`, { vpn, present: this.slab.count[t] });
    return this.freeTableAt(vpn, 2);
  }

  private freeTableAt(vpn: number, level: number): boolean {
    const t = this.lookup(vpn, level);
    if (t < 0) return false;
    const slab = this.slab;
    const parent = slab.parent[t];
    const i = slab.parentIdx[t];
    this.unhookAndFree(parent, i, slab.pos(parent, i), t, level);
    return true;
  }

  /**
   * Walks [startVpn, endVpn) calling the given callbacks (walk_page_range with mm_walk_ops).
   *
   * Callbacks run in ascending vpn order and must not change this page table. `leaf` and
   * `nonPresent` get the entry's first vpn (which may lie below `startVpn` for a huge leaf
   * that the range starts inside) and, for `leaf`, the entry's first PFN. `hole` gets the
   * first vpn of the none entry inside the range.
   */
  walk(startVpn: Vpn, endVpn: Vpn, ops: WalkOps): void {
    this.checkRange(startVpn, endVpn);
    if (startVpn < endVpn) this.walkTable(this.top, this.levels, this.tableBase(startVpn, this.levels), startVpn, endVpn, ops);
  }

  private walkTable(t: number, level: number, base: number, start: number, end: number, ops: WalkOps): boolean {
    const slab = this.slab;
    const es = ENTRY_SPAN[level];
    if (ops.hole) {
      const i0 = start <= base ? 0 : Math.floor((start - base) / es);
      const i1 = Math.min(511, Math.floor((end - 1 - base) / es));
      for (let i = i0; i <= i1; i++) if (!this.walkEntry(t, level, base, i, start, end, ops)) return false;
      return true;
    }
    if (level === 1 && slab.form[t] === FORM_DENSE) return this.walkDensePte(t, base, start, end, ops);
    const list = this.scratch[level];
    const n = this.collect(t, level, base, start, end, list);
    // `list` is reused by deeper calls at other levels only, so it stays valid here.
    for (let k = 0; k < n; k++) if (!this.walkEntry(t, level, base, list[k], start, end, ops)) return false;
    return true;
  }

  /** walkTable over a dense PTE table without holes wanted: its entries read in place (callbacks leave the table alone). */
  private walkDensePte(t: number, base: number, start: number, end: number, ops: WalkOps): boolean {
    const slab = this.slab;
    const a = slab.block[t];
    const w = slab.chunks[a >>> CHUNK_SHIFT];
    const o = a & CHUNK_MASK;
    const i0 = start <= base ? 0 : start - base;
    const i1 = end - base < 512 ? end - base : 512;
    for (let i = i0; i < i1; i++) {
      const lo = w[o + (i << 1)];
      const hi = w[o + (i << 1) + 1];
      if (lo === 0 && hi === 0) continue;
      if (lo & ENTRY_P) {
        if (ops.leaf !== undefined && ops.leaf(base + i, 1, leafPfn(lo, hi, 1), leafFlags(lo, hi, 1)) === false) return false;
      } else if (ops.nonPresent !== undefined && ops.nonPresent(base + i, 1, lo, hi) === false) return false;
    }
    return true;
  }

  private walkEntry(t: number, level: number, base: number, i: number, start: number, end: number, ops: WalkOps): boolean {
    const slab = this.slab;
    const es = ENTRY_SPAN[level];
    const ebase = base + i * es;
    const p = slab.pos(t, i);
    const elo = p < 0 ? 0 : slab.read(p);
    const ehi = p < 0 ? 0 : slab.read(p + 1);
    if (elo === 0 && ehi === 0) return ops.hole?.(Math.max(ebase, start), level as Level) !== false;
    if (level > 1 && isTablePointer(elo)) {
      const c = slab.read(slab.childPos(t, i, p));
      if (ops.table && ops.table(c, (level - 1) as Level, ebase, slab.count[c]) === false) return false;
      return this.walkTable(c, level - 1, ebase, Math.max(start, ebase), Math.min(end, ebase + es), ops);
    }
    if (elo & ENTRY_P) return ops.leaf?.(ebase, level as Level, leafPfn(elo, ehi, level), leafFlags(elo, ehi, level)) !== false;
    return ops.nonPresent?.(ebase, level as Level, elo, ehi) !== false;
  }

  /** @inheritDoc */
  tableCount(level: Level): number {
    this.checkLevel(level, this.levels);
    return this.counts[level];
  }

  /** @inheritDoc */
  clearAll(): void {
    const slab = this.slab;
    const list = this.scratch[this.levels];
    const n = this.collect(this.top, this.levels, 0, 0, 512 * ENTRY_SPAN[this.levels], list);
    for (let k = 0; k < n; k++) {
      const i = list[k];
      const p = slab.pos(this.top, i);
      if (isTablePointer(slab.read(p))) this.releaseTable(slab.read(slab.childPos(this.top, i, p)), this.levels - 1);
    }
    slab.reset(this.top);
    this.ptKey = -1;
    this.pmdKey = -1;
  }

  // ---------------------------------------------------------------- extras

  /** __pte_alloc: the tables down to the PTE table covering `vpn`; false when the allocator failed. */
  pteAlloc(vpn: Vpn): boolean {
    return this.allocTable(vpn, 1);
  }

  /** __pmd_alloc: the tables down to the PMD table covering `vpn`. */
  pmdAlloc(vpn: Vpn): boolean {
    return this.allocTable(vpn, 2);
  }

  /** __pud_alloc: the tables down to the PUD table covering `vpn`. */
  pudAlloc(vpn: Vpn): boolean {
    return this.allocTable(vpn, 3);
  }

  /** pte_offset_map: the PTE table covering `vpn`, or -1 when the PMD entry is none or a huge leaf. The entry is `pteIndex(vpn)`. */
  pteOffsetMap(vpn: Vpn): TableId {
    return this.tableAt(vpn, 1);
  }

  /** pmd_offset: the PMD table covering `vpn`, or -1. The entry is `pmdIndex(vpn)`. */
  pmdOffset(vpn: Vpn): TableId {
    return this.tableAt(vpn, 2);
  }

  /** pud_offset: the PUD table covering `vpn`, or -1. The entry is `pudIndex(vpn)`. */
  pudOffset(vpn: Vpn): TableId {
    return this.tableAt(vpn, 3);
  }

  /** pgd_offset: the top table (PML4, or PML5 with 5-level paging). The entry is `pgdIndex(vpn, levels)`. */
  pgdOffset(): TableId {
    return this.top;
  }

  /**
   * mm->pgtables_bytes as the kernel counts it: PTE, PMD and PUD tables (mm_inc_nr_ptes /
   * mm_inc_nr_pmds / mm_inc_nr_puds), not P4D or PGD pages, and no deposited tables (those
   * are the address space's business).
   */
  pgtablesBytes(): number {
    return (this.counts[1] + this.counts[2] + this.counts[3]) * 4096;
  }


  /** Level of table `id` (1 = PTE table). */
  tableLevel(id: TableId): Level {
    return this.slab.level[id] as Level;
  }

  /** PFN of the page that holds table `id`. */
  tablePfn(id: TableId): Pfn {
    return this.slab.pfn[id];
  }

  /** First vpn of the range table `id` covers. */
  tableBaseVpn(id: TableId): Vpn {
    const slab = this.slab;
    let base = 0;
    let t = id;
    let topIdx = 0;
    while (slab.parent[t] >= 0) {
      topIdx = slab.parentIdx[t];
      base += topIdx * ENTRY_SPAN[slab.level[t] + 1];
      t = slab.parent[t];
    }
    // Entries 256..511 of the top table map the upper half.
    return t === id || topIdx < 256 ? base : base + VPN_END - 512 * ENTRY_SPAN[this.levels];
  }

  /** Non-none entries of table `id`. */
  tablePresent(id: TableId): number {
    return this.slab.count[id];
  }

  /** Simulated bytes of the tables at `level` (tableCount × 4 KiB). */
  tableBytes(level: Level): number {
    return this.tableCount(level) * 4096;
  }

  /** Host bytes table `id` uses (metadata plus its small or dense block). */
  tableHostBytes(id: TableId): number {
    return this.slab.tableHostBytes(id);
  }

  /** Host bytes the live tables use (metadata and entry blocks), without allocation slack. */
  hostBytes(): number {
    return this.slab.hostBytes();
  }

  /** Host bytes of every typed array behind this page table, slack included (what the process pays). */
  hostReservedBytes(): number {
    return this.slab.reservedBytes();
  }
}

/**
 * The stock {@link PageTableFactory}: x86-64 page tables backed by `options.tables`, reporting
 * to `options.observer`.
 *
 * ```ts
 * const pt = createPageTable({ levels: 4, tables: myAllocator });
 * pt.allocTable(vpn, 1);
 * pt.setEntry(vpn, 1, pfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
 * ```
 */
export function createPageTable(options: X86PageTableOptions): X86PageTable {
  return new X86PageTable(options);
}
createPageTable satisfies PageTableFactory;
