/**
 * @packageDocumentation
 * x86-64 paging hardware for kmodel: the entry encoding, 4- and 5-level page tables with
 * 2 MiB / 1 GiB leaves (the stock `PageTable` of `@kmodel/core`), the hardware walk, and a
 * per-CPU TLB with PCIDs.
 */
export { PgtableErrorCode } from './errors.js';
export {
  ENTRY_A,
  ENTRY_D,
  ENTRY_G,
  ENTRY_HI_NX,
  ENTRY_HI_PKEY_SHIFT,
  ENTRY_P,
  ENTRY_PAT_LARGE,
  ENTRY_PSE,
  ENTRY_RW,
  ENTRY_US,
  VPN_END,
  _KERNPG_TABLE,
  _PAGE_TABLE,
  isHugeLeaf,
  isTablePointer,
  leafFlags,
  leafPfn,
  makeHi,
  makeLo,
  tableIndex,
} from './entry.js';
export { X86PageTable, createPageTable } from './page-table.js';
export type { X86PageTableOptions } from './page-table.js';
