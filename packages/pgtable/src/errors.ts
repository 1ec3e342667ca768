/**
 * Error codes raised by `@kmodel/pgtable` (every one a `KmodelError`; the model is unchanged
 * when one is thrown).
 */
export const PgtableErrorCode = {
  /** A virtual page number (or byte address) is not canonical for the paging mode. */
  NonCanonical: 'E_NONCANONICAL',
  /** A level outside 1..levels, or a level that cannot hold the requested entry. */
  BadLevel: 'E_BAD_LEVEL',
  /** A PFN that is not a safe integer below 2^40 (52-bit physical addresses). */
  PfnRange: 'E_PFN_RANGE',
  /** A huge leaf whose PFN is not aligned to its page size (reserved bits would be set). */
  Unaligned: 'E_UNALIGNED',
  /** Packed flags with unknown bits, or a combination the level does not allow. */
  BadFlags: 'E_BAD_FLAGS',
  /** The table that would hold the entry does not exist. */
  NoTable: 'E_NO_TABLE',
  /** A huge leaf or non-present entry sits where a table pointer is needed. */
  HugeLeaf: 'E_HUGE_LEAF',
  /** The entry points to a table; tables are unhooked only by the free operations. */
  TablePresent: 'E_TABLE_PRESENT',
  /** A range cuts through a huge leaf. */
  PartialHuge: 'E_PARTIAL_HUGE',
  /** A table that must be empty still holds entries. */
  TableBusy: 'E_TABLE_BUSY',
  /** A range whose start lies above its end, or that spans the non-canonical hole. */
  BadRange: 'E_BAD_RANGE',
  /** The table allocator could not provide the top-level table. */
  NoMemory: 'E_NOMEM',
  /** A paging mode field out of range (MAXPHYADDR outside 36..52, PKRU not a 32-bit value). */
  BadMode: 'E_BAD_MODE',
  /** A TLB / CPU parameter out of range (CPU number, PCID, capacity, INVPCID type). */
  BadTlbParam: 'E_BAD_TLB_PARAM',
} as const;
