/**
 * Error codes raised by `@kmodel/pte-ref`. Every throw leaves the counters, the per-mm
 * reclaimable sets and the ordered index exactly as they were before the call.
 */
export const PteRefErrorCode = {
  /** The address space was never given an observer, or was forgotten. */
  UnknownMm: 'E_PTE_REF_UNKNOWN_MM',
  /** The TableId is not a live PTE table of that address space. */
  UnknownTable: 'E_PTE_REF_UNKNOWN_TABLE',
  /** tableAlloc for a TableId that is still a live PTE table (no tableFree in between). */
  TableExists: 'E_PTE_REF_TABLE_EXISTS',
  /** An update would push the mapped count past PTRS_PER_PTE (512). */
  Overflow: 'E_PTE_REF_OVERFLOW',
  /** An update would take the mapped or zero-page count below 0. */
  Underflow: 'E_PTE_REF_UNDERFLOW',
  /** An update would leave more zero-page entries than mapped entries. */
  Invariant: 'E_PTE_REF_INVARIANT',
  /** pteSet with a none new entry (the contract says new is never none; use pteClear). */
  SetNone: 'E_PTE_REF_SET_NONE',
} as const;

/** One of the {@link PteRefErrorCode} values. */
export type PteRefErrorCode = (typeof PteRefErrorCode)[keyof typeof PteRefErrorCode];
