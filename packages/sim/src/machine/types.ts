import type { MmId, PageAllocator, PageTable, Rng, SimClock } from '@kmodel/core';
import type { SimEvent } from '../report/types.js';
import type { UnmappedGuestOp, WorkOp } from '../workload/ops.js';

/** Metrics of one address space, with the names of /proc/PID/status (kB) and mm_struct (bytes). */
export interface ProcessMetrics {
  VmPTE: number;
  VmRSS: number;
  RssAnon: number;
  pgtables_bytes: number;
  nr_ptes: number;
  nr_pmds: number;
  nr_puds: number;
  reclaimable_pt_bytes: number;
}

/** One simulated process: an address space in a cgroup, driven by workload ops. */
export interface SimProcess {
  readonly name: string;
  readonly mm: MmId;
  /** cgroup path ("/" for the root). */
  readonly cgroup: string;
  /** False once the process has exited or been OOM-killed. */
  readonly alive: boolean;
  /**
   * Applies one workload op (regions are named; `mmap` places one). Throws a `KmodelError` on
   * bad input (an unknown region, a range outside it). Ops on a dead process are ignored.
   * Returns the status record fields for a `status` op, null otherwise.
   */
  apply(op: WorkOp): ProcessMetrics | null;
  /** Current metrics (all zero once dead). */
  metrics(): ProcessMetrics;
  /** The process's page table (for `kmodel walk`). */
  readonly pageTable: PageTable;
}

/** A machine-wide, per-process and per-cgroup view of every metric at one instant. */
export interface MachineSnapshot {
  readonly machine: Record<string, number>;
  readonly processes: Record<string, Record<string, number>>;
  readonly cgroups: Record<string, Record<string, number>>;
}

/** A built machine: the layers wired together, with processes to run workloads in. */
export interface Machine {
  readonly clock: SimClock;
  readonly rng: Rng;
  readonly allocator: PageAllocator;
  readonly processes: readonly SimProcess[];
  /** Events so far (OOM kills, ...), in simulated-time order. */
  readonly events: readonly SimEvent[];
  /** Creates a process in `cgroup` (which must exist). */
  spawn(name: string, cgroup?: string): SimProcess;
  /** Runs kernel work on behalf of `process` (memory outside the direct map). */
  kernelWork(op: UnmappedGuestOp, process: SimProcess): void;
  /** `process` is about to run an operation (CPU scheduling for the TLB model). */
  schedule(process: SimProcess): void;
  /** Runs periodic work (reclaim policies' tick hooks). */
  tick(): void;
  /** Every metric now. */
  snapshot(): MachineSnapshot;
}
