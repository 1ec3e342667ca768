import { describe, expect, it } from 'vitest';
import {
  BuddyAllocator,
  calculateMinFreeKbytes,
  recommendedMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  x86Layout,
  zoneBatchsize,
} from '@kmodel/buddy';
import { __GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GiB, ZONE_NORMAL } from '@kmodel/core';
import { oneZone } from './helpers.js';

// /proc/zoneinfo of the reference machine (Linux 6.18, 24 GiB VM, THP madvise, vm.min_free_kbytes 67584).
const ZONEINFO = {
  managed: [3840, 772915, 294912, 0],
  min: [60, 12185, 4649, 32],
  low: [75, 15231, 5811, 32],
  high: [90, 18277, 6973, 32],
  promo: [105, 21323, 8135, 32],
  protection: [
    [0, 3019, 4171, 4171],
    [0, 0, 1152, 1152],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ],
};

describe('watermark formulas against the live kernel', () => {
  it('khugepaged raises min_free_kbytes to 67584 kB on a 3-zone machine', () => {
    const lowmem = 3840 + 772915 + 294912;
    expect(recommendedMinFreeKbytes(3, lowmem)).toBe(67584);
  });

  it('calculate_min_free_kbytes follows the table in mm/page_alloc.c', () => {
    // 16 MB: 512k, 64 MB: 1024k, 1 GB: 4096k, 16 GB: 16384k; clamped to [128, 262144].
    expect(calculateMinFreeKbytes(16 * 1024)).toBe(512);
    expect(calculateMinFreeKbytes(64 * 1024)).toBe(1024);
    expect(calculateMinFreeKbytes(1024 * 1024)).toBe(4096);
    expect(calculateMinFreeKbytes(16 * 1024 * 1024)).toBe(16384);
    expect(calculateMinFreeKbytes(100)).toBe(128);
    expect(calculateMinFreeKbytes(2 ** 40)).toBe(262144);
  });

  it('__setup_per_zone_wmarks gives /proc/zoneinfo min/low/high/promo', () => {
    const wm = setupPerZoneWmarks(ZONEINFO.managed, 67584, 10);
    expect(wm.map((w) => w.min)).toEqual(ZONEINFO.min);
    expect(wm.map((w) => w.low)).toEqual(ZONEINFO.low);
    expect(wm.map((w) => w.high)).toEqual(ZONEINFO.high);
    expect(wm.map((w) => w.promo)).toEqual(ZONEINFO.promo);
  });

  it('setup_per_zone_lowmem_reserve gives the protection rows', () => {
    expect(setupPerZoneLowmemReserve(ZONEINFO.managed)).toEqual(ZONEINFO.protection);
  });

  it('an allocator whose zones manage what the live zones manage reports the same watermarks', () => {
    const layout = x86Layout({ memory: 24 * GiB });
    const b = new BuddyAllocator({
      layout,
      // DMA32: memblock reservations (kernel image, initrd, ...) of the live machine; Normal:
      // only the part deferred struct-page init had handed over when the watermarks were set.
      reserved: [
        { start: 4096, end: 4096 + (782336 - 772915) },
        { start: (1 << 20) + 294912, end: layout.endPfn },
      ],
    });
    expect(b.minFreeKbytes).toBe(67584);
    for (const z of [0, 1, 2] as const) {
      const info = b.zoneInfo(z);
      expect(info.managed).toBe(ZONEINFO.managed[z]);
      expect(info.watermarks).toEqual({ min: ZONEINFO.min[z], low: ZONEINFO.low[z], high: ZONEINFO.high[z], promo: ZONEINFO.promo[z] });
      expect(info.protection).toEqual(ZONEINFO.protection[z]);
    }
    // zone_batchsize: 63 on both big zones, as in the pagesets of /proc/zoneinfo.
    expect(b.zoneInfo(1).pcpBatch).toBe(63);
    expect(b.zoneInfo(2).pcpBatch).toBe(63);
    expect(zoneBatchsize(3840)).toBe(0);
  });
});

describe('watermark checks in the allocator', () => {
  it('GFP_KERNEL fails at the min watermark; GFP_ATOMIC dips to 3/8 of it; GFP_NOWAIT stops at min', () => {
    // min_free_kbytes 1024 -> min 256 pages; gap max(64, 4) -> low 320.
    const b = oneZone(4096, { minFreeKbytes: 1024 });
    expect(b.zoneInfo(ZONE_NORMAL).watermarks).toEqual({ min: 256, low: 320, high: 384, promo: 448 });
    let n = 0;
    while (b.allocPages(GFP_KERNEL, 0) !== null) n++;
    // Success while free > min: the last one leaves exactly 256 free.
    expect(n).toBe(4096 - 256);
    expect(b.nrFreePages()).toBe(256);
    // Fast-path failures (free <= low) woke kswapd: allocations at free 320..257, then the failing one.
    expect(b.counters()['buddy.kswapd_wakeups']).toBe(320 - 256 + 1);
    expect(b.counters()['buddy.alloc_failures']).toBe(1);
    expect(b.allocPages(GFP_NOWAIT, 0)).toBeNull();
    // GFP_ATOMIC: __GFP_HIGH halves min (128), non-blocking takes another quarter (96).
    let atomic = 0;
    while (b.allocPages(GFP_ATOMIC, 0) !== null) atomic++;
    expect(atomic).toBe(256 - 96);
    expect(b.nrFreePages()).toBe(96);
    b.checkInvariants();
  });

  it('a high-order request needs a free block of that order above the watermark', () => {
    const b = oneZone(1024);
    // Split everything into order-0 movable pages, free every other one: 512 pages free, none pairable.
    const pages: number[] = [];
    for (let i = 0; i < 1024; i++) pages.push(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!);
    for (let i = 0; i < 1024; i += 2) b.freePages(pages[i]!, 0);
    expect(b.nrFreePages()).toBe(512);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 1)).toBeNull();
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).not.toBeNull();
  });

  it('lowmem_reserve keeps DMA32 for DMA32 requests', () => {
    const b = new BuddyAllocator({
      layout: { endPfn: 16384, zones: [{ zone: 1, start: 0, end: 8192 }, { zone: 2, start: 8192, end: 16384 }], holes: [], reserved: [] },
      pcp: false,
      minFreeKbytes: 0,
    });
    // DMA32 protects 8192 / 256 = 32 pages against requests that may use Normal.
    expect(b.zoneInfo(1).protection).toEqual([0, 0, 32, 32]);
    let n = 0;
    while (b.allocPages(GFP_KERNEL, 0) !== null) n++;
    // DMA32 min 0, low 8: Normal goes to its min (0), DMA32 keeps 32 (low 8 on the fast path, 0 + 32 on the slow path).
    expect(b.zoneInfo(2).free).toBe(0);
    expect(b.zoneInfo(1).free).toBe(32);
    expect(n).toBe(16384 - 32);
    expect(b.allocPages(GFP_KERNEL | __GFP_DMA32, 0)).not.toBeNull();
  });
});
