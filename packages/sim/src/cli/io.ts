import { isKmodelError } from '@kmodel/core';

/** Exit codes of the `kmodel` CLI. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The command ran but failed (a model disagreed with the kernel, an internal error). */
  Failure: 1,
  /** Bad input: usage, an invalid scenario or trace, a bad option value. */
  BadInput: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where a command writes; injected so commands can be driven in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when progress bars may be drawn (stdout and stderr are terminals). */
  readonly interactive: boolean;
}

/** The process's own streams. */
export const PROCESS_IO: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive: Boolean(process.stdout.isTTY && process.stderr.isTTY),
};

/** Thrown by a command to end with a given exit code after printing `message` to stderr. */
export class CliExit extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** Bad input (exit 2) with a message. */
export function badInput(message: string): never {
  throw new CliExit(ExitCode.BadInput, message);
}

/**
 * Maps an error to an exit code and a one-paragraph message (no stack trace for expected
 * errors): a {@link KmodelError} is bad input (2), anything else is a failure (1).
 */
export function classifyError(e: unknown): { code: ExitCode; message: string } {
  if (e instanceof CliExit) return { code: e.code, message: e.message };
  if (isKmodelError(e)) return { code: ExitCode.BadInput, message: e.message };
  if (e instanceof Error) return { code: ExitCode.Failure, message: `internal error: ${e.stack ?? e.message}` };
  return { code: ExitCode.Failure, message: `internal error: ${String(e)}` };
}
