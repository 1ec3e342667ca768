import type { Level, Vpn } from '@kmodel/core';
import type { AddressSpace } from './address-space.js';

/** What emptied a range: the call that zapped it. */
export type ZapCause = 'dontneed' | 'free' | 'munmap' | 'exit';

/**
 * Extension points for reclaim policies and instrumentation. Every hook is optional and
 * called synchronously; a hook must not call back into the same address space except
 * through {@link AddressSpace.tryFreePteTable} from `afterZap`.
 */
export interface MmHooks {
  /** After each zap (MADV_DONTNEED, MADV_FREE, munmap, exit) of `[startVpn, endVpn)`, once per call. */
  afterZap?(mm: AddressSpace, startVpn: Vpn, endVpn: Vpn, cause: ZapCause): void;
  /**
   * Before a user page-table page is allocated for `vpn` at `level` (throttling): return
   * `false` to refuse (the fault returns VM_FAULT_OOM), a number of ns to delay the
   * allocation on the simulated clock, or `true` / nothing to proceed.
   */
  beforeTableAlloc?(mm: AddressSpace, vpn: Vpn, level: Level): boolean | number | void;
  /** After a user page-table page was allocated at `level` for `vpn` (refault counting). */
  onTableAlloc?(mm: AddressSpace, vpn: Vpn, level: Level): void;
  /** After a user page-table page at `level` was freed. */
  onTableFree?(mm: AddressSpace, level: Level): void;
}
