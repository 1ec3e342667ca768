import { describe, expect, it } from 'vitest';
import { BuddyAllocator, FT_UNMOVABLE_UNMAPPED } from '@kmodel/buddy';
import {
  __GFP_UNMAPPED,
  __GFP_ZERO,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MIGRATE_UNMOVABLE,
  ZONE_NORMAL,
  type DirectMapControl,
} from '@kmodel/core';
import { oneZone, snapshot } from './helpers.js';

/** A DirectMapControl that records its calls and the set of unmapped pages. */
class RecordingDirectMap implements DirectMapControl {
  calls: string[] = [];
  unmapped = new Set<number>();
  refuse = false;
  removeRange(pfn: number, nrPages: number): boolean {
    this.calls.push(`remove ${pfn} ${nrPages}`);
    if (this.refuse) return false;
    for (let i = 0; i < nrPages; i++) this.unmapped.add(pfn + i);
    return true;
  }
  restoreRange(pfn: number, nrPages: number): void {
    this.calls.push(`restore ${pfn} ${nrPages}`);
    for (let i = 0; i < nrPages; i++) this.unmapped.delete(pfn + i);
  }
}

const UNMAPPED = GFP_KERNEL | __GFP_UNMAPPED;

describe('unmapped allocations (freetypes)', () => {
  it('convert one whole free pageblock per DirectMapControl call and serve 512 pages from it', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(4096, { directMap: dm });
    const pages: number[] = [];
    for (let i = 0; i < 512; i++) pages.push(b.allocPages(UNMAPPED, 0)!);
    expect(dm.calls).toEqual(['remove 0 512']);
    expect(b.isPageblockUnmapped(0)).toBe(true);
    expect(b.pageblockMigratetype(0)).toBe(MIGRATE_UNMOVABLE);
    expect(b.pageblockFreetype(0)).toBe(FT_UNMOVABLE_UNMAPPED);
    expect(new Set(pages).size).toBe(512);
    expect(pages.every((p) => p < 512)).toBe(true);
    // The 513th page needs a second pageblock: one more call.
    const next = b.allocPages(UNMAPPED, 0)!;
    expect(next).toBe(512);
    expect(dm.calls).toEqual(['remove 0 512', 'remove 512 512']);
    expect(b.counters()['buddy.unmapped_conversions']).toBe(2);
    b.checkInvariants();
  });

  it('an order-10 unmapped request converts both of its pageblocks', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(2048, { directMap: dm });
    expect(b.allocPages(UNMAPPED | __GFP_ZERO, 10)).toBe(0);
    expect(dm.calls).toEqual(['remove 0 512', 'remove 512 512']);
  });

  it('mapped requests never get unmapped pages, and convert free unmapped pageblocks back when they need them', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(2048, { directMap: dm });
    const unmapped: number[] = [];
    // More than half of the zone, as in the kunit test_alloc_map_unmap.
    for (let i = 0; i < 1536; i++) unmapped.push(b.allocPages(UNMAPPED, 0)!);
    expect(dm.unmapped.size).toBe(1536);
    for (const p of unmapped) expect(dm.unmapped.has(p)).toBe(true);
    for (const p of unmapped) b.freePages(p, 0);
    expect(b.nrFreeBlocks(ZONE_NORMAL, FT_UNMOVABLE_UNMAPPED, 10)).toBe(1);
    expect(b.nrFreeBlocks(ZONE_NORMAL, FT_UNMOVABLE_UNMAPPED, 9)).toBe(1);
    // Now the whole zone mapped: every page handed out must be in the direct map.
    const mapped: number[] = [];
    for (let i = 0; i < 2048; i++) {
      const p = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
      expect(dm.unmapped.has(p)).toBe(false);
      expect(b.isPageblockUnmapped(p)).toBe(false);
      mapped.push(p);
    }
    expect(dm.unmapped.size).toBe(0);
    expect(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBeNull();
    // The order-9 unmapped block goes first, then the order-10 one, one pageblock at a time.
    expect(dm.calls.filter((c) => c.startsWith('restore'))).toEqual(['restore 1024 512', 'restore 0 512', 'restore 512 512']);
    expect(b.counters()['buddy.remapped_conversions']).toBe(3);
    b.checkInvariants();
  });

  it('a refused removeRange fails the allocation and leaves the allocator as it was', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(1024, { directMap: dm });
    dm.refuse = true;
    const before = snapshot(b);
    expect(b.allocPages(UNMAPPED, 0)).toBeNull();
    expect(b.counters()['buddy.unmap_failures']).toBeGreaterThan(0);
    const after = JSON.parse(snapshot(b));
    const was = JSON.parse(before);
    expect(after.free).toEqual(was.free);
    expect(after.blocks).toEqual(was.blocks);
    expect(b.isPageblockUnmapped(0)).toBe(false);
    b.checkInvariants();
  });

  it('an order-10 request refused on its second pageblock restores the first and frees the whole block back', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(2048, { directMap: dm });
    const before = JSON.parse(snapshot(b));
    const remove = dm.removeRange.bind(dm);
    dm.removeRange = (pfn, nrPages) => (pfn % 1024 === 512 ? (dm.calls.push(`refuse ${pfn}`), false) : remove(pfn, nrPages));
    expect(b.allocPages(UNMAPPED, 10)).toBeNull();
    expect(dm.calls.slice(0, 3)).toEqual(['remove 0 512', 'refuse 512', 'restore 0 512']);
    expect(dm.unmapped.size).toBe(0);
    // split_large_buddy() puts both Movable pageblocks back together as one order-10 block.
    const after = JSON.parse(snapshot(b));
    expect(after.free).toEqual(before.free);
    expect(after.free).toEqual(['0/10/2/1', '1024/10/2/1']);
    expect(b.isPageblockUnmapped(0)).toBe(false);
    b.checkInvariants();
  });

  it('with pcp lists, unmapped and mapped pages never share a pcp list', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(8192, { directMap: dm, pcp: true });
    const u = b.allocPages(UNMAPPED, 0)!;
    const k = b.allocPages(GFP_KERNEL, 0)!;
    expect(b.isPageblockUnmapped(u)).toBe(true);
    expect(b.isPageblockUnmapped(k)).toBe(false);
    b.freePages(u, 0);
    // The freed unmapped page sits on the unmapped pcp list: the next mapped request does not get it.
    expect(b.allocPages(GFP_KERNEL, 0)).not.toBe(u);
    expect(b.allocPages(UNMAPPED, 0)).toBe(u);
    b.checkInvariants();
  });

  it('unmapped blocks do not merge with mapped buddies at pageblock order', () => {
    const dm = new RecordingDirectMap();
    const b = oneZone(1024, { directMap: dm });
    const u = b.allocPages(UNMAPPED, 9)!;
    expect(u).toBe(0);
    b.freePages(u, 9);
    // pageblock 0 (unmapped) and 1 (mapped, movable) stay two order-9 blocks.
    expect(b.nrFreeArea(ZONE_NORMAL, 9)).toBe(2);
    expect(b.nrFreeArea(ZONE_NORMAL, 10)).toBe(0);
    b.checkInvariants();
  });

  it('the no-op direct map is the default', () => {
    const b = new BuddyAllocator({ memory: 64 * 1024 * 1024, pcp: false });
    const p = b.allocPages(UNMAPPED, 0)!;
    expect(b.isPageblockUnmapped(p)).toBe(true);
  });
});
