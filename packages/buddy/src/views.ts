import { MAX_PAGE_ORDER, MIGRATETYPE_NAMES, MIGRATE_CMA, MIGRATE_TYPES, NR_PAGE_ORDERS, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, ZONE_NAMES, fail, show, type ZoneType } from '@kmodel/core';
import type { BuddyAllocator } from './buddy.js';
import { BuddyErrorCode } from './errors.js';
import { FT_UNMOVABLE_UNMAPPED } from './freetype.js';

const pad = (s: string | number, w: number): string => String(s).padStart(w, ' ');

/** Migratetypes /proc/pagetypeinfo prints: CMA only with CONFIG_CMA (Isolate is always built on x86-64 with memory hotplug). */
function printedTypes(b: BuddyAllocator): number[] {
  const out: number[] = [];
  for (let mt = 0; mt < MIGRATE_TYPES; mt++) if (mt !== MIGRATE_CMA || b.configCma) out.push(mt);
  return out;
}

/**
 * /proc/buddyinfo (mm/vmstat.c frag_show_print): per populated zone, "Node 0, zone %8s "
 * and free blocks per order as "%6lu ", all freetypes together.
 */
export function buddyinfo(b: BuddyAllocator): string {
  let out = '';
  for (const z of b.populatedZones()) {
    out += `Node 0, zone ${pad(ZONE_NAMES[z], 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(b.nrFreeArea(z, o), 6)} `;
    out += '\n';
  }
  return out;
}

/**
 * /proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show, _showfree_print, _showblockcount_print):
 * the header, free blocks per (zone, migratetype, order) counted up to 100000 (">100000"
 * above, as the kernel stops counting), and pageblocks per migratetype. Unmovable|Unmapped
 * free blocks are printed with Unmovable and unmapped pageblocks count as Unmovable, since
 * the kernel prints migratetypes, not freetypes.
 */
export function pagetypeinfo(b: BuddyAllocator): string {
  const types = printedTypes(b);
  let out = `Page block order: ${PAGEBLOCK_ORDER}\nPages per block:  ${PAGEBLOCK_NR_PAGES}\n\n`;
  out += `${'Free pages count per migrate type at order'.padEnd(43)} `;
  for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${pad(o, 6)} `;
  out += '\n';
  for (const z of b.populatedZones()) {
    for (const mt of types) {
      out += `Node ${pad(0, 4)}, zone ${pad(ZONE_NAMES[z], 8)}, type ${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        let n = b.nrFreeBlocks(z, mt, o);
        if (mt === 0) n += b.nrFreeBlocks(z, FT_UNMOVABLE_UNMAPPED, o);
        const overflow = n >= 100000;
        out += `${overflow ? '>' : ''}${pad(overflow ? 100000 : n, 6)} `;
      }
      out += '\n';
    }
  }
  out += `\n${'Number of blocks type'.padEnd(23)}`;
  for (const mt of types) out += `${pad(MIGRATETYPE_NAMES[mt]!, 12)} `;
  out += '\n';
  for (const z of b.populatedZones()) {
    const counts = b.pageblockCounts(z);
    counts[0] += counts[FT_UNMOVABLE_UNMAPPED]!;
    out += `Node 0, zone ${pad(ZONE_NAMES[z], 8)} `;
    for (const mt of types) out += `${pad(counts[mt]!, 12)} `;
    out += '\n';
  }
  return out;
}

/** struct contig_page_info (mm/vmstat.c fill_contig_page_info). */
export interface ContigPageInfo {
  freePages: number;
  freeBlocksTotal: number;
  freeBlocksSuitable: number;
}

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
    fail(BuddyErrorCode.BadOrder, `order ${show(order)} must be an integer in 0..${MAX_PAGE_ORDER}`, { order });
  }
}

/** fill_contig_page_info(): free pages, free blocks and blocks of at least `order` (in units of that order). */
export function contigPageInfo(b: BuddyAllocator, zone: ZoneType, order: number): ContigPageInfo {
  checkOrder(order);
  const info = { freePages: 0, freeBlocksTotal: 0, freeBlocksSuitable: 0 };
  for (let o = 0; o < NR_PAGE_ORDERS; o++) {
    const blocks = b.nrFreeArea(zone, o);
    info.freeBlocksTotal += blocks;
    info.freePages += blocks * 2 ** o;
    if (o >= order) info.freeBlocksSuitable += blocks * 2 ** (o - order);
  }
  return info;
}

/**
 * __fragmentation_index() (mm/vmstat.c), in thousandths: 0 when there is nothing free,
 * -1000 when a block of `order` is free (the request would succeed), else
 * 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks_total: near 0 the request fails
 * for lack of memory, near 1000 for fragmentation.
 */
export function fragmentationIndexOf(info: ContigPageInfo, order: number): number {
  checkOrder(order);
  if (info.freeBlocksTotal === 0) return 0;
  if (info.freeBlocksSuitable > 0) return -1000;
  return 1000 - Math.floor((1000 + Math.floor((info.freePages * 1000) / 2 ** order)) / info.freeBlocksTotal);
}

/** unusable_free_index() (mm/vmstat.c), in thousandths: the share of free memory unusable for `order`. */
export function unusableIndexOf(info: ContigPageInfo, order: number): number {
  checkOrder(order);
  if (info.freePages === 0) return 1000;
  return Math.floor(((info.freePages - info.freeBlocksSuitable * 2 ** order) * 1000) / info.freePages);
}

/** Formats thousandths as the kernel's "%<width>d.%03d" (debugfs extfrag files; C division truncates). */
function thousandths(v: number, width: number): string {
  const whole = Math.trunc(v / 1000);
  const frac = Math.abs(v % 1000);
  return `${pad(whole, width)}.${String(frac).padStart(3, '0')}`;
}

/** debugfs extfrag/extfrag_index text (extfrag_show_print: "%2d.%03d " per order). */
export function extfragIndexText(b: BuddyAllocator): string {
  let out = '';
  for (const z of b.populatedZones()) {
    out += `Node 0, zone ${pad(ZONE_NAMES[z], 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${thousandths(fragmentationIndexOf(contigPageInfo(b, z, o), o), 2)} `;
    out += '\n';
  }
  return out;
}

/** debugfs extfrag/unusable_index text (unusable_show_print: "%d.%03d " per order). */
export function unusableIndexText(b: BuddyAllocator): string {
  let out = '';
  for (const z of b.populatedZones()) {
    out += `Node 0, zone ${pad(ZONE_NAMES[z], 8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${thousandths(unusableIndexOf(contigPageInfo(b, z, o), o), 0)} `;
    out += '\n';
  }
  return out;
}
