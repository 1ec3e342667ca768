import { describe, expect, it } from 'vitest';
import { TABLE_SPAN as T } from './support/machine.js';
import { ALL, allocatorChurn, zeroPageAttack } from './support/workloads.js';

const MiB = 1 << 20;

describe('the zero-page attack, no limit: 2048 tables of one zero entry each (4 GiB read one byte per 2 MiB)', () => {
  const results = Object.fromEntries(
    ALL.map((policy) => {
      const r = zeroPageAttack({ policy }, { tables: 2048, dense: false, chunk: 64 });
      r.machine.tick(1, 10_000_000); // one more round of periodic work
      r.machine.driver.reclaim(null, 64 * MiB); // one pressure event for the reclaim-path
      return [policy, r];
    }),
  );
  const freed = (p: string) => results[p]!.machine.driver.report()['pt_reclaim.pte_tables_freed'];

  it('only the zero-page scanner gets those tables back', () => {
    for (const p of ALL) expect([p, freed(p)]).toEqual([p, p === 'zero-scan' ? expect.any(Number) : 0]);
    // The scanner frees all it finds whenever a check sees the attacker over the 1 MiB floor; the
    // 192 tables read after the last such check (768 KiB) stay under the floor.
    expect(freed('zero-scan')).toBe(1856);
    expect(results['zero-scan']!.attacker.status().nr_ptes).toBe(192);
    // 2048 PTE tables, 4 PMD tables (the range is 1 GiB aligned), 1 PUD table.
    expect(results['none']!.attacker.status().VmPTE).toBe(2048 * 4 + 4 * 4 + 4);
  });

  it('zero-scan costs scan work only after its trigger fires', () => {
    const { samples } = results['zero-scan']!;
    // Checks run every 10 ms (every tenth tick here); a tick scans only when the attacker holds 1 MiB of tables.
    const scans = samples.filter((s) => s.scanNs > 0);
    expect(scans.length).toBe(3);
    for (const s of scans) expect(s.pgtables).toBeGreaterThanOrEqual(MiB);
    expect(samples.findIndex((s) => s.scanNs > 0)).toBe(10);
    for (const s of samples) if (s.pgtables < MiB) expect(s.scanNs).toBe(0);
    // free-ptes would walk every process at each write (every 100 ms, not reached here); the others never scan.
    for (const p of ALL) if (p !== 'zero-scan') expect([p, results[p]!.machine.driver.report()['pt_reclaim.scan_ns']]).toEqual([p, 0]);
  });

  it('throttling slows the attacker down instead', () => {
    const time = (p: string) => results[p]!.machine.clock.now;
    // 2048 - 256 allocations at 10,000 per simulated second beyond the burst: about 0.18 s of delays.
    expect(results['throttle']!.machine.driver.report()['pt_reclaim.throttle_delay_ns']).toBeGreaterThan(0);
    expect(time('throttle')).toBeGreaterThan(time('none'));
  });
});

describe('the zero-page attack, dense: 512 zero-only tables (1 GiB read in full)', () => {
  const results = Object.fromEntries(
    ALL.map((policy) => {
      const r = zeroPageAttack({ policy, params: policy === 'free-ptes' ? { intervalNs: 50_000_000 } : {} }, { tables: 512, dense: true, chunk: 128 });
      r.machine.driver.reclaim(null, 64 * MiB);
      return [policy, r.machine.driver.report()];
    }),
  );

  it('mainline frees nothing for zero-only tables; the RFC-style policies free them all', () => {
    expect(results['none']!['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(results['mainline']!['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(results['pmd-level']!['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(results['pte-ref-immediate']!['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(results['reclaim-path']!['pt_reclaim.pte_tables_freed']).toBe(512);
    expect(results['free-ptes']!['pt_reclaim.pte_tables_freed']).toBe(512);
    expect(results['zero-scan']!['pt_reclaim.pte_tables_freed']).toBe(512);
  });
});

describe('the zero-page attack inside a 64 MiB memory cgroup next to a 62 MiB victim', () => {
  const run = (policy: string, dense: boolean) => {
    const r = zeroPageAttack({ policy, memoryMax: 64 * MiB }, { tables: 512, dense, chunk: 32 }, 62 * 256);
    return { kills: r.machine.oomKills, victimAlive: r.machine.mms.has(1), report: r.machine.driver.report() };
  };

  it('reclaim-path avoids the OOM kill that none and mainline suffer (zero-only tables)', () => {
    const none = run('none', true);
    const mainline = run('mainline', true);
    const rp = run('reclaim-path', true);
    expect(none.kills).toBe(1);
    expect(none.victimAlive).toBe(false); // the victim has the larger badness
    expect(mainline.kills).toBe(1);
    expect(rp.kills).toBe(0);
    expect(rp.victimAlive).toBe(true);
    expect(rp.report['pt_reclaim.pte_tables_freed']).toBeGreaterThan(0);
  });

  it('against one zero entry per table the RFC predicate finds nothing: only the scanner saves the victim', () => {
    expect(run('none', false).kills).toBe(1);
    expect(run('reclaim-path', false).kills).toBe(1);
    const zs = run('zero-scan', false);
    expect(zs.kills).toBe(0);
    expect(zs.victimAlive).toBe(true);
  });
});

describe('allocator churn: a 32 MiB arena written and released six times', () => {
  const tables = 16;
  const rounds = 6;
  const results = Object.fromEntries(ALL.map((policy) => [policy, allocatorChurn({ policy }, tables, rounds)]));
  const report = (p: string) => results[p]!.machine.driver.report();

  it('mainline frees only the tables released by whole 2 MiB runs, and pays refaults', () => {
    expect(report('none')['pt_reclaim.pte_tables_freed']).toBe(0);
    expect(report('mainline')['pt_reclaim.pte_tables_freed']).toBe(3 * tables);
    expect(report('mainline')['pt_reclaim.refaults']).toBe(3 * tables);
    expect(report('mainline')['pt_reclaim.refault_ns']).toBe(3 * tables * 1100);
    expect(results['mainline']!.mm.status().nr_ptes).toBe(tables);
  });

  it('pte-ref-immediate frees soonest and pays walker overhead', () => {
    const imm = results['pte-ref-immediate']!.freedAfterOp;
    for (const p of ALL) {
      const other = results[p]!.freedAfterOp;
      expect(other.length).toBe(imm.length);
      for (let i = 0; i < imm.length; i++) expect(imm[i]!).toBeGreaterThanOrEqual(other[i]!);
    }
    expect(imm.some((v, i) => v > results['mainline']!.freedAfterOp[i]!)).toBe(true);
    expect(report('pte-ref-immediate')['pt_reclaim.pte_tables_freed']).toBe(rounds * tables);
    expect(report('pte-ref-immediate')['pt_reclaim.refaults']).toBe((rounds - 1) * tables);
    // Every write fault and every table a DONTNEED walks: 6 x 8192 faults, 3 x 16 + 3 x 32 zap walks.
    expect(report('pte-ref-immediate')['pt_reclaim.walker_ns']).toBe((rounds * tables * T + 3 * tables + 3 * 2 * tables) * 15);
    for (const p of ALL) if (p !== 'pte-ref-immediate') expect([p, report(p)['pt_reclaim.walker_ns']]).toEqual([p, 0]);
  });

  it('the deferred policies free nothing while nothing presses; free-ptes only at its write', () => {
    for (const p of ['reclaim-path', 'zero-scan', 'throttle'] as const) expect([p, report(p)['pt_reclaim.pte_tables_freed']]).toEqual([p, 0]);
    // About 19 ms of faults per round: the write at 100 ms finds the 16 tables the fifth round emptied.
    expect(report('free-ptes')['pt_reclaim.free_ptes_writes']).toBe(1);
    expect(report('free-ptes')['pt_reclaim.pte_tables_freed']).toBe(tables);
  });
});
