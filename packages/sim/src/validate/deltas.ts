import { KmodelError } from '@kmodel/core';
import type { StatusRecord } from '../trace/index.js';
import { ValidateErrorCode } from './recording.js';

/** The compared quantities of a status record as deltas against the trace's first record, kB. */
export interface RecordDelta {
  readonly label: string;
  readonly VmPTE: number;
  readonly RssAnon: number;
  /**
   * Huge pages khugepaged allocated for collapses since the first record (the system-wide
   * `thp_collapse_alloc` of /proc/vmstat that native records carry); 0 for records without it.
   */
  readonly collapses: number;
  /** THP faults that fell back to 4 KiB pages since the first record (system-wide `thp_fault_fallback`); 0 for records without it. */
  readonly thpFallbacks: number;
}

/** How far the /proc/vmstat counter `key` moved from `base` to `r`; 0 when either record lacks it. */
export function counterDelta(base: StatusRecord | undefined, r: StatusRecord | undefined, key: string): number {
  const a = base?.[key];
  const b = r?.[key];
  return typeof a === 'number' && typeof b === 'number' && a >= 0 && b >= 0 ? b - a : 0;
}

/**
 * Deltas of VmPTE, RssAnon, khugepaged collapses and THP fallbacks against the first record (a real process has mappings of its
 * own, so only differences compare). Throws `E_VALIDATE_NO_RECORDS` for an empty list.
 */
export function recordDeltas(records: readonly StatusRecord[]): RecordDelta[] {
  const base = records[0];
  if (base === undefined) throw new KmodelError(ValidateErrorCode.NoRecords, 'no status records: a trace needs at least one status op to compare', {});
  return records.map((r) => ({
    label: r.label,
    VmPTE: r.VmPTE - base.VmPTE,
    RssAnon: r.RssAnon - base.RssAnon,
    collapses: counterDelta(base, r, 'thp_collapse_alloc'),
    thpFallbacks: counterDelta(base, r, 'thp_fault_fallback'),
  }));
}
