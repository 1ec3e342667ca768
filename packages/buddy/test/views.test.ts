import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BuddyAllocator,
  buddyinfo,
  contigPageInfo,
  extfragIndexText,
  fragmentationIndexOf,
  pagetypeinfo,
  unusableIndexOf,
  unusableIndexText,
} from '@kmodel/buddy';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, ZONE_NORMAL, __GFP_RECLAIMABLE } from '@kmodel/core';
import { oneZone } from './helpers.js';

const SAMPLES = new URL('./fixtures/', import.meta.url);
const sampleBuddyinfo = readFileSync(new URL('proc-buddyinfo.txt', SAMPLES), 'utf8');
const samplePagetypeinfo = readFileSync(new URL('proc-pagetypeinfo.txt', SAMPLES), 'utf8');

/** A line with every right-aligned number replaced by a marker, keeping column positions. */
const shape = (line: string) => line.replace(/ +\d+ /g, (m) => `${'_'.repeat(m.length - 2)}N `);

describe('/proc/buddyinfo and /proc/pagetypeinfo', () => {
  const b = new BuddyAllocator();

  it('a fresh 24 GiB x86-64 machine prints the reference DMA zone line for line', () => {
    const ours = buddyinfo(b).split('\n');
    expect(ours[0]).toBe(sampleBuddyinfo.split('\n')[0]);
    const sample = samplePagetypeinfo.split('\n');
    const mine = pagetypeinfo(b).split('\n');
    // Header, the five DMA rows and the DMA block-count row are identical to the live kernel's.
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 20, 21]) expect(mine[i]).toBe(sample[i]);
  });

  it('every line has the kernel layout (same count, widths, trailing spaces)', () => {
    const bi = buddyinfo(b);
    const pti = pagetypeinfo(b);
    expect(bi.split('\n').length).toBe(sampleBuddyinfo.split('\n').length);
    expect(pti.split('\n').length).toBe(samplePagetypeinfo.split('\n').length);
    expect(bi.split('\n').map(shape)).toEqual(sampleBuddyinfo.split('\n').map(shape));
    expect(pti.split('\n').map(shape)).toEqual(samplePagetypeinfo.split('\n').map(shape));
    expect(pti.endsWith(' \n')).toBe(true);
  });

  it('prints exactly this text for a fixture machine', () => {
    const f = oneZone(2048);
    const u = f.allocPages(GFP_KERNEL, 0)!; // claims block 0-1023 for Unmovable
    f.allocPages(GFP_KERNEL | __GFP_RECLAIMABLE, 3); // claims 1024-2047 for Reclaimable
    f.freePages(u, 0);
    expect(buddyinfo(f)).toBe('Node 0, zone   Normal      0      0      0      1      1      1      1      1      1      1      1 \n');
    expect(pagetypeinfo(f)).toBe(
      [
        'Page block order: 9',
        'Pages per block:  512',
        '',
        'Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 ',
        'Node    0, zone   Normal, type    Unmovable      0      0      0      0      0      0      0      0      0      0      1 ',
        'Node    0, zone   Normal, type      Movable      0      0      0      0      0      0      0      0      0      0      0 ',
        'Node    0, zone   Normal, type  Reclaimable      0      0      0      1      1      1      1      1      1      1      0 ',
        'Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 ',
        'Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 ',
        '',
        'Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate ',
        'Node 0, zone   Normal            2            0            2            0            0 ',
        '',
      ].join('\n'),
    );
  });

  it('adds the CMA column with CONFIG_CMA', () => {
    const c = oneZone(2048, { configCma: true, cma: [{ start: 1024, end: 2048 }] });
    const lines = pagetypeinfo(c).split('\n');
    expect(lines[8]).toBe('Node    0, zone   Normal, type          CMA      0      0      0      0      0      0      0      0      0      0      1 ');
    expect(lines[11]).toBe('Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate ');
    expect(lines[12]).toBe('Node 0, zone   Normal            0            2            0            0            2            0 ');
    // Movable requests use CMA once the zone's other movable memory is gone; others never do.
    const got: number[] = [];
    for (let i = 0; i < 1024; i++) got.push(c.allocPages(GFP_KERNEL, 0) ?? -1);
    expect(got.filter((p) => p >= 1024)).toEqual([]);
    expect(c.allocPages(GFP_HIGHUSER_MOVABLE, 0)).toBeGreaterThanOrEqual(1024);
    c.checkInvariants();
  });
});

describe('fragmentation and unusable index (mm/vmstat.c)', () => {
  it('follows __fragmentation_index on hand-made layouts', () => {
    // Nothing free: 0. A suitable block: -1000.
    expect(fragmentationIndexOf({ freePages: 0, freeBlocksTotal: 0, freeBlocksSuitable: 0 }, 3)).toBe(0);
    expect(fragmentationIndexOf({ freePages: 8, freeBlocksTotal: 1, freeBlocksSuitable: 1 }, 3)).toBe(-1000);
    // 100 order-0 blocks, order-2 request: 1000 - (1000 + 25000) / 100 = 740.
    expect(fragmentationIndexOf({ freePages: 100, freeBlocksTotal: 100, freeBlocksSuitable: 0 }, 2)).toBe(740);
    // 4 order-2 + 8 order-0 blocks, order-3 request: 1000 - (1000 + 3000) / 12 = 667.
    expect(fragmentationIndexOf({ freePages: 24, freeBlocksTotal: 12, freeBlocksSuitable: 0 }, 3)).toBe(667);
    // One order-0 block for an order-10 request: memory shortage, 1000 - (1000 + 0) / 1 = 0.
    expect(fragmentationIndexOf({ freePages: 1, freeBlocksTotal: 1, freeBlocksSuitable: 0 }, 10)).toBe(0);
    expect(unusableIndexOf({ freePages: 0, freeBlocksTotal: 0, freeBlocksSuitable: 0 }, 0)).toBe(1000);
    expect(unusableIndexOf({ freePages: 24, freeBlocksTotal: 12, freeBlocksSuitable: 4 }, 2)).toBe(333);
  });

  it('is computed from the zone free areas', () => {
    const b = oneZone(1024);
    const pages: number[] = [];
    for (let i = 0; i < 1024; i++) pages.push(b.allocPages(GFP_HIGHUSER_MOVABLE, 0)!);
    for (let i = 0; i < 1024; i += 2) b.freePages(pages[i]!, 0);
    const info = contigPageInfo(b, ZONE_NORMAL, 1);
    expect(info).toEqual({ freePages: 512, freeBlocksTotal: 512, freeBlocksSuitable: 0 });
    // 1000 - (1000 + 512000 / 2) / 512 = 1000 - 501 = 499.
    expect(fragmentationIndexOf(info, 1)).toBe(499);
    expect(fragmentationIndexOf(contigPageInfo(b, ZONE_NORMAL, 0), 0)).toBe(-1000);
    expect(unusableIndexOf(info, 1)).toBe(1000);
    expect(unusableIndexOf(contigPageInfo(b, ZONE_NORMAL, 0), 0)).toBe(0);
    // Order 3: 1000 - (1000 + 512000 / 8) / 512 = 1000 - 126 = 874, and so on.
    expect(extfragIndexText(b)).toBe(
      'Node 0, zone   Normal -1.000  0.499  0.749  0.874  0.936  0.967  0.983  0.991  0.995  0.997  0.998 \n',
    );
    expect(b.fragmentationIndex(ZONE_NORMAL, 3)).toBe(874);
    expect(b.unusableIndex(ZONE_NORMAL, 1)).toBe(1000);
    expect(b.extfragIndex(ZONE_NORMAL)).toEqual([-1000, 499, 749, 874, 936, 967, 983, 991, 995, 997, 998]);
    expect(b.buddyinfo()).toBe('Node 0, zone   Normal    512      0      0      0      0      0      0      0      0      0      0 \n');
    expect(unusableIndexText(b)).toBe('Node 0, zone   Normal 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n');
  });
});
