import type { Charger, MmId, PageAllocator, Pfn } from '@kmodel/core';

const PMD_PAGES = 512;

/**
 * Anonymous pages that more than one mapping refers to: what fork creates and COW undoes
 * (the folio refcount / mapcount and PageAnonExclusive, reduced to what the numbers need),
 * and the release of a page when its last mapping goes. Address spaces of one fork family
 * share one instance (and one allocator and charger); an unshared 4 KiB page has no entry
 * at all, so the common path costs a failed lookup in an empty map.
 *
 * @internal
 */
export class AnonPages {
  /** 4 KiB pages mapped by two or more PTEs: pfn to mapping count. */
  readonly shared = new Map<Pfn, number>();
  /**
   * THP folios: head pfn to mapped units (512 per PMD mapping, 1 per PTE-mapped subpage).
   * The 2 MiB block goes back to the allocator when this reaches 0.
   */
  readonly thp = new Map<Pfn, number>();
  /**
   * THP folios that hold data: head pfn to a 512-bit map of the subpages a store reached
   * (the others are still zero-filled). A folio split maps the zero-filled ones to the shared
   * zero page (v6.12+ try_to_map_unused_to_zeropage).
   */
  readonly thpStored = new Map<Pfn, Uint32Array>();
  /** THP folios already split into small folios (by MADV_FREE); they are not split again. */
  readonly thpSplit = new Set<Pfn>();
  /** The address space that was charged for a page or folio that crossed a fork. */
  readonly owner = new Map<Pfn, MmId>();
  /** Source of anon_vma identities. */
  nextAnonVma = 1;

  constructor(
    private readonly allocator: PageAllocator,
    private readonly charger: Charger,
  ) {}

  /** Another mapping refers to this page (fork), so a write must copy it. */
  isShared(pfn: Pfn): boolean {
    if (this.thp.size > 0) {
      const m = this.thp.get(pfn - (pfn % PMD_PAGES));
      if (m !== undefined) return m > PMD_PAGES;
    }
    return this.shared.size > 0 && this.shared.has(pfn);
  }

  /** One PTE mapping of an anonymous page goes away (from `mm`): drop a share, a THP unit, or free the page. */
  putPage(mm: MmId, pfn: Pfn): void {
    if (this.thp.size > 0) {
      const head = pfn - (pfn % PMD_PAGES);
      const m = this.thp.get(head);
      if (m !== undefined) {
        if (m === 1) {
          this.dropThp(head);
          this.free(mm, head, 9);
        } else this.thp.set(head, m - 1);
        return;
      }
    }
    if (this.shared.size > 0) {
      const c = this.shared.get(pfn);
      if (c !== undefined) {
        if (c === 2) this.shared.delete(pfn);
        else this.shared.set(pfn, c - 1);
        return;
      }
    }
    this.free(mm, pfn, 0);
  }

  /** Records a store to `pfn` if it lies in a THP folio. */
  markStored(pfn: Pfn): void {
    const head = pfn - (pfn % PMD_PAGES);
    const bits = this.thpStored.get(head);
    if (bits !== undefined) {
      const i = pfn - head;
      bits[i >>> 5]! |= 1 << (i & 31);
    }
  }

  /** True when a store reached subpage `pfn` of the THP folio at `head`. */
  stored(head: Pfn, pfn: Pfn): boolean {
    const bits = this.thpStored.get(head);
    if (bits === undefined) return true;
    const i = pfn - head;
    return (bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** A new THP folio at `head`, with a store at `storedPfn` (or none: -1). */
  newThp(head: Pfn, storedPfn: Pfn): void {
    this.thp.set(head, PMD_PAGES);
    this.thpStored.set(head, new Uint32Array(PMD_PAGES / 32));
    if (storedPfn >= 0) this.markStored(storedPfn);
  }

  /** A PMD mapping of the THP at `head` goes away. */
  putThpPmd(mm: MmId, head: Pfn): void {
    const m = (this.thp.get(head) ?? PMD_PAGES) - PMD_PAGES;
    if (m <= 0) {
      this.dropThp(head);
      this.free(mm, head, 9);
    } else this.thp.set(head, m);
  }

  private dropThp(head: Pfn): void {
    this.thp.delete(head);
    this.thpStored.delete(head);
    this.thpSplit.delete(head);
  }

  /** Frees a page or folio and uncharges whoever was charged for it (mem_cgroup_uncharge). */
  private free(mm: MmId, pfn: Pfn, order: number): void {
    let owner = mm;
    if (this.owner.size > 0) {
      const o = this.owner.get(pfn);
      if (o !== undefined) {
        owner = o;
        this.owner.delete(pfn);
      }
    }
    this.charger.uncharge(owner, 'anon', 4096 << order);
    this.allocator.freePages(pfn, order);
  }
}
