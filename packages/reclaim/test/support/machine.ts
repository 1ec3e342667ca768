import { GFP_KERNEL, SimClock, costModel } from '@kmodel/core';
import type { MmId, TlbFlusher, Vpn } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { MemcgTree } from '@kmodel/memcg';
import { AddressSpace } from '@kmodel/mm';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { ReclaimDriver, createPolicy } from '@kmodel/reclaim';
import type { ReclaimPolicy } from '@kmodel/core';

/** Counts shootdowns with x86's rule: a range above 33 pages is a full flush. */
export class CountingTlb implements TlbFlusher {
  single = 0;
  full = 0;
  freedTableFlushes = 0;
  flushRange(_asid: number, startVpn: Vpn, endVpn: Vpn, freedTables: boolean, strideLevel: 1 | 2 | 3 = 1): void {
    const stride = strideLevel === 1 ? 1 : strideLevel === 2 ? 512 : 512 * 512;
    const pages = Math.ceil((endVpn - startVpn) / stride);
    if (pages > 33) this.full++;
    else this.single += pages;
    if (freedTables) this.freedTableFlushes++;
  }
  flushAll(): void {
    this.full++;
  }
}

export interface TestMachineOptions {
  /** A stock policy spec (`none`, `mainline+reclaim-path`, ...) or ready modules. */
  policy: string | ReclaimPolicy[];
  params?: Record<string, unknown>;
  /** memory.max of the cgroup `/test` (default: no limit). */
  memoryMax?: number;
  /** RAM in bytes (default 1 GiB). */
  ram?: number;
  /** Cost overrides (ns) for the simulated clock. */
  costs?: Record<string, number>;
}

/** Options of {@link TestMachine.spawn}. */
export interface SpawnOptions {
  /** cgroup path (created on first use, without limits); default `/test`. */
  cgroup?: string;
  /** Faults take per-VMA locks (default true, as in 6.18). */
  perVmaLock?: boolean;
}

/**
 * A test-only machine: buddy + pgtable + pte-ref + mm + memcg (v2, cgroup `/test`) with a
 * reclaim driver wired the way a simulator would; reclaim entered from a charge knows the
 * faulting task from the memcg layer's reclaim request.
 */
export class TestMachine {
  readonly clock: SimClock;
  readonly allocator: BuddyAllocator;
  readonly zeroPfn: number;
  readonly hugeZeroPfn: number;
  readonly pteRef: PteRef;
  readonly memcg: MemcgTree;
  readonly charger: MemcgTree;
  readonly tlb = new CountingTlb();
  readonly mms = new Map<MmId, AddressSpace>();
  readonly driver: ReclaimDriver;
  private nextId = 1;

  constructor(options: TestMachineOptions) {
    this.clock = new SimClock(costModel(options.costs ?? {}));
    this.allocator = new BuddyAllocator({ memory: options.ram ?? 1 << 30, nrCpus: 1 });
    this.zeroPfn = this.allocator.allocPages(GFP_KERNEL, 0)!;
    this.hugeZeroPfn = this.allocator.allocPages(GFP_KERNEL, 9)!;
    this.pteRef = new PteRef(this.zeroPfn);
    this.memcg = new MemcgTree({
      version: 'v2',
      clock: this.clock,
      oomHost: {
        oomStats: (id) => this.mms.get(id)?.oomStats() ?? null,
        oomKill: (id) => this.kill(id),
      },
    });
    this.memcg.create('/test', options.memoryMax === undefined ? {} : { limits: { 'memory.max': options.memoryMax } });
    this.charger = this.memcg;
    const ctx = { clock: this.clock, mms: this.mms, pteRef: this.pteRef, memcg: this.memcg, tlb: this.tlb };
    this.driver = typeof options.policy === 'string' ? createPolicy(options.policy, options.params ?? {})(ctx) : new ReclaimDriver(ctx, options.policy);
    this.memcg.setReclaimer(this.driver.reclaimer);
  }

  spawn(name = `p${this.nextId}`, options: SpawnOptions = {}): AddressSpace {
    const id = this.nextId++;
    const cgroup = options.cgroup ?? '/test';
    if (!this.memcg.has(cgroup)) this.memcg.create(cgroup);
    this.memcg.attach(id, cgroup);
    const mm = new AddressSpace({
      id,
      name,
      allocator: this.allocator,
      pageTables: createPageTable,
      zeroPfn: this.zeroPfn,
      hugeZeroPfn: this.hugeZeroPfn,
      observer: this.pteRef.observerFor(id),
      profile: this.driver.profile,
      clock: this.clock,
      charger: this.charger,
      tlb: this.tlb,
      hooks: this.driver.hooks,
      perVmaLock: options.perVmaLock ?? true,
    });
    this.mms.set(id, mm);
    this.driver.attach(mm);
    return mm;
  }

  private kill(id: MmId): void {
    const mm = this.mms.get(id);
    if (!mm || mm.exited) return;
    mm.exit();
    this.mms.delete(id);
    this.pteRef.forgetMm(id);
  }

  /** OOM kills so far. */
  get oomKills(): number {
    return this.memcg.events.filter((e) => e.type === 'oom_kill').length;
  }

  /** memory.stat pagetables of /test. */
  get pagetablesBytes(): number {
    return this.memcg.metrics('/test')['memory.stat.pagetables']!;
  }

  /** Ticks the policy `n` times, advancing the clock by `stepNs` before each. */
  tick(n = 1, stepNs = 0): void {
    for (let i = 0; i < n; i++) {
      if (stepNs > 0) this.clock.advance(stepNs);
      this.driver.tick();
    }
  }
}

/** Pages per 2 MiB (one PTE table's span). */
export const TABLE_SPAN = 512;
/** 1 MiB in pages. */
export const MIB_PAGES = 256;

/** Every present 4 KiB translation of `mm`: vpn to pfn. */
export function translations(mm: AddressSpace): Map<number, number> {
  const out = new Map<number, number>();
  mm.pageTable.walk(0, mm.taskSize, {
    leaf: (vpn, level, pfn) => {
      if (level === 1) out.set(vpn, pfn);
    },
  });
  return out;
}
