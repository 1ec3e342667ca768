import { fail, show } from '@kmodel/core';
import { MmErrorCode } from './errors.js';

/**
 * What differs between the kernels kmodel models. A profile is plain data: pass a name or
 * an object (for example `{ ...PROFILES['linux-6.18'], ptReclaimOnDontneed: false }`).
 */
export interface KernelProfile {
  /** Name shown in reports. */
  readonly name: string;
  /**
   * CONFIG_PT_RECLAIM (v6.14+): MADV_DONTNEED frees a PTE table when one zap covers the
   * table's whole 2 MiB span and every entry is none afterwards (mm/pt_reclaim.c,
   * reclaim_pt_is_enabled + try_get_and_clear_pmd + free_pte, called from zap_pte_range).
   */
  readonly ptReclaimOnDontneed: boolean;
  /**
   * A write fault on the huge zero PMD allocates a THP in place (do_huge_zero_wp_pmd, v6.11+);
   * without it the PMD is split and the write breaks COW on one 4 KiB zero page.
   */
  readonly thpOnHugeZeroWrite: boolean;
}

/** The stock profiles. `linux-6.18` is what this machine runs and the default. */
export const PROFILES = {
  'linux-6.18': { name: 'linux-6.18', ptReclaimOnDontneed: true, thpOnHugeZeroWrite: true },
  'linux-6.13': { name: 'linux-6.13', ptReclaimOnDontneed: false, thpOnHugeZeroWrite: true },
} as const satisfies Record<string, KernelProfile>;
export type ProfileName = keyof typeof PROFILES;

/** Resolves a profile name or object; throws E_BAD_OPTION for an unknown name. */
export function resolveProfile(profile: ProfileName | KernelProfile | undefined): KernelProfile {
  if (profile === undefined) return PROFILES['linux-6.18'];
  if (typeof profile === 'string') {
    const p = (PROFILES as Record<string, KernelProfile>)[profile];
    if (!p) fail(MmErrorCode.BadOption, `unknown kernel profile ${show(profile)}; expected one of ${Object.keys(PROFILES).join(', ')} or a KernelProfile object`, { value: profile });
    return p;
  }
  if (typeof profile !== 'object' || typeof profile.ptReclaimOnDontneed !== 'boolean' || typeof profile.thpOnHugeZeroWrite !== 'boolean')
    fail(MmErrorCode.BadOption, `kernel profile ${show(profile)} must have boolean ptReclaimOnDontneed and thpOnHugeZeroWrite`, { value: profile });
  return profile;
}
