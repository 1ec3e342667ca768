import { CoreErrorCode, fail, show } from './errors.js';

/**
 * Sizes and offsets as the trace format writes them (shared trace format v1):
 * a non-negative integer number of bytes, a `"0x..."` hex string, or an integer with a
 * binary unit: `B`, `KiB`, `MiB`, `GiB`, `TiB`, `PiB`. Decimal fractions and SI units
 * (`KB`, `MB`) are rejected, because they are ambiguous next to the kernel's kB fields.
 */
export const SIZE_UNITS = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50 } as const;
export type SizeUnit = keyof typeof SIZE_UNITS;
/** A size as written in a trace or scenario file. */
export type SizeInput = number | string;

const UNIT_RE = /^(\d+)\s*(B|KiB|MiB|GiB|TiB|PiB)$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;

/**
 * Parses a size into bytes. Throws `E_BAD_SIZE` for malformed input and for values that
 * do not fit exactly in a JavaScript number (use {@link parseAddress} for wide addresses).
 */
export function parseSize(input: SizeInput, what = 'size'): number {
  let bytes: number;
  if (typeof input === 'number') {
    bytes = input;
  } else if (typeof input === 'string' && HEX_RE.test(input)) {
    const big = BigInt(input);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) fail(CoreErrorCode.BadSize, `${what} ${show(input)} is too large for a size (max 2^53-1 bytes)`, { value: input });
    bytes = Number(big);
  } else if (typeof input === 'string') {
    const m = UNIT_RE.exec(input.trim());
    if (!m) {
      fail(CoreErrorCode.BadSize, `${what} ${show(input)} is not a size: expected bytes as an integer, "0x..." or an integer with a binary unit (B, KiB, MiB, GiB, TiB, PiB), e.g. "2MiB"`, { value: input });
    }
    bytes = Number(m[1]) * SIZE_UNITS[m[2] as SizeUnit];
  } else {
    return fail(CoreErrorCode.BadSize, `${what} ${show(input)} is not a size: expected a number or a string`, { value: input });
  }
  if (!Number.isSafeInteger(bytes) || bytes < 0) fail(CoreErrorCode.BadSize, `${what} ${show(input)} must be a non-negative integer number of bytes below 2^53`, { value: input });
  return bytes;
}

/** Parses a `"0x..."` address (or a non-negative integer) into an exact bigint. Throws `E_BAD_ADDRESS`. */
export function parseAddress(input: string | number | bigint, what = 'address'): bigint {
  if (typeof input === 'bigint') {
    if (input < 0n) fail(CoreErrorCode.BadAddress, `${what} ${show(input)} is negative`, { value: input.toString() });
    return input;
  }
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) fail(CoreErrorCode.BadAddress, `${what} ${show(input)} must be a non-negative integer or a "0x..." string`, { value: input });
    return BigInt(input);
  }
  if (typeof input === 'string' && HEX_RE.test(input)) return BigInt(input);
  return fail(CoreErrorCode.BadAddress, `${what} ${show(input)} is not an address: expected a "0x..." hex string`, { value: input });
}

/**
 * Formats bytes exactly, with the largest binary unit that divides them
 * (`2199023255552` → `"2TiB"`, `3149824` → `"3076KiB"`, `100` → `"100B"`).
 * The result parses back with {@link parseSize} to the same number.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) fail(CoreErrorCode.BadSize, `cannot format ${show(bytes)} as a size: expected a non-negative integer`, { value: bytes });
  if (bytes === 0) return '0B';
  const units = Object.entries(SIZE_UNITS).reverse() as [SizeUnit, number][];
  for (const [unit, factor] of units) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

/** Formats bytes for people, rounded to 3 significant figures (`"4.00 GiB"`, `"512 KiB"`). Not parseable. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${sign}${text} ${units[i]}`;
}

/** Bytes to the kernel's "kB" (KiB) as printed in /proc files. Throws unless a whole number of KiB. */
export function bytesToKb(bytes: number): number {
  if (bytes % 1024 !== 0) fail(CoreErrorCode.Unaligned, `${show(bytes)} bytes is not a whole number of kB`, { value: bytes });
  return bytes / 1024;
}
