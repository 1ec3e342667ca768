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
}

/** The `thp_collapse_alloc` count of a record, or undefined when it does not carry one. */
function collapseCount(r: StatusRecord): number | undefined {
  const v = r['thp_collapse_alloc'];
  return typeof v === 'number' && v >= 0 ? v : undefined;
}

/**
 * Deltas of VmPTE, RssAnon and khugepaged collapses against the first record (a real process has mappings of its
 * own, so only differences compare). Throws `E_VALIDATE_NO_RECORDS` for an empty list.
 */
export function recordDeltas(records: readonly StatusRecord[]): RecordDelta[] {
  const base = records[0];
  if (base === undefined) throw new KmodelError(ValidateErrorCode.NoRecords, 'no status records: a trace needs at least one status op to compare', {});
  const c0 = collapseCount(base);
  return records.map((r) => {
    const c = collapseCount(r);
    return { label: r.label, VmPTE: r.VmPTE - base.VmPTE, RssAnon: r.RssAnon - base.RssAnon, collapses: c !== undefined && c0 !== undefined ? c - c0 : 0 };
  });
}
