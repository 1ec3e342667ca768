import { GFP_KERNEL, GFP_PGTABLE_KERNEL, GFP_PGTABLE_USER, PAGE_SIZE } from '@kmodel/core';
import type { PageAllocator, Pfn } from '@kmodel/core';
import { AccountingAllocator, CurrentMm, MemcgTree } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';

/** A bump allocator over `pages` frames that records frees. */
class ToyAllocator implements PageAllocator {
  next = 0;
  free = 0;
  readonly freed: [Pfn, number][] = [];
  constructor(readonly pages: number) {
    this.free = pages;
  }
  allocPages(_gfp: number, order: number): Pfn | null {
    const n = 2 ** order;
    if (this.free < n) return null;
    const pfn = this.next;
    this.next += n;
    this.free -= n;
    return pfn;
  }
  freePages(pfn: Pfn, order: number): void {
    this.freed.push([pfn, order]);
    this.free += 2 ** order;
  }
  managedPages(): number {
    return this.pages;
  }
  nrFreePages(): number {
    return this.free;
  }
}

describe('AccountingAllocator', () => {
  function setup() {
    const tree = new MemcgTree({ version: 'v2' });
    tree.create('/job', { limits: { 'memory.max': '16K' } });
    tree.attach(5, '/job');
    const inner = new ToyAllocator(1024);
    const current = new CurrentMm();
    const alloc = new AccountingAllocator(inner, tree, current);
    return { tree, inner, current, alloc };
  }

  it('charges __GFP_ACCOUNT allocations to the current mm as the given kind and uncharges on free', () => {
    const { tree, inner, current, alloc } = setup();
    current.set(5, 'pagetables');
    const a = alloc.allocPages(GFP_PGTABLE_USER, 0);
    const b = alloc.allocPages(GFP_PGTABLE_USER, 1);
    expect([a, b]).toEqual([0, 1]);
    expect(tree.metrics('/job')).toMatchObject({ 'memory.current': 3 * PAGE_SIZE, 'memory.stat.pagetables': 3 * PAGE_SIZE, 'memory.stat.kernel': 3 * PAGE_SIZE });
    // Not accounted: kernel page tables, plain GFP_KERNEL.
    expect(alloc.allocPages(GFP_PGTABLE_KERNEL, 0)).toBe(3);
    expect(alloc.allocPages(GFP_KERNEL, 0)).toBe(4);
    expect(tree.metrics('/job')['memory.current']).toBe(3 * PAGE_SIZE);
    alloc.freePages(b!, 1);
    expect(tree.chargedBy(5, 'pagetables')).toBe(PAGE_SIZE);
    alloc.freePages(3, 0);
    expect(tree.chargedBy(5, 'pagetables')).toBe(PAGE_SIZE);
    expect(alloc.chargedBlocks()).toBe(1);
    expect(inner.freed).toEqual([[1, 1], [3, 0]]);
  });

  it('fails an allocation whose charge fails, returning the pages to the allocator', () => {
    const { tree, inner, current, alloc } = setup();
    current.set(5); // 'kernel'
    expect(alloc.allocPages(GFP_PGTABLE_USER, 2)).toBe(0); // 4 pages = the 16K limit
    expect(alloc.allocPages(GFP_PGTABLE_USER, 0)).toBeNull(); // no OOM host: nothing to kill
    expect(inner.freed).toEqual([[4, 0]]);
    expect(inner.nrFreePages()).toBe(1020);
    expect(tree.metrics('/job')).toMatchObject({ 'memory.stat.kernel': 4 * PAGE_SIZE, 'memory.stat.pagetables': 0, 'memory.events.oom': 1 });
  });

  it('charges nothing without a current mm (a kernel thread)', () => {
    const { tree, current, alloc } = setup();
    current.set(5, 'pagetables');
    current.clear();
    expect(alloc.allocPages(GFP_PGTABLE_USER, 0)).toBe(0);
    expect(tree.metrics('/')['memory.current']).toBe(0);
    expect(alloc.managedPages()).toBe(1024);
    expect(() => current.set(5, 'slab' as 'kernel')).toThrow(/E_BAD_CHARGE_KIND/);
  });
});
