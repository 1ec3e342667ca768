import type { MmId, Pfn } from '@kmodel/core';

/**
 * Anonymous pages that more than one mapping refers to: what fork creates and COW undoes
 * (the folio refcount / mapcount and PageAnonExclusive, reduced to what the numbers need).
 * Address spaces of one fork family share one instance; an unshared 4 KiB page has no
 * entry at all, so the common path costs a failed lookup in an empty map.
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
  /** The address space that was charged for a page or folio that crossed a fork. */
  readonly owner = new Map<Pfn, MmId>();
  /** Source of anon_vma identities. */
  nextAnonVma = 1;
}
