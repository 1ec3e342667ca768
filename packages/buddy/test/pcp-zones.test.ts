import { describe, expect, it } from 'vitest';
import { BuddyAllocator } from '@kmodel/buddy';
import {
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_PGTABLE_KERNEL,
  GFP_PGTABLE_USER,
  GiB,
  MiB,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NORMAL,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_UNMAPPED,
  __GFP_ZERO,
  ZONE_DMA,
  type DirectMapControl,
} from '@kmodel/core';
import { oneZone } from './helpers.js';

describe('per-CPU page lists', () => {
  it('refill a batch of 63 on the first order-0 allocation and keep freed pages', () => {
    const b = new BuddyAllocator({ memory: 1 * GiB });
    expect(b.zoneInfo(ZONE_DMA32).pcpBatch).toBe(63);
    const free0 = b.nrFreePages();
    const p = b.allocPages(GFP_PGTABLE_USER, 0)!;
    expect(b.nrFreePages()).toBe(free0 - 63);
    expect(b.pcpPages()).toBe(62);
    b.freePages(p, 0);
    expect(b.pcpPages()).toBe(63);
    // LIFO: the page just freed is the next one handed out.
    expect(b.allocPages(GFP_PGTABLE_USER, 0)).toBe(p);
    b.freePages(p, 0);
    b.drainAllPages();
    expect(b.pcpPages()).toBe(0);
    expect(b.nrFreePages()).toBe(free0);
    b.checkInvariants();
  });

  it('double the refill after a refill without frees (alloc_factor), and halve it on a free', () => {
    const b = new BuddyAllocator({ memory: 1 * GiB });
    const held: number[] = [];
    for (let i = 0; i < 63; i++) held.push(b.allocPages(GFP_KERNEL, 0)!);
    expect(b.pcpPages()).toBe(0);
    held.push(b.allocPages(GFP_KERNEL, 0)!);
    expect(b.pcpPages()).toBe(126 - 1);
    for (let i = 0; i < 125; i++) held.push(b.allocPages(GFP_KERNEL, 0)!);
    b.freePages(held.pop()!, 0); // alloc_factor 2 -> 1
    b.allocPages(GFP_KERNEL, 0); // takes the freed page back
    expect(b.pcpPages()).toBe(0);
    b.allocPages(GFP_KERNEL, 0);
    expect(b.pcpPages()).toBe(126 - 1);
    b.checkInvariants();
  });

  it('drain a batch to the buddy lists when the count reaches pcp->high', () => {
    const b = new BuddyAllocator({ memory: 1 * GiB });
    const { pcpHigh, pcpBatch } = b.zoneInfo(ZONE_DMA32);
    const held: number[] = [];
    for (let i = 0; i < pcpHigh + 100; i++) held.push(b.allocPages(GFP_KERNEL, 0)!);
    b.drainAllPages();
    for (let i = 0; i < pcpHigh - 1; i++) b.freePages(held[i]!, 0);
    expect(b.pcpPages()).toBe(pcpHigh - 1);
    b.freePages(held[pcpHigh - 1]!, 0);
    // count reached high: free_pcppages_bulk freed one batch from the list tail.
    expect(b.pcpPages()).toBe(pcpHigh - pcpBatch);
    b.checkInvariants();
  });

  it('keep separate lists per CPU', () => {
    const b = oneZone(8192, { pcp: true, nrCpus: 2 });
    b.setCpu(0);
    const a = b.allocPages(GFP_KERNEL, 0)!;
    b.freePages(a, 0);
    b.setCpu(1);
    const c = b.allocPages(GFP_KERNEL, 0)!;
    expect(c).not.toBe(a);
    b.setCpu(0);
    expect(b.allocPages(GFP_KERNEL, 0)).toBe(a);
    b.checkInvariants();
  });
});

describe('zones', () => {
  it('ZONE_MOVABLE takes movable allocations first and never unmovable ones', () => {
    const b = new BuddyAllocator({ memory: 6 * GiB, movable: 1 * GiB, pcp: false });
    const mov = b.zoneInfo(ZONE_MOVABLE);
    expect(mov.endPfn - mov.startPfn).toBe(262144);
    expect(b.zoneInfo(ZONE_NORMAL).endPfn).toBe(mov.startPfn);
    // The Movable zone's min watermark: managed/1024 clamped to [32, 128].
    expect(mov.watermarks.min).toBe(128);
    expect(b.zoneOf(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!)).toBe(ZONE_MOVABLE);
    expect(b.zoneOf(b.allocPages(GFP_PGTABLE_USER, 0)!)).toBe(ZONE_NORMAL);
    expect(b.zoneOf(b.allocPages(GFP_KERNEL | __GFP_DMA32, 0)!)).toBe(ZONE_DMA32);
    expect(b.zoneOf(b.allocPages(GFP_KERNEL | __GFP_DMA, 0)!)).toBe(ZONE_DMA);
  });

  it('spill to lower zones when the preferred one is at its watermark', () => {
    const b = new BuddyAllocator({ memory: 4 * GiB + 64 * MiB, pcp: false });
    const normal = b.zoneInfo(ZONE_NORMAL);
    expect(normal.managed).toBe(((1024 + 64) * MiB) / 4096);
    let inNormal = 0;
    let p: number;
    while (b.zoneOf((p = b.allocPages(GFP_PGTABLE_USER, 0)!)) === ZONE_NORMAL) inNormal++;
    expect(b.zoneOf(p)).toBe(ZONE_DMA32);
    // Normal stopped at its low watermark (fast path) and DMA32 took over.
    expect(b.zoneInfo(ZONE_NORMAL).free).toBe(normal.watermarks.low);
    expect(inNormal).toBe(normal.managed - normal.watermarks.low);
  });
});

describe('a DirectMapControl that allocates page tables while removing a range', () => {
  it('never receives pages of the pageblock being converted', () => {
    let b!: BuddyAllocator;
    const tables: number[] = [];
    const dm: DirectMapControl = {
      removeRange(pfn, nr) {
        // Splitting a direct-map leaf needs a kernel page table.
        const t = b.allocPages(GFP_PGTABLE_KERNEL, 0)!;
        expect(t < pfn || t >= pfn + nr).toBe(true);
        tables.push(t);
        return true;
      },
      restoreRange() {},
    };
    b = oneZone(4096, { directMap: dm, pcp: true });
    const u: number[] = [];
    for (let i = 0; i < 1500; i++) u.push(b.allocPages(GFP_KERNEL | __GFP_UNMAPPED, 0)!);
    expect(tables.length).toBe(b.counters()['buddy.unmapped_conversions']);
    for (const p of u) expect(b.isPageblockUnmapped(p)).toBe(true);
    for (const t of tables) expect(b.isPageblockUnmapped(t)).toBe(false);
    b.checkInvariants();
  });
});

describe('page-table placement (the scenario of bench/live/pagetable-placement.c)', () => {
  it('page tables claim whole 4 MiB blocks and never pollute movable pageblocks on a fresh machine', () => {
    const b = new BuddyAllocator({ nrCpus: 2 });
    for (let i = 0; i < 100_000; i++) {
      if (i % 512 === 0) b.allocPages(GFP_PGTABLE_USER, 0);
      b.allocPages(GFP_PGTABLE_USER, 0);
      b.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_ZERO, 0);
    }
    // 100196 table pages plus the pcp stock fill 100 claimed order-10 blocks = 200 pageblocks.
    expect(b.pageblockCounts(ZONE_NORMAL).slice(0, 3)).toEqual([200, 10552, 0]);
    expect(b.counters()).toMatchObject({ 'buddy.claims': 100, 'buddy.steals': 0, 'buddy.movable_blocks_polluted': 0 });
  });
});

describe('offlining queries', () => {
  it('report which ranges hold unmovable allocations', () => {
    const b = new BuddyAllocator({ memory: 6 * GiB, movable: 1 * GiB, pcp: false });
    const mov = b.zoneInfo(ZONE_MOVABLE);
    const user = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const table = b.allocPages(GFP_PGTABLE_USER, 0)!;
    expect(b.pageblockContents(user)).toEqual({ movable: 1, unmovable: 0 });
    expect(b.pageblockContents(table)).toEqual({ movable: 0, unmovable: 1 });
    // ZONE_MOVABLE can always be offlined; the Normal block holding the page table cannot.
    expect(b.hasUnmovablePages(mov.startPfn, mov.endPfn)).toBe(false);
    expect(b.hasUnmovablePages(table & ~511, (table & ~511) + 512)).toBe(true);
    expect(b.pageblocksWithUnmovable(ZONE_NORMAL)).toBe(1);
    expect(b.pageblocksWithUnmovable(ZONE_MOVABLE)).toBe(0);
    expect(() => b.hasUnmovablePages(10, 5)).toThrow(/E_BAD_PFN/);
  });
});

describe('pageblock isolation (MIGRATE_ISOLATE)', () => {
  it('takes a movable pageblock out of use and gives it back merged', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: true });
    const dma32 = b.zoneInfo(ZONE_DMA32);
    const pfn = dma32.startPfn;
    const free0 = b.nrFreePages();
    expect(b.isolatePageblock(pfn)).toBe(true);
    expect(b.pageblockMigratetype(pfn)).toBe(5);
    expect(b.nrFreeBlocks(ZONE_DMA32, 5, 9)).toBe(1);
    // Its former order-10 buddy half stays allocatable as an order-9 block.
    expect(b.nrFreeBlocks(ZONE_DMA32, 1, 9)).toBe(1);
    expect(b.pagetypeinfo().split('\n')).toContain('Node 0, zone    DMA32            0           23            0            0            1 ');
    expect(b.pageblockCounts(ZONE_DMA32)[5]).toBe(1);
    expect(b.nrFreePages()).toBe(free0);
    // Allocate everything else: nothing comes from the isolated block.
    const got: number[] = [];
    for (let p; (p = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)) !== null; ) got.push(p);
    expect(got.some((p) => p >= pfn && p < pfn + 512)).toBe(false);
    expect(b.isolatePageblock(pfn)).toBe(false);
    for (const p of got) b.freePages(p, 0);
    b.undoIsolatePageblock(pfn);
    b.drainAllPages();
    expect(b.pageblockMigratetype(pfn)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_DMA32, 5, 9)).toBe(0);
    expect(b.nrFreePages()).toBe(b.managedPages());
    b.checkInvariants();
  });

  it('keeps pages freed into an isolated pageblock on the Isolate lists', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: true });
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    // Movable pages do not block isolation (they could be migrated away).
    expect(b.isolatePageblock(p)).toBe(true);
    const zone = b.zoneOf(p) as 0 | 1 | 2 | 3;
    const isolatedFree = () => Array.from({ length: 11 }, (_, o) => b.nrFreeBlocks(zone, 5, o) << o).reduce((a, c) => a + c, 0);
    expect(isolatedFree()).toBe(511);
    const pcpBefore = b.pcpPages();
    b.freePages(p, 0);
    // Freed straight to the buddy (not the pcp list), onto the Isolate list of its pageblock.
    expect(b.pcpPages()).toBe(pcpBefore);
    expect(isolatedFree()).toBe(512);
    expect(b.nrFreeBlocks(zone, 5, 9)).toBe(1);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).not.toBe(p);
    b.undoIsolatePageblock(p);
    b.checkInvariants();
  });

  it('splits a free 4 MiB block of two isolated pageblocks when one is given back', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: false });
    const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const pfn = p & ~1023;
    expect(b.isolatePageblock(pfn)).toBe(true);
    expect(b.isolatePageblock(pfn + 512)).toBe(true);
    // Freeing p merges the two isolated halves into one order-10 block on the Isolate list.
    b.freePages(p, 0);
    expect(b.nrFreeBlocks(ZONE_DMA32, 5, 10)).toBe(1);
    b.checkInvariants();
    b.undoIsolatePageblock(pfn + 512);
    expect(b.nrFreeBlocks(ZONE_DMA32, 5, 9)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_DMA32, 1, 9)).toBe(1);
    expect(b.pageblockMigratetype(pfn)).toBe(5);
    expect(b.pageblockMigratetype(pfn + 512)).toBe(1);
    b.checkInvariants();
    b.undoIsolatePageblock(pfn);
    // Back to twelve free 4 MiB Movable blocks in DMA32.
    expect(b.nrFreeBlocks(ZONE_DMA32, 1, 10)).toBe(12);
    b.checkInvariants();
  });

  it('refuses pageblocks with unmovable allocations, and undo of a block that is not isolated', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: false });
    const t = b.allocPages(GFP_PGTABLE_USER, 0)!;
    expect(b.isolatePageblock(t)).toBe(false);
    expect(b.pageblockMigratetype(t)).toBe(0);
    expect(() => b.undoIsolatePageblock(t)).toThrow(/E_NOT_ISOLATED/);
    // The DMA pageblock at PFN 0 starts before its zone: refused like prep_move_freepages_block.
    expect(b.isolatePageblock(300)).toBe(false);
    b.checkInvariants();
  });
});
