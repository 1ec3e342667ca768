import type { StatusRecord, Trace } from '../trace/index.js';
import { compareRecords, type CompareReport } from './compare.js';
import { pinUnplaced } from './pin.js';

/** Produces the status records of a trace, natively or in the model. */
export type RecordSource = (trace: Trace) => readonly StatusRecord[] | Promise<readonly StatusRecord[]>;

/** Options of {@link validateTrace}. */
export interface ValidateOptions {
  /** Name of the model's kernel profile, shown in reports (e.g. `"linux-6.18"`). */
  readonly profile: string;
  /** The kernel side: usually `runNative`, or the records of a committed recording. */
  readonly runNative: RecordSource;
  /** The model side: usually the simulator's trace replay with `profile`. */
  readonly runModel: RecordSource;
  /** See {@link compareRecords}. */
  readonly rssToleranceKb?: number;
  /**
   * Where mappings without `addr` go: `"model"` (default), both sides map them where the
   * model places them, moved down into slots the runner does not use ({@link pinUnplaced});
   * `"kernel"`, the kernel places them itself (ASLR), which does not compare exactly.
   */
  readonly placement?: 'model' | 'kernel';
}

/** The kernel's and the model's records of one trace and their comparison. */
export interface ValidationResult {
  readonly source: string;
  readonly profile: string;
  /** `line` of each status op, in record order, for reports. */
  readonly lines: readonly number[];
  /**
   * Lines of the `mmap` ops without `addr`. The kernel places such a mapping at an address
   * ASLR picks, next to the runner's own libraries, so its tables may be shared with them and
   * its alignment (hence its THPs) can change from run to run: such a trace does not compare exactly.
   */
  readonly unplaced: readonly number[];
  /**
   * With placement `"model"`: how far below the model's own addresses both sides mapped the
   * `unplaced` mappings (bytes, a multiple of 512 GiB); absent when the kernel placed them.
   */
  readonly pinShift?: bigint;
  /**
   * The kernel's THP settings when they are not the ones the model assumes (`enabled` =
   * madvise, `use_zero_page` = 1, as on the reference machine), read from the native records
   * (`thp_enabled`, `thp_use_zero_page`); absent when they match or the records do not say.
   */
  readonly thpMismatch?: { readonly enabled: string; readonly useZeroPage: string };
  readonly native: readonly StatusRecord[];
  readonly model: readonly StatusRecord[];
  readonly report: CompareReport;
}

/**
 * Runs one trace on both sides and compares them (see {@link compareRecords}). The runners
 * are injected, so the comparison works without a kernel (recorded records) or without
 * the model (tests).
 */
export async function validateTrace(trace: Trace, options: ValidateOptions): Promise<ValidationResult> {
  const pinned = (options.placement ?? 'model') === 'model' ? pinUnplaced(trace) : undefined;
  const run = pinned?.trace ?? trace;
  const native = await options.runNative(run);
  const model = await options.runModel(run);
  const report = compareRecords(native, model, options.rssToleranceKb !== undefined ? { rssToleranceKb: options.rssToleranceKb } : {});
  const lines = trace.ops.flatMap((op) => (op.op === 'status' ? [op.line] : []));
  const unplaced = trace.ops.flatMap((op) => (op.op === 'mmap' && op.addr === undefined ? [op.line] : []));
  const thpMismatch = kernelThpMismatch(native);
  return {
    source: trace.source,
    profile: options.profile,
    lines,
    unplaced,
    ...(pinned !== undefined ? { pinShift: pinned.shift } : {}),
    ...(thpMismatch !== undefined ? { thpMismatch } : {}),
    native,
    model,
    report,
  };
}

/** THP settings the model assumes: /sys/kernel/mm/transparent_hugepage/{enabled,use_zero_page}. */
export const MODEL_THP = { enabled: 'madvise', useZeroPage: '1' } as const;

/** The native records' THP settings when they differ from {@link MODEL_THP}. */
function kernelThpMismatch(native: readonly StatusRecord[]): { enabled: string; useZeroPage: string } | undefined {
  const r = native[0];
  const enabled = r?.['thp_enabled'];
  const useZeroPage = r?.['thp_use_zero_page'];
  if (typeof enabled !== 'string' || typeof useZeroPage !== 'string') return undefined;
  return enabled !== MODEL_THP.enabled || useZeroPage !== MODEL_THP.useZeroPage ? { enabled, useZeroPage } : undefined;
}
