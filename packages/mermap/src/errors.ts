/** Error codes of `@kmodel/mermap`. Every one is raised before any state changes. */
export const MermapErrorCode = {
  /** A mermap_get larger than one CPU's slice (it could never succeed). */
  TooLarge: 'E_MERMAP_TOO_LARGE',
  /** A protection with _PAGE_GLOBAL (arch_mermap_pgprot_allowed: the mermap is mm-local). */
  GlobalMapping: 'E_MERMAP_GLOBAL',
  /** mermap_get before mermap_mm_prepare. */
  NotPrepared: 'E_MERMAP_NOT_PREPARED',
  /** A put of a handle that is not a live mapping (double put, or never returned by a get). */
  NotInUse: 'E_MERMAP_NOT_IN_USE',
  /** An access to an address outside the mermap region. */
  NotMermap: 'E_MERMAP_ADDRESS',
  /** A CPU number outside 0..nrCpus-1, or a CPU count outside 1..4096. */
  BadCpu: 'E_BAD_CPU',
  /** A page count that is not a positive integer, or a PFN range beyond 2^40. */
  BadPages: 'E_BAD_PAGES',
  /** An unknown checker mode or workload strategy. */
  BadOption: 'E_BAD_OPTION',
} as const;
