import {
  costModel,
  fail,
  GFP_KERNEL,
  Rng,
  show,
  SimClock,
  type Charger,
  type MmId,
  type OomHost,
  type OomTaskStats,
  type PageAllocator,
  type PageTableFactory,
  type Reclaimer,
  type TlbFlusher,
} from '@kmodel/core';
import { BuddyAllocator, x86Layout } from '@kmodel/buddy';
import { DirectMap, ramRangesExcluding } from '@kmodel/directmap';
import { runUnmappedWorkload, type DirectMapStrategy } from '@kmodel/mermap';
import { MemcgTree, type MemcgEvent } from '@kmodel/memcg';
import { AddressSpace, type KernelProfile, type MmHooks } from '@kmodel/mm';
import { createPageTable, TlbSystem, X86PageTable } from '@kmodel/pgtable';
import { createPolicy, POLICY_NAMES } from '@kmodel/reclaim';
import { PteRef } from '@kmodel/pte-ref';
import type { SimEvent } from '../report/types.js';
import type { Scenario } from '../scenario/schema.js';
import type { UnmappedGuestOp } from '../workload/ops.js';
import { MmProcess } from './process.js';
import type { Machine, MachineSnapshot, SimProcess } from './types.js';

/** Error codes of the machine builder. */
export const MachineErrorCode = {
  /** The allocator could not provide the zero pages at boot. */
  Boot: 'E_MACHINE_BOOT',
  /** A process names a cgroup that does not exist. */
  NoCgroup: 'E_NO_CGROUP',
} as const;

/**
 * A reclaim policy as the machine wires it: hooks into every address space, a `Reclaimer` the
 * memcg layer calls before an OOM kill, a periodic tick, and counters for the report. Every
 * part is optional; `{}` is the `none` policy.
 */
export interface PolicyBinding {
  readonly name: string;
  /** Hooks given to every address space (afterZap, beforeTableAlloc, ...). */
  readonly hooks?: MmHooks;
  /** Called under memcg pressure before an OOM kill. */
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

/** The policies the machine itself provides (the reclaim policies come from `@kmodel/reclaim`). */
const BUILTIN_POLICIES: Record<string, PolicyFactory> = {
  // The kernel profile of the machine alone (linux-6.18: PT_RECLAIM at MADV_DONTNEED; linux-6.13: nothing).
  kernel: () => ({ name: 'kernel' }),
  // The three ways of keeping guest memory out of the direct map, compared as a run's variable.
  'direct-map': () => ({ name: 'direct-map', directMapStrategy: 'direct-map' }),
  'per-page': () => ({ name: 'per-page', directMapStrategy: 'per-page' }),
  freetype: () => ({ name: 'freetype', directMapStrategy: 'freetype' }),
};

const MERMAP_STRATEGY: Record<string, DirectMapStrategy> = { 'direct-map': 'direct_map', 'per-page': 'per_page', freetype: 'freetype' };
/** Counter prefixes of the unmapped-guest workload that go into the machine's metrics. */
const KERNEL_WORK_PREFIXES = ['directmap.', 'mermap.', 'tlb.', 'checker.', 'workload.'];

const PROCESS_METRICS = ['VmPTE', 'VmRSS', 'RssAnon', 'pgtables_bytes', 'nr_ptes', 'nr_pmds', 'nr_puds', 'reclaimable_pt_bytes'] as const;

/**
 * The composition root: wires `@kmodel/buddy`, `@kmodel/pgtable`, `@kmodel/pte-ref`,
 * `@kmodel/mm`, `@kmodel/memcg` and a reclaim policy into one machine. Deterministic for a seed.
 */
export class StockMachine implements Machine {
  readonly clock: SimClock;
  readonly rng: Rng;
  readonly allocator: PageAllocator;
  readonly pteRef: PteRef;
  readonly memcg: MemcgTree | null;
  readonly policy: PolicyBinding;
  readonly zeroPfn: number;
  readonly hugeZeroPfn: number;
  private readonly charger: Charger | undefined;
  private readonly pageTables: PageTableFactory;
  private readonly tlb: TlbFlusher | undefined;
  /** The stock per-CPU TLB model, when no TLB was given. */
  readonly tlbSystem: TlbSystem | null;
  private readonly config: MachineConfig;
  private nextCpu = 0;
  private readonly procs: MmProcess[] = [];
  private readonly byId = new Map<MmId, MmProcess>();
  private readonly mms = new Map<MmId, AddressSpace>();
  private readonly ownEvents: SimEvent[] = [];
  /** Counters of address spaces that have exited, so machine totals never go back. */
  private readonly retired: Record<string, number> = {};
  /** Counters of kernel work (the unmapped-guest workload). */
  private readonly kernel: Record<string, number> = {};
  private nextId = 1;

  constructor(config: MachineConfig, parts: MachineParts = {}) {
    this.config = config;
    this.clock = new SimClock(costModel(config.costs));
    this.rng = new Rng(config.seed);
    this.allocator = parts.allocator ?? new BuddyAllocator({ memory: config.ram, nrCpus: config.cpus });
    this.pageTables = parts.pageTables ?? createPageTable;
    this.tlbSystem = parts.tlb ? null : new TlbSystem({ cpus: config.cpus });
    this.tlb = parts.tlb ?? this.tlbSystem ?? undefined;
    // The shared zero page and the huge zero page (mm/huge_memory.c get_huge_zero_page), allocated at boot.
    const zero = this.allocator.allocPages(GFP_KERNEL, 0);
    const hugeZero = this.allocator.allocPages(GFP_KERNEL, 9);
    if (zero === null || hugeZero === null) fail(MachineErrorCode.Boot, 'the page allocator could not provide the zero pages at boot');
    this.zeroPfn = zero;
    this.hugeZeroPfn = hugeZero;
    this.pteRef = new PteRef(zero);
    const oomHost: OomHost = { oomStats: (id) => this.oomStats(id), oomKill: (id) => this.oomKill(id) };
    if (parts.charger) {
      this.memcg = null;
      this.charger = parts.charger;
    } else {
      this.memcg = new MemcgTree({ version: config.cgroupVersion === 1 ? 'v1' : 'v2', clock: this.clock, oomHost });
      for (const cg of config.cgroups) this.memcg.create(cg.path, { limits: cg.limits });
      this.charger = this.memcg;
    }
    const factory = parts.policies?.[config.policy] ?? BUILTIN_POLICIES[config.policy] ?? reclaimPolicy(config.policy, parts.policyParams?.[config.policy]);
    this.policy = factory({ clock: this.clock, rng: this.rng, pteRef: this.pteRef, mms: this.mms, memcg: this.memcg, tlb: this.tlb ?? null, zeroPfn: zero });
    if (this.memcg && this.policy.reclaimer) this.memcg.setReclaimer(this.policy.reclaimer);
  }

  get processes(): readonly SimProcess[] {
    return this.procs;
  }

  /** The stock process objects (with their AddressSpace). */
  get mmProcesses(): readonly MmProcess[] {
    return this.procs;
  }

  get events(): readonly SimEvent[] {
    // memcg events first at equal times: they happen inside the charge, before the fault returns.
    const out = [...(this.memcg ? this.memcg.events.map((e) => this.memcgEvent(e)) : []), ...this.ownEvents];
    return out.sort((a, b) => a.time_ns - b.time_ns);
  }

  spawn(name: string, cgroup = '/'): MmProcess {
    if (this.memcg && !this.memcg.has(cgroup)) fail(MachineErrorCode.NoCgroup, `process ${show(name)} names cgroup ${show(cgroup)}, which does not exist`, { cgroup });
    const id = this.nextId++;
    // Join the cgroup first, so the top-level table is charged there.
    this.memcg?.attach(id, cgroup);
    const mm = new AddressSpace({
      id,
      name,
      allocator: this.allocator,
      pageTables: this.pageTables,
      levels: this.config.levels,
      zeroPfn: this.zeroPfn,
      hugeZeroPfn: this.hugeZeroPfn,
      observer: this.pteRef.observerFor(id),
      profile: this.policy.profile ?? this.config.profile,
      clock: this.clock,
      ...(this.charger ? { charger: this.charger } : {}),
      ...(this.tlb ? { tlb: this.tlb } : {}),
      ...(this.policy.hooks ? { hooks: this.policy.hooks } : {}),
    });
    const proc = new MmProcess(name, cgroup, mm, () => this.pteRef.reclaimablePtBytes(id), (p) => this.faultOom(p));
    this.procs.push(proc);
    this.byId.set(id, proc);
    this.mms.set(id, mm);
    this.policy.attach?.(mm);
    return proc;
  }

  tick(): void {
    this.policy.tick?.();
  }

  /**
   * `process` runs its next operation: the next CPU in turn switches to its address space
   * (switch_mm with the PCID kept), so the TLB model knows which CPUs may cache it and which
   * flushes need IPIs. Only with the stock TLB model and page tables.
   */
  schedule(process: SimProcess): void {
    const tlb = this.tlbSystem;
    const pt = process.pageTable;
    if (!tlb || !(pt instanceof X86PageTable) || !process.alive) return;
    const cpu = this.nextCpu;
    this.nextCpu = (cpu + 1) % this.config.cpus;
    tlb.currentCpu = cpu;
    if (tlb.loadedTable(cpu) !== pt) tlb.switchMm(cpu, pt, ((process.mm - 1) % 4095) + 1, true);
  }

  /**
   * Runs `@kmodel/mermap`'s guest_memfd-like workload: folios allocated outside the direct map
   * under the op's strategy (default: the policy's, else freetype), zeroed, read and copied
   * through the mermap, with the stale-TLB checker on every free. It runs on its own buddy
   * allocator and direct map over the machine's RAM (wired to the workload's TLB model, as the
   * strategies need); its counters (directmap.*, mermap.*, tlb.*) join the machine's and its
   * simulated time advances the machine's clock. Stale-TLB hazards become events.
   */
  kernelWork(op: UnmappedGuestOp, process: SimProcess): void {
    const strategy = op.strategy ?? this.policy.directMapStrategy ?? 'freetype';
    const ram = this.config.ram;
    const levels = this.config.levels;
    const result = runUnmappedWorkload(
      MERMAP_STRATEGY[strategy]!,
      ({ tlb, clock, nrCpus }) => {
        const layout = x86Layout({ memory: ram });
        const directMap = new DirectMap({ ram: ramRangesExcluding(layout.endPfn, layout.holes), levels, tlb, clock });
        const buddy = new BuddyAllocator({ layout, directMap, nrCpus });
        return { allocator: buddy, directMap, metrics: () => ({ ...directMap.metrics(), ...buddy.counters() }) };
      },
      { allocations: op.allocations, order: op.order, reads: op.reads, cowFaults: op.cowFaults, frees: op.frees, maxHold: op.maxHold, checker: op.checker, nrCpus: this.config.cpus, seed: this.rng.int(0, 2 ** 31 - 1) },
      this.clock.costs,
    );
    for (const [k, v] of Object.entries(result.metrics)) {
      if (KERNEL_WORK_PREFIXES.some((p) => k.startsWith(p))) this.kernel[k] = (this.kernel[k] ?? 0) + v;
    }
    const start = this.clock.now;
    this.clock.advance(result.metrics['time_ns'] ?? 0);
    for (const h of result.hazards) {
      this.ownEvents.push({ time_ns: start, type: 'stale_tlb_hazard', process: process.name, strategy, detail: JSON.stringify(h) });
    }
  }

  private oomStats(id: MmId): OomTaskStats | null {
    const mm = this.mms.get(id);
    return mm ? mm.oomStats() : null;
  }

  private oomKill(id: MmId): void {
    const mm = this.mms.get(id);
    if (!mm || mm.exited) return;
    this.retire(mm);
    mm.exit();
    this.mms.delete(id);
    this.pteRef.forgetMm(id);
  }

  private faultOom(p: MmProcess): void {
    if (p.mmSpace.exited) return;
    // The fault failed without killing this task (v1 oom_kill_disable, or no victim): it stops here.
    this.ownEvents.push({ time_ns: this.clock.now, type: 'fault_oom', process: p.name, cgroup: p.cgroup });
  }

  private retire(mm: AddressSpace): void {
    for (const [k, v] of Object.entries(mm.counters())) this.retired[k] = (this.retired[k] ?? 0) + v;
  }

  private memcgEvent(e: MemcgEvent): SimEvent {
    const name = (id: MmId | null) => (id === null ? '' : (this.byId.get(id)?.name ?? String(id)));
    switch (e.type) {
      case 'oom_kill':
        return { time_ns: e.time_ns, type: 'oom_kill', process: name(e.mm), cgroup: e.cgroup, task_memcg: e.task_memcg, trigger: name(e.trigger_mm), VmRSS: e.VmRSS, VmPTE: e.VmPTE, pgtables_bytes: e.pgtables_bytes, points: e.points };
      case 'oom_stall':
        return { time_ns: e.time_ns, type: 'oom_stall', process: name(e.mm), cgroup: e.cgroup };
      case 'oom_no_victim':
        return { time_ns: e.time_ns, type: 'oom_no_victim', cgroup: e.cgroup, trigger: name(e.trigger_mm) };
    }
  }

  /** Machine-wide, per-process and per-cgroup metrics (metrics.md names). */
  snapshot(): MachineSnapshot {
    const processes: Record<string, Record<string, number>> = {};
    const sums: Record<string, number> = {};
    for (const m of PROCESS_METRICS) sums[m] = 0;
    const counters: Record<string, number> = { ...this.retired };
    let liveMms = 0;
    for (const p of this.procs) {
      const m = p.metrics();
      const entry: Record<string, number> = { ...m, alive: p.alive ? 1 : 0 };
      if (!p.mmSpace.exited) {
        liveMms++;
        for (const [k, v] of Object.entries(p.mmSpace.counters())) {
          counters[k] = (counters[k] ?? 0) + v;
          entry[k] = v;
        }
      }
      processes[p.name] = entry;
      for (const k of PROCESS_METRICS) sums[k]! += m[k];
    }
    for (const [k, v] of Object.entries(this.policy.counters?.() ?? {})) counters[k] = (counters[k] ?? 0) + v;
    for (const [k, v] of Object.entries(this.kernel)) counters[k] = (counters[k] ?? 0) + v;
    const managed = this.allocator.managedPages();
    const free = this.allocator.nrFreePages();
    const machine: Record<string, number> = {
      time_ns: this.clock.now,
      MemTotal: managed * 4,
      MemFree: free * 4,
      // NR_PAGETABLE: every level below the top (pgtables_bytes) plus each live mm's top table (pgd_alloc).
      PageTables: sums['pgtables_bytes']! / 1024 + 4 * liveMms,
      nr_free_pages: free,
      ...sums,
      ...counters,
      'memory.events.oom_kill': this.memcg ? this.memcg.events.filter((e) => e.type === 'oom_kill').length : 0,
    };
    if (this.allocator instanceof BuddyAllocator) Object.assign(machine, this.allocator.counters());
    if (this.tlbSystem) for (const [k, v] of Object.entries(this.tlbSystem.counters.snapshot())) machine[k] = (machine[k] ?? 0) + v;
    const cgroups: Record<string, Record<string, number>> = {};
    if (this.memcg) {
      for (const [path, snap] of Object.entries(this.memcg.snapshot())) {
        const finite: Record<string, number> = {};
        for (const [k, v] of Object.entries(snap)) if (Number.isFinite(v)) finite[k] = v;
        cgroups[path] = finite;
      }
    }
    return { machine, processes, cgroups };
  }
}

/**
 * A stock policy (or a `+` combination such as `mainline+reclaim-path`) of `@kmodel/reclaim`:
 * its driver gets the machine's clock, address spaces, pte_ref counters, cgroups and TLB.
 * Throws E_UNKNOWN_POLICY (from `@kmodel/reclaim`) for a name it does not know.
 */
function reclaimPolicy(spec: string, params: Record<string, unknown> = {}): PolicyFactory {
  const make = createPolicy(spec, params);
  return (ctx) => make({ clock: ctx.clock, mms: ctx.mms, pteRef: ctx.pteRef, memcg: ctx.memcg, tlb: ctx.tlb, zeroPfn: ctx.zeroPfn });
}

/** Names of every policy a machine with these parts can run (stock reclaim policies combine with `+`). */
export function policyNames(parts: MachineParts = {}): string[] {
  return [...new Set([...Object.keys(BUILTIN_POLICIES), ...POLICY_NAMES, ...Object.keys(parts.policies ?? {})])];
}

/** Machine config of a scenario under one policy. */
export function scenarioMachineConfig(scenario: Scenario, policy: string): MachineConfig {
  const m = scenario.machine;
  return {
    ram: m.ram,
    cpus: m.cpus,
    levels: m.paging_levels,
    profile: m.profile,
    costs: m.costs,
    cgroupVersion: m.cgroup_version,
    cgroups: cgroupsInOrder(scenario.cgroups.map((c) => ({ path: c.path, limits: cgroupLimits(c) }))),
    seed: scenario.seed,
    policy,
  };
}

function cgroupLimits(c: Scenario['cgroups'][number]): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  if (c.memory_max !== undefined) out['memory.max'] = c.memory_max;
  if (c.memory_high !== undefined) out['memory.high'] = c.memory_high;
  if (c.limit_in_bytes !== undefined) out['memory.limit_in_bytes'] = c.limit_in_bytes;
  if (c.oom_kill_disable !== undefined) out['memory.oom_control'] = c.oom_kill_disable;
  return out;
}

/** Adds missing ancestors (without limits) and orders parents before children. */
function cgroupsInOrder(list: { path: string; limits: Record<string, number | boolean> }[]): { path: string; limits: Record<string, number | boolean> }[] {
  const byPath = new Map(list.map((c) => [c.path, c]));
  for (const c of list) {
    const parts = c.path.split('/').filter((s) => s !== '');
    for (let i = 1; i < parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      if (!byPath.has(p)) byPath.set(p, { path: p, limits: {} });
    }
  }
  return [...byPath.values()].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
}

/** Builds the stock machine for a scenario under `policy`, with the user's `parts` in place of stock layers. */
export function buildScenarioMachine(scenario: Scenario, policy: string, parts: MachineParts = {}): StockMachine {
  return new StockMachine(scenarioMachineConfig(scenario, policy), { ...parts, policyParams: { ...scenario.policy_params, ...parts.policyParams } });
}
