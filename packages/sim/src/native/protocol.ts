import { KmodelError } from '@kmodel/core';
import { touchRange, traceCalls } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { NativeErrorCode } from './errors.js';

/** Number of `mmap` ops a trace may hold for the native runner (`MAX_SLOTS` in kmodel-runner.c). */
export const RUNNER_MAX_MAPPINGS = 4096;

/**
 * Encodes a parsed trace as the runner's line protocol (see native/kmodel-runner.c): one
 * command per system call, `repeat` expanded, "rest of the region" resolved, every command
 * prefixed by its trace line. Each `mmap` gets a fresh slot number; later ops of the
 * region use the slot of the region's latest `mmap`.
 */
export function encodeTrace(trace: Trace): string {
  const out: string[] = [];
  const slots = new Map<string, number>();
  let next = 0;
  for (const op of trace.ops) {
    switch (op.op) {
      case 'status':
        out.push(`${op.line} status`);
        break;
      case 'mmap': {
        if (next >= RUNNER_MAX_MAPPINGS) {
          throw new KmodelError(NativeErrorCode.Limit, `${trace.source}:${op.line}: the native runner supports at most ${RUNNER_MAX_MAPPINGS} mmap ops per trace`, { line: op.line });
        }
        slots.set(op.region, next);
        out.push(`${op.line} mmap ${next} ${op.addr ?? 0n} ${op.size} ${op.align} ${op.prot} ${op.thp}`);
        next++;
        break;
      }
      case 'touch': {
        const { offset, size } = touchRange(op);
        out.push(`${op.line} touch ${slots.get(op.region)} ${offset} ${size} ${op.stride} ${op.access}`);
        break;
      }
      case 'madvise':
        for (const c of traceCalls(op)) out.push(`${op.line} madvise ${slots.get(op.region)} ${c.offset} ${c.size} ${op.advice}`);
        break;
      case 'munmap':
        for (const c of traceCalls(op)) out.push(`${op.line} munmap ${slots.get(op.region)} ${c.offset} ${c.size}`);
        break;
    }
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
