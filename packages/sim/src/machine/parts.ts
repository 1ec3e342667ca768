import type { Charger, PageAllocator, PageTableFactory, TlbFlusher } from '@kmodel/core';
import type { KernelProfile } from '@kmodel/mm';
import type { PolicyFactory } from './policy.js';

/**
 * Layers to use instead of the stock ones. Each replaces exactly one package: a user's
 * `PageAllocator` instead of `@kmodel/buddy`, their own page tables, TLB, charger, or policy.
 */
export interface MachineParts {
  /** The page allocator (default: `@kmodel/buddy` over the machine's RAM). */
  readonly allocator?: PageAllocator;
  /** The page-table factory (default: `createPageTable` of `@kmodel/pgtable`). */
  readonly pageTables?: PageTableFactory;
  /** TLB shootdowns (default: none counted). */
  readonly tlb?: TlbFlusher;
  /** Charging (default: a `@kmodel/memcg` hierarchy built from the scenario's cgroups). */
  readonly charger?: Charger;
  /** Policies by name, added to (and overriding) the stock ones. */
  readonly policies?: Readonly<Record<string, PolicyFactory>>;
  /** Parameters of stock policies by policy spec (`{ 'zero-scan': { ratio: 1 } }`), passed to `@kmodel/reclaim`'s createPolicy. */
  readonly policyParams?: Readonly<Record<string, Record<string, unknown>>>;
}

/** The machine section of a scenario plus what a run adds. */
export interface MachineConfig {
  readonly ram: number;
  readonly cpus: number;
  readonly levels: 4 | 5;
  readonly profile: KernelProfile | 'linux-6.18' | 'linux-6.13';
  readonly costs: Readonly<Record<string, number>>;
  readonly cgroupVersion: 1 | 2;
  /** cgroups to create, parents first; limits by kernel file name (`memory.max`, `memory.limit_in_bytes`, ...). */
  readonly cgroups: readonly { path: string; limits: Record<string, number | boolean> }[];
  readonly seed: number;
  readonly policy: string;
}

