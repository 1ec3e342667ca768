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
  p4dIndex,
  pgdIndex,
  pmdIndex,
  pteIndex,
  pudIndex,
  tableIndex,
} from './entry.js';
export { X86PageTable, createPageTable } from './page-table.js';
export type { X86PageTableOptions } from './page-table.js';
export {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  DEFAULT_PAGING_MODE,
  PF_INSTR,
  PF_PK,
  PF_PROT,
  PF_RSVD,
  PF_USER,
  PF_WRITE,
  RIGHT_D,
  RIGHT_G,
  RIGHT_NX,
  RIGHT_PKEY_SHIFT,
  RIGHT_U,
  RIGHT_W,
  WalkResult,
  checkPagingMode,
  hardwareWalk,
  hardwareWalkFrom,
  translate,
} from './hw-walk.js';
export type { PagingMode, Translation } from './hw-walk.js';
export {
  DEFAULT_TLB_CONFIG,
  INVPCID_TYPE_ALL_INCL_GLOBAL,
  INVPCID_TYPE_ALL_NON_GLOBAL,
  INVPCID_TYPE_INDIV_ADDR,
  INVPCID_TYPE_SINGLE_CTXT,
  MAX_PCID,
  Tlb,
} from './tlb.js';
export type { TlbConfig, TlbGeometry } from './tlb.js';
export { TLB_METRICS, TLB_SINGLE_PAGE_FLUSH_CEILING, TlbSystem } from './tlb-system.js';
export type { StaleHit, TlbSystemOptions } from './tlb-system.js';
export { MmuGather } from './gather.js';
