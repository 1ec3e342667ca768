import { SimClock } from '@kmodel/core';
import { createPageTable, TlbSystem } from '@kmodel/pgtable';
import { Mermap, MermapTlb, PgtableMermapTlb, StaleTlbChecker, type MermapTlbModel, type StaleTlbMode } from '@kmodel/mermap';

/** The TLB models every mermap test runs on. */
export const TLB_MODELS = ['exact', 'pgtable'] as const;
export type TlbModelName = (typeof TLB_MODELS)[number];

/** A machine with `nrCpus` CPUs, one mm with a prepared mermap, and a checker. */
export function setup(nrCpus = 2, mode: StaleTlbMode = 'report', slicePages = 512, model: TlbModelName = 'exact') {
  const clock = new SimClock();
  const tlb: MermapTlbModel = model === 'exact' ? new MermapTlb(nrCpus, clock) : new PgtableMermapTlb(new TlbSystem({ cpus: nrCpus }), clock);
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
