/**
 * Error codes raised by `@kmodel/buddy`. Every throwing call validates before it mutates,
 * so the allocator is unchanged after any of these.
 */
export const BuddyErrorCode = {
  /** An order outside 0..MAX_PAGE_ORDER, or not an integer. */
  BadOrder: 'E_BAD_ORDER',
  /** GFP bits outside GFP_KNOWN_MASK. */
  UnknownFlag: 'E_UNKNOWN_FLAG',
  /** A combination of known GFP bits the kernel rejects (two zone modifiers, movable + reclaimable, unmapped + movable). */
  BadGfp: 'E_BAD_GFP',
  /** A PFN outside the allocator's range, or not an integer. */
  BadPfn: 'E_BAD_PFN',
  /** Freeing a PFN that is not the first page of an allocated block. */
  NotAllocated: 'E_NOT_ALLOCATED',
  /** Freeing an allocated block with an order other than the one it was allocated with. */
  WrongOrder: 'E_WRONG_ORDER',
  /** A memory layout or tunable that cannot describe a machine. */
  BadLayout: 'E_BAD_LAYOUT',
  /** A zone index outside 0..3, or a zone with no pages where one is required. */
  BadZone: 'E_BAD_ZONE',
  /** undoIsolatePageblock() on a pageblock that is not isolated. */
  NotIsolated: 'E_NOT_ISOLATED',
  /** A CPU number outside 0..nrCpus-1. */
  BadCpu: 'E_BAD_CPU',
  /** checkInvariants() found the allocator's state inconsistent (a model bug, never bad input). */
  Invariant: 'E_BUDDY_INVARIANT',
} as const;
