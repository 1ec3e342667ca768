/**
 * Error codes raised by `@kmodel/memcg` (besides the shared core codes `E_UNKNOWN_KEY`,
 * `E_UNALIGNED` and `E_NOT_INTEGER`). Every throwing call leaves the hierarchy as it was.
 */
export const MemcgErrorCode = {
  /** A limit text or value is malformed or negative (the kernel's EINVAL from page_counter_memparse). */
  BadLimit: 'E_BAD_LIMIT',
  /** cgroup v1: a limit below the current usage that reclaim could not make room for (the kernel's EBUSY). */
  Busy: 'E_BUSY',
  /** A cgroup path is malformed. */
  BadPath: 'E_BAD_CGROUP_PATH',
  /** No cgroup (or parent cgroup) at that path. */
  NoCgroup: 'E_NO_CGROUP',
  /** A cgroup already exists at that path. */
  Exists: 'E_CGROUP_EXISTS',
  /** rmdir of a cgroup that still has children or tasks (the kernel's EBUSY). */
  NotEmpty: 'E_CGROUP_NOT_EMPTY',
  /** A write to a read-only file. */
  ReadOnly: 'E_READ_ONLY',
  /** A limit written to the root cgroup, which has none (CFTYPE_NOT_ON_ROOT / EINVAL). */
  RootLimit: 'E_ROOT_LIMIT',
  /** An option names the other cgroup version than the hierarchy's. */
  Version: 'E_CGROUP_VERSION',
  /** A charge kind that is not one of anon, file, kernel, pagetables, sec_pagetables. */
  BadKind: 'E_BAD_CHARGE_KIND',
  /** An uncharge larger than what the address space has charged of that kind. */
  Underflow: 'E_UNCHARGE_UNDERFLOW',
  /** Moving an address space whose charges do not fit under the destination's limits (the kernel's ENOMEM from can_attach). */
  AttachNoMem: 'E_ATTACH_NOMEM',
} as const;
