import { basename } from 'node:path';
import { KmodelError } from '@kmodel/core';
import type { Trace } from '../trace/index.js';
import { recordDeltas } from '../validate/deltas.js';
import { pinUnplaced } from '../validate/pin.js';
import { ValidateErrorCode, type KernelRecording } from '../validate/recording.js';
import { kernelEnvironment } from './environment.js';
import { kernelNoiseDuring, runNative, type NativeRunOptions } from './run.js';

/** Options of {@link recordNative}. */
export interface RecordOptions extends NativeRunOptions {
  /** Native runs that must agree in every VmPTE delta (default 3). */
  readonly runs?: number;
  /** Time stamp to write (default now). */
  readonly now?: Date;
}

/**
 * Runs a trace natively `runs` times, requires the VmPTE deltas of all runs to be equal
 * (`E_VALIDATE_UNSTABLE` otherwise), and returns a {@link KernelRecording} of the first
 * run with the kernel's description and the spread of the RssAnon deltas. Mappings without
 * `addr` go where the model places them, as `validateTrace` puts them ({@link pinUnplaced}).
 */
export async function recordNative(trace: Trace, options: RecordOptions = {}): Promise<KernelRecording> {
  const runs = options.runs ?? 3;
  // Same source: the pinned trace keeps it.
  trace = pinUnplaced(trace)?.trace ?? trace;
  const all = [];
  for (let i = 0; i < runs; i++) {
    const records = await runNative(trace, options);
    const noise = kernelNoiseDuring(records);
    if (noise.collapses > 0 || noise.thpFallbacks > 0) {
      throw new KmodelError(
        ValidateErrorCode.Unstable,
        `${trace.source}: the kernel collapsed huge pages (thp_collapse_alloc +${noise.collapses}) or fell back from THPs (thp_fault_fallback +${noise.thpFallbacks}) during every native run, so RssAnon is not the trace's own; record again on a quieter machine`,
        { ...noise },
      );
    }
    all.push(records);
  }
  const first = recordDeltas(all[0]!);
  let spread = 0;
  for (const other of all.slice(1)) {
    const d = recordDeltas(other);
    for (let i = 0; i < first.length; i++) {
      if (d[i]!.VmPTE !== first[i]!.VmPTE) {
        throw new KmodelError(ValidateErrorCode.Unstable, `${trace.source}: VmPTE delta at status "${first[i]!.label}" was ${first[i]!.VmPTE} kB in one native run and ${d[i]!.VmPTE} kB in another`, { label: first[i]!.label });
      }
      spread = Math.max(spread, Math.abs(d[i]!.RssAnon - first[i]!.RssAnon));
    }
  }
  return {
    format: 'kmodel-kernel-recording',
    version: 1,
    trace: basename(trace.source),
    recordedAt: (options.now ?? new Date()).toISOString(),
    kernel: kernelEnvironment(),
    runs,
    rssAnonSpreadKb: spread,
    records: all[0]!,
  };
}
