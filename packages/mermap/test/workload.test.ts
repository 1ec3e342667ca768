import { describe, expect, it } from 'vitest';
import { DirectMap } from '@kmodel/directmap';
import { formatStrategyTable, runDirectMapStrategies, runUnmappedWorkload, type StrategyMachineFactory } from '@kmodel/mermap';
import { codeOf } from './helpers.js';
import { SeqAllocator } from './seq-allocator.js';

const PUD = 512 * 512;

/** 6 GiB of 1 GiB leaves; mapped pages from 1 GiB up, unmapped pageblocks from 2 GiB up. */
const seqMachine: StrategyMachineFactory = ({ tlb, clock }) => {
  const directMap = new DirectMap({ ram: [{ start: 0, end: 6 * PUD }], tlb, clock });
  const allocator = new SeqAllocator(directMap, PUD, 2 * PUD);
  return { allocator, directMap, metrics: () => ({ ...directMap.metrics(), 'buddy.unmapped_conversions': allocator.conversions }) };
};

describe('N unmapped allocations: exact costs per strategy', () => {
  const { results } = runDirectMapStrategies({ allocations: 1000, nrCpus: 1, createMachine: seqMachine });
  const [a, b, c] = results.map((r) => r.metrics);

  it('(a) direct map: no split, no flush', () => {
    expect(a).toMatchObject({
      'directmap.split_1g': 0, 'directmap.split_2m': 0, 'directmap.kernel_pt_pages': 0, 'directmap.flushes': 0,
      'tlb.flush_single': 0, 'tlb.flush_full': 0, 'mermap.gets': 0, 'tlb.stale_hazards': 0, 'workload.frees': 1000,
    });
    expect(a!.time_ns).toBe(1000 * 250);
  });

  it('(b) per-page removal: a 1G split, a 2M split per 512 pages, one flush per page', () => {
    expect(b).toMatchObject({
      'directmap.split_1g': 1, 'directmap.split_2m': 2, 'directmap.kernel_pt_pages': 3,
      'directmap.flushes': 3 + 1000, 'tlb.flush_single': 1000, 'tlb.flush_full': 3, 'tlb.ipis': 0,
      'mermap.gets': 0, 'tlb.stale_hazards': 0, DirectMap4k: 1024 * 4,
    });
    expect(b!.time_ns).toBe(1000 * 250 + 3 * 2000 + 3 * 3300 + 1000 * 100);
  });

  it('(c) freetype: one 1G split, no 2M split, one full flush per pageblock; zeroing through the mermap', () => {
    expect(c).toMatchObject({
      'buddy.unmapped_conversions': 2,
      'directmap.split_1g': 1, 'directmap.split_2m': 0, 'directmap.kernel_pt_pages': 1, 'directmap.flushes': 3,
      'mermap.gets': 1000, 'mermap.failures': 0, 'mermap.reserved_gets': 0, 'mermap.local_flushes': 1,
      'tlb.flush_single': 0, 'tlb.flush_full': 3 + 1, 'tlb.ipis': 0, DirectMap4k: 0,
    });
    // Entries of gets 513..1000 survive (the wrap flushed 1..511, the second conversion 512): freed unflushed.
    expect(c!['tlb.stale_hazards']).toBe(488);
    expect(results[2]!.hazards[0]!.put.op).toBe('mermap_put');
  });

  it('formats a comparison table', () => {
    const lines = formatStrategyTable(results, ['directmap.split_2m', 'directmap.flushes', 'nope']).split('\n');
    expect(lines[0]).toBe('metric              direct_map  per_page  freetype');
    expect(lines[1]).toBe('directmap.split_2m           0         2         0');
    expect(lines[2]).toBe('directmap.flushes            0      1003         3');
    expect(lines[3]).toBe('nope                         -         -         -');
  });

  it('IPIs scale with CPUs: every flush of (b) reaches the 3 other CPUs', () => {
    const r = runUnmappedWorkload('per_page', seqMachine, { allocations: 1000, nrCpus: 4 });
    expect(r.metrics).toMatchObject({ 'directmap.flushes': 1003, 'tlb.ipis': 1003 * 3, 'tlb.flush_single': 4000, 'tlb.flush_full': 12 });
  });
});

describe('on the pgtable TLB model', () => {
  it('flush and split counts are the same; a finite TLB holds at most as many stale entries', () => {
    const opts = { allocations: 3000, reads: 2000, frees: 500, nrCpus: 2, seed: 4 };
    for (const s of ['per_page', 'freetype'] as const) {
      const exact = runUnmappedWorkload(s, seqMachine, opts).metrics;
      const hw = runUnmappedWorkload(s, seqMachine, { ...opts, tlbModel: 'pgtable' }).metrics;
      for (const k of ['directmap.split_1g', 'directmap.split_2m', 'directmap.flushes', 'tlb.flush_single', 'tlb.ipis', 'mermap.gets', 'mermap.local_flushes']) expect(hw[k], k).toBe(exact[k]);
      expect(hw['tlb.stale_hazards']).toBeGreaterThan(0);
      expect(hw['tlb.stale_hazards']).toBeLessThanOrEqual(exact['tlb.stale_hazards']!);
    }
  });
});

describe('stale-TLB checker modes on the freetype strategy', () => {
  const run = (checker: 'report' | 'flush_on_free' | 'page_flag') =>
    runUnmappedWorkload('freetype', seqMachine, { allocations: 1000, nrCpus: 1, checker }).metrics;

  it('flush on free pays a full flush per free; the page flag pays one; neither leaves a hazard', () => {
    expect(run('flush_on_free')).toMatchObject({ 'tlb.stale_hazards': 0, 'checker.flushes': 1000, 'tlb.flush_full': 4 + 1000 });
    expect(run('page_flag')).toMatchObject({ 'tlb.stale_hazards': 0, 'checker.flushes': 1, 'tlb.flush_full': 4 + 1 });
  });
});

describe('mermap failures under held mappings', () => {
  it('large folios fall back to the reserved page; held mappings fill the slots until even the reserved get fails', () => {
    const r = runUnmappedWorkload('freetype', seqMachine, { allocations: 8, order: 9, nrCpus: 2, seed: 3 });
    // A 512-page folio never fits in the 511 usable pages of a slice.
    expect(r.metrics).toMatchObject({ 'mermap.gets': 8, 'mermap.failures': 8, 'mermap.reserved_gets': 8 * 512, 'workload.reserved_fallbacks': 8 * 512 });
    const held = runUnmappedWorkload('freetype', seqMachine, { allocations: 64, reads: 400, cowFaults: 100, frees: 30, order: 2, maxHold: 12, nrCpus: 2, seed: 5 });
    expect(held.metrics['mermap.failures']).toBeGreaterThan(0);
    expect(held.metrics['mermap.reserved_gets']).toBeGreaterThan(0);
    // With four mappings held on a CPU (tasks preempted under migrate_disable), mermap_get_reserved
    // finds no free slot and returns NULL, despite its "always succeeds" comment.
    expect(held.metrics['mermap.reserved_failures']).toBe(held.metrics['workload.unserved_pages']);
    expect(held.metrics['workload.unserved_pages']).toBeGreaterThan(0);
    const calm = runUnmappedWorkload('freetype', seqMachine, { allocations: 64, reads: 400, cowFaults: 100, frees: 30, order: 2, maxHold: 0, nrCpus: 2, seed: 5 });
    expect(calm.metrics).toMatchObject({ 'mermap.failures': 0, 'mermap.reserved_gets': 0, 'workload.unserved_pages': 0 });
  });

  it('is deterministic for a seed', () => {
    const opts = { allocations: 64, reads: 200, cowFaults: 50, frees: 20, order: 1, maxHold: 6, nrCpus: 3, seed: 9 };
    expect(runUnmappedWorkload('freetype', seqMachine, opts)).toEqual(runUnmappedWorkload('freetype', seqMachine, opts));
  });

  it('rejects bad options with E_BAD_OPTION', () => {
    expect(codeOf(() => runUnmappedWorkload('freetype', seqMachine, { allocations: -1 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => runUnmappedWorkload('bogus' as 'freetype', seqMachine, { allocations: 1 }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => runDirectMapStrategies({ allocations: 1, checker: 'nope' as 'report', createMachine: seqMachine }))).toBe('E_BAD_OPTION');
  });
});
