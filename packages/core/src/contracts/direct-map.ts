import type { Pfn } from '../units.js';

/**
 * What the page allocator asks of the direct map when it converts a pageblock between
 * mapped and unmapped freetypes (set_direct_map_invalid_noflush / set_direct_map_default_noflush
 * plus the TLB flush). One call per pageblock, so the flush cost is paid per 2 MiB.
 * The stock implementation is `@kmodel/directmap`.
 */
export interface DirectMapControl {
  /** Removes [pfn, pfn + nrPages) from the direct map and flushes; false if it could not (e.g. no memory for a split). */
  removeRange(pfn: Pfn, nrPages: number): boolean;
  /** Maps [pfn, pfn + nrPages) in the direct map again. */
  restoreRange(pfn: Pfn, nrPages: number): void;
}

/** A direct map that is never changed, for users without a direct-map model. */
export const NOOP_DIRECT_MAP: DirectMapControl = {
  removeRange: () => true,
  restoreRange: () => {},
};
