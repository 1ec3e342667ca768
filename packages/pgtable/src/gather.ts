/**
 * mmu_gather (include/asm-generic/tlb.h, mm/mmu_gather.c): an unmap gathers the range it
 * cleared, whether tables were freed, and the pages to free; `tlbFinishMmu` flushes once
 * and only then releases the pages, so no CPU can reach a freed page through its TLB.
 */
import type { Level, Pfn, TlbFlusher, Vpn } from '@kmodel/core';

/** Pages per entry at levels 1..3. */
const SPAN = [0, 1, 512, 512 * 512];

/** One gather (tlb_gather_mmu ... tlb_finish_mmu) over address space `asid`. */
export class MmuGather {
  /** Gathered range [start, end); empty when start >= end. */
  start = Infinity;
  end = -Infinity;
  /** Page-table pages were freed (tlb->freed_tables). */
  freedTables = false;
  /** Which leaf sizes were cleared (tlb->cleared_ptes / _pmds / _puds). */
  clearedPtes = false;
  clearedPmds = false;
  clearedPuds = false;
  /** Pages waiting for the flush before they are freed (the batch). */
  readonly pages: Pfn[] = [];
  /** tlb_gather_mmu_fullmm: the whole address space goes (exit_mmap); the flush is flush_tlb_mm. */
  readonly fullmm: boolean;

  constructor(
    private readonly flusher: TlbFlusher,
    readonly asid: number,
    /** Frees a gathered page after the flush. */
    private readonly freePage: (pfn: Pfn) => void = () => {},
    fullmm = false,
  ) {
    this.fullmm = fullmm;
  }

  /** tlb_remove_tlb_entry / tlb_remove_pmd_tlb_entry / tlb_remove_pud_tlb_entry: a leaf at `level` mapping `vpn` was cleared. */
  removeTlbEntry(vpn: Vpn, level: Level): void {
    const span = SPAN[level] ?? 1;
    const base = vpn - (vpn % span);
    this.adjust(base, base + span);
    if (level === 1) this.clearedPtes = true;
    else if (level === 2) this.clearedPmds = true;
    else this.clearedPuds = true;
  }

  /** tlb_remove_page: `pfn` is freed after the flush. */
  removePage(pfn: Pfn): void {
    this.pages.push(pfn);
  }

  /**
   * pte_free_tlb / pmd_free_tlb / pud_free_tlb: the table at `level` covering `vpn` was freed;
   * the paging-structure caches must be flushed for its range (tlb_flush_pmd_range and friends).
   */
  freeTable(vpn: Vpn, level: Level): void {
    this.freedTables = true;
    // pte_free_tlb passes the address of the table's span: one page there is flushed.
    const span = (SPAN[level] ?? 1) * 512;
    this.adjust(vpn - (vpn % span), vpn - (vpn % span) + 1);
    if (level === 1) this.clearedPmds = true;
    else this.clearedPuds = true;
  }

  /** tlb_flush_mmu_tlbonly: flushes the gathered range and resets it. */
  flushTlbOnly(): void {
    if (this.fullmm) {
      if (this.start < this.end || this.freedTables) this.flusher.flushAll(this.asid);
    } else if (this.start < this.end) {
      // tlb_get_unmap_shift: the smallest page size that was cleared.
      const stride = this.clearedPtes ? 1 : this.clearedPmds ? 2 : this.clearedPuds ? 3 : 1;
      this.flusher.flushRange(this.asid, this.start, this.end, this.freedTables, stride);
    }
    this.start = Infinity;
    this.end = -Infinity;
    this.freedTables = false;
    this.clearedPtes = this.clearedPmds = this.clearedPuds = false;
  }

  /** tlb_flush_mmu: flush, then free the batched pages. */
  flush(): void {
    this.flushTlbOnly();
    for (const pfn of this.pages) this.freePage(pfn);
    this.pages.length = 0;
  }

  /** tlb_finish_mmu. */
  finish(): void {
    this.flush();
  }

  private adjust(start: number, end: number): void {
    if (start < this.start) this.start = start;
    if (end > this.end) this.end = end;
  }
}
