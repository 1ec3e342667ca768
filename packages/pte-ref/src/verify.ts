import type { Level, MmId, PageTable, Pfn, TableId, Vpn } from '@kmodel/core';
import { PTRS_PER_PTE, isZeroPte } from './refcount.js';

/** What a recount found in one PTE table. */
export interface PteTableRecount {
  table: TableId;
  /** First VPN the table maps. */
  baseVpn: Vpn;
  /** Non-none entries (present leaves plus swap entries and markers). */
  mapped: number;
  /** Present entries mapping the zero page. */
  zero: number;
}

/** The part of a `PageTable` a recount needs. */
export type RecountSource = Pick<PageTable, 'levels' | 'walk'>;

/** First VPN above the lower (user) canonical half: 2^35 with 4 levels, 2^44 with 5. */
export function userVpnEnd(levels: 4 | 5): Vpn {
  return 2 ** (9 * levels - 1);
}

/**
 * Recounts every PTE table in [startVpn, endVpn) (default: the whole user half, where a
 * user mm's PTE tables live) by walking the page table (walk_page_range with table / leaf /
 * nonPresent callbacks). Entries are attributed to their table by the 2 MiB-aligned base
 * VPN, so the walk order does not matter.
 */
export function recountPteTables(pageTable: RecountSource, zeroPfn: Pfn, startVpn: Vpn = 0, endVpn: Vpn = userVpnEnd(pageTable.levels)): PteTableRecount[] {
  const byBase = new Map<Vpn, PteTableRecount>();
  const out: PteTableRecount[] = [];
  const recordOf = (vpn: Vpn): PteTableRecount | undefined => byBase.get(vpn - (vpn % PTRS_PER_PTE));
  pageTable.walk(startVpn, endVpn, {
    table(table: TableId, level: Level, baseVpn: Vpn) {
      if (level !== 1) return;
      const rec = { table, baseVpn, mapped: 0, zero: 0 };
      byBase.set(baseVpn, rec);
      out.push(rec);
    },
    leaf(vpn: Vpn, level: Level, pfn: Pfn) {
      if (level !== 1) return;
      const rec = recordOf(vpn);
      if (!rec) return;
      rec.mapped++;
      if (pfn === zeroPfn) rec.zero++;
    },
    nonPresent(vpn: Vpn, level: Level, lo: number, hi: number) {
      if (level !== 1) return;
      const rec = recordOf(vpn);
      if (!rec) return;
      rec.mapped++;
      // A PROT_NONE zero-page PTE is not hardware-present but is pte_present() for Linux.
      if (isZeroPte(lo, hi, zeroPfn)) rec.zero++;
    },
  });
  return out;
}

/** What disagreed between the counters and a recount, or inside the bookkeeping. */
export type PteRefMismatchKind =
  /** The mapped count differs from the recount. */
  | 'mapped'
  /** The zero-page count differs from the recount. */
  | 'zero'
  /** The base VPN recorded at tableAlloc differs from where the table sits. */
  | 'baseVpn'
  /** The page table has a PTE table the counters do not know. */
  | 'missing'
  /** The counters know a PTE table the page table no longer has. */
  | 'stale'
  /** The table's membership in the reclaimable set disagrees with its counters. */
  | 'reclaimableSet'
  /** reclaimable_pt_bytes disagrees with 4096 x (empty + zero-only tables). */
  | 'reclaimableBytes'
  /** The ordered index does not hold the mm with its current bytes. */
  | 'index';

/** One disagreement found by `PteRef.verify`. */
export interface PteRefMismatch {
  mm: MmId;
  kind: PteRefMismatchKind;
  /** The table concerned, or -1 for per-mm findings. */
  table: TableId;
  /** What the recount (or the recomputation) says. */
  expected: number;
  /** What the counters hold. */
  actual: number;
}
