import { CoreErrorCode, checkCount, fail, show, type EntryObserver, type MetricSnapshot, type MmId, type Pfn, type TableId, type Vpn } from '@kmodel/core';
import { PteRefErrorCode } from './errors.js';
import { MmPteState } from './mm-state.js';
import { ReclaimableIndex } from './mm-index.js';
import { IGNORE_OBSERVER, PteRefObserver, type ZeroRule } from './observer.js';
import { PTE_TABLE_BYTES, PTRS_PER_PTE, pteMappedCount, pteRefReclaimable, pteZeroCount } from './refcount.js';
import { recountPteTables, type PteRefMismatch, type PteTableRecount, type RecountSource } from './verify.js';

/** Options of {@link PteRef}. */
export interface PteRefOptions {
  /** How a non-zero to zero-page overwrite is counted; default `'rfc'` (see {@link ZeroRule}). */
  zeroRule?: ZeroRule;
}

/** Options of {@link PteRef.observerFor}. */
export interface ObserverOptions {
  /**
   * Return an observer that counts nothing, as track_pte_set/clear do for init_mm (the
   * kernel's own page tables). The mm is then unknown to queries.
   */
  ignore?: boolean;
}

/**
 * Qi Zheng's 2022 pte_refcount accounting ("[RFC PATCH 0/7] Try to free empty and zero user
 * PTE page table pages"), one instance per machine.
 *
 * Each address space gets an `EntryObserver` ({@link PteRef.observerFor}) to hand to
 * its page table. The observer keeps, per PTE table, the RFC's packed word (bits 0-9 mapped
 * entries, bits 10-19 zero-page entries), the mm's reclaimable_pt_bytes (4 KiB per empty or
 * zero-only PTE table) and a set of those tables; the machine keeps the proposed ordered
 * index of address spaces by reclaimable_pt_bytes. It only counts: freeing tables and the
 * walker costs of the refcount designs belong to the reclaim policies.
 */
export class PteRef {
  /** PFN of the shared zero page (my_zero_pfn). */
  readonly zeroPfn: Pfn;
  /** The rule used for non-zero to zero-page overwrites. */
  readonly zeroRule: ZeroRule;
  private readonly states = new Map<MmId, MmPteState>();
  private readonly observers = new Map<MmId, PteRefObserver>();
  private readonly index = new ReclaimableIndex();

  /**
   * @param zeroPfn PFN of the shared zero page; entries mapping it count as zero-page entries.
   * @throws KmodelError E_NOT_INTEGER / E_OUT_OF_RANGE for a bad PFN or an unknown rule.
   */
  constructor(zeroPfn: Pfn, options: PteRefOptions = {}) {
    checkCount(zeroPfn, 'zeroPfn');
    if (zeroPfn >= 2 ** 40) fail(CoreErrorCode.OutOfRange, `zeroPfn ${show(zeroPfn)} exceeds 40 bits (52-bit physical addresses)`, { value: zeroPfn });
    const rule = options.zeroRule ?? 'rfc';
    if (rule !== 'rfc' && rule !== 'symmetric') fail(CoreErrorCode.OutOfRange, `zeroRule ${show(rule)} is not known, expected "rfc" or "symmetric"`, { value: rule });
    this.zeroPfn = zeroPfn;
    this.zeroRule = rule;
  }

  /**
   * The observer that keeps `mm`'s counters; pass it as `observer` to the mm's page table
   * before its first table is allocated. Asking again returns the same observer.
   * @throws KmodelError E_NOT_INTEGER for a bad MmId.
   */
  observerFor(mm: MmId, options: ObserverOptions = {}): EntryObserver {
    checkCount(mm, 'mm');
    if (options.ignore) return IGNORE_OBSERVER;
    let obs = this.observers.get(mm);
    if (!obs) {
      const state = new MmPteState(mm);
      obs = new PteRefObserver(state, this.index, this.zeroPfn, this.zeroRule === 'symmetric');
      this.states.set(mm, state);
      this.observers.set(mm, obs);
    }
    return obs;
  }

  /** True when `mm` has an observer (and was not forgotten). */
  knows(mm: MmId): boolean {
    return this.states.has(mm);
  }

  /** The address spaces with an observer, in ascending MmId order. */
  mms(): MmId[] {
    return [...this.states.keys()].sort((a, b) => a - b);
  }

  /**
   * Drops everything kept for `mm` (exit_mmap): its counters and its place in the index. Its
   * observer fails with E_PTE_REF_UNKNOWN_MM from then on.
   * @throws KmodelError E_PTE_REF_UNKNOWN_MM if `mm` has no observer.
   */
  forgetMm(mm: MmId): void {
    const s = this.state(mm);
    this.index.remove(s);
    s.dead = true;
    this.states.delete(mm);
    this.observers.delete(mm);
  }

  /** The raw pte_refcount word of a PTE table (bits 0-9 mapped, 10-19 zero). */
  pteRefcount(mm: MmId, table: TableId): number {
    const s = this.state(mm);
    s.checkTable(table);
    return s.counts[table]!;
  }

  /** pte_mapped_count(): non-none entries of the PTE table (present, swap, markers). */
  mappedCount(mm: MmId, table: TableId): number {
    return pteMappedCount(this.pteRefcount(mm, table));
  }

  /** pte_zero_count(): entries of the PTE table that map the shared zero page. */
  zeroCount(mm: MmId, table: TableId): number {
    return pteZeroCount(this.pteRefcount(mm, table));
  }

  /** An empty PTE page: mapped == 0. */
  isEmpty(mm: MmId, table: TableId): boolean {
    return this.mappedCount(mm, table) === 0;
  }

  /** A zero PTE page: every entry maps the zero page (zero == PTRS_PER_PTE). */
  isZeroOnly(mm: MmId, table: TableId): boolean {
    return this.zeroCount(mm, table) === PTRS_PER_PTE;
  }

  /** First VPN the PTE table maps (as reported at tableAlloc); what `PageTable.freePteTable` needs. */
  tableBaseVpn(mm: MmId, table: TableId): Vpn {
    const s = this.state(mm);
    s.checkTable(table);
    return s.baseVpn[table]!;
  }

  /** Number of live PTE tables of `mm` (nr_ptes as pte_ref sees it). */
  pteTableCount(mm: MmId): number {
    return this.state(mm).pteTables;
  }

  /** mm->reclaimable_pt_bytes: 4096 x (empty + zero-only PTE tables), kept incrementally. */
  reclaimablePtBytes(mm: MmId): number {
    return this.state(mm).reclaimablePtBytes;
  }

  /** Number of empty or zero-only PTE tables of `mm`. */
  reclaimableTableCount(mm: MmId): number {
    return this.state(mm).memberCount;
  }

  /**
   * The TableIds of `mm` that are empty or zero-only, as a fresh array (safe to free tables
   * while going through it). The order is that of a dense set: deterministic, not sorted.
   */
  reclaimableTables(mm: MmId): TableId[] {
    const s = this.state(mm);
    return Array.from(s.members.subarray(0, s.memberCount));
  }

  /**
   * Calls `fn` with each empty or zero-only TableId of `mm` and its base VPN, without
   * allocating. `fn` may free the table it is given (the set is walked from its end, so the
   * swap-remove of the current member does not skip any); return false to stop.
   * Returns the number of tables visited.
   */
  forEachReclaimableTable(mm: MmId, fn: (table: TableId, baseVpn: Vpn) => boolean | void): number {
    const s = this.state(mm);
    let visited = 0;
    for (let k = s.memberCount - 1; k >= 0; k--) {
      if (k >= s.memberCount) continue;
      const t = s.members[k]!;
      visited++;
      if (fn(t, s.baseVpn[t]!) === false) break;
    }
    return visited;
  }

  /** Sum of reclaimable_pt_bytes over every known address space. */
  totalReclaimablePtBytes(): number {
    let sum = 0;
    for (const s of this.states.values()) sum += s.reclaimablePtBytes;
    return sum;
  }

  /** The address space with the largest reclaimable_pt_bytes (ties: smallest MmId), or undefined if none has any. */
  largest(): MmId | undefined {
    return this.index.largest();
  }

  /**
   * (mm, reclaimable_pt_bytes) in descending order of bytes, ties by ascending MmId; only
   * address spaces with a non-zero amount. The index is brought up to date when this is
   * called and the iterator walks the tree itself: counter changes made while iterating are
   * only queued (they show at the next query), but forgetMm changes the tree, so do not call
   * it while iterating (use {@link PteRef.topReclaimable} for a snapshot).
   */
  byReclaimablePtBytes(): IterableIterator<[MmId, number]> {
    return this.index.entries();
  }

  /** Snapshot of the first `limit` entries of {@link PteRef.byReclaimablePtBytes}. */
  topReclaimable(limit = Infinity): [MmId, number][] {
    const out: [MmId, number][] = [];
    if (limit <= 0) return out;
    for (const e of this.index.entries()) {
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * How many times an address space's key in the ordered index changed since construction:
   * one per table transition into or out of empty / zero-only, and one per forgetMm of an
   * indexed mm. Ordinary sets and clears change nothing. The tree itself follows lazily
   * (see {@link PteRef.indexRepositions}).
   */
  get indexMoves(): number {
    return this.index.moves;
  }

  /**
   * How many re-insertions the B+ tree has actually done. Key changes only queue the mm;
   * the ordered queries (`largest`, `byReclaimablePtBytes`, `topReclaimable`,
   * `indexedMmCount`, `verify`) first re-position each queued mm once, from the amount it
   * is indexed with to its current one, and not at all when the two are equal (a PTE table
   * born empty and given its first entry before the next query). forgetMm removes the mm
   * at once.
   */
  get indexRepositions(): number {
    return this.index.repositions;
  }

  /** Number of address spaces in the ordered index (those with reclaimable bytes). */
  indexedMmCount(): number {
    return this.index.size;
  }

  /** The per-mm metrics this package owns: `reclaimable_pt_bytes`. */
  metrics(mm: MmId): MetricSnapshot {
    return { reclaimable_pt_bytes: this.state(mm).reclaimablePtBytes };
  }

  /**
   * Recounts `mm`'s PTE tables by walking the user half of `pageTable` (see
   * {@link recountPteTables}) and compares them with the counters,
   * the reclaimable set, reclaimable_pt_bytes and the ordered index. Empty result = OK.
   * @throws KmodelError E_PTE_REF_UNKNOWN_MM if `mm` has no observer.
   */
  verify(mm: MmId, pageTable: RecountSource): PteRefMismatch[] {
    this.state(mm);
    return this.verifyCounts(mm, recountPteTables(pageTable, this.zeroPfn));
  }

  /** Like {@link PteRef.verify}, against a recount from any source (one record per live PTE table). */
  verifyCounts(mm: MmId, recount: readonly PteTableRecount[]): PteRefMismatch[] {
    const s = this.state(mm);
    const out: PteRefMismatch[] = [];
    const seen = new Set<TableId>();
    for (const r of recount) {
      seen.add(r.table);
      if (!(r.table >= 0 && r.table < s.live.length && s.live[r.table] === 1)) {
        out.push({ mm, kind: 'missing', table: r.table, expected: 1, actual: 0 });
        continue;
      }
      const word = s.counts[r.table]!;
      if (pteMappedCount(word) !== r.mapped) out.push({ mm, kind: 'mapped', table: r.table, expected: r.mapped, actual: pteMappedCount(word) });
      if (pteZeroCount(word) !== r.zero) out.push({ mm, kind: 'zero', table: r.table, expected: r.zero, actual: pteZeroCount(word) });
      if (s.baseVpn[r.table] !== r.baseVpn) out.push({ mm, kind: 'baseVpn', table: r.table, expected: r.baseVpn, actual: s.baseVpn[r.table]! });
    }
    let reclaimable = 0;
    for (let t = 0; t < s.live.length; t++) {
      if (s.live[t] !== 1) continue;
      if (!seen.has(t)) out.push({ mm, kind: 'stale', table: t, expected: 0, actual: 1 });
      const should = pteRefReclaimable(s.counts[t]!);
      const is = s.memberPos[t]! >= 0 && s.members[s.memberPos[t]!] === t;
      if (should) reclaimable++;
      if (should !== is) out.push({ mm, kind: 'reclaimableSet', table: t, expected: +should, actual: +is });
    }
    const bytes = reclaimable * PTE_TABLE_BYTES;
    if (bytes !== s.reclaimablePtBytes) out.push({ mm, kind: 'reclaimableBytes', table: -1, expected: bytes, actual: s.reclaimablePtBytes });
    const indexed = this.index.amountsOf(mm);
    const expectIndexed = s.reclaimablePtBytes > 0 ? [s.reclaimablePtBytes] : [];
    if (indexed.length !== expectIndexed.length || indexed[0] !== expectIndexed[0]) {
      out.push({ mm, kind: 'index', table: -1, expected: s.reclaimablePtBytes, actual: indexed.length === 1 ? indexed[0]! : -indexed.length });
    }
    return out;
  }

  private state(mm: MmId): MmPteState {
    const s = this.states.get(mm);
    if (!s) fail(PteRefErrorCode.UnknownMm, `mm ${show(mm)} has no pte_ref observer (observerFor was not called, or forgetMm was)`, { mm });
    return s;
  }
}
