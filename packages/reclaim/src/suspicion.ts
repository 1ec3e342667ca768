import { PAGE_SIZE } from '@kmodel/core';
import type { ReclaimMm } from '@kmodel/core';

/**
 * The suspicion heuristic of the 2022 LSFMM discussion: an address space whose page tables are
 * large compared with its resident set (reading one byte per 2 MiB costs a 4 KiB table and no
 * RSS). Suspicious when `pgtablesBytes >= minPgtablesBytes` and `pgtablesBytes > ratio × rssBytes`.
 */
export function looksSuspicious(pgtablesBytes: number, rssBytes: number, ratio: number, minPgtablesBytes: number): boolean {
  return pgtablesBytes >= minPgtablesBytes && pgtablesBytes > ratio * rssBytes;
}

/** {@link looksSuspicious} for an address space (RSS = anonymous pages). */
export function mmLooksSuspicious(mm: ReclaimMm, ratio: number, minPgtablesBytes: number): boolean {
  return looksSuspicious(mm.pgtablesBytes, mm.rssAnonPages * PAGE_SIZE, ratio, minPgtablesBytes);
}
