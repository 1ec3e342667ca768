import type { MmId, Reclaimer, Rng, SimClock, TlbFlusher } from '@kmodel/core';
import type { MemcgTree } from '@kmodel/memcg';
import type { AddressSpace, KernelProfile, MmHooks } from '@kmodel/mm';
import type { PteRef } from '@kmodel/pte-ref';
import { createPolicy, POLICY_NAMES } from '@kmodel/reclaim';
import type { MachineParts } from './parts.js';

/**
 * A reclaim policy as the machine wires it: hooks into every address space, a `Reclaimer` the
 * memcg layer calls before an OOM kill, a periodic tick, and counters for the report. Every
 * part is optional; `{}` is the `none` policy.
 */
export interface PolicyBinding {
  readonly name: string;
  /** Hooks given to every address space (afterZap, beforeTableAlloc, ...). */
  readonly hooks?: MmHooks;
  /** Called under memcg pressure (before an OOM kill, above memory.high, for a lowered limit; see `ReclaimRequest`). */
  readonly reclaimer?: Reclaimer;
  /** Kernel profile the policy needs (e.g. `none` runs a kernel without PT_RECLAIM). */
  readonly profile?: KernelProfile;
  /** Periodic work, after every workload op. */
  tick?(): void;
  /** Counters in metrics.md names (`pt_reclaim.*`, `mmap_lock.*`), added to the machine's. */
  counters?(): Record<string, number>;
  /** A new address space joined the machine. */
  attach?(mm: AddressSpace): void;
  /** How memory outside the direct map is made (for `unmapped-guest` workloads without a strategy of their own). */
  readonly directMapStrategy?: 'direct-map' | 'per-page' | 'freetype';
}

/** What a policy factory receives: the machine's shared parts. */
export interface PolicyContext {
  readonly clock: SimClock;
  readonly rng: Rng;
  readonly pteRef: PteRef;
  /** Live address spaces by id. */
  readonly mms: ReadonlyMap<MmId, AddressSpace>;
  readonly memcg: MemcgTree | null;
  /** TLB shootdowns (the machine's TLB model). */
  readonly tlb: TlbFlusher | null;
  /** PFN of the shared zero page. */
  readonly zeroPfn: number;
}

/** Builds the binding of a named policy for one machine. */
export type PolicyFactory = (ctx: PolicyContext) => PolicyBinding;

/** The policies the machine itself provides (the reclaim policies come from `@kmodel/reclaim`). */
export const BUILTIN_POLICIES: Record<string, PolicyFactory> = {
  // The kernel profile of the machine alone (linux-6.18: PT_RECLAIM at MADV_DONTNEED; linux-6.13: nothing).
  kernel: () => ({ name: 'kernel' }),
  // The three ways of keeping guest memory out of the direct map, compared as a run's variable.
  'direct-map': () => ({ name: 'direct-map', directMapStrategy: 'direct-map' }),
  'per-page': () => ({ name: 'per-page', directMapStrategy: 'per-page' }),
  freetype: () => ({ name: 'freetype', directMapStrategy: 'freetype' }),
};

/**
 * A stock policy (or a `+` combination such as `mainline+reclaim-path`) of `@kmodel/reclaim`:
 * its driver gets the machine's clock, address spaces, pte_ref counters, cgroups and TLB.
 * Throws E_UNKNOWN_POLICY (from `@kmodel/reclaim`) for a name it does not know.
 */
export function reclaimPolicy(spec: string, params: Record<string, unknown> = {}): PolicyFactory {
  const make = createPolicy(spec, params);
  return (ctx) => make({ clock: ctx.clock, mms: ctx.mms, pteRef: ctx.pteRef, memcg: ctx.memcg, tlb: ctx.tlb, zeroPfn: ctx.zeroPfn });
}

/** Names of every policy a machine with these parts can run (stock reclaim policies combine with `+`). */
export function policyNames(parts: MachineParts = {}): string[] {
  return [...new Set([...Object.keys(BUILTIN_POLICIES), ...POLICY_NAMES, ...Object.keys(parts.policies ?? {})])];
}

