import { describe, expect, it } from 'vitest';
import { pteRefCanFree } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

describe('pteRefCanFree', () => {
  it('is the mapped count reaching 0', () => {
    expect(pteRefCanFree(0)).toBe(true);
    expect(pteRefCanFree(1)).toBe(false);
    expect(pteRefCanFree(512)).toBe(false);
  });
});

describe('pte-ref-immediate', () => {
  it('frees each table when its last mapping goes, whatever the zap span, and charges every walker', () => {
    const m = new TestMachine({ policy: 'pte-ref-immediate' });
    expect(m.driver.profile.ptReclaimOnDontneed).toBe(false);
    const mm = m.spawn();
    const base = mm.mmap({ pages: 4 * T, align: T });
    expect(mm.touch(base, 4 * T, 1, true)).toBe(0); // 2048 write faults
    mm.madvise(base, 2 * T, 'dontneed'); // walks 2 tables, frees both
    expect(mm.status().nr_ptes).toBe(2);
    mm.madvise(base + 2 * T, T / 2, 'dontneed'); // walks 1, still half full
    expect(mm.status().nr_ptes).toBe(2);
    const t0 = m.clock.now;
    mm.madvise(base + 2 * T + T / 2, T / 2, 'dontneed'); // walks 1, empties it: freed at once
    expect(mm.status().nr_ptes).toBe(1);
    const r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(3);
    expect(r['pt_reclaim.bytes_freed']).toBe(3 * 4096);
    expect(r['pt_reclaim.immediate_frees']).toBe(3);
    expect(r['tlb.flush_full']).toBe(3);
    expect(r['mmap_lock.write_hold_ns']).toBe(0); // the refcount replaces mmap_lock
    // 2048 faults + 4 PTE tables walked by the zaps, 15 ns each.
    expect(r['pt_reclaim.walker_ns']).toBe((2048 + 4) * 15);
    // The last DONTNEED: mmap_lock for read (20 ns), 256 anonymous pages zapped (105 ns), one walker (15 ns), one table freed (650 ns).
    expect(m.clock.now - t0).toBe(20 + 256 * 105 + 15 + 650);
    // One more fault (a read in the freed range; the written pages need none) is charged at the
    // first tick a simulated ms after the last settle.
    expect(mm.touch(base + 3 * T, 1, 1, false)).toBe(0);
    expect(mm.touch(base, 1, 1, false)).toBe(0);
    m.tick(1, 1_000_000);
    expect(m.driver.report()['pt_reclaim.walker_ns']).toBe((2048 + 4 + 1) * 15);
  });

  // Linux 6.18 keeps that table (native/partial-munmap.c: VmPTE still 4 kB after the munmap).
  it('also frees a table that a partial munmap left empty, which free_pgtables keeps', () => {
    for (const [policy, left] of [['mainline', 1], ['pte-ref-immediate', 0]] as const) {
      const m = new TestMachine({ policy });
      const mm = m.spawn();
      const base = mm.mmap({ pages: 2 * T, align: T });
      expect(mm.touch(base, 256, 1, true)).toBe(0);
      mm.munmap(base, 256); // the rest of the VMA still shares table 0's 2 MiB
      expect([policy, mm.status().nr_ptes]).toEqual([policy, left]);
    }
  });

  it('leaves zero-page tables alone (they are mapped)', () => {
    const m = new TestMachine({ policy: 'pte-ref-immediate' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: 2 * T, align: T });
    expect(mm.touch(base, 2 * T, 1, false)).toBe(0);
    m.tick(2, 1e9);
    expect(mm.status().nr_ptes).toBe(2);
    expect(m.driver.report()['pt_reclaim.pte_tables_freed']).toBe(0);
  });

  it('charges no walker cost with chargeWalkers: false', () => {
    const m = new TestMachine({ policy: 'pte-ref-immediate', params: { chargeWalkers: false } });
    const mm = m.spawn();
    const base = mm.mmap({ pages: T, align: T });
    expect(mm.touch(base, T, 1, true)).toBe(0);
    mm.madvise(base, T, 'dontneed');
    expect(mm.status().nr_ptes).toBe(0);
    expect(m.driver.report()['pt_reclaim.walker_ns']).toBe(0);
  });
});
