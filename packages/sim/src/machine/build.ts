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
  type TlbFlusher,
} from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { MemcgTree, type MemcgEvent } from '@kmodel/memcg';
import { AddressSpace } from '@kmodel/mm';
import { createPageTable, TlbSystem, X86PageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import type { SimEvent } from '../report/types.js';
import type { UnmappedGuestOp } from '../workload/ops.js';
import { runUnmappedGuest } from './kernel-work.js';
import type { MachineConfig, MachineParts } from './parts.js';
import { BUILTIN_POLICIES, reclaimPolicy, type PolicyBinding } from './policy.js';
import { MmProcess } from './process.js';
import type { Machine, MachineSnapshot, SimProcess } from './types.js';

/** Error codes of the machine builder. */
export const MachineErrorCode = {
  /** The allocator could not provide the zero pages at boot. */
  Boot: 'E_MACHINE_BOOT',
  /** A process names a cgroup that does not exist. */
  NoCgroup: 'E_NO_CGROUP',
} as const;

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
    // 'symmetric': since 6.12 a THP split maps zero-filled subpages to the zero page over present
    // entries (remap_page with RMP_USE_SHARED_ZEROPAGE, which mm models); the RFC's rule would
    // miss those zero-page entries and underflow when they are cleared.
    this.pteRef = new PteRef(zero, { zeroRule: 'symmetric' });
    const oomHost: OomHost = { oomStats: (id) => this.oomStats(id), oomKill: (id) => this.oomKill(id) };
    if (parts.charger) {
      this.memcg = null;
      this.charger = parts.charger;
    } else {
      this.memcg = new MemcgTree({ version: config.cgroupVersion === 1 ? 'v1' : 'v2', clock: this.clock, oomHost });
      for (const cg of config.cgroups) this.memcg.create(cg.path, { limits: cg.limits });
      // Reclaim entered from a charge learns whose fault is in progress (the kernel's `current`)
      // from the memcg layer's ReclaimRequest.
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
    const proc = new MmProcess(
      name,
      cgroup,
      mm,
      () => this.pteRef.reclaimablePtBytes(id),
      (p) => this.faultOom(p),
    );
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
   * Runs kernel work for `process`: `@kmodel/mermap`'s guest_memfd-like workload under the
   * op's strategy (default: the policy's, else freetype). See {@link runUnmappedGuest}.
   */
  kernelWork(op: UnmappedGuestOp, process: SimProcess): void {
    const strategy = op.strategy ?? this.policy.directMapStrategy ?? 'freetype';
    const r = runUnmappedGuest(op, strategy, { ram: this.config.ram, levels: this.config.levels, cpus: this.config.cpus, seed: this.rng.int(0, 2 ** 31 - 1), costs: this.clock.costs });
    for (const [k, v] of Object.entries(r.counters)) this.kernel[k] = (this.kernel[k] ?? 0) + v;
    const start = this.clock.now;
    this.clock.advance(r.timeNs);
    for (const h of r.hazards) this.ownEvents.push({ time_ns: start, type: 'stale_tlb_hazard', process: process.name, strategy, detail: h });
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
    /** Table pages outside pgtables_bytes: each live mm's top table, and its P4D tables with 5-level paging. */
    let otherTables = 0;
    for (const p of this.procs) {
      const m = p.metrics();
      const entry: Record<string, number> = { ...m, alive: p.alive ? 1 : 0 };
      if (!p.mmSpace.exited) {
        otherTables += 1 + (this.config.levels === 5 ? Math.max(0, p.pageTable.tableCount(4)) : 0);
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
      // NR_PAGETABLE counts every page-table page (the ctors of all levels); pgtables_bytes leaves out
      // the top table (pgd_alloc) and, with 5-level paging, the P4D tables. Checked on Linux 6.18:
      // 3000 forked children raise PageTables by their VmPTE plus 3.9-4.9 kB each (median 4.0).
      PageTables: sums['pgtables_bytes']! / 1024 + 4 * otherTables,
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

