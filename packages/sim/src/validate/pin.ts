import { KmodelError, isKmodelError } from '@kmodel/core';
import { replayTrace } from '../replay/replay.js';
import { formatTrace, parseTrace, TraceErrorCode, type Trace } from '../trace/index.js';
import { ValidateErrorCode } from './recording.js';

/** 512 GiB: what one PUD table (one top-level entry with 4-level paging) spans. */
const SLOT = 1n << 39n;
/**
 * How far down the model's placements move: 8 slots (4 TiB). The model maps top-down from
 * just below 0x7ffff7fff000; the runner's libraries and stack sit at most 1 TiB (ASLR's
 * 28 bits of pages) below 0x7fffffffffff, so 4 TiB lower no mapping of the runner is near.
 */
const FIRST_SHIFT = 8n;
/** Shifts tried before giving up (each one slot further down). */
const SHIFTS = 32n;

/** A trace whose mappings without `addr` were given the model's placement. */
export interface PinnedTrace {
  readonly trace: Trace;
  /** Lines of the `mmap` ops that had no `addr`. */
  readonly lines: readonly number[];
  /** How far below the model's own placement they were moved (a multiple of 512 GiB), bytes. */
  readonly shift: bigint;
}

/**
 * Gives every `mmap` without `addr` the address the model picks for it, moved down by a
 * multiple of 512 GiB into slots the native runner does not use, so that both sides map it at
 * the same place. The kernel would place it at an address ASLR picks, next to the runner's own
 * libraries, sharing upper-level tables with them and at a random offset within 2 MiB: not
 * comparable. A move by whole 512 GiB slots keeps every table boundary (2 MiB, 1 GiB, 512 GiB)
 * where it was relative to the mappings. Returns undefined when every mapping has `addr`.
 * Throws what the model's replay throws, and `E_VALIDATE_PLACEMENT` when no shift keeps the
 * pinned mappings clear of the trace's own fixed ones.
 */
export function pinUnplaced(trace: Trace): PinnedTrace | undefined {
  const lines = trace.ops.flatMap((op) => (op.op === 'mmap' && op.addr === undefined ? [op.line] : []));
  if (lines.length === 0) return undefined;
  const placed = new Map<number, bigint>();
  replayTrace(trace, { onMmap: (line, addr) => placed.set(line, addr) });
  for (let k = FIRST_SHIFT; k < FIRST_SHIFT + SHIFTS; k++) {
    const shift = k * SLOT;
    const ops = trace.ops.map((op) => (op.op === 'mmap' && op.addr === undefined ? { ...op, addr: placed.get(op.line)! - shift } : op));
    // vm.mmap_min_addr (64 KiB): a model placement that low cannot move down.
    if (ops.some((op) => op.op === 'mmap' && op.addr !== undefined && op.addr < 0x10000n)) break;
    try {
      // Parsing the moved trace checks that no pinned mapping overlaps a fixed one.
      return { trace: parseTrace(formatTrace({ source: trace.source, ops }), trace.source), lines, shift };
    } catch (e) {
      if (!(isKmodelError(e) && e.code === TraceErrorCode.Overlap)) throw e;
    }
  }
  throw new KmodelError(ValidateErrorCode.Placement, `${trace.source}: found no place for its mappings without addr that keeps them clear of its fixed ones; give every mapping an addr`, { lines });
}
