import { parseTrace, TRACE_ADVICES, type TraceOp } from '@kmodel/sim';
import { describe, expect, it } from 'vitest';
import { PLACEMENTS, randomTrace, STYLES } from './support/random-trace.js';

/** The differential sweep (validation/fuzz.ts) relies on every generated trace being valid and runnable. */
describe('randomTrace', () => {
  const traces = Array.from({ length: 300 }, (_, i) => parseTrace(randomTrace(i + 1), `seed-${i + 1}`));
  const ops: TraceOp[] = traces.flatMap((t) => [...t.ops]);

  it('gives the same trace for the same seed, and different traces for different seeds', () => {
    expect(randomTrace(7)).toBe(randomTrace(7));
    expect(randomTrace(7)).not.toBe(randomTrace(8));
  });

  it('starts every trace with a baseline status and places most mappings with addr, some without', () => {
    for (const t of traces) expect(t.ops[0]!.op).toBe('status');
    const mmaps = ops.filter((o) => o.op === 'mmap');
    const unplaced = mmaps.filter((o) => o.addr === undefined).length;
    expect(unplaced).toBeGreaterThan(mmaps.length * 0.05);
    expect(unplaced).toBeLessThan(mmaps.length * 0.3);
  });

  it('uses every op, advice, prot, thp mode and access, and repeat on madvise and munmap', () => {
    const seen = new Set(ops.map((o) => o.op));
    expect([...seen].sort()).toEqual(['madvise', 'mmap', 'munmap', 'status', 'touch']);
    const advices = new Set(ops.flatMap((o) => (o.op === 'madvise' ? [o.advice] : [])));
    expect([...advices].sort()).toEqual([...TRACE_ADVICES].sort());
    const mmaps = ops.flatMap((o) => (o.op === 'mmap' ? [o] : []));
    expect(new Set(mmaps.map((o) => o.prot))).toEqual(new Set(['rw', 'r', 'none']));
    expect(new Set(mmaps.map((o) => o.thp))).toEqual(new Set(['default', 'never', 'always']));
    expect(new Set(ops.flatMap((o) => (o.op === 'touch' ? [o.access] : [])))).toEqual(new Set(['read', 'write']));
    expect(ops.some((o) => o.op === 'madvise' && o.repeat !== undefined)).toBe(true);
    expect(ops.some((o) => o.op === 'munmap' && o.repeat !== undefined)).toBe(true);
  });

  it('straddles a 2 MiB, a 1 GiB and a 512 GiB boundary with its mappings', () => {
    const crosses = (unit: bigint) =>
      ops.some((o) => o.op === 'mmap' && o.addr !== undefined && o.addr / unit !== (o.addr + BigInt(o.size) - 1n) / unit);
    expect(crosses(2n << 20n)).toBe(true);
    expect(crosses(1n << 30n)).toBe(true);
    expect(crosses(512n << 30n)).toBe(true);
    for (const placement of PLACEMENTS) for (const style of STYLES) expect(() => parseTrace(randomTrace(1, { placement, style, ops: 60 }))).not.toThrow();
  });
});
