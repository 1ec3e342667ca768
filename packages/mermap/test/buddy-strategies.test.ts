import { describe, expect, it } from 'vitest';
import { MiB } from '@kmodel/core';
import { BuddyAllocator, x86Layout } from '@kmodel/buddy';
import { DirectMap, ramRangesExcluding } from '@kmodel/directmap';
import { runDirectMapStrategies, type StrategyMachineFactory } from '@kmodel/mermap';

/** The stock machine: buddy with freetypes over an x86 layout, the direct map over the same RAM, one TLB model. */
const buddyMachine =
  (memoryMiB: number): StrategyMachineFactory =>
  ({ tlb, clock, nrCpus }) => {
    const layout = x86Layout({ memory: memoryMiB * MiB });
    const directMap = new DirectMap({ ram: ramRangesExcluding(layout.endPfn, layout.holes), tlb, clock });
    const buddy = new BuddyAllocator({ layout, directMap, nrCpus });
    return { allocator: buddy, directMap, metrics: () => ({ ...directMap.metrics(), ...buddy.counters() }) };
  };

describe('the three strategies on the stock buddy allocator', () => {
  const { results } = runDirectMapStrategies({
    allocations: 2000,
    cowFaults: 300,
    reads: 600,
    frees: 200,
    maxHold: 4,
    nrCpus: 4,
    seed: 7,
    createMachine: buddyMachine(4096),
  });
  const [a, b, c] = results.map((r) => r.metrics) as [Record<string, number>, Record<string, number>, Record<string, number>];

  it('(a) touches neither the direct map nor the mermap', () => {
    expect(a).toMatchObject({ 'directmap.split_1g': 0, 'directmap.split_2m': 0, 'directmap.flushes': 0, 'mermap.gets': 0, 'tlb.ipis': 0, 'tlb.stale_hazards': 0 });
  });

  it('(b) pays one flush per removed page plus one per split, and a page-table page per split', () => {
    const removed = b['workload.allocations']! + b['workload.cow_faults']!;
    const splits = b['directmap.split_1g']! + b['directmap.split_2m']!;
    expect(b['directmap.split_2m']).toBeGreaterThan(0);
    expect(b['directmap.flushes']).toBe(removed + splits);
    expect(b['directmap.kernel_pt_pages']).toBe(splits);
    expect(b['tlb.ipis']).toBe(3 * (removed + splits));
  });

  it('(c) never splits a 2 MiB leaf and flushes once per converted pageblock', () => {
    expect(c['directmap.split_2m']).toBe(0);
    expect(c['buddy.unmapped_conversions']).toBeGreaterThan(0);
    expect(c['directmap.flushes']).toBe(c['buddy.unmapped_conversions']! + c['directmap.split_1g']!);
    expect(c['directmap.flushes']).toBeLessThan(b['directmap.flushes']! / 50);
    expect(c['mermap.gets']).toBeGreaterThan(b['mermap.gets']!);
  });

  it('the stale-TLB checker finds hazards where mermap pages are freed without a flush', () => {
    expect(b['tlb.stale_hazards']).toBeGreaterThan(0);
    expect(c['tlb.stale_hazards']).toBeGreaterThan(0);
    const h = results[2]!.hazards[0]!;
    expect(h.put.seq).toBeLessThan(h.free.seq);
    expect(h.put.pfn).toBeLessThanOrEqual(h.pfn);
  });
});
