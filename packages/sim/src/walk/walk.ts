import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PAT_LARGE,
  _PAGE_PCD,
  _PAGE_PKEY_MASK,
  _PAGE_PKEY_SHIFT,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_PWT,
  _PAGE_RW,
  _PAGE_SAVED_DIRTY,
  _PAGE_SOFT_DIRTY,
  _PAGE_SOFTW4,
  _PAGE_SPECIAL,
  _PAGE_UFFD_WP,
  _PAGE_USER,
  addrToVpn,
  CoreErrorCode,
  fail,
  levelIndex,
  levelName,
  makeEntryHi,
  makeEntryLo,
  pagesPerEntry,
  show,
  type Level,
  type PageTable,
} from '@kmodel/core';

/** One level of a page walk. */
export interface WalkStep {
  /** 5..1 (Intel numbering: 1 = PTE). */
  readonly level: Level;
  /** Kernel name of the table this entry sits in: pgd, p4d, pud, pmd, pte. */
  readonly table: string;
  /** Index of the entry in its table (0..511). */
  readonly index: number;
  /** The 64-bit entry as 16 hex digits. */
  readonly entry: string;
  /** What the entry is: a pointer to the next table, a leaf (4 KiB, 2 MiB or 1 GiB page), or none. */
  readonly kind: 'table' | 'leaf' | 'none';
  /** Frame number the entry holds (-1 when none). */
  readonly pfn: number;
  /** Names of the bits that are set, in bit order (P, RW, US, PWT, PCD, A, D, PS/PAT, G, SPECIAL, ...). */
  readonly bits: string[];
  /** Protection key (bits 59..62). */
  readonly pkey: number;
}

/** The result of {@link walkAddress}. */
export interface WalkResult {
  /** The virtual address, as `0x...`. */
  readonly address: string;
  readonly levels: 4 | 5;
  readonly steps: WalkStep[];
  /** Physical address the walk reaches, `0x...`, or null when it ends at a none entry. */
  readonly physical: string | null;
  /** Page size of the leaf, in bytes (4096, 2 MiB, 1 GiB), or null. */
  readonly pageSize: number | null;
  /** The process's regions, when the walk ran inside a scenario (to find addresses to walk). */
  readonly regions?: readonly { name: string; start: string; end: string }[];
}

/** Bit names of packed flags, in the order of the entry's bits. PS at upper levels, PAT in a PTE. */
function bitNames(flags: number, level: Level): string[] {
  const out: string[] = [];
  const add = (mask: number, name: string) => {
    if (flags & mask) out.push(name);
  };
  add(_PAGE_PRESENT, 'P');
  add(_PAGE_RW, 'RW');
  add(_PAGE_USER, 'US');
  add(_PAGE_PWT, 'PWT');
  add(_PAGE_PCD, 'PCD');
  add(_PAGE_ACCESSED, 'A');
  add(_PAGE_DIRTY, 'D');
  add(_PAGE_PSE, level === 1 ? 'PAT' : 'PS');
  add(_PAGE_GLOBAL, 'G');
  add(_PAGE_SPECIAL, 'SPECIAL');
  add(_PAGE_UFFD_WP, 'UFFD_WP');
  add(_PAGE_SOFT_DIRTY, 'SOFT_DIRTY');
  if (level > 1) add(_PAGE_PAT_LARGE, 'PAT_LARGE');
  add(_PAGE_SOFTW4, 'SOFTW4');
  add(_PAGE_SAVED_DIRTY, 'SAVED_DIRTY');
  add(_PAGE_NX, 'NX');
  return out;
}

function hex64(lo: number, hi: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * Walks `address` through `pt` from the top level down, as the MMU does, reading each entry
 * without side effects (no A/D updates). Stops at a leaf or at a none entry. Throws
 * `E_BAD_ADDRESS` for an address outside the paging mode's canonical lower half.
 */
export function walkAddress(pt: PageTable, address: bigint): WalkResult {
  checkUserAddress(address, pt.levels);
  const vpn = addrToVpn(address);
  const steps: WalkStep[] = [];
  let physical: string | null = null;
  let pageSize: number | null = null;
  for (let level = pt.levels as Level; level >= 1; level = (level - 1) as Level) {
    const pfn = pt.entryPfn(vpn, level);
    const flags = pt.entryFlags(vpn, level);
    const none = pfn < 0 && flags === 0;
    const leaf = !none && (level === 1 || (level <= 3 && (flags & _PAGE_PSE) !== 0));
    const lo = none ? 0 : makeEntryLo(pfn < 0 ? 0 : pfn, flags);
    const hi = none ? 0 : makeEntryHi(pfn < 0 ? 0 : pfn, flags);
    steps.push({
      level,
      table: levelName(level, pt.levels),
      index: levelIndex(vpn, level),
      entry: hex64(lo, hi),
      kind: none ? 'none' : leaf ? 'leaf' : 'table',
      pfn: none ? -1 : pfn,
      bits: none ? [] : bitNames(flags, level),
      pkey: (flags & _PAGE_PKEY_MASK) >>> _PAGE_PKEY_SHIFT,
    });
    if (none) break;
    if (leaf) {
      const pages = pagesPerEntry(level);
      const offset = address & BigInt(pages * 4096 - 1);
      physical = `0x${(BigInt(pfn) * 4096n + offset).toString(16)}`;
      pageSize = pages * 4096;
      break;
    }
  }
  return { address: `0x${address.toString(16)}`, levels: pt.levels, steps, physical, pageSize };
}

/** Throws `E_BAD_ADDRESS` unless `address` lies in the user (lower canonical) half of `levels`-level paging. */
export function checkUserAddress(address: bigint, levels: 4 | 5): void {
  const top = 1n << BigInt((levels === 5 ? 57 : 48) - 1);
  if (address < 0n || address >= top) {
    fail(CoreErrorCode.BadAddress, `address ${show(address)} is not a user address of ${levels}-level paging (expected below 0x${top.toString(16)})`, { value: address.toString() });
  }
}

/** The walk as text, one line per level with the entry's bits decoded. */
export function formatWalk(w: WalkResult): string {
  const lines = [`walk of ${w.address} (${w.levels}-level paging)`];
  for (const s of w.steps) {
    const what = s.kind === 'none' ? 'none (not mapped)' : s.kind === 'table' ? `-> ${nextTable(s.level, w.levels)} table at pfn 0x${s.pfn.toString(16)}` : `-> ${sizeName(s.level)} page at pfn 0x${s.pfn.toString(16)}`;
    const bits = s.bits.length ? `  [${s.bits.join(' ')}${s.pkey ? ` PKEY=${s.pkey}` : ''}]` : '';
    lines.push(`  ${s.table.toUpperCase().padEnd(3)}[${String(s.index).padStart(3)}]  ${s.entry}  ${what}${bits}`);
  }
  lines.push(w.physical ? `  physical address ${w.physical} (${sizeName(w.steps[w.steps.length - 1]!.level)} page)` : '  no translation');
  if (w.regions) {
    lines.push(w.regions.length ? 'regions of the process:' : 'the process has no regions (it exited or was killed)');
    for (const r of w.regions) lines.push(`  ${r.start}-${r.end}  ${r.name}`);
  }
  return lines.join('\n') + '\n';
}

function nextTable(level: Level, levels: 4 | 5): string {
  return levelName((level - 1) as Level, levels);
}

function sizeName(level: Level): string {
  return level === 1 ? '4 KiB' : level === 2 ? '2 MiB' : '1 GiB';
}
