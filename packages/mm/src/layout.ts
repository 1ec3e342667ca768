import { CoreErrorCode, fail, show } from '@kmodel/core';
import type { Vpn } from '@kmodel/core';
import { DEFAULT_MAP_WINDOW_VPN, PMD_PAGES, TASK_SIZE_5L_VPN } from './constants.js';
import { MmErrorCode as E } from './errors.js';
import type { VmaList } from './vma.js';

/** The fixed parameters of an address space's mmap layout. */
export interface MmapLayout {
  levels: 4 | 5;
  /** TASK_SIZE in pages. */
  taskSize: Vpn;
  /** Top of the top-down area. */
  mmapBase: Vpn;
  /** vm.mmap_min_addr in pages. */
  mmapMinAddr: Vpn;
}


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

/** get_unmapped_area for an anonymous mapping without MAP_FIXED. */
export function getUnmappedArea(vmas: VmaList, layout: MmapLayout, hint: Vpn | undefined, pages: number, align: number): Vpn {
  if (hint !== undefined) {
    if (!Number.isSafeInteger(hint) || hint < 0) fail(CoreErrorCode.NotAnInteger, `mmap: hint ${show(hint)} must be a non-negative integer page number`, { value: hint });
    let h = hint < layout.mmapMinAddr ? layout.mmapMinAddr : hint; // round_hint_to_min
    // mmap_address_hint_valid: inside TASK_SIZE and not straddling the 47-bit window.
    const valid = h + pages <= layout.taskSize && (h > DEFAULT_MAP_WINDOW_VPN) === (h + pages > DEFAULT_MAP_WINDOW_VPN);
    if (h % align !== 0) h = -1;
    if (valid && h >= 0 && !vmas.intersects(h, h + pages)) return h;
  }
  // Above-47-bit placement only with a hint above DEFAULT_MAP_WINDOW (5-level).
  let high = layout.mmapBase;
  if (layout.levels === 5 && hint !== undefined && hint > DEFAULT_MAP_WINDOW_VPN) high += TASK_SIZE_5L_VPN - DEFAULT_MAP_WINDOW_VPN;
  const low = 1; // info.low_limit = PAGE_SIZE
  if (hint === undefined && align === 1 && pages % PMD_PAGES === 0) {
    // __thp_get_unmapped_area: search len + 2 MiB, then move up to a 2 MiB boundary.
    const ret = unmappedAreaTopdown(vmas, pages + PMD_PAGES, 1, low, high);
    if (ret >= 0) {
      const offSub = (PMD_PAGES - (ret % PMD_PAGES)) % PMD_PAGES;
      return offSub === 0 ? ret + PMD_PAGES : ret + offSub;
    }
  }
  let r = unmappedAreaTopdown(vmas, pages, align, low, high);
  if (r < 0) {
    // arch_get_unmapped_area fallback: bottom-up from TASK_UNMAPPED_BASE (TASK_SIZE / 3).
    r = unmappedAreaBottomup(vmas, pages, align, Math.ceil(layout.taskSize / 3), layout.taskSize);
  }
  if (r < 0) fail(E.NoSpace, `no free gap of ${show(pages)} pages (alignment ${align}) in the address space`, { pages, align, errno: 'ENOMEM' });
  return r;
}
