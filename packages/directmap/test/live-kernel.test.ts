import { describe, expect, it } from 'vitest';
import { DirectMap } from '@kmodel/directmap';

const PUD = 512 * 512;

/**
 * Recorded on Linux 6.18 (x86-64, 2 CPUs, 24 GiB) with test/native/secretmem.c: touching
 * 1000 memfd_secret pages removed each from the direct map (set_direct_map_invalid_noflush).
 *   before: direct_map_level2_splits 4, level3 0 | DirectMap4k 28672 | 2M 2068480 | 1G 25165824
 *   after:  direct_map_level2_splits 44, level3 3 | DirectMap4k 110592 | 2M 5132288 | 1G 22020096
 *   after close (pages restored): unchanged, no collapse.
 * One page: level2 +1, DirectMap4k +2048 kB, DirectMap2M -2048 kB.
 */
describe('split accounting matches the live kernel', () => {
  it('1000 scattered pages over 40 blocks in 3 GiBs: the same counter and meminfo deltas', () => {
    const dm = new DirectMap({ ram: [{ start: 0, end: 26 * PUD }] });
    const before = dm.meminfo();
    // 40 distinct 2 MiB blocks in GiBs 5, 6 and 7 (14 + 13 + 13), 25 pages each.
    const blocks: number[] = [];
    for (const [g, n] of [[5, 14], [6, 13], [7, 13]] as const) for (let i = 0; i < n; i++) blocks.push(g * PUD + i * 7 * 512);
    const pages = blocks.flatMap((b) => Array.from({ length: 25 }, (_, i) => b + i * 3));
    expect(pages.length).toBe(1000);
    for (const p of pages) dm.removeRange(p, 1);
    const after = dm.meminfo();
    expect(dm.vmstat()).toMatchObject({ direct_map_level2_splits: 40, direct_map_level3_splits: 3 });
    expect(after.DirectMap4k - before.DirectMap4k).toBe(110592 - 28672);
    expect(after.DirectMap2M - before.DirectMap2M).toBe(5132288 - 2068480);
    expect(after.DirectMap1G - before.DirectMap1G).toBe(22020096 - 25165824);
    for (const p of pages) dm.restoreRange(p, 1);
    expect(dm.meminfo()).toEqual(after);
    expect(dm.vmstat().direct_map_level2_collapses).toBe(0);
  });
});
