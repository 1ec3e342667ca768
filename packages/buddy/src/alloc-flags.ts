/**
 * alloc_flags (mm/internal.h; values are kmodel's own) and the rmqueue modes (mm/page_alloc.c
 * enum rmqueue_mode), as one object to destructure into module-local constants (see
 * BUDDY_CONSTS in state.ts for why).
 */
export const ALLOC_FLAGS = {
  ALLOC_WMARK_MIN: 0,
  ALLOC_WMARK_LOW: 1,
  ALLOC_WMARK_MASK: 3,
  ALLOC_MIN_RESERVE: 0x8,
  ALLOC_NON_BLOCK: 0x10,
  ALLOC_CMA: 0x80,
  ALLOC_NOFRAGMENT: 0x100,
  ALLOC_HIGHATOMIC: 0x200,
  /** ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC. */
  ALLOC_RESERVES: 0x10 | 0x8 | 0x200,
  RMQUEUE_NORMAL: 0,
  RMQUEUE_CMA: 1,
  RMQUEUE_CLAIM: 2,
  RMQUEUE_STEAL: 3,
} as const;
