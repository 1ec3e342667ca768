/**
 * Error codes of `@kmodel/directmap`. Every one is raised before any state changes.
 */
export const DirectMapErrorCode = {
  /** A PFN range is empty, negative, or leaves RAM (it must lie wholly inside one RAM range). */
  NotRam: 'E_NOT_RAM',
  /** RAM ranges overlap, are empty, or are not page-frame integers. */
  BadRamRanges: 'E_BAD_RAM_RANGES',
  /** Removal of a range that holds a page already absent from the direct map. */
  NotMapped: 'E_NOT_MAPPED',
  /** Restore of a range that holds a page still present in the direct map. */
  AlreadyMapped: 'E_ALREADY_MAPPED',
  /** A CPU count outside 1..4096. */
  BadCpuCount: 'E_BAD_CPU_COUNT',
} as const;
