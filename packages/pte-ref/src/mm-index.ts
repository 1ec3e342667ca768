import { createRequire } from 'node:module';
import type SortedBtree from 'sorted-btree';
import type { MmId } from '@kmodel/core';
import type { MmPteState } from './mm-state.js';

// sorted-btree is CommonJS with `exports.default = BTree`; Node's ESM loader and bundlers
// disagree on what a default import yields, so take the class from require() directly.
const BTree: typeof SortedBtree.default = createRequire(import.meta.url)('sorted-btree').default;

/** Key of the index: (reclaimable_pt_bytes, mm). */
type Key = readonly [bytes: number, mm: MmId];

/** Descending by bytes, then ascending by MmId: the first key is the mm reclaim should pick. */
function compareKeys(a: Key, b: Key): number {
  return b[0] - a[0] || a[1] - b[1];
}

/**
 * The ordered index of address spaces by reclaimable_pt_bytes that the RFC's cover letter
 * proposes ("maintain a rbtree with mm->reclaimable_pt_bytes as the key, then we can pick the
 * mm with the largest mm->reclaimable_pt_bytes to reclaim"). A B+ tree from `sorted-btree`
 * stands in for the rbtree: O(log n) per re-insertion. Only address spaces with a non-zero
 * amount are in it; ties are broken by the smaller MmId.
 *
 * The tree is kept lazily. A change of an mm's reclaimable_pt_bytes only queues the mm
 * (O(1), once until the next query); {@link ReclaimableIndex.flush}, which every ordered
 * query calls first, re-positions each queued mm from the amount it is indexed with to its
 * current amount. A new PTE table is empty (+4096) until its first entry (-4096), so a
 * stream of faults with no query in between costs no tree work at all, and a query answers
 * exactly what an eagerly kept tree would.
 */
export class ReclaimableIndex {
  private readonly tree = new BTree<Key, undefined>(undefined, compareKeys);
  /** Address spaces whose amount changed since the last flush: `pending[s.pendingPos] === s`. */
  private readonly pending: MmPteState[] = [];
  /** Changes of an indexed amount (table transitions, forgetMm of an indexed mm). */
  moves = 0;
  /** Re-insertions actually done in the tree (at most one per queued mm and flush). */
  repositions = 0;

  /** Notes that `s.reclaimablePtBytes` changed; the tree follows at the next flush. */
  touch(s: MmPteState): void {
    this.moves++;
    if (s.pendingPos < 0) {
      s.pendingPos = this.pending.length;
      this.pending.push(s);
    }
  }

  /** Brings the tree in step with every queued address space. */
  flush(): void {
    const p = this.pending;
    if (p.length === 0) return;
    for (let i = 0; i < p.length; i++) {
      const s = p[i]!;
      s.pendingPos = -1;
      this.place(s, s.reclaimablePtBytes);
    }
    p.length = 0;
  }

  /** Takes `s` out of the tree and the queue for good (forgetMm). */
  remove(s: MmPteState): void {
    if (s.reclaimablePtBytes > 0) this.moves++;
    const pos = s.pendingPos;
    if (pos >= 0) {
      const last = this.pending.pop()!;
      if (last !== s) {
        this.pending[pos] = last;
        last.pendingPos = pos;
      }
      s.pendingPos = -1;
    }
    this.place(s, 0);
  }

  /** Moves `s` from the amount it is indexed with to `bytes` (0 = absent). */
  private place(s: MmPteState, bytes: number): void {
    const old = s.indexedBytes;
    if (old === bytes) return;
    this.repositions++;
    if (old > 0) this.tree.delete([old, s.mm]);
    if (bytes > 0) this.tree.set([bytes, s.mm], undefined);
    s.indexedBytes = bytes;
  }

  /** Every amount `mm` is indexed with (flushes; linear scan; for verification). */
  amountsOf(mm: MmId): number[] {
    this.flush();
    const out: number[] = [];
    for (const k of this.tree.keys()) if (k[1] === mm) out.push(k[0]);
    return out;
  }

  /** The address space with the most reclaimable bytes, or undefined when none has any. */
  largest(): MmId | undefined {
    this.flush();
    return this.tree.minKey()?.[1];
  }

  /** Number of address spaces with reclaimable bytes. */
  get size(): number {
    this.flush();
    return this.tree.size;
  }

  /**
   * (mm, bytes) pairs in descending order of bytes, ties by ascending MmId. Flushes when
   * called, not at the first `next()`.
   */
  entries(): IterableIterator<[MmId, number]> {
    this.flush();
    return this.walk();
  }

  private *walk(): IterableIterator<[MmId, number]> {
    for (const k of this.tree.keys()) yield [k[1], k[0]];
  }
}
