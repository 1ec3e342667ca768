import {
  CoreErrorCode, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_PGTABLE_USER, MEMCG_RECLAIM_MAY_SWAP, PAGE_SIZE, Rng,
  __GFP_DIRECT_RECLAIM, __GFP_HIGH, __GFP_NORETRY, __GFP_RECLAIM, fail, show,
} from '@kmodel/core';
import type { ChargeKind, Charger, MetricSnapshot, MmId, OomHost, ReclaimReason, ReclaimRequest, Reclaimer, SimClock } from '@kmodel/core';
import { MemCgroup } from './cgroup.js';
import { MemcgErrorCode } from './errors.js';
import { MEMCG_HIGH, MEMCG_LOW, MEMCG_MAX, MEMCG_OOM, MEMCG_OOM_GROUP_KILL, MEMCG_OOM_KILL } from './events.js';
import { cgroupMetrics, checkFile, isFlagFile, parseFlag, parseSetting, readFile, writableOf } from './files.js';
import { DEFAULT_HZ, MAX_RECLAIM_RETRIES, MEMCG_CHARGE_BATCH, SWAP_CLUSTER_MAX, calculateHighDelay, calculateOverage } from './high-delay.js';
import { CHARGE_KINDS, KIND_ANON, KIND_FILE, KIND_PAGETABLES, NR_CHARGE_KINDS, isKmemKind, kindIndex } from './kinds.js';
import { parseLimitText } from './limits.js';
import type { CgroupVersion, LimitInput } from './limits.js';
import { oomBadness, oomGroupOf, selectBadProcess } from './oom.js';
import type { OomVictim } from './oom.js';
import { ChargeStock } from './stock.js';
import type { CgroupOptions, MemcgEvent, MemcgPolicy, MemcgTreeOptions, OomStall } from './types.js';

interface TaskState {
  mm: MmId;
  cg: MemCgroup;
  /** Bytes charged by kind. */
  readonly charged: Float64Array;
  /** memcg_nr_pages_over_high. */
  pagesOverHigh: number;
}

const PATH_RE = /^\/(?:[^/\s]+(?:\/[^/\s]+)*)?$/;

/** PAGE_ALLOC_COSTLY_ORDER: charges of at most 2^3 pages get a free retry after reclaim progress. */
const COSTLY_PAGES = 8;
/** A pending uncharge that no OOM decision may apply (the charging task's own memory, freed at its exit). */
const AT_EXIT = Number.MAX_SAFE_INTEGER;

/** The GFP mask the kernel charges `kind` with (the Charger's default). */
function defaultGfp(k: number): number {
  if (k === KIND_PAGETABLES) return GFP_PGTABLE_USER;
  if (k === KIND_ANON || k === KIND_FILE) return GFP_HIGHUSER_MOVABLE;
  return GFP_KERNEL_ACCOUNT;
}

/**
 * A hierarchy of memory cgroups and the `Charger` that charges address spaces to them.
 *
 * Every address space (mm) belongs to one cgroup (the root until {@link MemcgTree.attach});
 * a charge adds to the cgroup and every ancestor (page_counter_try_charge) and fails at the
 * lowest one whose limit it would pass. Then, as try_charge_memcg() does: a `max` event,
 * reclaim through the `Reclaimer` (honouring memory.min / memory.low), retries, and
 * finally the OOM killer inside that cgroup, which kills the task with the highest
 * {@link oomBadness} (RSS + swap + page tables). memory.high throttles (reclaim, then a
 * simulated sleep on the `SimClock`) and never kills. On v1 with `oom_kill_disable` the
 * charging task stalls instead.
 *
 * Charges go through the per-CPU charge stock as in the kernel: the page counters are charged
 * a batch (MEMCG_CHARGE_BATCH = 64 pages) at a time and the surplus waits in the stock of the
 * current CPU ({@link MemcgTree.cpu}), so memory.current and memory.usage_in_bytes run up to a
 * batch per CPU ahead of memory.stat; kernel-memory uncharges (page tables) go back to the
 * stock. Charges are whole pages (multiples of 4096 bytes). memory.stat `kernel` includes page tables.
 */
export class MemcgTree implements Charger {
  /** The interface of this hierarchy. */
  readonly version: CgroupVersion;
  /** OOM kills, stalls and OOMs without victims, in order. */
  readonly events: MemcgEvent[] = [];
  readonly policy: Readonly<MemcgPolicy>;

  private readonly root = new MemCgroup('/', null);
  private readonly byPath = new Map<string, MemCgroup>([['/', this.root]]);
  private readonly tasks = new Map<MmId, TaskState>();
  /** Tasks killed by the OOM killer and not yet released by {@link MemcgTree.exit}. */
  private readonly dead = new Set<MmId>();
  private readonly stalled = new Map<MmId, OomStall>();
  private reclaimer: Reclaimer | null;
  private oomHost: OomHost | null;
  private readonly clock: SimClock | null;
  /** > 0 while reclaim or an OOM kill runs: charges made meanwhile are forced (PF_MEMALLOC). */
  private reclaimDepth = 0;
  /** The OOM victim being torn down on behalf of a charging task, whose page-table frees are deferred. */
  private killing: MmId | null = null;
  /** The victim being torn down is the charging task itself: all its uncharges wait for its exit. */
  private killingSelf = false;
  /** Number of OOM decisions so far. */
  private oomGen = 0;
  /** Uncharges of victims' page tables not yet applied to the cgroups (see `MemcgPolicy.lateTableFree`). */
  private readonly pendingFrees: { cg: MemCgroup; k: number; bytes: number; gen: number }[] = [];
  /** The per-CPU charge stock. */
  private readonly stock: ChargeStock;
  private cpuNow = 0;

  constructor(options: MemcgTreeOptions = {}) {
    const version = options.version ?? 'v2';
    if (version !== 'v1' && version !== 'v2') fail(MemcgErrorCode.Version, `unknown cgroup version ${show(version)}; expected "v1" or "v2"`, { value: version });
    const policy: MemcgPolicy = {
      hz: DEFAULT_HZ,
      maxReclaimRetries: MAX_RECLAIM_RETRIES,
      chargeBatchPages: MEMCG_CHARGE_BATCH,
      highDelay: calculateHighDelay,
      lateTableFree: true,
      nrCpus: 1,
      stockSeed: 0,
      ...options.policy,
    };
    for (const key of ['hz', 'maxReclaimRetries', 'chargeBatchPages', 'nrCpus', 'stockSeed'] as const) {
      const v = policy[key];
      const min = key === 'maxReclaimRetries' || key === 'stockSeed' ? 0 : 1;
      if (!Number.isSafeInteger(v) || v < min) fail(CoreErrorCode.OutOfRange, `memcg policy ${key} must be an integer >= ${min}, got ${show(v)}`, { key, value: v });
    }
    if (policy.chargeBatchPages > 127) {
      // BUILD_BUG_ON(MEMCG_CHARGE_BATCH > S8_MAX) in refill_stock(): a slot holds at most 127 pages.
      fail(CoreErrorCode.OutOfRange, `memcg policy chargeBatchPages must be at most 127 (the stock keeps pages in a u8), got ${policy.chargeBatchPages}`, { key: 'chargeBatchPages', value: policy.chargeBatchPages });
    }
    this.version = version;
    this.policy = Object.freeze(policy);
    this.reclaimer = options.reclaimer ?? null;
    this.oomHost = options.oomHost ?? null;
    this.clock = options.clock ?? null;
    this.stock = new ChargeStock(policy.nrCpus, policy.chargeBatchPages, new Rng(policy.stockSeed), (cg, pages) => this.pageCounterUncharge(cg, pages * PAGE_SIZE));
  }

  /** The CPU the charging and freeing tasks run on (smp_processor_id()), 0 .. nrCpus - 1; default 0. */
  get cpu(): number {
    return this.cpuNow;
  }

  /** Moves the running task to `cpu` (its charges then use that CPU's stock). Throws E_OUT_OF_RANGE. */
  setCpu(cpu: number): void {
    if (!Number.isSafeInteger(cpu) || cpu < 0 || cpu >= this.policy.nrCpus) {
      fail(CoreErrorCode.OutOfRange, `cpu ${show(cpu)} out of range: expected an integer in [0, ${this.policy.nrCpus - 1}] (policy nrCpus)`, { value: cpu });
    }
    this.cpuNow = cpu;
  }

  /**
   * Bytes pre-charged to the page counters of `path`'s subtree and waiting in per-CPU stocks:
   * the part of memory.current / memory.usage_in_bytes that memory.stat does not show.
   */
  stockedBytes(path: string): number {
    return this.stock.stockedUnder(this.get(path)) * PAGE_SIZE;
  }

  /**
   * drain_all_stock(): every CPU holding stocked pages of `path`'s subtree returns its whole
   * stock (all cached cgroups) to the page counters.
   */
  drainStock(path = '/'): void {
    this.stock.drainAll(this.get(path));
  }

  /** Sets the OOM host (the address-space layer, usually built after this tree). */
  setOomHost(host: OomHost | null): void {
    this.oomHost = host;
  }

  /** Sets the reclaimer asked for room under memory.max and memory.high. */
  setReclaimer(reclaimer: Reclaimer | null): void {
    this.reclaimer = reclaimer;
  }

  // ---------------------------------------------------------------- hierarchy

  /**
   * mkdir: creates the cgroup at `path` (e.g. `"/jobs/a"`; the parent must exist) with
   * optional initial limits. Throws E_BAD_CGROUP_PATH, E_NO_CGROUP, E_CGROUP_EXISTS,
   * E_CGROUP_VERSION, E_UNKNOWN_KEY, E_BAD_LIMIT; nothing is created then.
   */
  create(path: string, options: CgroupOptions = {}): void {
    this.checkPath(path);
    if (options.version !== undefined && options.version !== this.version) {
      fail(MemcgErrorCode.Version, `cgroup ${show(path)} asks for ${show(options.version)} but the hierarchy is ${show(this.version)}`, { path, value: options.version });
    }
    if (this.byPath.has(path)) fail(MemcgErrorCode.Exists, `cgroup ${show(path)} already exists`, { path });
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    if (!this.byPath.has(parentPath) && !options.parents) {
      fail(MemcgErrorCode.NoCgroup, `cannot create ${show(path)}: parent cgroup ${show(parentPath)} does not exist (pass parents: true to create it)`, { path });
    }
    const settings = Object.entries(options.limits ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([file, value]) => [file, parseSetting(file, value as LimitInput | boolean, this.version)] as const);
    const parent = this.byPath.get(parentPath) ?? this.mkdirParents(parentPath);
    const cg = new MemCgroup(path, parent);
    parent.children.push(cg);
    this.byPath.set(path, cg);
    for (const [file, value] of settings) this.applySetting(cg, file, value);
  }

  /** mkdir -p of a validated path whose cgroup does not exist yet. */
  private mkdirParents(path: string): MemCgroup {
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    const parent = this.byPath.get(parentPath) ?? this.mkdirParents(parentPath);
    const cg = new MemCgroup(path, parent);
    parent.children.push(cg);
    this.byPath.set(path, cg);
    return cg;
  }

  /** rmdir: removes an empty cgroup (no children, no tasks). Throws E_CGROUP_NOT_EMPTY otherwise. */
  remove(path: string): void {
    const cg = this.get(path);
    if (cg.isRoot) fail(MemcgErrorCode.NotEmpty, 'the root cgroup cannot be removed', { path });
    if (cg.children.length > 0 || cg.mms.size > 0) {
      fail(MemcgErrorCode.NotEmpty, `cgroup ${show(path)} still has ${cg.children.length} children and ${cg.mms.size} tasks`, { path });
    }
    // mem_cgroup_css_offline(): drain_all_stock() gives the stocked pages back.
    this.stock.drainAll(cg);
    const siblings = cg.parent!.children;
    siblings.splice(siblings.indexOf(cg), 1);
    this.byPath.delete(path);
  }

  /** Paths of all cgroups, parents before children. */
  paths(): string[] {
    return [...this.root.preorder()].map((c) => c.path);
  }

  /** True if a cgroup exists at `path`. */
  has(path: string): boolean {
    return this.byPath.has(path);
  }

  /**
   * Moves address space `mm` into the cgroup at `path` (writing its pid to cgroup.procs).
   * Charges it already holds move with it (as v1 move_charge_at_immigrate does; the v2 kernel
   * leaves them behind, which the Charger contract cannot express without page identities):
   * if they do not fit under the destination's limits the move fails with E_ATTACH_NOMEM.
   */
  attach(mm: MmId, path: string): void {
    this.checkMm(mm);
    const dest = this.get(path);
    const task = this.tasks.get(mm);
    if (!task) {
      this.newTask(mm, dest);
      return;
    }
    if (task.cg === dest) return;
    let total = 0;
    for (let k = 0; k < NR_CHARGE_KINDS; k++) total += task.charged[k]!;
    if (total > 0) {
      for (let c: MemCgroup | null = dest; c && !task.cg.isDescendantOf(c); c = c.parent) {
        if (c.usage + total > c.max) {
          fail(MemcgErrorCode.AttachNoMem, `cannot move mm ${mm} with ${total} bytes charged into ${show(path)}: ${show(c.path)} has ${c.max - c.usage} bytes left under its limit`, { mm, path });
        }
      }
    }
    for (let k = 0; k < NR_CHARGE_KINDS; k++) {
      const b = task.charged[k]!;
      if (b > 0) this.statSub(task.cg, k, b);
    }
    if (total > 0) this.pageCounterUncharge(task.cg, total);
    task.cg.mms.delete(mm);
    task.cg = dest;
    dest.mms.add(mm);
    for (let k = 0; k < NR_CHARGE_KINDS; k++) {
      const b = task.charged[k]!;
      if (b > 0) this.statAdd(dest, k, b);
    }
    if (total > 0) this.pageCounterCharge(dest, total);
    this.stalled.delete(mm);
  }

  /** The cgroup path of `mm` (the root for an address space never attached). */
  cgroupOf(mm: MmId): string {
    return this.tasks.get(mm)?.cg.path ?? '/';
  }

  /** Address spaces attached directly to the cgroup at `path`, in attach order. */
  tasksIn(path: string): MmId[] {
    return [...this.get(path).mms];
  }

  /** Bytes of `kind` that `mm` has charged and not uncharged. */
  chargedBy(mm: MmId, kind: ChargeKind): number {
    return this.tasks.get(mm)?.charged[kindIndex(kind)] ?? 0;
  }

  /**
   * The address space is gone (exit_mmap done): whatever it still has charged is uncharged and
   * it leaves its cgroup. Also releases a task killed by the OOM killer. Unknown mms are ignored.
   */
  exit(mm: MmId): void {
    this.release(mm);
    this.dead.delete(mm);
  }

  /** True if `mm` was killed by the OOM killer (and not released by {@link MemcgTree.exit}). */
  isKilled(mm: MmId): boolean {
    return this.dead.has(mm);
  }

  // ---------------------------------------------------------------- Charger

  /**
   * Charges `bytes` (a multiple of 4096) of `kind` to the cgroup of `mm`: try_charge_memcg().
   * Returns false when the charge cannot be made: the OOM killer found nothing to kill, it
   * killed `mm` itself, `mm` was killed before, the GFP mask forbids reclaim or retries, or
   * (v1, oom_kill_disable) `mm` now stalls. Throws E_BAD_CHARGE_KIND, E_UNALIGNED or
   * E_NOT_INTEGER for bad arguments.
   * @param gfp the allocation's GFP mask; default the one the kernel uses for `kind`.
   */
  charge(mm: MmId, kind: ChargeKind, bytes: number, gfp?: number): boolean {
    const k = kindIndex(kind);
    this.checkBytes(bytes);
    this.checkMm(mm);
    if (gfp !== undefined && (!Number.isSafeInteger(gfp) || gfp < 0)) fail(CoreErrorCode.NotAnInteger, `gfp mask must be a non-negative integer, got ${show(gfp)}`, { value: gfp });
    if (this.dead.has(mm)) return false;
    if (bytes === 0) return true;
    const task = this.tasks.get(mm) ?? this.newTask(mm, this.root);
    if (task.cg.isRoot) {
      // try_charge(): the root cgroup has no limit and is charged exactly, without the stock.
      this.pageCounterCharge(task.cg, bytes);
      this.commit(task, k, bytes);
      return true;
    }
    // consume_stock(): the common case, a page from the current CPU's stock.
    const nrPages = bytes / PAGE_SIZE;
    if (this.stock.consume(this.cpuNow, task.cg, nrPages)) {
      this.commit(task, k, bytes);
      return true;
    }
    try {
      return this.tryChargeMemcg(task, k, nrPages, gfp ?? defaultGfp(k));
    } finally {
      // The charging task leaves the kernel: victims' page-table frees complete.
      if (this.pendingFrees.length > 0 && this.reclaimDepth === 0) this.flushPendingFrees(Infinity);
    }
  }

  /**
   * try_charge_memcg() (mm/memcontrol.c): the stock of the current CPU first; then a batch of
   * max(MEMCG_CHARGE_BATCH, nrPages) on the page counters, the surplus going to the stock; on
   * failure the exact size, then per attempt a `max` event and direct reclaim, one
   * drain_all_stock(), free retries while reclaim makes progress on small charges,
   * MAX_RECLAIM_RETRIES more, and the OOM killer, after which the count starts again. Every
   * failed page-counter charge counts in memory.failcnt of the cgroup at its limit.
   */
  private tryChargeMemcg(task: TaskState, k: number, nrPages: number, gfp: number): boolean {
    const mm = task.mm;
    const cg = task.cg;
    const cpu = this.cpuNow;
    const bytes = nrPages * PAGE_SIZE;
    // gfpflags_allow_spinning(): without it the stock is neither refilled nor flushed.
    let batch = (gfp & __GFP_RECLAIM) !== 0 ? Math.max(this.policy.chargeBatchPages, nrPages) : nrPages;
    let retries = this.policy.maxReclaimRetries;
    let drained = false;
    let passedOom = false;
    let raisedMax = false;
    for (;;) {
      if (this.stock.consume(cpu, cg, nrPages)) {
        this.commit(task, k, bytes);
        return true;
      }
      const over = this.pageCounterTryCharge(cg, batch * PAGE_SIZE);
      if (over === null) {
        // done_restock
        if (batch > nrPages) this.stock.refill(cpu, cg, batch - nrPages);
        this.commit(task, k, bytes);
        this.stalled.delete(mm);
        if (this.version === 'v2') this.checkHigh(task, k, batch, gfp);
        return true;
      }
      if (batch > nrPages) {
        batch = nrPages;
        continue;
      }
      // Charges from inside reclaim or an OOM kill are forced past the limit (PF_MEMALLOC).
      if (this.reclaimDepth > 0) return this.force(task, k, bytes, over, raisedMax);
      if ((gfp & __GFP_DIRECT_RECLAIM) === 0) return this.nomem(task, k, bytes, over, raisedMax, gfp);
      this.memoryEvent(over, MEMCG_MAX);
      raisedMax = true;
      const reclaimed = this.tryToFreeMemCgroupPages(over, nrPages, this.request('max', mm, k, gfp, nrPages));
      if (this.margin(over) >= bytes) continue;
      if (!drained) {
        this.stock.drainAll(over);
        drained = true;
        continue;
      }
      if ((gfp & __GFP_NORETRY) !== 0) return this.nomem(task, k, bytes, over, raisedMax, gfp);
      // Reclaim progress on small charges earns a free retry.
      if (reclaimed > 0 && nrPages <= COSTLY_PAGES) continue;
      if (retries-- > 0) continue;
      // Avoid endless loop for tasks bypassed by the OOM killer (task_is_dying()).
      if (passedOom && this.dead.has(mm)) return false;
      // mem_cgroup_oom()
      this.memoryEvent(over, MEMCG_OOM);
      if (this.version === 'v1' && over.oomKillDisable) {
        // memcg1_oom_prepare(): the faulting task returns VM_FAULT_OOM and sleeps in
        // mem_cgroup_oom_synchronize() until an uncharge or a limit change wakes it.
        if (!this.stalled.has(mm)) {
          const time_ns = this.now();
          this.stalled.set(mm, { mm, cgroup: over.path, since_ns: time_ns });
          this.events.push({ type: 'oom_stall', time_ns, cgroup: over.path, mm });
        }
        return false;
      }
      if (this.outOfMemory(over, mm) === null) return false;
      // The OOM killer made progress: a full set of retries again, even for a task that killed itself.
      passedOom = true;
      retries = this.policy.maxReclaimRetries;
    }
  }

  /** The `force` label of try_charge_memcg(): a `max` event if none was raised, then the page counters charged past the limit. */
  private force(task: TaskState, k: number, bytes: number, over: MemCgroup, raisedMax: boolean): boolean {
    if (!raisedMax) this.memoryEvent(over, MEMCG_MAX);
    this.pageCounterCharge(task.cg, bytes);
    this.commit(task, k, bytes);
    return true;
  }

  /** The `nomem` label: -ENOMEM, unless the mask has __GFP_HIGH (then forced). */
  private nomem(task: TaskState, k: number, bytes: number, over: MemCgroup, raisedMax: boolean, gfp: number): boolean {
    return (gfp & __GFP_HIGH) !== 0 ? this.force(task, k, bytes, over, raisedMax) : false;
  }

  /**
   * Returns a charge (the memory was freed). Kernel memory (page tables included) goes back
   * to the current CPU's stock page by page (obj_cgroup_uncharge_pages → refill_stock, which
   * drains a slot once it holds more than a batch); anon and file go straight to the page
   * counters (uncharge_batch). Throws E_UNCHARGE_UNDERFLOW if `mm` has not that much of `kind`
   * charged. Uncharges of a killed task whose charges are all gone, or that was released with
   * {@link MemcgTree.exit}, are ignored.
   */
  uncharge(mm: MmId, kind: ChargeKind, bytes: number): void {
    const k = kindIndex(kind);
    this.checkBytes(bytes);
    const task = this.tasks.get(mm);
    if (!task) {
      if (this.dead.has(mm)) return;
      if (bytes === 0) return;
      fail(MemcgErrorCode.Underflow, `mm ${show(mm)} has nothing charged; cannot uncharge ${bytes} bytes of ${kind}`, { mm, kind, bytes });
    }
    if (task.charged[k]! < bytes) {
      fail(MemcgErrorCode.Underflow, `mm ${show(mm)} has ${task.charged[k]} bytes of ${kind} charged; cannot uncharge ${bytes}`, { mm, kind, bytes });
    }
    if (bytes === 0) return;
    task.charged[k]! -= bytes;
    if (mm === this.killing && (k === KIND_PAGETABLES || this.killingSelf)) {
      // The victim's page tables stay charged until the next OOM decision (lateTableFree); a task
      // that killed itself keeps all its memory until its charge returns (it exits after the fault).
      this.pendingFrees.push({ cg: task.cg, k, bytes, gen: this.killingSelf ? AT_EXIT : this.oomGen });
      return;
    }
    this.release1(task.cg, k, bytes);
    if (this.dead.size > 0) this.dropIfDeadAndEmpty(mm);
    // memcg1_oom_recover(): an uncharge wakes tasks stalled in this cgroup or above.
    if (this.stalled.size > 0) this.wakeStalled(task.cg, true);
  }

  /**
   * The task `mm` returns to user mode (resume_user_mode_work): if its charges went above
   * memory.high it reclaims and may sleep now (mem_cgroup_handle_over_high with GFP_KERNEL).
   * Call it at the end of every fault or memory syscall of `mm`. Unknown mms are ignored.
   */
  returnToUser(mm: MmId): void {
    const task = this.tasks.get(mm);
    if (task && task.pagesOverHigh > 0 && this.reclaimDepth === 0) this.handleOverHigh(task, null, GFP_KERNEL);
  }

  // ---------------------------------------------------------------- files

  /**
   * Reads a cgroup file as the kernel prints it (with the trailing newline), e.g.
   * `read('/job', 'memory.stat')`. Throws E_NO_CGROUP, or E_UNKNOWN_KEY for a file this
   * version does not have.
   */
  read(path: string, file: string): string {
    const cg = this.get(path);
    checkFile(file, this.version);
    return readFile(cg, file, this.version, this.underOom(cg));
  }

  /**
   * Writes a cgroup file as `echo text > file` does, with the kernel's syntax ("64M", "max"
   * on v2, "-1" on v1). v2 `memory.max` below usage reclaims and then OOM-kills until usage
   * fits (memory_max_write); v1 `memory.limit_in_bytes` below usage reclaims and otherwise
   * fails with E_BUSY, limit unchanged (mem_cgroup_resize_max). Throws E_UNKNOWN_KEY,
   * E_READ_ONLY, E_BAD_LIMIT, E_ROOT_LIMIT.
   */
  write(path: string, file: string, text: string): void {
    const cg = this.get(path);
    if (!writableOf(this.version).includes(file)) {
      checkFile(file, this.version);
      fail(MemcgErrorCode.ReadOnly, `${file} is read-only`, { path, file });
    }
    if (cg.isRoot) fail(MemcgErrorCode.RootLimit, `cannot write ${file} of the root cgroup`, { path, file });
    let value: number | boolean;
    if (isFlagFile(file)) value = parseFlag(text, file);
    else if (file === 'memory.max_usage_in_bytes' || file === 'memory.failcnt') value = 0;
    else value = parseLimitText(text, this.version, file);
    this.applySetting(cg, file, value);
  }

  /**
   * The cgroup's numbers under the metric names of metrics.md. v2: memory.current, memory.max,
   * memory.high, memory.low, memory.min, memory.peak, memory.stat.{anon,file,kernel,pagetables,
   * sec_pagetables}, memory.events.{low,high,max,oom,oom_kill}, memcg.throttled_ns. v1:
   * memory.usage_in_bytes, memory.max_usage_in_bytes, memory.limit_in_bytes, memory.failcnt,
   * memory.kmem.usage_in_bytes, the same memory.stat.* keys, memory.oom_control.under_oom and
   * memory.oom_control.oom_kill. Limits without a value are `Infinity`.
   */
  metrics(path: string): MetricSnapshot {
    const cg = this.get(path);
    return cgroupMetrics(cg, this.version, this.underOom(cg));
  }

  /** {@link MemcgTree.metrics} of every cgroup, by path (the report's `"cgroups"` object). */
  snapshot(): Record<string, MetricSnapshot> {
    const out: Record<string, MetricSnapshot> = {};
    for (const c of this.root.preorder()) out[c.path] = this.metrics(c.path);
    return out;
  }

  /** Tasks stalled under v1 oom_kill_disable, in stall order. */
  stalls(): OomStall[] {
    return [...this.stalled.values()];
  }

  /** True if `mm` is stalled under v1 oom_kill_disable. */
  isStalled(mm: MmId): boolean {
    return this.stalled.has(mm);
  }

  // ---------------------------------------------------------------- internals

  private get(path: string): MemCgroup {
    return this.byPath.get(path) ?? fail(MemcgErrorCode.NoCgroup, `no cgroup at ${show(path)}; existing: ${[...this.byPath.keys()].join(', ')}`, { path });
  }

  private checkPath(path: string): void {
    if (typeof path !== 'string' || !PATH_RE.test(path) || path.split('/').some((p) => p === '.' || p === '..')) {
      fail(MemcgErrorCode.BadPath, `bad cgroup path ${show(path)}: expected "/" or "/name/..." without empty, "." or ".." parts or whitespace`, { path });
    }
  }

  private checkBytes(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) fail(CoreErrorCode.NotAnInteger, `charge size must be a non-negative integer number of bytes, got ${show(bytes)}`, { value: bytes });
    if (bytes % PAGE_SIZE !== 0) fail(CoreErrorCode.Unaligned, `charge size ${show(bytes)} is not a whole number of 4 KiB pages`, { value: bytes });
  }

  private checkMm(mm: MmId): void {
    if (!Number.isSafeInteger(mm) || mm < 0) fail(CoreErrorCode.NotAnInteger, `mm id must be a non-negative integer, got ${show(mm)}`, { value: mm });
  }

  private newTask(mm: MmId, cg: MemCgroup): TaskState {
    const task: TaskState = { mm, cg, charged: new Float64Array(NR_CHARGE_KINDS), pagesOverHigh: 0 };
    this.tasks.set(mm, task);
    cg.mms.add(mm);
    return task;
  }

  /** Applies a validated setting, with the kernel's side effects (reclaim, OOM, EBUSY). */
  private applySetting(cg: MemCgroup, file: string, value: number | boolean): void {
    switch (file) {
      case 'memory.max': {
        // memory_max_write(): set first, then drain the stocks once, reclaim, and OOM-kill until usage fits.
        cg.max = value as number;
        let reclaims = this.policy.maxReclaimRetries;
        let drained = false;
        while (cg.usage > cg.max) {
          if (!drained) {
            this.stock.drainAll(cg);
            drained = true;
            continue;
          }
          if (reclaims > 0) {
            const nrPages = (cg.usage - cg.max) / PAGE_SIZE;
            if (this.tryToFreeMemCgroupPages(cg, nrPages, this.request('limit', null, -1, GFP_KERNEL, nrPages)) === 0) reclaims--;
            continue;
          }
          this.memoryEvent(cg, MEMCG_OOM);
          if (this.outOfMemory(cg, null) === null) break;
        }
        return;
      }
      case 'memory.high': {
        // memory_high_write(): set, then drain the stocks once and reclaim down to it; never kills.
        cg.high = value as number;
        let retries = this.policy.maxReclaimRetries;
        let drained = false;
        while (cg.usage > cg.high) {
          if (!drained) {
            this.stock.drainAll(cg);
            drained = true;
            continue;
          }
          const nrPages = (cg.usage - cg.high) / PAGE_SIZE;
          if (this.tryToFreeMemCgroupPages(cg, nrPages, this.request('limit', null, -1, GFP_KERNEL, nrPages)) === 0 && retries-- === 0) break;
        }
        return;
      }
      case 'memory.low':
        cg.low = value as number;
        return;
      case 'memory.min':
        cg.min = value as number;
        return;
      case 'memory.limit_in_bytes': {
        // mem_cgroup_resize_max(): drain the stocks once, then reclaim a page at a time; EBUSY
        // when reclaim stops helping.
        const max = value as number;
        let drained = false;
        while (cg.usage > max) {
          if (!drained) {
            this.stock.drainAll(cg);
            drained = true;
            continue;
          }
          if (this.tryToFreeMemCgroupPages(cg, 1, this.request('limit', null, -1, GFP_KERNEL, 1)) === 0) {
            fail(MemcgErrorCode.Busy, `cannot set ${cg.path} memory.limit_in_bytes to ${max}: usage is ${cg.usage} bytes and reclaim frees nothing (EBUSY)`, { path: cg.path, value: max, usage: cg.usage });
          }
        }
        const enlarge = max > cg.max;
        cg.max = max;
        if (enlarge) this.wakeStalled(cg, false);
        return;
      }
      case 'memory.kmem.limit_in_bytes':
        // Since the v1 kmem limit was deprecated the write is accepted and has no effect.
        return;
      case 'memory.oom.group':
        cg.oomGroup = value as boolean;
        return;
      case 'memory.oom_control':
        cg.oomKillDisable = value as boolean;
        if (!cg.oomKillDisable) this.wakeStalled(cg, false);
        return;
      case 'memory.max_usage_in_bytes':
        // mem_cgroup_reset(RES_MAX_USAGE): any write resets the watermark to the usage.
        cg.watermark = cg.usage;
        return;
      case 'memory.failcnt':
        cg.failcnt = 0;
        return;
    }
  }

  /**
   * page_counter_try_charge(): charges `bytes` to `cg` and every ancestor; at the first whose
   * limit it would pass it counts a failure (failcnt), undoes the levels below and returns that
   * cgroup; null on success. The watermarks follow the usage.
   */
  private pageCounterTryCharge(cg: MemCgroup, bytes: number): MemCgroup | null {
    for (let c: MemCgroup | null = cg; c; c = c.parent) {
      if (c.usage + bytes > c.max) {
        c.failcnt++;
        return c;
      }
    }
    this.pageCounterCharge(cg, bytes);
    return null;
  }

  /** page_counter_charge(): charges `bytes` to `cg` and every ancestor regardless of limits. */
  private pageCounterCharge(cg: MemCgroup, bytes: number): void {
    for (let c: MemCgroup | null = cg; c; c = c.parent) {
      c.usage += bytes;
      if (c.usage > c.watermark) c.watermark = c.usage;
    }
  }

  /** page_counter_uncharge() of `cg` and every ancestor. */
  private pageCounterUncharge(cg: MemCgroup, bytes: number): void {
    for (let c: MemCgroup | null = cg; c; c = c.parent) c.usage -= bytes;
  }

  /** Records a charge of the task in the statistics (the page counters are charged separately). */
  private commit(task: TaskState, k: number, bytes: number): void {
    task.charged[k]! += bytes;
    this.statAdd(task.cg, k, bytes);
  }

  /** memory.stat (hierarchical and local) and, for kernel memory, the v1 kmem counter: exact, never batched. */
  private statAdd(cg: MemCgroup, k: number, bytes: number): void {
    cg.localStat[k]! += bytes;
    const kmem = isKmemKind(k);
    for (let c: MemCgroup | null = cg; c; c = c.parent) {
      c.stat[k]! += bytes;
      if (kmem) {
        c.kmem += bytes;
        if (c.kmem > c.kmemWatermark) c.kmemWatermark = c.kmem;
      }
    }
  }

  private statSub(cg: MemCgroup, k: number, bytes: number): void {
    cg.localStat[k]! -= bytes;
    const kmem = isKmemKind(k);
    for (let c: MemCgroup | null = cg; c; c = c.parent) {
      c.stat[k]! -= bytes;
      if (kmem) c.kmem -= bytes;
    }
  }

  /**
   * Memory of kind `k` charged to `cg` is freed: statistics at once; the page counters at once
   * for anon and file (uncharge_batch), through the current CPU's stock one page at a time for
   * kernel memory (__memcg_kmem_uncharge_page → refill_stock; never for the root).
   */
  private release1(cg: MemCgroup, k: number, bytes: number): void {
    this.statSub(cg, k, bytes);
    if (isKmemKind(k) && !cg.isRoot) this.stock.refillEach(this.cpuNow, cg, 1, bytes / PAGE_SIZE);
    else this.pageCounterUncharge(cg, bytes);
  }

  /** A reclaim request of the charging path (`k` < 0: no kind). */
  private request(reason: ReclaimReason, mm: MmId | null, k: number, gfp: number, nrPages: number): ReclaimRequest {
    return { reason, mm, kind: k < 0 ? null : CHARGE_KINDS[k]!, gfp, nrPages, reclaimOptions: MEMCG_RECLAIM_MAY_SWAP };
  }

  /** mem_cgroup_margin(). */
  private margin(cg: MemCgroup): number {
    return cg.max > cg.usage ? cg.max - cg.usage : 0;
  }

  /** memcg_memory_event(): local counter, and on v2 the hierarchical one up to below the root. */
  private memoryEvent(cg: MemCgroup, event: number): void {
    cg.eventsLocal[event]!++;
    for (let c: MemCgroup | null = cg; c; c = c.parent) {
      c.events[event]!++;
      if (this.version === 'v1' || !c.parent || c.parent.isRoot) break;
    }
  }

  private now(): number {
    return this.clock?.now ?? 0;
  }

  /**
   * try_to_free_mem_cgroup_pages() over `target`'s subtree, honouring memory.min and
   * memory.low as shrink_node_memcgs() does: cgroups at or below their effective min are
   * skipped; those at or below their effective low are skipped on the first pass and
   * reclaimed (counting a `low` event) only if that pass freed nothing. The target is
   * max(nrPages, SWAP_CLUSTER_MAX) pages (sc.nr_to_reclaim); the reclaimer is asked per cgroup
   * for the bytes still wanted, with `request`. Returns the drop of `target`'s usage.
   */
  private tryToFreeMemCgroupPages(target: MemCgroup, nrPages: number, request: ReclaimRequest): number {
    const reclaimer = this.reclaimer;
    if (!reclaimer || nrPages <= 0) return 0;
    const bytes = Math.max(nrPages, SWAP_CLUSTER_MAX) * PAGE_SIZE;
    const before = target.usage;
    this.reclaimDepth++;
    try {
      let lowSkipped = false;
      for (const lowReclaim of [false, true]) {
        if (lowReclaim && (!lowSkipped || before - target.usage > 0)) break;
        for (const c of [...target.preorder()]) {
          const wanted = bytes - (before - target.usage);
          if (wanted <= 0) break;
          if (c !== target && this.effectiveProtection(c, target, 'min') >= c.usage) continue;
          if (c !== target && this.effectiveProtection(c, target, 'low') >= c.usage) {
            if (!lowReclaim) {
              lowSkipped = true;
              continue;
            }
            this.memoryEvent(c, MEMCG_LOW);
          }
          reclaimer.reclaim(c.path, wanted, request);
        }
      }
    } finally {
      this.reclaimDepth--;
    }
    return Math.max(0, before - target.usage);
  }

  /**
   * Effective memory.min / memory.low of `c` in a reclaim of `target` (a simplified
   * effective_protection(): children of the reclaim root get their own setting, deeper
   * cgroups at most their parent's effective value; the proportional sharing of an
   * overcommitted parent's protection is not modelled).
   */
  private effectiveProtection(c: MemCgroup, target: MemCgroup, which: 'min' | 'low'): number {
    if (c === target || c.isRoot) return 0;
    if (c.parent === target) return c[which];
    return Math.min(c[which], this.effectiveProtection(c.parent!, target, which));
  }

  /**
   * out_of_memory() for a memcg OOM: {@link selectBadProcess} over `over`'s subtree, then
   * oom_kill_process(). Returns the victim, or null when there is none.
   */
  private outOfMemory(over: MemCgroup, trigger: MmId | null): MmId | null {
    const host = this.oomHost;
    const totalpages = over.max === Infinity ? 1 : Math.max(1, Math.floor(over.max / PAGE_SIZE));
    const victim = host ? selectBadProcess(over, host, this.dead, totalpages) : null;
    const time_ns = this.now();
    if (!host || !victim) {
      this.events.push({ type: 'oom_no_victim', time_ns, cgroup: over.path, trigger_mm: trigger });
      return null;
    }
    const gen = ++this.oomGen;
    this.killTask(victim, over, trigger, totalpages, time_ns, host);
    // oom_kill_process(): with memory.oom.group set on the victim's cgroup or an ancestor up to
    // the OOM domain, every other task of the highest such group dies too, except the exempt.
    const group = this.version === 'v2' ? oomGroupOf(victim.cgroup, over) : null;
    if (group) {
      this.memoryEvent(group, MEMCG_OOM_GROUP_KILL);
      for (const c of group.preorder()) {
        for (const mm of [...c.mms]) {
          if (this.dead.has(mm)) continue;
          const stats = host.oomStats(mm);
          const points = stats ? oomBadness(stats, totalpages) : null;
          if (stats && points !== null) this.killTask({ mm, stats, cgroup: c, points }, over, trigger, totalpages, time_ns, host);
        }
      }
    }
    // Page tables of victims chosen by earlier OOM decisions are freed by now.
    if (this.pendingFrees.length > 0) this.flushPendingFrees(gen);
    return victim.mm;
  }

  /** __oom_kill_process(): records the kill and has the host tear the task down. */
  private killTask(victim: OomVictim, over: MemCgroup, trigger: MmId | null, totalpages: number, time_ns: number, host: OomHost): void {
    const { mm, stats, cgroup } = victim;
    this.events.push({
      type: 'oom_kill',
      time_ns,
      cgroup: over.path,
      task_memcg: cgroup.path,
      mm,
      trigger_mm: trigger,
      rss_pages: stats.rssPages,
      VmRSS: stats.rssPages * 4,
      pgtables_bytes: stats.pgtablesBytes,
      VmPTE: Math.floor(stats.pgtablesBytes / 1024),
      swapents: stats.swapents,
      oom_score_adj: stats.oomScoreAdj,
      points: victim.points,
      totalpages,
    });
    // memcg_memory_event_mm(victim->mm, MEMCG_OOM_KILL).
    this.memoryEvent(cgroup, MEMCG_OOM_KILL);
    this.dead.add(mm);
    this.stalled.delete(mm);
    this.killingSelf = trigger === mm;
    this.killing = this.killingSelf || (trigger !== null && this.policy.lateTableFree) ? mm : null;
    this.reclaimDepth++;
    try {
      host.oomKill(mm);
    } finally {
      this.reclaimDepth--;
      this.killing = null;
      this.killingSelf = false;
    }
    // The victim's pages are uncharged as its teardown frees them; pages it still shares
    // (e.g. with a forked child) stay charged to it until they are freed.
    this.dropIfDeadAndEmpty(mm);
  }

  /** Applies deferred page-table uncharges recorded before OOM decision `beforeGen`. */
  private flushPendingFrees(beforeGen: number): void {
    let kept = 0;
    for (const f of this.pendingFrees) {
      if (f.gen < beforeGen) {
        this.release1(f.cg, f.k, f.bytes);
        if (this.stalled.size > 0) this.wakeStalled(f.cg, true);
      } else {
        this.pendingFrees[kept++] = f;
      }
    }
    this.pendingFrees.length = kept;
  }

  /** Forgets a killed task once nothing is charged to it any more (it stays killed). */
  private dropIfDeadAndEmpty(mm: MmId): void {
    const task = this.tasks.get(mm);
    if (!task || !this.dead.has(mm)) return;
    for (let k = 0; k < NR_CHARGE_KINDS; k++) if (task.charged[k]! > 0) return;
    task.cg.mms.delete(mm);
    this.tasks.delete(mm);
  }

  /** Uncharges everything `mm` still holds and detaches it. */
  private release(mm: MmId): void {
    const task = this.tasks.get(mm);
    if (!task) return;
    for (let k = 0; k < NR_CHARGE_KINDS; k++) {
      const b = task.charged[k]!;
      if (b > 0) {
        task.charged[k] = 0;
        this.release1(task.cg, k, b);
      }
    }
    task.cg.mms.delete(mm);
    this.tasks.delete(mm);
    this.stalled.delete(mm);
    if (this.stalled.size > 0) this.wakeStalled(task.cg, true);
  }

  /** v1 under_oom: a task is stalled in this cgroup. */
  private underOom(cg: MemCgroup): boolean {
    for (const s of this.stalled.values()) if (s.cgroup === cg.path) return true;
    return false;
  }

  /**
   * memcg1_oom_recover(): wakes tasks stalled under `cg` (upward: under `cg` or an ancestor,
   * as an uncharge there makes room; downward: in `cg`'s subtree, after a limit change).
   * A woken task retries its fault; until then it is no longer reported as stalled.
   */
  private wakeStalled(cg: MemCgroup, upward: boolean): void {
    for (const [mm, s] of this.stalled) {
      const at = this.byPath.get(s.cgroup);
      if (!at) continue;
      if (upward ? cg.isDescendantOf(at) : at.isDescendantOf(cg)) this.stalled.delete(mm);
    }
  }

  /**
   * After a successful page-counter charge of `batch` pages (v2): if the cgroup or an ancestor
   * is above memory.high, the task owes the batch (memcg_nr_pages_over_high) and settles it on
   * its return to user mode ({@link MemcgTree.returnToUser}), or at once once it owes more than
   * a batch (try_charge_memcg's done_restock). Charges served from the stock owe nothing.
   */
  private checkHigh(task: TaskState, k: number, batch: number, gfp: number): void {
    for (let c: MemCgroup | null = task.cg; c; c = c.parent) {
      if (c.usage > c.high) {
        task.pagesOverHigh += batch;
        break;
      }
    }
    // Not from inside reclaim (PF_MEMALLOC), and only when the mask allows blocking.
    if (task.pagesOverHigh > this.policy.chargeBatchPages && this.reclaimDepth === 0 && (gfp & __GFP_DIRECT_RECLAIM) !== 0) this.handleOverHigh(task, k, gfp);
  }

  /**
   * mem_cgroup_handle_over_high(): reclaim what the task owes (then SWAP_CLUSTER_MAX per retry)
   * at every level above memory.high, and sleep the penalty when reclaim cannot keep up.
   * `k` is the kind being charged when called inside a charge, null at return to user.
   */
  private handleOverHigh(task: TaskState, k: number | null, gfp: number): void {
    const nrPages = task.pagesOverHigh;
    task.pagesOverHigh = 0;
    const hz = this.policy.hz;
    let retries = this.policy.maxReclaimRetries;
    let inRetry = false;
    for (let progressGuard = 0; ; ) {
      const pages = inRetry ? SWAP_CLUSTER_MAX : nrPages;
      const reclaimed = this.reclaimHigh(task.cg, pages, this.request('high', task.mm, k ?? -1, gfp, pages));
      let maxOverage = 0n;
      for (let c: MemCgroup | null = task.cg; c && !c.isRoot; c = c.parent) {
        const o = c.high === Infinity ? 0n : calculateOverage(Math.ceil(c.usage / PAGE_SIZE), Math.floor(c.high / PAGE_SIZE));
        if (o > maxOverage) maxOverage = o;
      }
      const penalty = Math.min(this.policy.highDelay(maxOverage, nrPages, hz), 2 * hz);
      if (!(penalty > Math.floor(hz / 100))) return;
      if ((reclaimed > 0 && progressGuard++ < 1000) || retries-- > 0) {
        inRetry = true;
        continue;
      }
      const ns = Math.round((penalty * 1e9) / hz);
      this.clock?.advance(ns);
      for (let c: MemCgroup | null = task.cg; c; c = c.parent) c.throttledNs += ns;
      return;
    }
  }

  /** reclaim_high(): a `high` event and reclaim at every level above its memory.high. */
  private reclaimHigh(cg: MemCgroup, nrPages: number, request: ReclaimRequest): number {
    let reclaimed = 0;
    for (let c: MemCgroup | null = cg; c && !c.isRoot; c = c.parent) {
      if (c.usage <= c.high) continue;
      this.memoryEvent(c, MEMCG_HIGH);
      reclaimed += this.tryToFreeMemCgroupPages(c, nrPages, request);
    }
    return reclaimed;
  }
}
