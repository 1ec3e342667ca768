/**
 * Error codes of the trace parser. Every failure is a `KmodelError` whose message starts
 * with `<source>:<line>` and whose `details` carry `source`, `line` and, for schema errors, `path`.
 */
export const TraceErrorCode = {
  /** A line is not valid JSON, or not a JSON object. */
  Syntax: 'E_TRACE_SYNTAX',
  /** A field is missing, unknown, or has the wrong type or value. */
  Schema: 'E_TRACE_SCHEMA',
  /** A size, offset, stride, step or alignment is not a multiple of what it must be. */
  Unaligned: 'E_TRACE_UNALIGNED',
  /** An op names a region that is not mapped at that point. */
  UnknownRegion: 'E_TRACE_UNKNOWN_REGION',
  /** `mmap` reuses the name of a region that is still (partly) mapped. */
  RegionInUse: 'E_TRACE_REGION_IN_USE',
  /** Two `status` ops share a label. */
  DuplicateLabel: 'E_TRACE_DUPLICATE_LABEL',
  /** An offset + size reaches past the end of the region. */
  OutOfRegion: 'E_TRACE_OUT_OF_REGION',
  /** A `touch` or `madvise` covers a part of the region that was already unmapped. */
  Unmapped: 'E_TRACE_UNMAPPED',
  /** An access the region's `prot` forbids (the kernel would fault or return EFAULT). */
  Protection: 'E_TRACE_PROTECTION',
  /** An `mmap` with `addr`, or a `munmap` of a region placed with `addr`, overlaps another live region placed with `addr`. */
  Overlap: 'E_TRACE_OVERLAP',
} as const;
export type TraceErrorCode = (typeof TraceErrorCode)[keyof typeof TraceErrorCode];
