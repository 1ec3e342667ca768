import { CoreErrorCode, fail, show, type EntryObserver, type Level, type TableId, type Vpn } from '@kmodel/core';
import { PteRefErrorCode } from './errors.js';
import type { MmPteState } from './mm-state.js';
import type { ReclaimableIndex } from './mm-index.js';
import {
  PTE_MAPPED_MASK,
  PTE_ZERO_SHIFT,
  PTRS_PER_PTE,
  isZeroPte,
  pteRefWord,
} from './refcount.js';

/**
 * How a set that replaces one non-none entry by another treats the zero-page count.
 *
 * - `'rfc'`: exactly track_pte_set() of "[RFC PATCH 5/7] pte_ref: add track_pte_{set,
 *   clear}() helper": only a zero-page entry overwritten by a non-zero one decrements the
 *   zero count. A non-zero non-none entry overwritten by a zero-page entry leaves the count
 *   unchanged, so it drifts below the truth and a later clear of that entry underflows
 *   (E_PTE_REF_UNDERFLOW here; in the RFC the subtraction borrows from bit 20). On v5.19 no
 *   path did that; since 6.12 try_to_map_unused_to_zeropage() (mm/migrate.c) does
 *   set_pte_at() of the zero page over a migration entry after an underused-THP split.
 * - `'symmetric'`: also increments the zero count in that case, so the counters always equal
 *   a recount of the table.
 */
export type ZeroRule = 'rfc' | 'symmetric';

/**
 * The EntryObserver of one address space: track_pte_set / track_pte_clear / pte_ref_init on
 * the mm's packed counters. Every update is validated before anything is written.
 *
 * @internal
 */
export class PteRefObserver implements EntryObserver {
  constructor(
    private readonly state: MmPteState,
    private readonly index: ReclaimableIndex,
    private readonly zeroPfn: number,
    private readonly symmetric: boolean,
  ) {}

  /** track_pte_set(): a PTE changed from (oldLo, oldHi) to the non-none (newLo, newHi). */
  pteSet(table: TableId, index: number, oldLo: number, oldHi: number, newLo: number, newHi: number): void {
    const s = this.state;
    s.checkAlive();
    s.checkTable(table);
    checkIndex(index);
    if (newLo === 0 && newHi === 0) {
      fail(PteRefErrorCode.SetNone, `pteSet of table ${show(table)} index ${index} with a none entry; expected a non-none entry (clear with pteClear)`, { mm: s.mm, table, index });
    }
    const word = s.counts[table]!;
    let mapped = word & PTE_MAPPED_MASK;
    let zero = word >>> PTE_ZERO_SHIFT;
    const newZero = isZeroPte(newLo, newHi, this.zeroPfn);
    if (oldLo === 0 && oldHi === 0) {
      mapped++;
      if (newZero) zero++;
    } else if (isZeroPte(oldLo, oldHi, this.zeroPfn)) {
      if (!newZero) zero--;
    } else if (newZero && this.symmetric) {
      zero++;
    }
    this.commit(table, index, mapped, zero, 'pteSet');
  }

  /** track_pte_clear(): a PTE holding (oldLo, oldHi) was cleared; a none old entry changes nothing. */
  pteClear(table: TableId, index: number, oldLo: number, oldHi: number): void {
    const s = this.state;
    s.checkAlive();
    s.checkTable(table);
    checkIndex(index);
    if (oldLo === 0 && oldHi === 0) return;
    const word = s.counts[table]!;
    const mapped = (word & PTE_MAPPED_MASK) - 1;
    const zero = (word >>> PTE_ZERO_SHIFT) - (isZeroPte(oldLo, oldHi, this.zeroPfn) ? 1 : 0);
    this.commit(table, index, mapped, zero, 'pteClear');
  }

  /** pte_ref_init() in the PTE-table constructor: a new PTE table starts at 0 (empty, so reclaimable). */
  tableAlloc(table: TableId, level: Level, baseVpn: Vpn): void {
    const s = this.state;
    s.checkAlive();
    checkTableId(table);
    if (level === 1 && !(Number.isSafeInteger(baseVpn) && baseVpn >= 0 && baseVpn % PTRS_PER_PTE === 0)) {
      fail(CoreErrorCode.OutOfRange, `tableAlloc of PTE table ${show(table)} with base vpn ${show(baseVpn)}, expected a non-negative multiple of 512`, { table, baseVpn });
    }
    if (table < s.live.length && s.live[table] === 1) {
      fail(PteRefErrorCode.TableExists, `tableAlloc of table ${show(table)} at level ${level}, but it is still a live PTE table of mm ${show(s.mm)} (no tableFree seen)`, { mm: s.mm, table, level });
    }
    if (level !== 1) return;
    s.ensureCapacity(table);
    s.live[table] = 1;
    s.baseVpn[table] = baseVpn;
    s.pteTables++;
    this.moved(s.store(table, 0));
  }

  /** The PTE table's page goes back to the allocator; its counter dies with it. Other levels are ignored. */
  tableFree(table: TableId, level: Level): void {
    const s = this.state;
    s.checkAlive();
    if (level !== 1) {
      if (table >= 0 && table < s.live.length && s.live[table] === 1) {
        fail(PteRefErrorCode.TableExists, `tableFree of table ${show(table)} at level ${level}, but it is a live PTE table of mm ${show(s.mm)}`, { mm: s.mm, table, level });
      }
      return;
    }
    s.checkTable(table);
    this.moved(s.drop(table));
  }

  private commit(table: TableId, index: number, mapped: number, zero: number, op: string): void {
    const s = this.state;
    if (mapped > PTRS_PER_PTE) {
      fail(PteRefErrorCode.Overflow, `${op} at table ${show(table)} index ${index} would make the mapped count ${mapped}, expected at most PTRS_PER_PTE = ${PTRS_PER_PTE}`, { mm: s.mm, table, index, mapped });
    }
    if (mapped < 0 || zero < 0) {
      fail(PteRefErrorCode.Underflow, `${op} at table ${show(table)} index ${index} would make the mapped/zero counts ${mapped}/${zero}, expected both >= 0`, { mm: s.mm, table, index, mapped, zero });
    }
    if (zero > mapped) {
      fail(PteRefErrorCode.Invariant, `${op} at table ${show(table)} index ${index} would make the zero count ${zero} exceed the mapped count ${mapped}`, { mm: s.mm, table, index, mapped, zero });
    }
    this.moved(s.store(table, pteRefWord(mapped, zero)));
  }

  /** Queues the mm for the ordered index when its reclaimable bytes changed (no tree work here). */
  private moved(delta: number): void {
    if (delta !== 0) this.index.touch(this.state);
  }
}

function checkIndex(index: number): void {
  if (!(index >= 0 && index < PTRS_PER_PTE && (index | 0) === index)) {
    fail(CoreErrorCode.OutOfRange, `PTE index ${show(index)} out of range, expected an integer 0..${PTRS_PER_PTE - 1}`, { index });
  }
}

function checkTableId(table: TableId): void {
  if (!(Number.isInteger(table) && table >= 0 && table <= 0x7fffffff)) {
    fail(CoreErrorCode.OutOfRange, `TableId ${show(table)} is not a small non-negative integer`, { table });
  }
}

/** The observer for an address space that pte_ref ignores (the `&init_mm == mm` early return). */
export const IGNORE_OBSERVER: EntryObserver = Object.freeze({
  pteSet() {},
  pteClear() {},
  tableAlloc() {},
  tableFree() {},
});
