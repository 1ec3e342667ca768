/** Error codes of `@kmodel/reclaim`. */
export const ReclaimErrorCode = {
  /** A policy name that the registry does not know. */
  UnknownPolicy: 'E_UNKNOWN_POLICY',
  /** A policy parameter with a bad value or an unknown name. */
  BadParam: 'E_BAD_POLICY_PARAM',
  /** A policy needs a machine part that the context lacks (pte_ref counters). */
  MissingPart: 'E_POLICY_NEEDS_PART',
  /** An address space is not known to the driver. */
  UnknownMm: 'E_UNKNOWN_MM',
} as const;
