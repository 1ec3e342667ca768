import { describe, expect, it } from 'vitest';
import { pmdTableReclaimable } from '@kmodel/reclaim';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

const GIB = 512 * T;

describe('pmdTableReclaimable', () => {
  it('needs a PMD table with no entry', () => {
    expect(pmdTableReclaimable(0)).toBe(true);
    expect(pmdTableReclaimable(1)).toBe(false);
  });
});

describe('pmd-level', () => {
  it('frees the PMD table that PT_RECLAIM at MADV_DONTNEED left empty', () => {
    const m = new TestMachine({ policy: 'pmd-level' });
    expect(m.driver.profile.ptReclaimOnDontneed).toBe(true);
    const mm = m.spawn();
    const base = mm.mmap({ pages: GIB, align: GIB });
    expect(mm.touch(base, 1, 1, true)).toBe(0);
    expect(mm.touch(base + 100 * T, 1, 1, true)).toBe(0);
    expect(mm.status()).toMatchObject({ nr_ptes: 2, nr_pmds: 1, nr_puds: 1 });
    const t0 = m.clock.now;
    const flushes = m.tlb.full;
    mm.madvise(base, GIB, 'dontneed');
    expect(mm.status()).toMatchObject({ nr_ptes: 0, nr_pmds: 0, nr_puds: 1 });
    const r = m.driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBe(2);
    expect(r['pt_reclaim.pmd_tables_freed']).toBe(1);
    expect(r['pt_reclaim.pmd_level_frees']).toBe(1);
    expect(r['pt_reclaim.bytes_freed']).toBe(3 * 4096);
    expect(r['tlb.flush_full']).toBe(1);
    // The DONTNEED's own flush plus the PMD table's.
    expect(m.tlb.full - flushes).toBe(2);
    // madvise: mmap_lock read (20), 2 anonymous pages (105), 2 tables (650); then the PMD free: write lock (50) + free (650).
    expect(m.clock.now - t0).toBe(20 + 2 * 105 + 2 * 650 + 50 + 650);
    expect(m.driver.counters()['pt_reclaim.pmd_tables_freed']).toBe(1);
    expect(m.driver.counters()['pt_reclaim.bytes_freed']).toBe(4096);
    // A fault there recreates both levels: two refaults.
    expect(mm.touch(base, 1, 1, false)).toBe(0);
    expect(m.driver.report()['pt_reclaim.refaults']).toBe(2);
    expect(m.driver.report()['pt_reclaim.refault_ns']).toBe(2 * 1100);
  });

  it('keeps a PMD table that still holds a PTE table', () => {
    const m = new TestMachine({ policy: 'pmd-level' });
    const mm = m.spawn();
    const base = mm.mmap({ pages: GIB, align: GIB });
    expect(mm.touch(base, 1, 1, true)).toBe(0);
    expect(mm.touch(base + T, 1, 1, true)).toBe(0);
    mm.madvise(base, T, 'dontneed');
    expect(mm.status()).toMatchObject({ nr_ptes: 1, nr_pmds: 1 });
    expect(m.driver.report()['pt_reclaim.pmd_tables_freed']).toBe(0);
  });

  it('extends other policies: reclaim-path frees the PMD tables it empties', () => {
    const m = new TestMachine({ policy: 'reclaim-path+pmd-level', params: { 'pmd-level': { dontneed: false } } });
    expect(m.driver.profile.ptReclaimOnDontneed).toBe(false);
    const mm = m.spawn();
    const base = mm.mmap({ pages: GIB, align: GIB });
    expect(mm.touch(base, 2 * T, T, true)).toBe(0);
    mm.madvise(base, 2 * T, 'dontneed');
    expect(mm.status()).toMatchObject({ nr_ptes: 2, nr_pmds: 1 });
    expect(m.driver.reclaim(null, 1 << 20)).toBe(2 * 4096);
    expect(mm.status()).toMatchObject({ nr_ptes: 0, nr_pmds: 0 });
  });
});
