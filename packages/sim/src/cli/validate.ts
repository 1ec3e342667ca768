import { readFileSync } from 'node:fs';
import { isKmodelError } from '@kmodel/core';
import { NativeErrorCode, runNative } from '../native/index.js';
import { replayTrace, statusRecords } from '../replay/replay.js';
import type { KernelProfile } from '../scenario/schema.js';
import { parseTrace, type Trace } from '../trace/index.js';
import { renderValidation, renderValidationSummary, validateTrace, validationJson, type ValidationResult } from '../validate/index.js';
import { badInput, CliExit, ExitCode, type CliIo } from './io.js';

const NATIVE_CODES: readonly string[] = Object.values(NativeErrorCode);

/**
 * `kmodel validate`: every trace runs on the live kernel and in the model (`replayTrace` with
 * `profile`); prints each side-by-side table and a summary (or JSON). Exit 1 on any disagreement,
 * or when the native side cannot run here (no compiler, not Linux).
 */
export async function validateCommand(io: CliIo, files: readonly string[], opts: { profile: KernelProfile; json: boolean }): Promise<ExitCode> {
  const traces: Trace[] = files.map((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      return badInput(`cannot read trace ${JSON.stringify(f)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    return parseTrace(text, f);
  });
  const results: ValidationResult[] = [];
  for (const trace of traces) {
    try {
      results.push(
        await validateTrace(trace, {
          profile: opts.profile,
          runNative: (t) => runNative(t),
          runModel: (t) => statusRecords(replayTrace(t, { profile: opts.profile })),
        }),
      );
    } catch (e) {
      if (isKmodelError(e) && NATIVE_CODES.includes(e.code)) throw new CliExit(ExitCode.Failure, e.message);
      throw e;
    }
  }
  if (opts.json) io.out(JSON.stringify(validationJson(results), null, 2) + '\n');
  else io.out(results.map(renderValidation).join('\n\n') + '\n\n' + renderValidationSummary(results) + '\n');
  return results.every((r) => r.report.agree) ? ExitCode.Ok : ExitCode.Failure;
}
