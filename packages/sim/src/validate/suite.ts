import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KmodelError } from '@kmodel/core';
import { parseTrace, traceLabels, type Trace } from '../trace/index.js';
import { parseRecording, recordingPathFor, ValidateErrorCode, type KernelRecording } from './recording.js';

/** A trace file with the kernel recording committed beside it (if any). */
export interface ValidationCase {
  readonly path: string;
  readonly trace: Trace;
  readonly recording?: KernelRecording;
}

/**
 * Reads a trace file and its `<name>.kernel.json` recording, if present. Throws the
 * parser's errors, and `E_VALIDATE_RECORDING` when the recording belongs to another trace
 * or its labels differ from the trace's status ops.
 */
export function loadValidationCase(path: string): ValidationCase {
  const trace = parseTrace(readFileSync(path, 'utf8'), path);
  const recPath = recordingPathFor(path);
  if (!existsSync(recPath)) return { path, trace };
  const recording = parseRecording(readFileSync(recPath, 'utf8'), recPath);
  if (recording.trace !== basename(path)) {
    throw new KmodelError(ValidateErrorCode.BadRecording, `${recPath}: records trace ${JSON.stringify(recording.trace)}, expected ${JSON.stringify(basename(path))}`, { path: recPath });
  }
  const want = traceLabels(trace);
  const have = recording.records.map((r) => r.label);
  if (want.join('\0') !== have.join('\0')) {
    throw new KmodelError(ValidateErrorCode.BadRecording, `${recPath}: recorded labels [${have.join(', ')}] do not match the status ops of ${path} [${want.join(', ')}]; re-record it`, { path: recPath });
  }
  return { path, trace, recording };
}

/** Every `*.jsonl` trace of a directory (sorted by name) with its recording. */
export function loadValidationSuite(dir: string): ValidationCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => loadValidationCase(join(dir, f)));
}
