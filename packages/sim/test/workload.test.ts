import { describe, expect, it } from 'vitest';
import { Rng } from '@kmodel/core';
import { allocatorChurn, parseScenario, parseTrace, sparseScan, traceWorkload, vmBalloonMigration, zeroPageAttack, type WorkOp, type WorkloadSpec } from '@kmodel/sim';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function spec<T extends WorkloadSpec['type']>(yaml: string): Extract<WorkloadSpec, { type: T }> {
  const s = parseScenario(`name: w\nprocesses: [{ name: p }]\nworkloads: [${yaml}]\n`);
  return s.workloads[0] as Extract<WorkloadSpec, { type: T }>;
}

/** Byte offsets every touch op accesses, in order. */
function accesses(ops: WorkOp[]): number[] {
  const out: number[] = [];
  for (const op of ops) if (op.op === 'touch') for (let a = op.offset; a < op.offset + op.size; a += op.stride) out.push(a);
  return out;
}

describe('stock workloads', () => {
  it('zero-page attack: one mmap, then one read per 2 MiB in chunks of 512 reads', () => {
    const w = zeroPageAttack(spec<'zero-page-attack'>('{ type: zero-page-attack, size: 3GiB }'));
    const ops = [...w.ops];
    expect(ops.length).toBe(w.totalOps);
    expect(ops[0]).toEqual({ op: 'mmap', region: 'attack', size: 3 * GiB, align: 2 * MiB, prot: 'r', thp: 'default' });
    expect(ops.length).toBe(1 + 3); // 1536 reads in chunks of 512
    const a = accesses(ops);
    expect(a.length).toBe(1536);
    expect(a[1]! - a[0]!).toBe(2 * MiB);
    expect(a[1535]).toBe(3 * GiB - 2 * MiB);
    expect(ops.slice(1).every((o) => o.op === 'touch' && o.access === 'read')).toBe(true);
  });

  it('VM balloon: fills, DONTNEEDs each chosen 4 KiB page once, then migration reads everything', () => {
    const s = spec<'vm-balloon-migration'>('{ type: vm-balloon-migration, guest_memory: 8MiB, balloon_fraction: 0.5 }');
    const w = vmBalloonMigration(s, new Rng(3));
    const ops = [...w.ops];
    expect(ops.length).toBe(w.totalOps);
    const dontneed = ops.filter((o) => o.op === 'madvise');
    expect(dontneed.length).toBe(1024); // half of 2048 pages
    const offsets = new Set(dontneed.map((o) => (o.op === 'madvise' ? o.offset : -1)));
    expect(offsets.size).toBe(1024);
    expect(dontneed.every((o) => o.op === 'madvise' && o.size === 4096 && o.advice === 'dontneed' && o.offset % 4096 === 0 && o.offset < 8 * MiB)).toBe(true);
    const reads = ops.filter((o) => o.op === 'touch' && o.access === 'read');
    expect(accesses(reads).length).toBe(2048);
    const writes = ops.filter((o) => o.op === 'touch' && o.access === 'write');
    expect(accesses(writes).length).toBe(128); // one per 64 KiB
    // Same seed, same balloon.
    expect([...vmBalloonMigration(s, new Rng(3)).ops]).toEqual(ops);
    expect([...vmBalloonMigration(s, new Rng(4)).ops]).not.toEqual(ops);
  });

  it('allocator churn: writes runs inside the arenas and gives back aligned sub-ranges', () => {
    const s = spec<'allocator-churn'>('{ type: allocator-churn, arenas: 2, arena_size: 64MiB, rounds: 3, touch_per_round: 8MiB, run_size: 2MiB, release_fraction: 1, release_align: 64KiB }');
    const w = allocatorChurn(s, new Rng(1));
    const ops = [...w.ops];
    expect(ops.length).toBe(w.totalOps);
    expect(ops.filter((o) => o.op === 'mmap').map((o) => (o.op === 'mmap' ? o.region : ''))).toEqual(['arena0', 'arena1']);
    const madv = ops.filter((o) => o.op === 'madvise');
    expect(madv.length).toBe(3 * 2 * 4);
    for (const o of madv) {
      if (o.op !== 'madvise') continue;
      expect(o.advice).toBe('dontneed');
      expect(o.offset % (64 * 1024)).toBe(0);
      expect(o.size).toBeGreaterThanOrEqual(MiB);
      expect(o.size).toBeLessThanOrEqual(2 * MiB);
      expect(o.offset + o.size).toBeLessThanOrEqual(64 * MiB);
    }
    expect(accesses(ops).every((a) => a < 64 * MiB && a % (64 * 1024) === 0)).toBe(true);
  });

  it('sparse scan: data pages written at random, then whole-range read passes', () => {
    const w = sparseScan(spec<'sparse-scan'>('{ type: sparse-scan, size: 1GiB, data_pages: 10, passes: 2 }'), new Rng(9));
    const ops = [...w.ops];
    expect(ops.length).toBe(w.totalOps);
    expect(ops.filter((o) => o.op === 'touch' && o.access === 'write').length).toBe(10);
    expect(accesses(ops.filter((o) => o.op === 'touch' && o.access === 'read')).length).toBe(2 * 512);
  });

  it('trace workload: expands repeat into separate calls and keeps status ops', () => {
    const trace = parseTrace(
      [
        '{"op":"status","label":"a"}',
        '{"op":"mmap","region":"h","addr":"0x100000000000","size":"8MiB"}',
        '{"op":"touch","region":"h","offset":"2MiB","stride":"2MiB"}',
        '{"op":"madvise","region":"h","size":"4KiB","advice":"dontneed","repeat":{"count":3,"step":"2MiB"}}',
        '{"op":"status","label":"b"}',
      ].join('\n'),
    );
    const w = traceWorkload(trace);
    const ops = [...w.ops];
    expect(ops.length).toBe(w.totalOps);
    expect(ops).toEqual([
      { op: 'status', label: 'a' },
      { op: 'mmap', region: 'h', size: 8 * MiB, addr: 0x100000000000n, align: 4096, prot: 'rw', thp: 'default' },
      { op: 'touch', region: 'h', offset: 2 * MiB, size: 6 * MiB, stride: 2 * MiB, access: 'read' },
      { op: 'madvise', region: 'h', offset: 0, size: 4096, advice: 'dontneed' },
      { op: 'madvise', region: 'h', offset: 2 * MiB, size: 4096, advice: 'dontneed' },
      { op: 'madvise', region: 'h', offset: 4 * MiB, size: 4096, advice: 'dontneed' },
      { op: 'status', label: 'b' },
    ]);
  });
});
