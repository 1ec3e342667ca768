import { KmodelError } from '@kmodel/core';
import type { StatusRecord } from '../trace/index.js';
import { ValidateErrorCode } from './recording.js';

/** The compared quantities of a status record as deltas against the trace's first record, kB. */
export interface RecordDelta {
  readonly label: string;
  readonly VmPTE: number;
  readonly RssAnon: number;
}

/**
 * Deltas of VmPTE and RssAnon against the first record (a real process has mappings of its
 * own, so only differences compare). Throws `E_VALIDATE_NO_RECORDS` for an empty list.
 */
export function recordDeltas(records: readonly StatusRecord[]): RecordDelta[] {
  const base = records[0];
  if (base === undefined) throw new KmodelError(ValidateErrorCode.NoRecords, 'no status records: a trace needs at least one status op to compare', {});
  return records.map((r) => ({ label: r.label, VmPTE: r.VmPTE - base.VmPTE, RssAnon: r.RssAnon - base.RssAnon }));
}
