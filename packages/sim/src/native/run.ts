import { spawn } from 'node:child_process';
import { KmodelError } from '@kmodel/core';
import type { StatusRecord, Trace } from '../trace/index.js';
import { traceLabels } from '../trace/index.js';
import { buildRunner, type BuildOptions } from './build.js';
import { kernelEnvironment } from './environment.js';
import { NativeErrorCode } from './errors.js';
import { encodeTrace } from './protocol.js';
import { counterDelta } from '../validate/deltas.js';

/** Options of {@link runNative}. */
export interface NativeRunOptions extends BuildOptions {
  /** A runner binary to use instead of building one. */
  readonly runner?: string;
  /** Kill the runner after this many milliseconds (default 120000). */
  readonly timeoutMs?: number;
  /**
   * Further runs to try when khugepaged collapsed huge pages or a THP fault fell back to
   * 4 KiB pages during a run (default 3); the first clean run is returned, else the last one
   * (its records show what happened, see {@link kernelNoiseDuring}).
   */
  readonly noiseRetries?: number;
}

interface RunnerError {
  readonly error: string;
  readonly line: number;
  readonly errno: number;
  readonly message: string;
}

/**
 * Executes a trace on the live kernel with the native runner (built on demand, see
 * {@link buildRunner}) and returns one status record per `status` op, with the kernel's
 * VmPTE, RssAnon, VmRSS (of the runner process) and PageTables (system-wide), in kB, and
 * the system-wide `thp_collapse_alloc` and `thp_fault_fallback` counts, and the THP settings
 * (`thp_enabled`, `thp_use_zero_page` of /sys/kernel/mm/transparent_hugepage). A run during which
 * either moved is repeated up to `noiseRetries` times (see {@link kernelNoiseDuring}).
 * Throws `E_NATIVE_RUN` naming the trace line when a system call fails.
 */
export async function runNative(trace: Trace, options: NativeRunOptions = {}): Promise<StatusRecord[]> {
  const input = encodeTrace(trace);
  const runner = options.runner ?? buildRunner(options);
  const retries = options.noiseRetries ?? 3;
  let records = await runOnce(trace, input, runner, options);
  for (let i = 0; i < retries && isNoisy(kernelNoiseDuring(records)); i++) records = await runOnce(trace, input, runner, options);
  // The THP settings decide which faults map huge pages: say which ones this run had.
  const { thp } = kernelEnvironment();
  return records.map((r) => ({ ...r, thp_enabled: thp.enabled, thp_use_zero_page: thp.useZeroPage }));
}

/** Kernel work during a native run that the trace did not ask for (system-wide counts). */
export interface KernelNoise {
  /** Huge pages khugepaged allocated for collapses (`thp_collapse_alloc`). */
  readonly collapses: number;
  /** THP faults that fell back to 4 KiB pages (`thp_fault_fallback`). */
  readonly thpFallbacks: number;
}

function isNoisy(n: KernelNoise): boolean {
  return n.collapses > 0 || n.thpFallbacks > 0;
}

/**
 * What the kernel did between the first and the last record of a native run that the trace
 * did not ask for, from system-wide /proc/vmstat counters (0 for records without them):
 * khugepaged wakes as soon as a process first uses MADV_HUGEPAGE and may collapse a sparsely
 * written 2 MiB block into a THP within milliseconds; a THP fault without a free 2 MiB block
 * falls back to 4 KiB pages, which the model (whose THP allocations never fail) does not do.
 * Either makes that run's RssAnon say nothing about the model.
 */
export function kernelNoiseDuring(records: readonly StatusRecord[]): KernelNoise {
  const first = records[0];
  const last = records[records.length - 1];
  return { collapses: counterDelta(first, last, 'thp_collapse_alloc'), thpFallbacks: counterDelta(first, last, 'thp_fault_fallback') };
}

async function runOnce(trace: Trace, input: string, runner: string, options: NativeRunOptions): Promise<StatusRecord[]> {
  const labels = traceLabels(trace);
  const { stdout, stderr, code, signal } = await new Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const child = spawn(runner, [], { stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 120_000 });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => reject(new KmodelError(NativeErrorCode.Run, `cannot start the native runner ${runner}: ${e.message}`, { runner })));
    child.on('close', (c, s) => resolve({ stdout: out, stderr: err, code: c, signal: s }));
    // The runner may exit early on a failed call; a broken pipe is then expected.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
  const lines = stdout.split('\n').filter((l) => l !== '');
  const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const failure = objects.find((o) => 'error' in o) as RunnerError | undefined;
  if (failure !== undefined) {
    const where = failure.line > 0 ? `${trace.source}:${failure.line}: ` : '';
    throw new KmodelError(NativeErrorCode.Run, `${where}${failure.error} failed on the live kernel: ${failure.message} (errno ${failure.errno})`, { ...failure, source: trace.source });
  }
  if (code !== 0) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
    throw new KmodelError(NativeErrorCode.Run, `the native runner ${how} while running ${trace.source}${stderr !== '' ? `: ${stderr.trim()}` : ''}`, { code, signal });
  }
  if (objects.length !== labels.length) {
    throw new KmodelError(NativeErrorCode.Run, `the native runner printed ${objects.length} status records for the ${labels.length} status ops of ${trace.source}`, {});
  }
  return objects.map((o, i) => ({ label: labels[i]!, ...o }) as unknown as StatusRecord);
}
