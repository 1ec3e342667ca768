import { PAGE_SIZE, fail, parseSize, show } from '@kmodel/core';
import type { SizeInput } from '@kmodel/core';
import { MemcgErrorCode } from './errors.js';

/**
 * PAGE_COUNTER_MAX (include/linux/page_counter.h on 64-bit): LONG_MAX / PAGE_SIZE pages.
 * A limit at this value is "no limit"; kmodel stores it as `Infinity`.
 */
export const PAGE_COUNTER_MAX = 2n ** 63n / 4096n - 1n;
/** What cgroup v1 prints for an unlimited counter: PAGE_COUNTER_MAX * PAGE_SIZE. */
export const V1_UNLIMITED_TEXT = (PAGE_COUNTER_MAX * 4096n).toString();

/** The two cgroup interfaces of the memory controller. */
export type CgroupVersion = 'v1' | 'v2';

const SUFFIX_SHIFT: Record<string, bigint> = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n };

/**
 * memparse() as lib/cmdline.c does it: an unsigned integer in base 0 (decimal, `0x` hex,
 * leading-`0` octal) followed by at most one of K, M, G, T, P, E (either case). Returns the
 * byte count, or null when the text is not of that form (page_counter_memparse's EINVAL:
 * the whole stripped text must be consumed).
 */
export function memparse(text: string): bigint | null {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)$/.exec(text);
  if (!m) return null;
  const digits = m[1]!;
  const value = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const suffix = m[2]!.toLowerCase();
  return suffix ? value << SUFFIX_SHIFT[suffix]! : value;
}

/** Pages (bigint) to a limit in bytes: Infinity for PAGE_COUNTER_MAX, else exact bytes. */
function pagesToLimit(pages: bigint, what: string, input: unknown): number {
  if (pages >= PAGE_COUNTER_MAX) return Infinity;
  const bytes = pages * 4096n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(MemcgErrorCode.BadLimit, `${what} ${show(input)} is too large for the model: expected at most 2^53 bytes, or "max"`, { value: String(input) });
  }
  return Number(bytes);
}

/**
 * Parses what a user writes into a limit file, exactly as page_counter_memparse() does:
 * surrounding whitespace is stripped; `"max"` (v2) or `"-1"` (v1) means no limit; otherwise
 * a {@link memparse} number, rounded down to whole pages. Returns bytes, `Infinity` for no
 * limit. Throws `E_BAD_LIMIT` (the kernel's EINVAL) for anything else, e.g. `"-5"`, `"1.5M"`,
 * `"64MiB"`.
 */
export function parseLimitText(text: string, version: CgroupVersion, what = 'limit'): number {
  if (typeof text !== 'string') return fail(MemcgErrorCode.BadLimit, `${what} ${show(text)} is not text`, { value: text });
  const stripped = text.trim();
  const unlimited = version === 'v2' ? 'max' : '-1';
  if (stripped === unlimited) return Infinity;
  const bytes = memparse(stripped);
  if (bytes === null) {
    fail(
      MemcgErrorCode.BadLimit,
      `${what} ${show(text)} is not a limit: expected "${unlimited}" or a non-negative integer with an optional K, M, G, T, P or E suffix (e.g. "64M")`,
      { value: text },
    );
  }
  return pagesToLimit(bytes / 4096n, what, text);
}

/** A limit as a program or scenario gives it: bytes, a kmodel size (`"64MiB"`), a kernel size (`"64M"`), or `"max"`. */
export type LimitInput = SizeInput | 'max';

/**
 * Parses a limit given as an option (scenario, CLI flag, {@link MemcgTree.create}): a
 * non-negative number of bytes (`Infinity` allowed), a kmodel size string (`"64MiB"`, see
 * the trace format), the kernel's form (`"64M"`, `"0x4000000"`), or `"max"` (also `"-1"` on v1).
 * Rounded down to whole pages as the kernel does. Throws `E_BAD_LIMIT`.
 */
export function parseLimit(input: LimitInput, version: CgroupVersion, what = 'limit'): number {
  if (typeof input === 'number') {
    if (input === Infinity) return Infinity;
    if (!Number.isSafeInteger(input) || input < 0) {
      fail(MemcgErrorCode.BadLimit, `${what} ${show(input)} must be a non-negative integer number of bytes, or "max"`, { value: input });
    }
    return input - (input % PAGE_SIZE);
  }
  if (typeof input !== 'string') return fail(MemcgErrorCode.BadLimit, `${what} ${show(input)} is not a limit: expected bytes or a size string`, { value: String(input) });
  const stripped = input.trim();
  if (stripped === 'max' || (version === 'v1' && stripped === '-1')) return Infinity;
  if (/^\d+\s*(B|KiB|MiB|GiB|TiB|PiB)$/.test(stripped)) {
    let bytes: number;
    try {
      bytes = parseSize(stripped, what);
    } catch {
      return fail(MemcgErrorCode.BadLimit, `${what} ${show(input)} is too large for the model: expected at most 2^53 bytes, or "max"`, { value: input });
    }
    return bytes - (bytes % PAGE_SIZE);
  }
  const bytes = memparse(stripped);
  if (bytes === null) {
    fail(
      MemcgErrorCode.BadLimit,
      `${what} ${show(input)} is not a limit: expected "max", bytes, a size such as "64MiB", or the kernel's form such as "64M"`,
      { value: input },
    );
  }
  return pagesToLimit(bytes / 4096n, what, input);
}

/** Formats a limit the way cgroup v2 prints it (seq_puts_memcg_tunable): `max` or bytes. */
export function formatLimitV2(bytes: number): string {
  return bytes === Infinity ? 'max' : String(bytes);
}

/** Formats a limit the way cgroup v1 prints it: PAGE_COUNTER_MAX * PAGE_SIZE when unlimited. */
export function formatLimitV1(bytes: number): string {
  return bytes === Infinity ? V1_UNLIMITED_TEXT : String(bytes);
}
