import { describe, expect, it } from 'vitest';
import { TABLE_SPAN as T, TestMachine } from './support/machine.js';

/**
 * The sequence of `native/dontneed-sequence.c`, run on this machine (Linux 6.18.44, x86-64,
 * CONFIG_PT_RECLAIM=y). Its VmPTE deltas, in PTE tables (4 kB each), were:
 *   written 64 tables 64 | DONTNEED 16 whole 2 MiB 48 | 16 tables in 1 MiB halves 48 |
 *   MADV_FREE 16 tables 48 | DONTNEED [47 x 2M + 4K, 64 x 2M) 32 |
 *   sparse read of 64 tables 64 | dense read 64 | DONTNEED of the zero-only tables 0.
 * The `mainline` policy must give the same numbers, and `none` (6.13) must keep every table.
 */
function run(policy: string): number[] {
  const m = new TestMachine({ policy });
  const mm = m.spawn();
  const out: number[] = [];
  const ptes = () => out.push(mm.status().nr_ptes);
  const p = mm.mmap({ pages: 64 * T, align: T });
  mm.touch(p, 64 * T, 1, true);
  ptes();
  mm.madvise(p, 16 * T, 'dontneed');
  ptes();
  for (let t = 16; t < 32; t++) {
    mm.madvise(p + t * T, T / 2, 'dontneed');
    mm.madvise(p + t * T + T / 2, T / 2, 'dontneed');
  }
  ptes();
  mm.madvise(p + 32 * T, 16 * T, 'free');
  ptes();
  mm.madvise(p + 47 * T + 1, 17 * T - 1, 'dontneed');
  ptes();
  const q = mm.mmap({ pages: 64 * T, align: T });
  const base = mm.status().nr_ptes;
  mm.touch(q, 64 * T, T, false);
  out.push(mm.status().nr_ptes - base);
  mm.touch(q, 64 * T, 1, false);
  out.push(mm.status().nr_ptes - base);
  mm.madvise(q, 64 * T, 'dontneed');
  out.push(mm.status().nr_ptes - base);
  return out;
}

describe('MADV_DONTNEED and page tables on Linux 6.18', () => {
  it('mainline gives the live kernel numbers', () => {
    expect(run('mainline')).toEqual([64, 48, 48, 48, 32, 64, 64, 0]);
  });

  it('none keeps every table, like 6.13', () => {
    expect(run('none')).toEqual([64, 64, 64, 64, 64, 64, 64, 64]);
  });

  it('pte-ref-immediate also frees the tables emptied in halves', () => {
    expect(run('pte-ref-immediate')).toEqual([64, 48, 32, 32, 16, 64, 64, 0]);
  });
});
