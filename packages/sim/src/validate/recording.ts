import { KmodelError } from '@kmodel/core';
import { z } from 'zod';
import type { StatusRecord } from '../trace/index.js';
import type { KernelEnvironment } from '../native/index.js';

/** Error codes of recordings and comparisons. */
export const ValidateErrorCode = {
  /** A kernel recording file is malformed. */
  BadRecording: 'E_VALIDATE_RECORDING',
  /** The two sides of a comparison have different status labels. */
  Labels: 'E_VALIDATE_LABELS',
  /** A trace has no status record to take deltas against. */
  NoRecords: 'E_VALIDATE_NO_RECORDS',
  /** Repeated native runs of a trace disagreed in VmPTE, so the kernel's answer is not stable. */
  Unstable: 'E_VALIDATE_UNSTABLE',
  /** The mappings without `addr` of a trace could not be given a common place on both sides. */
  Placement: 'E_VALIDATE_PLACEMENT',
} as const;
export type ValidateErrorCode = (typeof ValidateErrorCode)[keyof typeof ValidateErrorCode];

/**
 * What the live kernel printed for one trace, committed beside the trace as
 * `<name>.kernel.json` so that the model can be checked against it without a native run.
 */
export interface KernelRecording {
  readonly format: 'kmodel-kernel-recording';
  readonly version: 1;
  /** File name of the trace, relative to the recording. */
  readonly trace: string;
  /** ISO 8601 time of the recording. */
  readonly recordedAt: string;
  readonly kernel: KernelEnvironment;
  /** How many native runs agreed in VmPTE (the first run's records are kept). */
  readonly runs: number;
  /** Largest difference in an RssAnon delta between the runs, kB. */
  readonly rssAnonSpreadKb: number;
  readonly records: readonly StatusRecord[];
}

const kb = z.number().int();
const recordSchema = z.looseObject({ label: z.string(), VmPTE: kb, RssAnon: kb, VmRSS: kb, PageTables: kb });
const recordingSchema = z.strictObject({
  format: z.literal('kmodel-kernel-recording'),
  version: z.literal(1),
  trace: z.string(),
  recordedAt: z.string(),
  kernel: z.strictObject({
    release: z.string(),
    version: z.string(),
    machine: z.string(),
    la57: z.boolean(),
    config: z.record(z.string(), z.string()),
    configSource: z.string(),
    thp: z.strictObject({ enabled: z.string(), defrag: z.string(), useZeroPage: z.string() }),
  }),
  runs: z.number().int().min(1),
  rssAnonSpreadKb: z.number().int().min(0),
  records: z.array(recordSchema).min(1),
});

/** Parses a `<name>.kernel.json` recording; throws `E_VALIDATE_RECORDING` naming the field. */
export function parseRecording(text: string, source = '<recording>'): KernelRecording {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KmodelError(ValidateErrorCode.BadRecording, `${source}: not valid JSON (${(e as Error).message})`, { source });
  }
  const r = recordingSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new KmodelError(ValidateErrorCode.BadRecording, `${source}: field "${path}": ${issue.message}`, { source, path });
  }
  return r.data as KernelRecording;
}

/** The recording that belongs to a trace file: `x.jsonl` → `x.kernel.json`. */
export function recordingPathFor(tracePath: string): string {
  return `${tracePath.replace(/\.jsonl$/, '')}.kernel.json`;
}
