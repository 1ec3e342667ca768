import type { Trace, TraceOp } from './types.js';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** One op as a JSON object of trace format v1 (sizes in bytes, addresses in hex). */
function opObject(op: TraceOp): Record<string, unknown> {
  switch (op.op) {
    case 'status':
      return { op: 'status', label: op.label };
    case 'mmap':
      return { op: 'mmap', region: op.region, size: op.size, ...(op.addr !== undefined ? { addr: hex(op.addr) } : {}), align: op.align, prot: op.prot, thp: op.thp };
    case 'touch':
      return { op: 'touch', region: op.region, offset: op.offset, ...(op.size !== undefined ? { size: op.size } : {}), stride: op.stride, access: op.access };
    case 'madvise':
      return { op: 'madvise', region: op.region, offset: op.offset, ...(op.size !== undefined ? { size: op.size } : {}), advice: op.advice, ...(op.repeat !== undefined ? { repeat: { ...op.repeat } } : {}) };
    case 'munmap':
      return { op: 'munmap', region: op.region, offset: op.offset, ...(op.size !== undefined ? { size: op.size } : {}), ...(op.repeat !== undefined ? { repeat: { ...op.repeat } } : {}) };
  }
}

/**
 * Writes a parsed trace back as trace format v1 text, every op on the line it came from
 * (the lines in between left blank), so that `parseTrace(formatTrace(t))` gives the same
 * ops with the same line numbers.
 */
export function formatTrace(trace: Trace): string {
  const lines: string[] = [];
  for (const op of trace.ops) {
    while (lines.length < op.line - 1) lines.push('');
    lines.push(JSON.stringify(opObject(op)));
  }
  return `${lines.join('\n')}\n`;
}
