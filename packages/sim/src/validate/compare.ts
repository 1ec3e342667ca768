import { KmodelError } from '@kmodel/core';
import type { StatusRecord } from '../trace/index.js';
import { recordDeltas, type RecordDelta } from './deltas.js';
import { ValidateErrorCode } from './recording.js';

/**
 * Default RssAnon tolerance, kB. The native runner allocates nothing between records, so
 * the kernel's RssAnon deltas are exact on an idle machine; the tolerance covers a process
 * that faults in a few pages of its own (stack, libc) between two records.
 */
export const DEFAULT_RSS_TOLERANCE_KB = 64;

/** Options of {@link compareRecords}. */
export interface CompareOptions {
  /** Largest accepted |native − model| of an RssAnon delta, kB (default {@link DEFAULT_RSS_TOLERANCE_KB}). */
  readonly rssToleranceKb?: number;
}

/** One status record of both sides, as deltas against each side's first record. */
export interface CompareRow {
  readonly label: string;
  readonly native: RecordDelta;
  readonly model: RecordDelta;
  /** VmPTE deltas are equal. */
  readonly vmPteOk: boolean;
  /**
   * RssAnon deltas differ by at most the tolerance, or RssAnon is not compared because of
   * kernel work the trace did not ask for (`noise`).
   */
  readonly rssAnonOk: boolean;
  /**
   * Kernel work before this record that the trace did not ask for, by the native records'
   * /proc/vmstat counters: `"khugepaged"` (huge pages collapsed) and `"thp_fallback"` (a THP
   * fault fell back to 4 KiB pages). When not empty, RssAnon is not compared; VmPTE still is.
   */
  readonly noise: readonly ('khugepaged' | 'thp_fallback')[];
  readonly ok: boolean;
}

/** The first disagreement of a comparison. */
export interface FirstDifference {
  /** Index of the record (0 = the first status op). */
  readonly index: number;
  readonly label: string;
  /** The first field that differs in that record (VmPTE is checked before RssAnon). */
  readonly field: 'VmPTE' | 'RssAnon';
  /** Native and model deltas of that field, kB. */
  readonly native: number;
  readonly model: number;
}

/** The outcome of comparing native and model records of one trace. */
export interface CompareReport {
  readonly rssToleranceKb: number;
  readonly rows: readonly CompareRow[];
  /** True when every row agrees. */
  readonly agree: boolean;
  /** The first row that disagrees, if any. */
  readonly firstDifference?: FirstDifference;
}

/**
 * Compares the status records of a native run and a model run of the same trace: deltas
 * against each side's first record, VmPTE exactly, RssAnon within `rssToleranceKb` (not at
 * records the kernel reached after khugepaged collapsed huge pages or a THP fault fell
 * back during its run, see {@link CompareRow.noise}).
 * Throws `E_VALIDATE_LABELS` when the two sides do not have the same labels in the same
 * order, `E_VALIDATE_NO_RECORDS` when there are none, `E_OUT_OF_RANGE` for a negative tolerance.
 */
export function compareRecords(native: readonly StatusRecord[], model: readonly StatusRecord[], options: CompareOptions = {}): CompareReport {
  const tolerance = options.rssToleranceKb ?? DEFAULT_RSS_TOLERANCE_KB;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new KmodelError('E_OUT_OF_RANGE', `RssAnon tolerance ${tolerance} kB must be a non-negative number`, { value: tolerance });
  }
  const nativeLabels = native.map((r) => r.label);
  const modelLabels = model.map((r) => r.label);
  if (nativeLabels.join('\0') !== modelLabels.join('\0')) {
    throw new KmodelError(ValidateErrorCode.Labels, `the native run has status labels [${nativeLabels.join(', ')}] but the model run has [${modelLabels.join(', ')}]`, { native: nativeLabels, model: modelLabels });
  }
  const n = recordDeltas(native);
  const m = recordDeltas(model);
  let firstDifference: FirstDifference | undefined;
  const rows = n.map((nd, index): CompareRow => {
    const md = m[index]!;
    const vmPteOk = nd.VmPTE === md.VmPTE;
    // A collapse adds up to 2 MiB of RSS per huge page that the trace never asked for and
    // keeps VmPTE (the PTE table is deposited under the new huge PMD, collapse_huge_page);
    // a fallback maps 4 KiB pages where the model has a THP (a PTE table where it has a deposit).
    const noise = [...(nd.collapses > 0 ? ['khugepaged' as const] : []), ...(nd.thpFallbacks > 0 ? ['thp_fallback' as const] : [])];
    const rssAnonOk = noise.length > 0 || Math.abs(nd.RssAnon - md.RssAnon) <= tolerance;
    if (firstDifference === undefined && !(vmPteOk && rssAnonOk)) {
      const field = vmPteOk ? 'RssAnon' : 'VmPTE';
      firstDifference = { index, label: nd.label, field, native: nd[field], model: md[field] };
    }
    return { label: nd.label, native: nd, model: md, vmPteOk, rssAnonOk, noise, ok: vmPteOk && rssAnonOk };
  });
  return { rssToleranceKb: tolerance, rows, agree: firstDifference === undefined, ...(firstDifference !== undefined ? { firstDifference } : {}) };
}
