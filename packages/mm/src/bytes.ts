import { addrToVpn, bytesToPages, parseAddress, parseSize } from '@kmodel/core';
import type { SizeInput, Vpn } from '@kmodel/core';

/** A page range: first page and page count. */
export interface PageRange {
  vpn: Vpn;
  pages: number;
}

/**
 * Converts a byte address and a byte length (as the trace format writes them: `"0x..."`,
 * integers, `"2MiB"`) into a page range. The address and the length must be multiples of
 * 4 KiB: E_UNALIGNED otherwise (the kernel returns EINVAL for an unaligned start and rounds
 * the length up; kmodel asks for an exact length instead of rounding silently).
 * E_BAD_ADDRESS / E_BAD_SIZE for malformed input.
 */
export function pageRange(addr: string | number | bigint, length: SizeInput): PageRange {
  const vpn = addrToVpn(parseAddress(addr), true);
  const pages = bytesToPages(parseSize(length, 'length'));
  return { vpn, pages };
}
