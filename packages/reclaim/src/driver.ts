import { CoreErrorCode, Counters, PAGES_PER_PMD, PAGES_PER_PUD, PAGE_SIZE, fail, show } from '@kmodel/core';
import type {
  Level,
  MetricSnapshot,
  MmId,
  Pfn,
  ReclaimCgroups,
  ReclaimContext,
  ReclaimFreeOptions,
  ReclaimMachine,
  ReclaimMm,
  ReclaimPolicy,
  ReclaimPteRef,
  ReclaimRequest,
  ReclaimZapCause,
  Reclaimer,
  SimClock,
  TlbFlusher,
  Vpn,
} from '@kmodel/core';
import { MACHINE_METRICS, REPORT_METRICS } from './metrics.js';

/** The kernel profile an address space runs with under a policy (the shape `@kmodel/mm` takes). */
export interface PolicyProfile {
  readonly name: string;
  readonly ptReclaimOnDontneed: boolean;
  readonly thpOnHugeZeroWrite: boolean;
}

/** The address-space hooks a driver installs (the shape of `MmHooks` in `@kmodel/mm`). */
export interface DriverHooks {
  afterZap(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, cause: ReclaimZapCause): void;
  beforeTableAlloc(mm: ReclaimMm, vpn: Vpn, level: Level): boolean | number | void;
  onTableAlloc(mm: ReclaimMm, vpn: Vpn, level: Level): void;
  onTableFree(mm: ReclaimMm, level: Level): void;
}

/** Per address space bookkeeping: where tables were reclaimed (refaults) and, under PT_RECLAIM, which blocks have a PTE table. */
class MmState {
  /** vpn / 512 of PTE tables freed by reclaim and not yet recreated. */
  readonly reclaimedPte = new Set<number>();
  /** vpn / 512^2 of PMD tables freed by reclaim and not yet recreated. */
  readonly reclaimedPmd = new Set<number>();
  /** vpn / 512 of live PTE tables, kept only when DONTNEED frees tables inside mm (to see which it freed). */
  readonly live: Set<number> | null;
  constructor(trackLive: boolean) {
    this.live = trackLive ? new Set() : null;
  }
}

/**
 * Runs one or more `ReclaimPolicy` modules against a machine and keeps their books: every
 * table free goes through {@link ReclaimDriver.freePteTable} / {@link ReclaimDriver.freePmdTable}
 * (counted per level, bytes, lock hold, TLB flushes, refault tracking), software scans through
 * {@link ReclaimDriver.chargeScan}, and reclaim entered from a charge (the `ReclaimRequest`
 * names the charging task and what it charges) leaves the tables of the fault in progress alone.
 *
 * The driver has the shape of the simulator's policy binding: `name`, `profile`, `hooks` (give
 * them to every address space), `reclaimer` (give it to the memcg hierarchy), `tick()`,
 * `counters()` (only what no address space counts, so a machine can add them to the address
 * spaces' counters) and `attach(mm)`. {@link ReclaimDriver.report} gives the full per-policy view.
 */
export class ReclaimDriver implements ReclaimMachine {
  readonly name: string;
  readonly policies: readonly ReclaimPolicy[];
  readonly profile: PolicyProfile;
  readonly hooks: DriverHooks;
  readonly reclaimer: Reclaimer;
  readonly clock: SimClock;
  readonly mms: ReadonlyMap<MmId, ReclaimMm>;
  readonly pteRef: ReclaimPteRef | null;
  readonly memcg: ReclaimCgroups | null;
  readonly zeroPfn: Pfn;
  private readonly tlb: TlbFlusher | null;
  /** The request being served while `reclaim` runs (the task in direct reclaim), else null. */
  private request: ReclaimRequest | null = null;
  private readonly own = new Counters(REPORT_METRICS);
  private readonly machineOnly = new Counters(MACHINE_METRICS);
  private readonly states = new Map<MmId, MmState>();
  private readonly attached = new Map<MmId, ReclaimMm>();
  private readonly sPte: number;
  private readonly sPmd: number;
  private readonly sBytes: number;
  private readonly sScanned: number;
  private readonly sRefaults: number;
  private readonly sRefaultNs: number;
  private readonly sHold: number;
  private readonly sFull: number;
  /** > 0 while the driver frees a table (its own frees are not PT_RECLAIM-at-DONTNEED frees). */
  private inFree = 0;
  /** PTE tables freed inside the address space since the last zap hook (DONTNEED's PT_RECLAIM, munmap, exit). */
  private pendingInnerFrees = 0;
  /** The address space and page of the last table allocation (the fault in progress, if one is). */
  private faultMm: MmId = -1;
  private faultVpn: Vpn = -1;
  private readonly withAfterFree: readonly ReclaimPolicy[];

  /**
   * @param ctx the machine.
   * @param policies the modules to run, in order (hooks are called in this order).
   */
  constructor(ctx: ReclaimContext, policies: readonly ReclaimPolicy[], name = policies.map((p) => p.name).join('+') || 'none') {
    this.name = name;
    this.policies = policies;
    this.clock = ctx.clock;
    this.mms = ctx.mms;
    this.pteRef = ctx.pteRef ?? null;
    this.memcg = ctx.memcg ?? null;
    this.tlb = ctx.tlb ?? null;
    this.zeroPfn = ctx.zeroPfn ?? this.pteRef?.zeroPfn ?? -1;
    const ptr = policies.some((p) => p.ptReclaimOnDontneed === true);
    this.profile = { name: ptr ? 'linux-6.18' : 'linux-6.13', ptReclaimOnDontneed: ptr, thpOnHugeZeroWrite: true };
    this.withAfterFree = policies.filter((p) => p.afterPteTablesFreed !== undefined);
    const o = this.own;
    this.sPte = o.slot('pt_reclaim.pte_tables_freed');
    this.sPmd = o.slot('pt_reclaim.pmd_tables_freed');
    this.sBytes = o.slot('pt_reclaim.bytes_freed');
    this.sScanned = o.slot('pt_reclaim.entries_scanned');
    this.sRefaults = o.slot('pt_reclaim.refaults');
    this.sRefaultNs = o.slot('pt_reclaim.refault_ns');
    this.sHold = o.slot('mmap_lock.write_hold_ns');
    this.sFull = o.slot('tlb.flush_full');
    this.hooks = {
      afterZap: (mm, s, e, cause) => this.afterZap(mm, s, e, cause),
      beforeTableAlloc: (mm, vpn, level) => this.beforeTableAlloc(mm, vpn, level),
      onTableAlloc: (mm, vpn, level) => this.onTableAlloc(mm, vpn, level),
      onTableFree: (mm, level) => this.onTableFree(mm, level),
    };
    this.reclaimer = { reclaim: (cgroup, bytes, request) => this.reclaim(cgroup, bytes, request) };
  }

  // ------------------------------------------------------------------ binding

  /** A new address space joined the machine (call before its first fault). */
  attach(mm: ReclaimMm): void {
    this.attached.set(mm.id, mm);
    this.state(mm);
    for (const p of this.policies) p.attach?.(mm, this);
  }

  /** Periodic work of every policy. */
  tick(): void {
    for (const p of this.policies) p.tick?.(this);
  }

  /**
   * The `Reclaimer` entry (memory pressure with a target: before an OOM kill, above
   * memory.high, or for a lowered limit, as `request.reason` says): asks each policy in turn
   * for the bytes still wanted. While it runs, {@link ReclaimDriver.mayFree} protects the
   * tables of `request.mm`'s fault in progress. Returns the bytes freed.
   */
  reclaim(cgroup: string | null, bytes: number, request?: ReclaimRequest | null): number {
    if (typeof bytes !== 'number' || !(bytes >= 0) || !Number.isFinite(bytes))
      fail(CoreErrorCode.OutOfRange, `reclaim target ${show(bytes)} must be a finite number of bytes >= 0`, { value: bytes });
    if (cgroup !== null && typeof cgroup !== 'string') fail(CoreErrorCode.OutOfRange, `reclaim cgroup ${show(cgroup)} must be a cgroup path or null`, { value: cgroup });
    const req = request ?? null;
    const outer = this.request;
    this.request = req;
    let freed = 0;
    try {
      for (const p of this.policies) {
        if (freed >= bytes) break;
        if (p.reclaim) freed += p.reclaim(cgroup, bytes - freed, this, req);
      }
    } finally {
      this.request = outer;
    }
    return freed;
  }

  /** Counters no address space keeps, plus the policies' own (add them to the address spaces' counters). */
  counters(): MetricSnapshot {
    const out = this.machineOnly.snapshot();
    for (const p of this.policies) Object.assign(out, p.counters?.() ?? {});
    return out;
  }

  /**
   * Everything this policy did, in metrics.md names: tables freed per level (including
   * PT_RECLAIM frees at MADV_DONTNEED), bytes freed, entries scanned, mmap_lock write hold
   * time of reclaim and faults that waited, TLB flushes asked for, refaults and their cost,
   * scan and walker time, the simulated clock (`time_ns`), plus the policies' own counters.
   */
  report(): MetricSnapshot {
    const out = this.own.snapshot();
    let waiters = 0;
    for (const mm of this.attached.values()) waiters += mm.mmapLock.waiters;
    out['mmap_lock.waiters'] = waiters;
    out['time_ns'] = this.clock.now;
    for (const p of this.policies) Object.assign(out, p.counters?.() ?? {});
    return out;
  }

  // ------------------------------------------------------------------ machine services

  mayFree(mm: ReclaimMm, vpn: Vpn, level: Level): boolean {
    // Reclaim with no task, for a limit write, or at the return to user mode: no fault in progress.
    const c = this.request;
    if (c === null || c.mm === null || c.mm !== mm.id || c.kind === null) return true;
    // A page-table charge: the tables of the fault address (the last table allocation) stay.
    if (c.kind !== 'pagetables' || this.faultMm !== mm.id) return false;
    const span = level === 1 ? PAGES_PER_PMD : PAGES_PER_PUD;
    return Math.floor(vpn / span) !== Math.floor(this.faultVpn / span);
  }

  mayReclaimFrom(mm: ReclaimMm): boolean {
    const c = this.request;
    if (mm.exited) return false;
    if (c === null || c.mm === null || c.mm !== mm.id || c.kind === null) return true;
    return c.kind === 'pagetables' && this.faultMm === mm.id;
  }

  inCgroup(mm: ReclaimMm, cgroup: string | null): boolean {
    if (cgroup === null || this.memcg === null) return true;
    return this.memcg.cgroupOf(mm.id) === cgroup;
  }

  freePteTable(mm: ReclaimMm, vpn: Vpn, options: ReclaimFreeOptions): boolean {
    const blk = vpn - (vpn % PAGES_PER_PMD);
    if (mm.exited || !this.mayFree(mm, blk, 1)) return false;
    const pt = mm.pageTable;
    const present = pt.presentCount(blk, 1);
    if (present < 0 || (present > 0 && !options.allowZeroPages)) return false;
    const holdBefore = mm.mmapLock.writeHoldNs;
    this.inFree++;
    let ok: boolean;
    try {
      ok = mm.tryFreePteTable(blk, options);
    } finally {
      this.inFree--;
    }
    const o = this.own;
    // The address space re-checks a non-empty table entry by entry under the lock: all 512 when
    // it frees it, else up to the first entry that blocks (the table is then unchanged).
    if (present > 0) o.add(this.sScanned, ok ? PAGES_PER_PMD : firstBlocking(mm, blk, this.zeroPfn) + 1);
    o.add(this.sHold, mm.mmapLock.writeHoldNs - holdBefore);
    if (!ok) return false;
    o.add(this.sPte);
    o.add(this.sBytes, PAGE_SIZE);
    o.add(this.sFull); // flush_tlb_range over 2 MiB: above tlb_single_page_flush_ceiling
    const st = this.state(mm);
    st.reclaimedPte.add(blk / PAGES_PER_PMD);
    st.live?.delete(blk / PAGES_PER_PMD);
    for (const p of this.withAfterFree) p.afterPteTablesFreed!(mm, blk, blk + PAGES_PER_PMD, this);
    return true;
  }

  freePmdTable(mm: ReclaimMm, vpn: Vpn): boolean {
    const base = vpn - (vpn % PAGES_PER_PUD);
    if (mm.exited || !this.mayFree(mm, base, 2)) return false;
    const pt = mm.pageTable;
    if (pt.tableAt(base, 2) < 0 || pt.presentCount(base, 2) !== 0) return false;
    this.inFree++;
    let ok: boolean;
    try {
      ok = pt.freePmdTable(base);
    } finally {
      this.inFree--;
    }
    if (!ok) return false;
    this.tlb?.flushRange(mm.id, base, base + PAGES_PER_PUD, true, 2);
    const o = this.own;
    o.add(this.sPmd);
    o.add(this.sBytes, PAGE_SIZE);
    o.add(this.sFull);
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.pmd_tables_freed'));
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.bytes_freed'), PAGE_SIZE);
    this.state(mm).reclaimedPmd.add(base / PAGES_PER_PUD);
    return true;
  }

  holdMmapWrite(mm: ReclaimMm, holdNs: number, background: boolean): void {
    if (holdNs <= 0) return;
    mm.mmapLock.writeBackground(holdNs, false);
    this.own.add(this.sHold, holdNs);
    if (!background) this.clock.advance(holdNs);
  }

  chargeScan(entries: number): void {
    if (entries <= 0) return;
    const ns = this.clock.charge('pte_scan_entry', entries);
    this.own.add(this.sScanned, entries);
    this.own.add(this.own.slot('pt_reclaim.scan_ns'), ns);
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.entries_scanned'), entries);
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.scan_ns'), ns);
  }

  /** Adds simulated ns of per-walker refcount work (the 2021-2022 pte_refcount designs) to the clock and the report. */
  chargeWalkers(walkers: number): void {
    if (walkers <= 0) return;
    const ns = this.clock.charge('pte_ref_walker_overhead', walkers);
    this.own.add(this.own.slot('pt_reclaim.walker_ns'), ns);
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.walker_ns'), ns);
  }

  // ------------------------------------------------------------------ hooks

  private state(mm: ReclaimMm): MmState {
    let st = this.states.get(mm.id);
    if (st === undefined) {
      st = new MmState(this.profile.ptReclaimOnDontneed);
      this.states.set(mm.id, st);
      if (!this.attached.has(mm.id)) this.attached.set(mm.id, mm);
    }
    return st;
  }

  private beforeTableAlloc(mm: ReclaimMm, vpn: Vpn, level: Level): boolean | number | void {
    this.faultMm = mm.id;
    this.faultVpn = vpn;
    let delay = 0;
    for (const p of this.policies) {
      const r = p.beforeTableAlloc?.(mm, vpn, level, this);
      if (r === false) return false;
      if (typeof r === 'number' && r > 0) delay += r;
    }
    return delay > 0 ? delay : true;
  }

  private onTableAlloc(mm: ReclaimMm, vpn: Vpn, level: Level): void {
    const st = this.state(mm);
    if (level === 1) {
      const blk = Math.floor(vpn / PAGES_PER_PMD);
      st.live?.add(blk);
      if (st.reclaimedPte.size > 0 && st.reclaimedPte.delete(blk)) this.refault();
    } else if (level === 2 && st.reclaimedPmd.size > 0 && st.reclaimedPmd.delete(Math.floor(vpn / PAGES_PER_PUD))) this.refault();
  }

  /** A table freed by reclaim is allocated again: the extra cost of a fault that must allocate a table. */
  private refault(): void {
    const c = this.clock.costs;
    const ns = c.fault_read_zero_new_table - c.fault_read_zero;
    this.own.add(this.sRefaults);
    this.own.add(this.sRefaultNs, ns);
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.refaults'));
    this.machineOnly.add(this.machineOnly.slot('pt_reclaim.refault_ns'), ns);
  }

  private onTableFree(_mm: ReclaimMm, level: Level): void {
    if (this.inFree === 0 && level === 1) this.pendingInnerFrees++;
  }

  private afterZap(mm: ReclaimMm, startVpn: Vpn, endVpn: Vpn, cause: ReclaimZapCause): void {
    const inner = this.pendingInnerFrees;
    this.pendingInnerFrees = 0;
    const st = this.state(mm);
    if (cause === 'exit') {
      this.states.delete(mm.id);
    } else if (cause === 'munmap') {
      forgetRange(st.reclaimedPte, startVpn, endVpn, PAGES_PER_PMD, null);
      if (st.live) forgetRange(st.live, startVpn, endVpn, PAGES_PER_PMD, mm);
    } else if (cause === 'dontneed' && inner > 0) {
      // PT_RECLAIM freed `inner` PTE tables in this MADV_DONTNEED (zap_pte_range + try_get_and_clear_pmd).
      const o = this.own;
      o.add(this.sPte, inner);
      o.add(this.sBytes, inner * PAGE_SIZE);
      if (st.live) {
        const freed: number[] = [];
        eachBlock(st.live, startVpn, endVpn, PAGES_PER_PMD, (b) => {
          if (mm.pageTable.tableAt(b * PAGES_PER_PMD, 1) < 0) freed.push(b);
        });
        for (const b of freed) {
          st.live.delete(b);
          st.reclaimedPte.add(b);
        }
      }
      for (const p of this.withAfterFree) p.afterPteTablesFreed!(mm, startVpn, endVpn, this);
    }
    for (const p of this.policies) p.afterZap?.(mm, startVpn, endVpn, cause, this);
  }
}

/** Index of the first entry of the PTE table at `blk` that is neither none nor the zero page (511 if none blocks). */
function firstBlocking(mm: ReclaimMm, blk: Vpn, zeroPfn: Pfn): number {
  const pt = mm.pageTable;
  for (let i = 0; i < PAGES_PER_PMD; i++) {
    const pfn = pt.entryPfn(blk + i, 1);
    if (pfn === -1 ? pt.entryFlags(blk + i, 1) !== 0 : pfn !== zeroPfn) return i;
  }
  return PAGES_PER_PMD - 1;
}

/** Calls `fn` with each member of `set` (block numbers of `span` pages) inside [startVpn, endVpn), looping over the smaller of the two. */
function eachBlock(set: Set<number>, startVpn: Vpn, endVpn: Vpn, span: number, fn: (block: number) => void): void {
  const first = Math.floor(startVpn / span);
  const last = Math.ceil(endVpn / span);
  if (last - first <= set.size) {
    for (let b = first; b < last; b++) if (set.has(b)) fn(b);
  } else {
    for (const b of set) if (b >= first && b < last) fn(b);
  }
}

/** Drops the blocks of [startVpn, endVpn) from `set` (those whose table is gone, when `mm` is given). */
function forgetRange(set: Set<number>, startVpn: Vpn, endVpn: Vpn, span: number, mm: ReclaimMm | null): void {
  if (set.size === 0) return;
  const drop: number[] = [];
  eachBlock(set, startVpn, endVpn, span, (b) => {
    if (mm === null || mm.pageTable.tableAt(b * span, 1) < 0) drop.push(b);
  });
  for (const b of drop) set.delete(b);
}
