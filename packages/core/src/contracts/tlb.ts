import type { Vpn } from '../units.js';

/**
 * TLB shootdown requests from the software layers (flush_tlb_mm_range /
 * flush_tlb_kernel_range analogs). The stock implementation is the per-CPU TLB model of
 * `@kmodel/pgtable`; it applies Linux's rule that a range over
 * `tlb_single_page_flush_ceiling` (33) pages is flushed fully, and sends IPIs to the other
 * CPUs that may cache the address space.
 */
export interface TlbFlusher {
  /**
   * Flushes [startVpn, endVpn) of address space `asid` on every CPU that may cache it.
   * `freedTables` is set when page-table pages were freed (the paging-structure caches must
   * be flushed too). `strideLevel` is the page size of the leaves that were unmapped.
   */
  flushRange(asid: number, startVpn: Vpn, endVpn: Vpn, freedTables: boolean, strideLevel?: 1 | 2 | 3): void;
  /** Flushes everything of `asid` (flush_tlb_mm). */
  flushAll(asid: number): void;
}

/** A flusher that does nothing, for users without a TLB model. */
export const NOOP_TLB_FLUSHER: TlbFlusher = {
  flushRange() {},
  flushAll() {},
};
