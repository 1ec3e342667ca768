import { SimClock } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { Mermap, MermapTlb, StaleTlbChecker, type StaleTlbMode } from '@kmodel/mermap';

/** A machine with `nrCpus` CPUs, one mm with a prepared mermap, and a checker. */
export function setup(nrCpus = 2, mode: StaleTlbMode = 'report', slicePages = 512) {
  const clock = new SimClock();
  const tlb = new MermapTlb(nrCpus, clock);
  const checker = new StaleTlbChecker({ mode, tlb });
  let next = 1 << 24;
  const pageTable = createPageTable({ levels: 4, tables: { allocTable: () => next++, freeTable: () => {} } });
  const mermap = new Mermap({ pageTable, tlb, checker, slicePages, asid: 1 });
  if (!mermap.prepare()) throw new Error('prepare failed');
  return { clock, tlb, checker, mermap, pageTable };
}

export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? 'no-code';
  }
  return undefined;
}
