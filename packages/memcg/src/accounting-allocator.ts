import { PAGE_SIZE, __GFP_ACCOUNT } from '@kmodel/core';
import type { ChargeKind, Charger, MmId, PageAllocator, Pfn } from '@kmodel/core';
import { CHARGE_KINDS, kindIndex } from './kinds.js';

/**
 * The task on whose behalf allocations are made (`current` in the kernel). Set it before a
 * batch of allocations that should be charged, e.g. around a page fault:
 * `current.set(mm, 'pagetables')` … `current.clear()`. A plain mutable object, so that the
 * allocation path needs no closure per call.
 */
export class CurrentMm {
  /** The address space charged for __GFP_ACCOUNT allocations; null: nothing is charged (a kernel thread). */
  mm: MmId | null = null;
  /** The memory.stat category accounted allocations are charged as. */
  kind: ChargeKind = 'kernel';

  /** Makes `mm` current, charging accounted allocations as `kind` (default `'kernel'`). */
  set(mm: MmId, kind: ChargeKind = 'kernel'): void {
    kindIndex(kind);
    this.mm = mm;
    this.kind = kind;
  }

  /** No current address space: accounted allocations are not charged. */
  clear(): void {
    this.mm = null;
    this.kind = 'kernel';
  }
}

/**
 * A `PageAllocator` decorator that charges accounted allocations to memory cgroups, as
 * __alloc_pages() does with __memcg_kmem_charge_page(): an allocation whose GFP mask has
 * __GFP_ACCOUNT is made first, then charged (2^order pages) to the current task's cgroup as
 * {@link CurrentMm.kind}; if the charge fails the pages are freed again and the allocation
 * returns null. Freeing the block uncharges it.
 *
 * Use either this decorator or explicit `Charger.charge` calls for a given allocation,
 * never both, or the pages are charged twice.
 */
export class AccountingAllocator implements PageAllocator {
  private readonly inner: PageAllocator;
  private readonly charger: Charger;
  private readonly current: CurrentMm;
  /** First PFN of each charged block -> mm * 8 + kind slot. */
  private readonly charged = new Map<Pfn, number>();

  constructor(inner: PageAllocator, charger: Charger, current: CurrentMm) {
    this.inner = inner;
    this.charger = charger;
    this.current = current;
  }

  /** alloc_pages() on the inner allocator, then the memcg charge for __GFP_ACCOUNT; null if either fails. */
  allocPages(gfp: number, order: number): Pfn | null {
    const pfn = this.inner.allocPages(gfp, order);
    if (pfn === null) return null;
    const mm = this.current.mm;
    if ((gfp & __GFP_ACCOUNT) === 0 || mm === null) return pfn;
    const kind = this.current.kind;
    if (!this.charger.charge(mm, kind, PAGE_SIZE * 2 ** order)) {
      this.inner.freePages(pfn, order);
      return null;
    }
    this.charged.set(pfn, mm * 8 + kindIndex(kind));
    return pfn;
  }

  /** __free_pages() on the inner allocator, uncharging the block if it was charged. */
  freePages(pfn: Pfn, order: number): void {
    const packed = this.charged.get(pfn);
    this.inner.freePages(pfn, order);
    if (packed === undefined) return;
    this.charged.delete(pfn);
    this.charger.uncharge(Math.floor(packed / 8), CHARGE_KINDS[packed % 8]!, PAGE_SIZE * 2 ** order);
  }

  /** The inner allocator's managed pages. */
  managedPages(): number {
    return this.inner.managedPages();
  }

  /** The inner allocator's free pages. */
  nrFreePages(): number {
    return this.inner.nrFreePages();
  }

  /** Number of blocks currently charged through this allocator. */
  chargedBlocks(): number {
    return this.charged.size;
  }
}
