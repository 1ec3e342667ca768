import { fail, show, type MmId, type TableId } from '@kmodel/core';
import { PteRefErrorCode } from './errors.js';
import { PTE_TABLE_BYTES, pteRefReclaimable } from './refcount.js';

const INITIAL_CAPACITY = 64;

/**
 * The pte_ref state of one address space: one packed word per PTE table, indexed by TableId
 * in typed arrays that grow by doubling (no per-table objects), plus a dense set of the
 * tables that are empty or zero-only and the mm's reclaimable_pt_bytes.
 *
 * @internal
 */
export class MmPteState {
  /** pte_refcount word per TableId (valid only where `live` is 1). */
  counts = new Uint32Array(INITIAL_CAPACITY);
  /** 1 where the TableId is a live PTE table. */
  live = new Uint8Array(INITIAL_CAPACITY);
  /** First VPN the PTE table maps (from tableAlloc). */
  baseVpn = new Float64Array(INITIAL_CAPACITY);
  /** Position of the TableId in `members`, or -1. */
  memberPos = new Int32Array(INITIAL_CAPACITY).fill(-1);
  /** Dense set of reclaimable TableIds: `members[0 .. memberCount)`. */
  members = new Int32Array(INITIAL_CAPACITY);
  memberCount = 0;
  /** Live PTE tables. */
  pteTables = 0;
  /** mm->reclaimable_pt_bytes: 4096 x members. */
  reclaimablePtBytes = 0;
  /** Set by forgetMm; a stale observer then fails instead of resurrecting the mm. */
  dead = false;
  /** The amount the ordered index holds for this mm (lags `reclaimablePtBytes` until a query flushes it). */
  indexedBytes = 0;
  /** Position in the index's queue of changed mms, or -1 when the index is in step. */
  pendingPos = -1;

  constructor(readonly mm: MmId) {}

  /** Throws E_PTE_REF_UNKNOWN_TABLE unless `table` is a live PTE table. */
  checkTable(table: TableId): void {
    if (!(table >= 0 && table < this.live.length && this.live[table] === 1)) {
      fail(PteRefErrorCode.UnknownTable, `table ${show(table)} is not a live PTE table of mm ${show(this.mm)}`, { mm: this.mm, table });
    }
  }

  /** Throws E_PTE_REF_UNKNOWN_MM once the mm has been forgotten. */
  checkAlive(): void {
    if (this.dead) fail(PteRefErrorCode.UnknownMm, `mm ${show(this.mm)} was forgotten (forgetMm); its observer must not be used`, { mm: this.mm });
  }

  /** Makes room for TableId `table`. */
  ensureCapacity(table: TableId): void {
    let cap = this.counts.length;
    if (table < cap) return;
    while (cap <= table) cap *= 2;
    this.counts = grow(this.counts, new Uint32Array(cap));
    this.live = grow(this.live, new Uint8Array(cap));
    this.baseVpn = grow(this.baseVpn, new Float64Array(cap));
    this.memberPos = grow(this.memberPos, new Int32Array(cap).fill(-1));
    this.members = grow(this.members, new Int32Array(cap));
  }

  /**
   * Stores a new word for a live table and keeps the reclaimable set in step. Returns the
   * change of reclaimable_pt_bytes (-4096, 0 or +4096) so the caller can queue the mm for
   * the ordered index only when it changed.
   */
  store(table: TableId, word: number): number {
    const was = this.memberPos[table]! >= 0;
    this.counts[table] = word;
    const now = pteRefReclaimable(word);
    if (was === now) return 0;
    if (now) this.addMember(table);
    else this.removeMember(table);
    return now ? PTE_TABLE_BYTES : -PTE_TABLE_BYTES;
  }

  /** Removes a live table (tableFree / forget); returns the change of reclaimable bytes. */
  drop(table: TableId): number {
    const was = this.memberPos[table]! >= 0;
    if (was) this.removeMember(table);
    this.live[table] = 0;
    this.counts[table] = 0;
    this.pteTables--;
    return was ? -PTE_TABLE_BYTES : 0;
  }

  private addMember(table: TableId): void {
    this.memberPos[table] = this.memberCount;
    this.members[this.memberCount++] = table;
    this.reclaimablePtBytes += PTE_TABLE_BYTES;
  }

  private removeMember(table: TableId): void {
    const pos = this.memberPos[table]!;
    const last = this.members[--this.memberCount]!;
    this.members[pos] = last;
    this.memberPos[last] = pos;
    this.memberPos[table] = -1;
    this.reclaimablePtBytes -= PTE_TABLE_BYTES;
  }
}

function grow<T extends Uint32Array | Uint8Array | Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
