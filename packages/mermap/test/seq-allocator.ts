import { __GFP_UNMAPPED, type DirectMapControl, type PageAllocator, type Pfn } from '@kmodel/core';

/**
 * A page allocator for exact counts: mapped pages come sequentially from `mappedStart`,
 * unmapped ones from whole pageblocks taken sequentially from `unmappedStart`, each removed
 * from the direct map with one removeRange call (the freetype conversion). Frees are counted,
 * never reused.
 */
export class SeqAllocator implements PageAllocator {
  conversions = 0;
  frees = 0;
  private mappedNext: number;
  private unmappedNext: number;
  private pbEnd: number;

  constructor(private readonly dm: DirectMapControl, mappedStart: Pfn, unmappedStart: Pfn) {
    this.mappedNext = mappedStart;
    this.unmappedNext = unmappedStart;
    this.pbEnd = unmappedStart;
  }

  allocPages(gfp: number, order: number): Pfn | null {
    const n = 2 ** order;
    if (gfp & __GFP_UNMAPPED) {
      let pfn = Math.ceil(this.unmappedNext / n) * n;
      if (pfn + n > this.pbEnd) {
        const pb = Math.ceil(this.pbEnd / 512) * 512;
        if (!this.dm.removeRange(pb, 512)) return null;
        this.conversions++;
        this.pbEnd = pb + 512;
        pfn = Math.max(pfn, pb);
      }
      this.unmappedNext = pfn + n;
      return pfn;
    }
    const pfn = Math.ceil(this.mappedNext / n) * n;
    this.mappedNext = pfn + n;
    return pfn;
  }

  freePages(): void {
    this.frees++;
  }

  managedPages(): number {
    return 0;
  }

  nrFreePages(): number {
    return 0;
  }
}
