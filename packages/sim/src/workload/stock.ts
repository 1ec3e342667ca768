import { PAGE_SIZE, PMD_SIZE, type Rng } from '@kmodel/core';
import type { WorkloadSpec } from '../scenario/schema.js';
import { traceCalls, touchRange, type Trace } from '../trace/index.js';
import { chunkedTouch, chunkedTouchOps, type WorkOp, type Workload } from './ops.js';

type Spec<T extends WorkloadSpec['type']> = Extract<WorkloadSpec, { type: T }>;

function workload(name: string, totalOps: number, gen: () => Generator<WorkOp>): Workload {
  return { name, totalOps, ops: { [Symbol.iterator]: gen } };
}

/**
 * The zero-page attack of the seeds: map `size` and read one byte per `stride` (2 MiB), so
 * every read maps the shared zero page and costs a whole PTE table (4 KiB) for no RSS.
 */
export function zeroPageAttack(spec: Spec<'zero-page-attack'>): Workload {
  return workload('zero-page-attack', 1 + chunkedTouchOps(spec.size, spec.stride), function* () {
    yield { op: 'mmap', region: 'attack', size: spec.size, align: PMD_SIZE, prot: 'r', thp: 'default' };
    yield* chunkedTouch('attack', 0, spec.size, spec.stride, 'read');
  });
}

/**
 * Allocator churn (jemalloc / tcmalloc-like arenas): map large arenas; each round, write runs at
 * random `release_align`-aligned places, then give back a random sub-range of most runs with
 * MADV_DONTNEED, as an allocator purging dirty extents does. Sub-ranges that do not cover whole
 * 2 MiB blocks leave their PTE tables behind even on a kernel with PT_RECLAIM.
 */
export function allocatorChurn(spec: Spec<'allocator-churn'>, rng: Rng): Workload {
  const runsPerRound = Math.max(1, Math.floor(spec.touch_per_round / spec.run_size));
  const runSize = Math.min(spec.run_size, spec.arena_size);
  const touchOpsPerRun = chunkedTouchOps(runSize, spec.touch_stride);
  const total = spec.arenas + spec.rounds * spec.arenas * runsPerRound * (touchOpsPerRun + 1);
  const align = spec.release_align;
  return workload('allocator-churn', total, function* () {
    for (let a = 0; a < spec.arenas; a++) yield { op: 'mmap', region: `arena${a}`, size: spec.arena_size, align: PMD_SIZE, prot: 'rw', thp: 'default' };
    const slots = Math.floor((spec.arena_size - runSize) / align);
    const blocks = runSize / align;
    for (let round = 0; round < spec.rounds; round++) {
      for (let a = 0; a < spec.arenas; a++) {
        const region = `arena${a}`;
        for (let r = 0; r < runsPerRound; r++) {
          const offset = rng.int(0, slots) * align;
          yield* chunkedTouch(region, offset, runSize, spec.touch_stride, 'write');
          if (rng.chance(spec.release_fraction)) {
            // A sub-range of at least half the run, at an `align` boundary inside it.
            const len = rng.int(Math.max(1, Math.floor(blocks / 2)), blocks);
            const start = rng.int(0, blocks - len);
            yield { op: 'madvise', region, offset: offset + start * align, size: len * align, advice: 'dontneed' };
          } else {
            yield { op: 'madvise', region, offset, size: runSize, advice: 'free' };
          }
        }
      }
    }
  });
}

/**
 * A VM's balloon then live migration (QEMU, per the 2022 RFC's cover letter): the guest fills
 * its memory, the balloon gives back `balloon_fraction` of it in `balloon_chunk` pieces
 * (MADV_DONTNEED per piece, in random order), then migration reads all guest memory, which maps
 * the shared zero page over every ballooned page: zero-only PTE tables that mainline never frees.
 */
export function vmBalloonMigration(spec: Spec<'vm-balloon-migration'>, rng: Rng): Workload {
  const chunks = spec.guest_memory / spec.balloon_chunk;
  const inflate = Math.floor(chunks * spec.balloon_fraction);
  const total = 1 + chunkedTouchOps(spec.guest_memory, spec.fill_stride) + inflate + chunkedTouchOps(spec.guest_memory, spec.migration_stride);
  return workload('vm-balloon-migration', total, function* () {
    yield { op: 'mmap', region: 'guest', size: spec.guest_memory, align: PMD_SIZE, prot: 'rw', thp: 'default' };
    yield* chunkedTouch('guest', 0, spec.guest_memory, spec.fill_stride, 'write');
    // Partial Fisher-Yates over chunk indices: the first `inflate` of a random permutation.
    const order = new Uint32Array(chunks);
    for (let i = 0; i < chunks; i++) order[i] = i;
    for (let i = 0; i < inflate; i++) {
      const j = rng.int(i, chunks - 1);
      const c = order[j]!;
      order[j] = order[i]!;
      order[i] = c;
      yield { op: 'madvise', region: 'guest', offset: c * spec.balloon_chunk, size: spec.balloon_chunk, advice: 'dontneed' };
    }
    yield* chunkedTouch('guest', 0, spec.guest_memory, spec.migration_stride, 'read');
  });
}

/** A sparse large mapping: a few pages written at random, then read scans over the whole range. */
export function sparseScan(spec: Spec<'sparse-scan'>, rng: Rng): Workload {
  const pages = spec.size / PAGE_SIZE;
  const total = 1 + spec.data_pages + spec.passes * chunkedTouchOps(spec.size, spec.stride);
  return workload('sparse-scan', total, function* () {
    yield { op: 'mmap', region: 'sparse', size: spec.size, align: PMD_SIZE, prot: 'rw', thp: 'default' };
    for (let i = 0; i < spec.data_pages; i++) {
      yield { op: 'touch', region: 'sparse', offset: rng.int(0, pages - 1) * PAGE_SIZE, size: PAGE_SIZE, stride: PAGE_SIZE, access: 'write' };
    }
    for (let p = 0; p < spec.passes; p++) yield* chunkedTouch('sparse', 0, spec.size, spec.stride, 'read');
  });
}

/**
 * Memory outside the direct map (the 2026 `__GFP_UNMAPPED` design): `guest_memory` in folios
 * of `order`, allocated and zeroed, then read() calls, copy-on-write faults and frees through
 * the mermap, as one kernel operation of the machine.
 */
export function unmappedGuest(spec: Spec<'unmapped-guest'>): Workload {
  const allocations = Math.max(1, Math.floor(spec.guest_memory / (PAGE_SIZE * 2 ** spec.order)));
  return workload('unmapped-guest', 1, function* () {
    yield {
      op: 'unmapped-guest',
      ...(spec.strategy !== undefined ? { strategy: spec.strategy } : {}),
      allocations,
      order: spec.order,
      reads: Math.floor(allocations * spec.reads),
      cowFaults: Math.floor(allocations * spec.cow_faults),
      frees: Math.floor(allocations * spec.frees),
      maxHold: spec.max_hold,
      checker: spec.checker,
    };
  });
}

/** A parsed trace as a workload: its ops in order, `repeat` expanded into separate calls. */
export function traceWorkload(trace: Trace): Workload {
  let total = 0;
  for (const op of trace.ops) total += op.op === 'madvise' || op.op === 'munmap' ? (op.repeat?.count ?? 1) : 1;
  return workload(`trace ${trace.source}`, total, function* () {
    for (const op of trace.ops) {
      switch (op.op) {
        case 'mmap':
          yield { op: 'mmap', region: op.region, size: op.size, ...(op.addr !== undefined ? { addr: op.addr } : {}), align: op.align, prot: op.prot, thp: op.thp };
          break;
        case 'touch': {
          const r = touchRange(op);
          yield { op: 'touch', region: op.region, offset: r.offset, size: r.size, stride: op.stride, access: op.access };
          break;
        }
        case 'madvise':
          for (const c of traceCalls(op)) yield { op: 'madvise', region: op.region, offset: c.offset, size: c.size, advice: op.advice };
          break;
        case 'munmap':
          for (const c of traceCalls(op)) yield { op: 'munmap', region: op.region, offset: c.offset, size: c.size };
          break;
        case 'status':
          yield { op: 'status', label: op.label };
          break;
      }
    }
  });
}
