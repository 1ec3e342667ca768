/**
 * Every failure a kmodel package reports on bad input is a {@link KmodelError}: a stable
 * machine-readable `code`, and a message that names the bad value and what was expected.
 * A function that throws one leaves its model exactly as it was before the call.
 *
 * Codes are upper-case words; each package documents its own codes next to the function
 * that raises them. The codes below are shared by several packages.
 */
export const CoreErrorCode = {
  /** A value that must be a safe non-negative integer was not. */
  NotAnInteger: 'E_NOT_INTEGER',
  /** A size or offset string could not be parsed (see the trace format). */
  BadSize: 'E_BAD_SIZE',
  /** An address string could not be parsed. */
  BadAddress: 'E_BAD_ADDRESS',
  /** A size, offset or address is not a multiple of the required alignment. */
  Unaligned: 'E_UNALIGNED',
  /** A value lies outside its allowed range. */
  OutOfRange: 'E_OUT_OF_RANGE',
  /** A name (metric, cost, option key) is not known. */
  UnknownKey: 'E_UNKNOWN_KEY',
} as const;

/** A stable error code such as `E_NONCANONICAL`. */
export type KmodelErrorCode = string;

/** The error type of every kmodel package. `instanceof KmodelError` and `code` are stable API. */
export class KmodelError extends Error {
  override readonly name = 'KmodelError';
  /** Stable code, e.g. `E_NONCANONICAL`; safe to switch on. */
  readonly code: KmodelErrorCode;
  /** The offending value and any other context, for tools that print structured errors. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: KmodelErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a {@link KmodelError}, optionally with the given code. */
export function isKmodelError(e: unknown, code?: KmodelErrorCode): e is KmodelError {
  return e instanceof KmodelError && (code === undefined || e.code === code);
}

/** Shorthand for `throw new KmodelError(...)`, usable in expression position. */
export function fail(code: KmodelErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new KmodelError(code, message, details);
}

/** Formats a value for an error message: numbers in decimal and hex, strings quoted. */
export function show(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value)) return `${value} (0x${value.toString(16)})`;
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
