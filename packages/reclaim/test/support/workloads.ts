import type { AddressSpace } from '@kmodel/mm';
import { TABLE_SPAN as T, TestMachine } from './machine.js';
import type { TestMachineOptions } from './machine.js';

/** The stock policies, in registry order. */
export const ALL = ['none', 'mainline', 'pte-ref-immediate', 'free-ptes', 'reclaim-path', 'zero-scan', 'pmd-level', 'throttle'] as const;

export interface AttackOptions {
  /** PTE tables' worth of address space the attacker reads. */
  tables: number;
  /** Read one page per table (sparse) or every page (dense: zero-only tables). */
  dense: boolean;
  /** Tables read between two ticks of the policy (each tick 1 ms later). */
  chunk: number;
}

export interface AttackResult {
  machine: TestMachine;
  attacker: AddressSpace;
  /** pgtables_bytes of the attacker before each tick, and the scan ns spent in that tick. */
  samples: { pgtables: number; scanNs: number }[];
}

/** The zero-page attack of the seeds: map a range and read it (one byte per 2 MiB, or all of it). */
export function zeroPageAttack(options: TestMachineOptions, attack: AttackOptions, victimPages = 0): AttackResult {
  const machine = new TestMachine(options);
  if (victimPages > 0) {
    const victim = machine.spawn('victim');
    const v = victim.mmap({ pages: victimPages, align: T });
    victim.touch(v, victimPages, 1, true);
  }
  const attacker = machine.spawn('attacker');
  const base = attacker.mmap({ pages: attack.tables * T, align: 512 * T });
  const samples: AttackResult['samples'] = [];
  for (let t = 0; t < attack.tables && !attacker.exited; t += attack.chunk) {
    const n = Math.min(attack.chunk, attack.tables - t);
    if (attack.dense) attacker.touch(base + t * T, n * T, 1, false);
    else attacker.touch(base + t * T, n * T, T, false);
    if (attacker.exited) break;
    const pgtables = attacker.pgtablesBytes;
    const before = machine.driver.report()['pt_reclaim.scan_ns']!;
    machine.tick(1, 1_000_000);
    samples.push({ pgtables, scanNs: machine.driver.report()['pt_reclaim.scan_ns']! - before });
  }
  return { machine, attacker, samples };
}

export interface ChurnResult {
  machine: TestMachine;
  mm: AddressSpace;
  /** Cumulative PTE tables freed after each MADV_DONTNEED. */
  freedAfterOp: number[];
}

/**
 * An allocator's churn: an arena of `tables` PTE tables written in full each round and then
 * released with MADV_DONTNEED, in 2 MiB runs on even rounds and 1 MiB runs on odd rounds.
 */
export function allocatorChurn(options: TestMachineOptions, tables: number, rounds: number): ChurnResult {
  const machine = new TestMachine(options);
  const mm = machine.spawn('allocator');
  const base = mm.mmap({ pages: tables * T, align: T });
  const freedAfterOp: number[] = [];
  for (let r = 0; r < rounds; r++) {
    mm.touch(base, tables * T, 1, true);
    const run = r % 2 === 0 ? T : T / 2;
    for (let v = base; v < base + tables * T; v += run) {
      mm.madvise(v, run, 'dontneed');
      freedAfterOp.push(machine.driver.report()['pt_reclaim.pte_tables_freed']!);
    }
    machine.tick(1, 1_000_000);
  }
  return { machine, mm, freedAfterOp };
}
