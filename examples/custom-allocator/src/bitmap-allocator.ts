import { fail, MAX_PAGE_ORDER, show, type PageAllocator, type Pfn } from '@kmodel/core';

/**
 * A first-fit bitmap page allocator: one bit per page, blocks of 2^order pages aligned to their
 * size, no migratetypes, no watermarks. It is deliberately simple: a stand-in for a
 * researcher's own allocator, plugged into the stock machine in place of @kmodel/buddy.
 */
export class BitmapAllocator implements PageAllocator {
  private readonly used: Uint8Array;
  private free: number;
  /** Where the search for a free order-0 page resumes (next-fit for single pages). */
  private cursor = 0;
  /** Allocations and frees made, for the example's output. */
  allocs = 0;
  frees = 0;

  constructor(private readonly pages: number) {
    if (!Number.isSafeInteger(pages) || pages <= 0) fail('E_BAD_SIZE', `page count ${show(pages)} must be a positive integer`);
    this.used = new Uint8Array(pages);
    this.free = pages;
  }

  allocPages(_gfp: number, order: number): Pfn | null {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) fail('E_BAD_ORDER', `order ${show(order)} is outside 0..${MAX_PAGE_ORDER}`);
    const n = 2 ** order;
    if (n > this.free) return null;
    const start = order === 0 ? this.cursor : 0;
    for (let scanned = 0, pfn = start; scanned < this.pages; scanned += n, pfn = (pfn + n) % this.pages) {
      if (pfn + n > this.pages) continue;
      if (this.isFree(pfn, n)) {
        this.used.fill(1, pfn, pfn + n);
        this.free -= n;
        this.allocs++;
        if (order === 0) this.cursor = (pfn + 1) % this.pages;
        return pfn;
      }
    }
    return null;
  }

  freePages(pfn: Pfn, order: number): void {
    const n = 2 ** order;
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn + n > this.pages || pfn % n !== 0) fail('E_BAD_PFN', `cannot free order-${order} block at pfn ${show(pfn)}: outside the ${this.pages} pages or not aligned`);
    for (let i = pfn; i < pfn + n; i++) if (!this.used[i]) fail('E_DOUBLE_FREE', `pfn ${show(i)} is already free`);
    this.used.fill(0, pfn, pfn + n);
    this.free += n;
    this.frees++;
  }

  managedPages(): number {
    return this.pages;
  }

  nrFreePages(): number {
    return this.free;
  }

  private isFree(pfn: number, n: number): boolean {
    for (let i = pfn; i < pfn + n; i++) if (this.used[i]) return false;
    return true;
  }
}
