import { describe, expect, it } from 'vitest';
import { BuddyAllocator } from '@kmodel/buddy';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_PGTABLE_USER, GFP_TRANSHUGE_LIGHT, MiB, GiB } from '@kmodel/core';

describe('BuddyAllocator basics', () => {
  it('builds the default 24 GiB x86-64 machine with the zones of the reference VM', () => {
    const b = new BuddyAllocator();
    expect(b.populatedZones()).toEqual([0, 1, 2]);
    const dma = b.zoneInfo(0);
    expect([dma.startPfn, dma.spanned, dma.present, dma.managed]).toEqual([1, 4095, 3998, 3840]);
    const dma32 = b.zoneInfo(1);
    expect([dma32.startPfn, dma32.spanned, dma32.present]).toEqual([4096, 1044480, 782336]);
    const normal = b.zoneInfo(2);
    expect([normal.startPfn, normal.spanned, normal.present]).toEqual([1048576, 5505024, 5505024]);
    expect(b.managedPages()).toBe(3840 + 782336 + 5505024);
    expect(b.nrFreePages()).toBe(b.managedPages());
    expect(b.minFreeKbytes).toBe(67584);
    b.checkInvariants();
  });

  it('serves page tables, user pages and THPs and takes them back', () => {
    const b = new BuddyAllocator({ memory: 64 * MiB, pcp: false });
    const before = b.nrFreePages();
    const pt = b.allocPages(GFP_PGTABLE_USER, 0)!;
    const user = b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!;
    const thp = b.allocPages(GFP_TRANSHUGE_LIGHT, 9)!;
    expect(pt).not.toBeNull();
    expect(thp % 512).toBe(0);
    expect(b.nrFreePages()).toBe(before - 514);
    expect(b.allocatedPages()).toBe(514);
    b.checkInvariants();
    b.freePages(pt, 0);
    b.freePages(user, 0);
    b.freePages(thp, 9);
    expect(b.nrFreePages()).toBe(before);
    b.checkInvariants();
  });

  it('handles a 1 GiB machine with pcp lists', () => {
    const b = new BuddyAllocator({ memory: 1 * GiB });
    const pfns: number[] = [];
    for (let i = 0; i < 1000; i++) pfns.push(b.allocPages(GFP_KERNEL, 0)!);
    expect(new Set(pfns).size).toBe(1000);
    b.checkInvariants();
    for (const p of pfns) b.freePages(p, 0);
    b.drainAllPages();
    expect(b.nrFreePages()).toBe(b.managedPages());
    b.checkInvariants();
  });
});
