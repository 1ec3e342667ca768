import { createRequire } from 'node:module';
import type SortedBtree from 'sorted-btree';
import type { MmId } from '@kmodel/core';

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
 * stands in for the rbtree: O(log n) per update. Only address spaces with a non-zero
 * amount are in it; ties are broken by the smaller MmId.
 */
export class ReclaimableIndex {
  private readonly tree = new BTree<Key, undefined>(undefined, compareKeys);
  /** Number of updates that changed the tree (rbtree re-insertions in the RFC's proposal). */
  moves = 0;

  /** Moves `mm` from `oldBytes` to `newBytes` (either may be 0 = absent). */
  update(mm: MmId, oldBytes: number, newBytes: number): void {
    if (oldBytes === newBytes) return;
    this.moves++;
    if (oldBytes > 0) this.tree.delete([oldBytes, mm]);
    if (newBytes > 0) this.tree.set([newBytes, mm], undefined);
  }

  /** True when `mm` is indexed with exactly `bytes`. */
  has(mm: MmId, bytes: number): boolean {
    return this.tree.has([bytes, mm]);
  }

  /** Every amount `mm` is indexed with (linear scan; for verification). */
  amountsOf(mm: MmId): number[] {
    const out: number[] = [];
    for (const k of this.tree.keys()) if (k[1] === mm) out.push(k[0]);
    return out;
  }

  /** The address space with the most reclaimable bytes, or undefined when none has any. */
  largest(): MmId | undefined {
    return this.tree.minKey()?.[1];
  }

  /** Number of address spaces with reclaimable bytes. */
  get size(): number {
    return this.tree.size;
  }

  /** (mm, bytes) pairs in descending order of bytes, ties by ascending MmId. */
  *entries(): IterableIterator<[MmId, number]> {
    for (const k of this.tree.keys()) yield [k[1], k[0]];
  }
}
