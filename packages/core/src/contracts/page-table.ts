import type { Level, PagingLevels, Pfn, Vpn } from '../units.js';

/** A page-table page identity inside one page table: a small dense integer, reused after free. */
export type TableId = number;

/**
 * Where page-table pages come from (pte_alloc_one / pmd_alloc_one / __free_page analogs).
 * An address space usually backs this with a {@link PageAllocator} using GFP_PGTABLE_USER and
 * a {@link Charger}; the kernel's own tables use GFP_PGTABLE_KERNEL.
 */
export interface TableAllocator {
  /** Allocates one zeroed 4 KiB page for a table at `level`; returns its PFN, or null when out of memory. */
  allocTable(level: Level): Pfn | null;
  /** Returns a table page previously obtained from {@link TableAllocator.allocTable}. */
  freeTable(pfn: Pfn, level: Level): void;
}

/**
 * Hooks called on every entry change, like the 2022 RFC's track_pte_set / track_pte_clear
 * next to the page_table_check hooks. Only PTE-level (4 KiB) entries are reported to the set /
 * clear hooks (huge entries are ignored, as the RFC does); table births and deaths are
 * reported at every level. Entries are given as 32-bit halves (see `entry.ts`).
 *
 * Hooks run before the write they report, as track_pte_set / track_pte_clear run before
 * set_pte / pte_clear: `pteSet`, `pteClear` and `tableAlloc` are called before the table
 * changes, and so is `tableFree` for a table with no table below it. An observer that throws
 * therefore leaves that entry or table as it was (a table whose `tableAlloc` threw goes back
 * to the {@link TableAllocator} and its parent entry stays none); writes an operation made
 * before the throw stay made. `clearAll`, and a free of a table that still holds tables,
 * report as they free: each table's `tableFree` comes just before its page goes back, so a
 * throw there leaves the free partly done. A table freed while it holds entries (`clearAll`,
 * `freePteTable`) is reported by `tableFree` alone, with no `pteClear` per entry; a zap that
 * frees the PTE tables it empties (`zapRangeReclaimPt`) reports each entry's `pteClear`,
 * then the table's `tableFree`.
 */
export interface EntryObserver {
  /** A PTE in `table` at `index` changed from (oldLo, oldHi) to (newLo, newHi); new is not none. */
  pteSet(table: TableId, index: number, oldLo: number, oldHi: number, newLo: number, newHi: number): void;
  /** A PTE in `table` at `index` was cleared; it held (oldLo, oldHi), possibly none. */
  pteClear(table: TableId, index: number, oldLo: number, oldHi: number): void;
  /** A table was allocated at `level`, covering the range that starts at `baseVpn`. */
  tableAlloc(table: TableId, level: Level, baseVpn: Vpn): void;
  /** A table was freed. */
  tableFree(table: TableId, level: Level): void;
}

/** Optional per-level callbacks of the generic walker (mm_walk_ops analog). */
export interface WalkOps {
  /** A present leaf at `level` (1 = 4 KiB PTE, 2 = 2 MiB, 3 = 1 GiB) mapping `vpn`. Return false to stop the walk. */
  leaf?(vpn: Vpn, level: Level, pfn: Pfn, flags: number): boolean | void;
  /** A non-present but non-none PTE (swap entry, marker). */
  nonPresent?(vpn: Vpn, level: Level, lo: number, hi: number): boolean | void;
  /** A table at `level` (below the top) is entered, covering `baseVpn`. */
  table?(table: TableId, level: Level, baseVpn: Vpn, present: number): boolean | void;
  /** A none entry at `level` covering `vpn` (a hole), when the caller wants holes (pte_hole). */
  hole?(vpn: Vpn, level: Level): boolean | void;
}

/** Tables freed by one operation, per level (index = level; 0 unused). */
export type TablesFreed = [0, number, number, number, number, number];

/**
 * One address space's page tables, as the address-space layer (`@kmodel/mm`) and the
 * reclaim policies use them. Every address is a virtual page number; every entry is a
 * `(pfn, packed flags)` pair (see `entry.ts`). The stock implementation is `@kmodel/pgtable`.
 *
 * Writes that would violate the hardware's rules (a huge leaf not aligned, a PFN beyond 52
 * bits, a non-canonical address) throw a KmodelError and change nothing.
 */
export interface PageTable {
  readonly levels: PagingLevels;
  /**
   * Allocates the tables down to `level` covering `vpn` (__pud_alloc, __pmd_alloc, __pte_alloc).
   * False when the allocator failed; tables allocated before the failure stay, as in the kernel.
   * The TableAllocator may re-enter this page table (a memcg charge that reclaims and frees
   * tables): an implementation allocates each page first and only then looks up the parent
   * entry again (pmd_install), freeing the spare page if the entry was populated meanwhile.
   */
  allocTable(vpn: Vpn, level: Level): boolean;
  /** Id of the table at `level` covering `vpn`, or -1 when it does not exist (or a huge leaf sits above it). */
  tableAt(vpn: Vpn, level: Level): TableId;
  /** PFN of the entry at `level` for `vpn` (pte_pfn / pmd_pfn), or -1 when it is none or its table is missing. For a huge leaf, the leaf's first PFN. */
  entryPfn(vpn: Vpn, level: Level): number;
  /** Packed flags of the entry at `level` for `vpn`; 0 when none or missing. */
  entryFlags(vpn: Vpn, level: Level): number;
  /** Number of non-none entries in the table at `level` covering `vpn`, or -1 when the table does not exist. */
  presentCount(vpn: Vpn, level: Level): number;
  /** Sets the entry at `level` (set_pte_at / set_pmd_at / set_pud_at). Level > 1 with `_PAGE_PSE` makes a huge leaf. The table must exist. */
  setEntry(vpn: Vpn, level: Level, pfn: Pfn, flags: number): void;
  /** Clears the entry at `level` (ptep_get_and_clear / pmd_clear); returns the old PFN or -1 if it was none. A table pointer is not cleared here (that would leak the table): it throws E_TABLE_PRESENT; use freePteTable / freePmdTable / freePgtables. */
  clearEntry(vpn: Vpn, level: Level): number;
  /** Clears every leaf in [startVpn, endVpn) and calls `visit` with each before it goes. Huge leaves must lie wholly inside the range. Returns the number of entries cleared. Tables stay. */
  zapRange(startVpn: Vpn, endVpn: Vpn, visit?: (vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void): number;
  /**
   * Optional: {@link PageTable.zapRange} with CONFIG_PT_RECLAIM's reclaim_pt in the same pass
   * (zap_pte_range, mm/pt_reclaim.c): every PTE table whose whole 2 MiB span lies inside
   * [startVpn, endVpn) and that holds no entry once zapped is cleared from its PMD entry and
   * freed; PMD and higher tables stay. Returns the number of PTE tables freed. Equivalent to
   * zapRange followed by freeing those tables, in one walk.
   */
  zapRangeReclaimPt?(startVpn: Vpn, endVpn: Vpn, visit?: (vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void): number;
  /**
   * free_pgtables(floor, ceiling): frees the tables under [startVpn, endVpn) that hold no
   * entries. A table at a higher level is freed only when it is empty and the whole span it
   * maps lies inside [floorVpn, ceilingVpn) (ceiling 0 means the top of the address space).
   */
  freePgtables(startVpn: Vpn, endVpn: Vpn, floorVpn: Vpn, ceilingVpn: Vpn): TablesFreed;
  /** Unhooks and frees the PTE table covering `vpn` (pmd_clear + pte_free), whatever it holds. False if there is none. */
  freePteTable(vpn: Vpn): boolean;
  /** Unhooks and frees the PMD table covering `vpn` (pud_clear + pmd_free). It must hold no entries. False if there is none. */
  freePmdTable(vpn: Vpn): boolean;
  /** Walks [startVpn, endVpn) calling the given callbacks (walk_page_range). */
  walk(startVpn: Vpn, endVpn: Vpn, ops: WalkOps): void;
  /** Number of tables at `level` that exist now (the top table counts 1). */
  tableCount(level: Level): number;
  /** Frees every table and entry (exit_mmap's free_pgtables over everything); the top table stays. */
  clearAll(): void;
}

/** Options a page-table factory receives. */
export interface PageTableOptions {
  levels: PagingLevels;
  tables: TableAllocator;
  observer?: EntryObserver;
}

/** Builds page tables for an address space (the "page-table factory" that mm needs). */
export type PageTableFactory = (options: PageTableOptions) => PageTable;
