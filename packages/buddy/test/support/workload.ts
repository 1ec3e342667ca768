import type { BuddyAllocator, BuddyOptions } from '@kmodel/buddy';
import {
  __GFP_ATOMIC_RESERVE,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGH,
  __GFP_RECLAIMABLE,
  __GFP_UNMAPPED,
  GFP_ATOMIC,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  GFP_PGTABLE_USER,
  GFP_TRANSHUGE,
  GFP_TRANSHUGE_LIGHT,
  GiB,
  MiB,
  Rng,
  type DirectMapControl,
  type ZoneType,
} from '@kmodel/core';

/** A direct map that refuses every `failEvery`-th removeRange, so unmap failures happen too. */
class FlakyDirectMap implements DirectMapControl {
  calls = 0;
  constructor(private readonly failEvery: number) {}
  removeRange(): boolean {
    return ++this.calls % this.failEvery !== 0;
  }
  restoreRange(): void {
    this.calls++;
  }
}

const GFPS = [
  GFP_PGTABLE_USER,
  GFP_PGTABLE_USER,
  GFP_HIGHUSER_MOVABLE,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL | __GFP_RECLAIMABLE,
  GFP_KERNEL | __GFP_UNMAPPED,
  GFP_ATOMIC,
  GFP_NOWAIT | __GFP_HIGH | __GFP_ATOMIC_RESERVE,
  GFP_KERNEL | __GFP_DMA32,
  GFP_KERNEL | __GFP_DMA,
  GFP_TRANSHUGE_LIGHT,
  GFP_TRANSHUGE,
];
const ORDERS = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 9, 10];

/** The machines the workload runs on: pcp, CMA, boosting, flaky unmapping, no mobility grouping, ZONE_MOVABLE, a small crowded zone. */
export const WORKLOAD_MACHINES: readonly (() => BuddyOptions)[] = [
  () => ({
    memory: 2 * GiB,
    nrCpus: 2,
    configCma: true,
    cma: [{ start: 0x40000, end: 0x40000 + 4096 }],
    watermarkBoostFactor: 15000,
    directMap: new FlakyDirectMap(7),
  }),
  () => ({
    layout: { endPfn: 2048, zones: [{ zone: 1 as ZoneType, start: 0, end: 2048 }], holes: [], reserved: [] },
    minFreeKbytes: 64,
  }),
  () => ({ memory: 1 * GiB, movable: 256 * MiB, pcp: false, reserved: [{ start: 0x20000, end: 0x20100 }] }),
  () => ({
    layout: { endPfn: 16384, zones: [{ zone: 1 as ZoneType, start: 0, end: 16384 }], holes: [], reserved: [] },
    mobilityGrouping: true,
    minFreeKbytes: 256,
    nrCpus: 3,
  }),
];

/** FNV-1a over a string, as 8 hex digits. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Runs a seeded mix of allocations, frees, CPU switches, drains, isolations, boosts and bad
 * calls on `b`, and returns a trace of every result (pfn, null or error code) followed by the
 * final counters, /proc views and zone summaries. Two allocators that behave alike give the
 * same trace.
 */
export function runWorkload(b: BuddyAllocator, seed: number, steps: number): string {
  const rng = new Rng(seed);
  const held: number[] = [];
  const isolated: number[] = [];
  const out: string[] = [];
  const attempt = (what: string, fn: () => unknown): void => {
    try {
      out.push(`${what}=${String(fn())}`);
    } catch (e) {
      out.push(`${what}!${(e as { code?: string }).code ?? String(e)}`);
    }
  };
  for (let i = 0; i < steps; i++) {
    const r = rng.int(0, 99);
    if (r < 55) {
      const gfp = GFPS[rng.int(0, GFPS.length - 1)]!;
      const order = gfp === GFP_TRANSHUGE_LIGHT || gfp === GFP_TRANSHUGE ? 9 : ORDERS[rng.int(0, ORDERS.length - 1)]!;
      attempt(`a${gfp.toString(16)}/${order}`, () => {
        const p = b.allocPages(gfp, order);
        if (p !== null) held.push(p, order);
        return p;
      });
    } else if (r < 90) {
      if (held.length === 0) continue;
      const k = rng.int(0, held.length / 2 - 1) * 2;
      const [p, o] = held.splice(k, 2) as [number, number];
      // Recorded when the model freed a block larger than a pageblock whole, into its first
      // pageblock's list (before split_large_buddy()): isolation is still undone first so the
      // recorded traces keep their meaning. test/split-large-buddy.test.ts covers that case.
      if (o > 9) while (isolated.length > 0) attempt('undo', () => b.undoIsolatePageblock(isolated.pop()!));
      attempt(`f${p}/${o}`, () => b.freePages(p, o));
    } else if (r < 93) {
      attempt('cpu', () => b.setCpu(rng.int(0, b.nrCpus)));
    } else if (r < 94) {
      attempt('drain', () => b.drainAllPages());
    } else if (r < 96) {
      const pfn = rng.int(0, b.layout.endPfn - 1);
      attempt(`iso${pfn}`, () => {
        const ok = b.isolatePageblock(pfn);
        if (ok) isolated.push(pfn);
        return ok;
      });
      if (rng.int(0, 1) === 0 && isolated.length > 0) attempt('undo', () => b.undoIsolatePageblock(isolated.pop()!));
    } else if (r < 97) {
      attempt('boost', () => b.resetWatermarkBoost());
    } else {
      // Bad calls: the error code and an unchanged allocator are part of the behaviour.
      const bad = rng.int(0, 4);
      if (bad === 0) attempt('badorder', () => b.allocPages(GFP_KERNEL, 11));
      else if (bad === 1) attempt('badgfp', () => b.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_UNMAPPED, 0));
      else if (bad === 2) attempt('badfree', () => b.freePages(held.length > 0 ? held[0]! + 1 : 0, 0));
      else if (bad === 3) attempt('wrongorder', () => (held.length > 0 ? b.freePages(held[0]!, held[1]! + 1) : b.freePages(-1, 0)));
      else attempt('undo-not-isolated', () => b.undoIsolatePageblock(0));
    }
  }
  b.checkInvariants();
  out.push(JSON.stringify(b.counters()), b.buddyinfo(), b.pagetypeinfo());
  for (const z of b.populatedZones()) {
    out.push(JSON.stringify(b.zoneInfo(z)), String(b.pageblocksWithUnmovable(z)), b.extfragIndex(z).join(','), b.pageblockCounts(z).join(','));
  }
  for (let i = 0; i < held.length; i += 2) out.push(`${held[i]}:${b.allocatedOrder(held[i]!)}:${b.pageblockFreetype(held[i]!)}`);
  return out.join('\n');
}
