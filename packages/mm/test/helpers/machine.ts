import { NOOP_TLB_FLUSHER } from '@kmodel/core';
import type { Charger, ChargeKind, MmId, PageAllocator, Pfn, TlbFlusher } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { AddressSpace } from '@kmodel/mm';
import type { AddressSpaceOptions } from '@kmodel/mm';

/**
 * A test-only page allocator: a bump pointer with per-order free lists, naturally aligned
 * blocks, and an optional limit. It proves that mm runs on any PageAllocator.
 */
export class BumpAllocator implements PageAllocator {
  private next = 0;
  private readonly free: Pfn[][] = Array.from({ length: 11 }, () => []);
  private used = 0;
  /** Refuse every allocation (to test VM_FAULT_OOM). */
  refuse = false;
  readonly gfpSeen: number[] = [];

  constructor(readonly pages: number) {}

  allocPages(gfp: number, order: number): Pfn | null {
    this.gfpSeen.push(gfp);
    if (this.refuse) return null;
    const size = 2 ** order;
    if (this.used + size > this.pages) return null;
    let pfn = this.free[order]!.pop();
    if (pfn === undefined) {
      pfn = Math.ceil(this.next / size) * size;
      this.next = pfn + size;
    }
    this.used += size;
    return pfn;
  }

  freePages(pfn: Pfn, order: number): void {
    this.free[order]!.push(pfn);
    this.used -= 2 ** order;
  }

  managedPages(): number {
    return this.pages;
  }

  nrFreePages(): number {
    return this.pages - this.used;
  }
}

/** A charger that records charges per kind and can refuse one kind. */
export class RecordingCharger implements Charger {
  readonly bytes: Record<string, number> = {};
  refuse: ChargeKind | null = null;
  charge(_mm: MmId, kind: ChargeKind, bytes: number): boolean {
    if (this.refuse === kind) return false;
    this.bytes[kind] = (this.bytes[kind] ?? 0) + bytes;
    return true;
  }
  uncharge(_mm: MmId, kind: ChargeKind, bytes: number): void {
    this.bytes[kind] = (this.bytes[kind] ?? 0) - bytes;
  }
}

/** A TLB flusher that records calls. */
export class RecordingTlb implements TlbFlusher {
  readonly ranges: { asid: number; start: number; end: number; freedTables: boolean }[] = [];
  fulls = 0;
  flushRange(asid: number, start: number, end: number, freedTables: boolean): void {
    this.ranges.push({ asid, start, end, freedTables });
  }
  flushAll(): void {
    this.fulls++;
  }
}

export const MiB = 256; // pages
export const GiB = 256 * 1024; // pages
/** 0x100000000000 >> 12: the address the kernel probes used. */
export const A = 0x100000000;

export interface TestMachine {
  allocator: BumpAllocator;
  charger: RecordingCharger;
  tlb: RecordingTlb;
  zeroPfn: number;
  hugeZeroPfn: number;
  mm(options?: Partial<AddressSpaceOptions>): AddressSpace;
}

/** A machine with `pages` of memory, the zero page and the huge zero page. */
export function machine(pages = 2 ** 24): TestMachine {
  const allocator = new BumpAllocator(pages);
  const zeroPfn = allocator.allocPages(0, 0)!;
  const hugeZeroPfn = allocator.allocPages(0, 9)!;
  const charger = new RecordingCharger();
  const tlb = new RecordingTlb();
  let ids = 1;
  return {
    allocator,
    charger,
    tlb,
    zeroPfn,
    hugeZeroPfn,
    mm: (options = {}) =>
      new AddressSpace({ id: ids++, allocator, pageTables: createPageTable, zeroPfn, hugeZeroPfn, charger, tlb, ...options }),
  };
}

/** VmPTE and RssAnon in kB. */
export function kb(mm: AddressSpace): [number, number] {
  const s = mm.status();
  return [s.VmPTE, s.RssAnon];
}

export { NOOP_TLB_FLUSHER };
