import type { TraceAccess, TraceAdvice, TraceProt, TraceThp } from '../trace/index.js';

/**
 * The operations a workload issues against one process: the system calls of the trace format
 * (mmap, touch, madvise, munmap, status), with byte offsets into named regions. A workload is a
 * generator of these; the runner applies them to the process's address space.
 */
export type WorkOp =
  | { readonly op: 'mmap'; readonly region: string; readonly size: number; readonly addr?: bigint; readonly align: number; readonly prot: TraceProt; readonly thp: TraceThp }
  | { readonly op: 'touch'; readonly region: string; readonly offset: number; readonly size: number; readonly stride: number; readonly access: TraceAccess }
  | { readonly op: 'madvise'; readonly region: string; readonly offset: number; readonly size: number; readonly advice: TraceAdvice }
  | { readonly op: 'munmap'; readonly region: string; readonly offset: number; readonly size: number }
  | { readonly op: 'status'; readonly label: string }
  | UnmappedGuestOp;

/**
 * Kernel work rather than a system call: guest_memfd-like memory allocated outside the direct
 * map, zeroed, read and copied through the mermap (`@kmodel/mermap`'s workload), run by the
 * machine as one operation.
 */
export interface UnmappedGuestOp {
  readonly op: 'unmapped-guest';
  /** Strategy; absent: the run's policy decides (see the scenario schema). */
  readonly strategy?: 'direct-map' | 'per-page' | 'freetype';
  readonly allocations: number;
  readonly order: number;
  readonly reads: number;
  readonly cowFaults: number;
  readonly frees: number;
  readonly maxHold: number;
  readonly checker: 'report' | 'flush_on_free' | 'page_flag';
}

/** A workload instance for one process: the ops it will issue and an estimate of how many. */
export interface Workload {
  /** Short description for progress and events, e.g. `zero-page-attack`. */
  readonly name: string;
  /** Number of ops {@link Workload.ops} yields (exact for the stock workloads). */
  readonly totalOps: number;
  readonly ops: Iterable<WorkOp>;
}

/** Accesses per `touch` op when a workload splits a long touch (sampling granularity). */
export const TOUCH_CHUNK = 512;

/** Splits a touch of [offset, offset + size) every `stride` into ops of at most {@link TOUCH_CHUNK} accesses. */
export function* chunkedTouch(region: string, offset: number, size: number, stride: number, access: TraceAccess): Generator<WorkOp> {
  const span = stride * TOUCH_CHUNK;
  for (let at = offset; at < offset + size; at += span) {
    yield { op: 'touch', region, offset: at, size: Math.min(span, offset + size - at), stride, access };
  }
}

/** Number of ops {@link chunkedTouch} yields. */
export function chunkedTouchOps(size: number, stride: number): number {
  return Math.ceil(Math.ceil(size / stride) / TOUCH_CHUNK);
}
