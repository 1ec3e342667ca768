import { CoreErrorCode, fail, show } from '@kmodel/core';

/** Nanoseconds per unit of a simulated duration. */
const DURATION_UNITS = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 } as const;
const DURATION_RE = /^(\d+)\s*(ns|us|ms|s)$/;

/**
 * Parses a simulated duration into nanoseconds: a non-negative integer (ns) or an integer with
 * a unit `ns`, `us`, `ms` or `s` (`"10ms"`). Fractions are rejected, like sizes. Throws
 * `E_BAD_DURATION`.
 */
export function parseDuration(input: number | string, what = 'duration'): number {
  let ns: number;
  if (typeof input === 'number') ns = input;
  else {
    const m = DURATION_RE.exec(typeof input === 'string' ? input.trim() : '');
    if (!m) fail('E_BAD_DURATION', `${what} ${show(input)} is not a duration: expected nanoseconds as an integer or an integer with a unit (ns, us, ms, s), e.g. "10ms"`, { value: input });
    ns = Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
  }
  if (!Number.isSafeInteger(ns) || ns < 0) fail(CoreErrorCode.OutOfRange, `${what} ${show(input)} must be a non-negative whole number of nanoseconds`, { value: input });
  return ns;
}
