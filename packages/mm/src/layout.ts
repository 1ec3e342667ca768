import type { Vpn } from '@kmodel/core';
import type { VmaList } from './vma.js';

/* Free-gap search of the mmap layout (mm/mmap.c vm_unmapped_area, unmapped_area_topdown / unmapped_area). */

/** vm_unmapped_area top-down: the highest aligned start in a free gap inside [low, high); -1 if none. */
export function unmappedAreaTopdown(vmas: VmaList, pages: number, align: number, low: Vpn, high: Vpn): Vpn {
  const list = vmas.list;
  for (let i = list.length; i >= 0; i--) {
    const gapStart = Math.max(low, i > 0 ? list[i - 1]!.end : low);
    const gapEnd = Math.min(high, i < list.length ? list[i]!.start : high);
    if (gapStart >= high) continue;
    if (gapEnd - gapStart >= pages) {
      const s = Math.floor((gapEnd - pages) / align) * align;
      if (s >= gapStart) return s;
    }
    if (gapStart <= low) break;
  }
  return -1;
}

/** vm_unmapped_area bottom-up: the lowest aligned start in a free gap inside [low, high); -1 if none. */
export function unmappedAreaBottomup(vmas: VmaList, pages: number, align: number, low: Vpn, high: Vpn): Vpn {
  const list = vmas.list;
  for (let i = vmas.indexAfter(low); i <= list.length; i++) {
    const gapStart = Math.max(low, i > 0 ? list[i - 1]!.end : low);
    const gapEnd = Math.min(high, i < list.length ? list[i]!.start : high);
    const s = Math.ceil(gapStart / align) * align;
    if (s + pages <= gapEnd) return s;
    if (gapEnd >= high) break;
  }
  return -1;
}
