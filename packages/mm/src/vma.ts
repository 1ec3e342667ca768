import type { Vpn } from '@kmodel/core';
import { VM_EXEC, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_NORESERVE, VM_READ, VM_WRITE } from './constants.js';

/**
 * One virtual memory area (vm_area_struct) of a private anonymous mapping: `[start, end)`
 * in pages, its vm_flags, and its anon_vma (0 until the first fault that needs one).
 */
export class Vma {
  /** @internal */
  constructor(
    /** First page (vm_start >> PAGE_SHIFT). */
    public start: Vpn,
    /** First page after the area (vm_end >> PAGE_SHIFT). */
    public end: Vpn,
    /** vm_flags: VM_READ, VM_WRITE, VM_EXEC, VM_NORESERVE, VM_HUGEPAGE, VM_NOHUGEPAGE. */
    public flags: number,
    /** anon_vma identity; 0 = none yet (anon_vma_prepare has not run). */
    public anonVma: number,
  ) {}

  /** Pages in the area. */
  get pages(): number {
    return this.end - this.start;
  }

  /** The flags as /proc/PID/maps and smaps print them (rwxp plus hg / nh / nr). */
  describe(): string {
    const f = this.flags;
    let s = `${f & VM_READ ? 'r' : '-'}${f & VM_WRITE ? 'w' : '-'}${f & VM_EXEC ? 'x' : '-'}p`;
    if (f & VM_HUGEPAGE) s += ' hg';
    if (f & VM_NOHUGEPAGE) s += ' nh';
    if (f & VM_NORESERVE) s += ' nr';
    return s;
  }
}

/** A read-only view of a VMA, as {@link AddressSpace.vmas} yields it. */
export interface VmaInfo {
  readonly start: Vpn;
  readonly end: Vpn;
  readonly flags: number;
  /** True once the VMA has an anon_vma (fork copies its page tables only then). */
  readonly hasAnonVma: boolean;
}

/**
 * is_mergeable_vma + is_mergeable_anon_vma (mm/vma.c) for private anonymous areas: the
 * areas touch, their flags are equal, and their anon_vmas are equal or one is missing.
 */
export function canMerge(a: Vma, b: Vma): boolean {
  return a.end === b.start && a.flags === b.flags && anonCompatible(a, b);
}

/** is_mergeable_anon_vma: equal anon_vmas, or one of them missing. */
export function anonCompatible(a: Vma, b: Vma): boolean {
  return a.anonVma === 0 || b.anonVma === 0 || a.anonVma === b.anonVma;
}

/**
 * The VMAs of an address space, sorted by start, with a last-hit cache in front (the old
 * vmacache) so that a run of faults in one area costs one comparison each. A sorted array
 * beats a tree here: lookups dominate and address spaces hold few areas.
 */
export class VmaList {
  /** Sorted, non-overlapping. @internal */
  readonly list: Vma[] = [];
  private cache: Vma | null = null;

  get length(): number {
    return this.list.length;
  }

  /** The VMA containing `vpn`, or null (find_vma + a containment check). */
  find(vpn: Vpn): Vma | null {
    const c = this.cache;
    if (c !== null && c.start <= vpn && vpn < c.end) return c;
    const i = this.indexAfter(vpn);
    const v = this.list[i];
    if (v !== undefined && v.start <= vpn) {
      this.cache = v;
      return v;
    }
    return null;
  }

  /** Index of the first VMA with end > vpn (find_vma), or length. */
  indexAfter(vpn: Vpn): number {
    const a = this.list;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]!.end > vpn) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** True when some VMA intersects [start, end). */
  intersects(start: Vpn, end: Vpn): boolean {
    const v = this.list[this.indexAfter(start)];
    return v !== undefined && v.start < end;
  }

  /** Replaces `count` VMAs at `index` with `items` (the cache is dropped). */
  splice(index: number, count: number, ...items: Vma[]): void {
    this.list.splice(index, count, ...items);
    this.cache = null;
  }

  /** Drops the last-hit cache (after any change to the areas). */
  invalidate(): void {
    this.cache = null;
  }
}
