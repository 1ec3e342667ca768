import type { SimClock } from '../clock.js';
import type { MetricSnapshot } from '../metrics.js';
import type { Level, Pfn, Vpn } from '../units.js';
import type { MmId, ReclaimRequest } from './charger.js';
import type { PageTable, TableId } from './page-table.js';
import type { TlbFlusher } from './tlb.js';

/** What emptied a range of an address space: the call that zapped it. */
export type ReclaimZapCause = 'dontneed' | 'free' | 'munmap' | 'exit';

/** The mmap_lock of an address space as reclaim sees it (an rwsem on the simulated clock). */
export interface ReclaimMmapLock {
  /** Another actor holds the lock for write for `holdNs` from now; faults arriving meanwhile wait. Returns the ns it waited itself. */
  writeBackground(holdNs: number, lockVmas?: boolean): number;
  /** Faults that waited behind a writer (`mmap_lock.waiters`). */
  readonly waiters: number;
  /** Simulated ns held for write (`mmap_lock.write_hold_ns`). */
  readonly writeHoldNs: number;
}

/** Options of {@link ReclaimMm.tryFreePteTable}. */
export interface ReclaimFreeOptions {
  /** Also free a table whose present entries all map the shared zero page (cleared first). */
  allowZeroPages: boolean;
  /** The mmap_lock the caller models: `write` (one hold per call), `read`, or `none` (held already). */
  lock?: 'write' | 'read' | 'none';
}

/**
 * One address space (mm_struct) as a reclaim policy sees it. `AddressSpace` of `@kmodel/mm`
 * satisfies it; a policy changes the page table only through {@link ReclaimMm.tryFreePteTable}
 * and `pageTable.freePmdTable` (both accounted by the address space's table allocator).
 */
export interface ReclaimMm {
  readonly id: MmId;
  /** The page table: read freely. */
  readonly pageTable: PageTable;
  /** True after exit_mmap. */
  readonly exited: boolean;
  /** First page above the user address space (TASK_SIZE >> 12). */
  readonly taskSize: Vpn;
  /** mm->pgtables_bytes. */
  readonly pgtablesBytes: number;
  /** Resident anonymous pages (MM_ANONPAGES). */
  readonly rssAnonPages: number;
  readonly mmapLock: ReclaimMmapLock;
  /**
   * Frees the PTE table covering `vpn` when it holds no entry, or (with `allowZeroPages`) only
   * shared-zero-page entries: pmd_clear, TLB flush with freed tables, pte_free, mm_dec_nr_ptes,
   * memcg uncharge. Returns whether a table was freed.
   */
  tryFreePteTable(vpn: Vpn, options: ReclaimFreeOptions): boolean;
  /** The VMAs in address order. */
  vmas(): Iterable<{ readonly start: Vpn; readonly end: Vpn }>;
  /** Counters in metrics.md names (`pgfault`, `pt_reclaim.*`, `mmap_lock.*`). */
  counters(): Record<string, number>;
}

/** The pte_ref accounting (2022 RFC) as reclaim sees it. `PteRef` of `@kmodel/pte-ref` satisfies it. */
export interface ReclaimPteRef {
  /** PFN of the shared zero page. */
  readonly zeroPfn: Pfn;
  /** True when `mm` is counted. */
  knows(mm: MmId): boolean;
  /** mm->reclaimable_pt_bytes. */
  reclaimablePtBytes(mm: MmId): number;
  /** pte_mapped_count() == 0. */
  isEmpty(mm: MmId, table: TableId): boolean;
  /** pte_zero_count() == PTRS_PER_PTE. */
  isZeroOnly(mm: MmId, table: TableId): boolean;
  /** Address spaces by reclaimable_pt_bytes, largest first (a live view: do not free while iterating). */
  byReclaimablePtBytes(): IterableIterator<[MmId, number]>;
  /** Each empty or zero-only PTE table of `mm` with its base vpn; `fn` may free the table it gets. */
  forEachReclaimableTable(mm: MmId, fn: (table: TableId, baseVpn: Vpn) => boolean | void): number;
}

/** Memory cgroups as reclaim sees them. `MemcgTree` of `@kmodel/memcg` satisfies it. */
export interface ReclaimCgroups {
  /** Path of the cgroup `mm` is charged to. */
  cgroupOf(mm: MmId): string;
}

/** The parts of a machine a reclaim policy driver needs (the simulator's policy context satisfies it). */
export interface ReclaimContext {
  readonly clock: SimClock;
  /** Live address spaces by id. */
  readonly mms: ReadonlyMap<MmId, ReclaimMm>;
  /** pte_ref counters; policies that pick tables through them need it. */
  readonly pteRef?: ReclaimPteRef | null;
  /** The cgroup hierarchy, to restrict a cgroup's reclaim to its own tasks. */
  readonly memcg?: ReclaimCgroups | null;
  /** Shootdowns for PMD-table frees (PTE-table frees are flushed by the address space). */
  readonly tlb?: TlbFlusher | null;
  /** PFN of the shared zero page (default: `pteRef.zeroPfn`). */
  readonly zeroPfn?: Pfn;
}

/**
 * The services a policy driver gives its policies: the machine, the fault in progress, and the
 * accounted ways to free tables (every free goes through them, so counters, refault tracking,
 * lock hold time and TLB flushes are kept in one place, like mm/pt_reclaim.c's free_pte).
 */
export interface ReclaimMachine {
  readonly clock: SimClock;
  readonly mms: ReadonlyMap<MmId, ReclaimMm>;
  readonly pteRef: ReclaimPteRef | null;
  readonly memcg: ReclaimCgroups | null;
  readonly zeroPfn: Pfn;
  /**
   * Whether the table at `level` covering `vpn` of `mm` may be freed now: false for the tables
   * of a fault in progress (the task of the {@link ReclaimRequest} being served).
   */
  mayFree(mm: ReclaimMm, vpn: Vpn, level: Level): boolean;
  /** True when `mm` may be reclaimed from now (false for the reclaiming task when its fault address is unknown). */
  mayReclaimFrom(mm: ReclaimMm): boolean;
  /** True when `mm` is charged to `cgroup` (null: any). */
  inCgroup(mm: ReclaimMm, cgroup: string | null): boolean;
  /** Frees the PTE table covering `vpn` with full accounting. Returns whether it was freed. */
  freePteTable(mm: ReclaimMm, vpn: Vpn, options: ReclaimFreeOptions): boolean;
  /** Frees the PMD table covering `vpn` if it holds no entry, with accounting and a flush. */
  freePmdTable(mm: ReclaimMm, vpn: Vpn): boolean;
  /** Records a write hold of `mm`'s mmap_lock by this policy (`background`: by another CPU, faults wait; else the caller stalls). */
  holdMmapWrite(mm: ReclaimMm, holdNs: number, background: boolean): void;
  /** Charges `entries` examined by a software scan to the clock and to `pt_reclaim.entries_scanned`. */
  chargeScan(entries: number): void;
  /** Charges the refcount work of `walkers` page-table walkers (pte_try_get / pte_put) to the clock. */
  chargeWalkers(walkers: number): void;
}

/**
 * A page-table reclaim policy: an ops table of optional hooks, run by one driver (the
 * `ReclaimDriver` of `@kmodel/reclaim`) that owns the bookkeeping. Hooks are synchronous and
 * must free tables only through the {@link ReclaimMachine} they are given.
 */
export interface ReclaimPolicy {
  /** Name in reports. */
  readonly name: string;
  /** The address spaces must run with PT_RECLAIM on MADV_DONTNEED (mainline since 6.14). */
  readonly ptReclaimOnDontneed?: boolean;
  /** A new address space joined the machine. */
  attach?(mm: ReclaimMm, machine: ReclaimMachine): void;
  /** After a zap (MADV_DONTNEED, MADV_FREE, munmap, exit) of [startVpn, endVpn). */
  afterZap?(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, cause: ReclaimZapCause, machine: ReclaimMachine): void;
  /** Before a user page-table page is allocated: false refuses it, a number delays it by that many ns. */
  beforeTableAlloc?(mm: ReclaimMm, vpn: Vpn, level: Level, machine: ReclaimMachine): boolean | number | void;
  /** After PTE tables of [startVpn, endVpn) were freed by reclaim (any policy, or PT_RECLAIM at DONTNEED). */
  afterPteTablesFreed?(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, machine: ReclaimMachine): void;
  /** Periodic work, on the simulated clock. */
  tick?(machine: ReclaimMachine): void;
  /**
   * Memory pressure with a target (the `Reclaimer` path): free up to `bytes` charged to
   * `cgroup` (null: the machine). `request` says why (`max`: before an OOM kill; `high`:
   * memory.high throttling; `limit`: a lowered limit) and for which task; null when the caller
   * gave none. Returns the bytes freed.
   */
  reclaim?(cgroup: string | null, bytes: number, machine: ReclaimMachine, request: ReclaimRequest | null): number;
  /** Counters this policy keeps beyond the driver's (metrics.md style names). */
  counters?(): MetricSnapshot;
}
