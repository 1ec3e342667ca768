import type { ReclaimPolicy } from '@kmodel/core';

/**
 * `none`: kernels before 6.14 (linux-6.13). Page tables go only at munmap and exit
 * (free_pgtables); MADV_DONTNEED leaves every table behind.
 */
export function nonePolicy(): ReclaimPolicy {
  return { name: 'none', ptReclaimOnDontneed: false };
}
