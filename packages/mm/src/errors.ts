/**
 * Error codes raised by `@kmodel/mm`. Every one is a `KmodelError`; `details.errno` names
 * the errno the kernel returns for the same input. Where the kernel applies part of a call
 * before failing (madvise or mprotect over a hole, MADV_POPULATE running out of memory),
 * the model applies the same part and no more; otherwise the model is unchanged.
 */
export const MmErrorCode = {
  /** A length of zero pages where the kernel returns EINVAL (mmap, munmap). */
  ZeroLength: 'E_ZERO_LENGTH',
  /** A range that leaves the user address space (EINVAL for munmap, ENOMEM for mmap / madvise / mprotect). */
  AddressRange: 'E_ADDRESS_RANGE',
  /** A MAP_FIXED_NOREPLACE request over an existing mapping (EEXIST). */
  MappingExists: 'E_MAPPING_EXISTS',
  /** madvise / mprotect over a range that is not wholly mapped (ENOMEM, after the kernel's partial effects). */
  Unmapped: 'E_UNMAPPED',
  /** No free gap of the requested size and alignment below the mmap base (ENOMEM). */
  NoSpace: 'E_NO_SPACE',
  /** The operation would exceed vm.max_map_count VMAs (ENOMEM). */
  MapCount: 'E_MAP_COUNT',
  /** A fixed address below vm.mmap_min_addr (EPERM). */
  BelowMinAddr: 'E_BELOW_MMAP_MIN_ADDR',
  /** Unknown protection bits (EINVAL). */
  BadProt: 'E_BAD_PROT',
  /** Unknown madvise advice (EINVAL). */
  BadAdvice: 'E_BAD_ADVICE',
  /** An alignment that is not a power-of-two number of pages (EINVAL). */
  BadAlign: 'E_BAD_ALIGN',
  /** Out of memory while populating or forking (ENOMEM). */
  OutOfMemory: 'E_OOM',
  /** MADV_POPULATE_* reached an area that does not allow the access (EINVAL, after populating what came before). */
  PopulateAccess: 'E_POPULATE_ACCESS',
  /** The address space has exited. */
  Exited: 'E_EXITED',
  /** A bad constructor option (profile name, levels, THP mode, PFN). */
  BadOption: 'E_BAD_OPTION',
} as const;
export type MmErrorCode = (typeof MmErrorCode)[keyof typeof MmErrorCode];
