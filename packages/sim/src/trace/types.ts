/**
 * Types of kmodel trace format v1 (see docs/validation.md and the trace-format reference):
 * one process's memory operations, replayable both by the model and on a real Linux kernel.
 */

/** The version of the trace format this module reads. */
export const TRACE_FORMAT_VERSION = 1;

/** Protection of a mapping: `"rw"` (PROT_READ|PROT_WRITE), `"r"` (PROT_READ), `"none"` (PROT_NONE). */
export type TraceProt = 'rw' | 'r' | 'none';
/** THP advice applied right after `mmap`: `"default"` none, `"never"` MADV_NOHUGEPAGE, `"always"` MADV_HUGEPAGE. */
export type TraceThp = 'default' | 'never' | 'always';
/** Access kind of a `touch`: a one-byte load or store. */
export type TraceAccess = 'read' | 'write';
/** The `advice` of a `madvise` op, named after the kernel's MADV_* constants in lower case. */
export type TraceAdvice = 'dontneed' | 'free' | 'hugepage' | 'nohugepage' | 'populate_read' | 'populate_write';
/** Every advice a trace may use, in a fixed order. */
export const TRACE_ADVICES: readonly TraceAdvice[] = ['dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read', 'populate_write'];

/** `repeat` of `madvise` / `munmap`: `count` separate calls, the offset advancing by `step` bytes each time. */
export interface TraceRepeat {
  readonly count: number;
  readonly step: number;
}

interface OpBase {
  /** 1-based line number of the op in its file. */
  readonly line: number;
}

interface RegionOpBase extends OpBase {
  /** Region name, as given to its `mmap`. */
  readonly region: string;
  /** Byte offset into the region (default 0). */
  readonly offset: number;
  /** Bytes from `offset`; absent means "the rest of the region". */
  readonly size?: number;
  /** Size in bytes of the region as mapped by its `mmap` (filled in by the parser). */
  readonly regionSize: number;
}

/** `mmap`: a private anonymous MAP_NORESERVE mapping named `region`. */
export interface TraceMmap extends OpBase {
  readonly op: 'mmap';
  readonly region: string;
  /** Bytes, a positive multiple of 4 KiB. */
  readonly size: number;
  /** Exact placement (MAP_FIXED_NOREPLACE); absent means the model or kernel picks. */
  readonly addr?: bigint;
  /** Alignment in bytes of the start when `addr` is absent (default 4096); ignored with `addr`. */
  readonly align: number;
  readonly prot: TraceProt;
  readonly thp: TraceThp;
}

/** `touch`: one byte accessed at region start + offset, then every `stride` bytes while below offset + size. */
export interface TraceTouch extends RegionOpBase {
  readonly op: 'touch';
  readonly stride: number;
  readonly access: TraceAccess;
}

/** `madvise`: one madvise(2) call per repetition. */
export interface TraceMadvise extends RegionOpBase {
  readonly op: 'madvise';
  readonly advice: TraceAdvice;
  readonly repeat?: TraceRepeat;
}

/** `munmap`: one munmap(2) call per repetition; a region fully unmapped frees its name. */
export interface TraceMunmap extends RegionOpBase {
  readonly op: 'munmap';
  readonly repeat?: TraceRepeat;
}

/** `status`: emit one {@link StatusRecord} labelled `label` (unique within the trace). */
export interface TraceStatus extends OpBase {
  readonly op: 'status';
  readonly label: string;
}

/** One operation of a trace, with defaults applied. Discriminated on `op`. */
export type TraceOp = TraceMmap | TraceTouch | TraceMadvise | TraceMunmap | TraceStatus;
/** The operation names of trace format v1. */
export type TraceOpName = TraceOp['op'];

/** A parsed and checked trace. */
export interface Trace {
  /** Where the trace came from (a file path or `"<input>"`), used in messages. */
  readonly source: string;
  readonly ops: readonly TraceOp[];
}

/**
 * One status record, in the field names and units (kB) of `/proc/self/status` and
 * `/proc/meminfo`. Extra fields (tables per level, counters) may follow.
 */
export interface StatusRecord {
  readonly label: string;
  /** Page-table memory of the process, kB (`VmPTE` of /proc/self/status). */
  readonly VmPTE: number;
  /** Resident anonymous memory, kB (`RssAnon`). */
  readonly RssAnon: number;
  /** Resident memory, kB (`VmRSS`). */
  readonly VmRSS: number;
  /** System-wide page-table memory, kB (`PageTables` of /proc/meminfo). */
  readonly PageTables: number;
  readonly [extra: string]: string | number;
}

/** One system call of a `madvise` / `munmap` op after `repeat` and "rest of the region" are resolved. */
export interface TraceCall {
  readonly offset: number;
  readonly size: number;
}
