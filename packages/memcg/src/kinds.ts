import { fail, show } from '@kmodel/core';
import type { ChargeKind } from '@kmodel/core';
import { MemcgErrorCode } from './errors.js';

/** The charge kinds in slot order (memory.stat names). */
export const CHARGE_KINDS: readonly ChargeKind[] = ['anon', 'file', 'kernel', 'pagetables', 'sec_pagetables'];
export const NR_CHARGE_KINDS = 5;
export const KIND_ANON = 0;
export const KIND_FILE = 1;
export const KIND_KERNEL = 2;
export const KIND_PAGETABLES = 3;
export const KIND_SEC_PAGETABLES = 4;

/** Slot of a charge kind; throws E_BAD_CHARGE_KIND for anything else. */
export function kindIndex(kind: ChargeKind): number {
  switch (kind) {
    case 'anon':
      return KIND_ANON;
    case 'file':
      return KIND_FILE;
    case 'kernel':
      return KIND_KERNEL;
    case 'pagetables':
      return KIND_PAGETABLES;
    case 'sec_pagetables':
      return KIND_SEC_PAGETABLES;
    default:
      return fail(MemcgErrorCode.BadKind, `unknown charge kind ${show(kind)}; expected one of ${CHARGE_KINDS.join(', ')}`, { value: kind });
  }
}

/**
 * Kinds charged as kernel memory (__memcg_kmem_charge_page): they count in memory.stat
 * `kernel` and, on cgroup v1, in memory.kmem.usage_in_bytes. Page tables are allocated with
 * GFP_PGTABLE_USER (__GFP_ACCOUNT), so they are kmem.
 */
export function isKmemKind(slot: number): boolean {
  return slot >= KIND_KERNEL;
}
