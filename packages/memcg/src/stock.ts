import type { Rng } from '@kmodel/core';
import type { MemCgroup } from './cgroup.js';

/** NR_MEMCG_STOCK (mm/memcontrol.c, since 6.16): cgroups whose pre-charged pages one CPU caches at once. */
export const NR_MEMCG_STOCK = 7;

/**
 * The per-CPU charge stock (struct memcg_stock_pcp of mm/memcontrol.c): each CPU caches pages
 * already charged to the page counters of up to {@link NR_MEMCG_STOCK} cgroups. A charge first
 * takes its pages from the stock of the current CPU (consume_stock); a page-counter charge is
 * made a batch at a time and the surplus goes to the stock (refill_stock), as do kernel-memory
 * uncharges. Stocked pages count in the page counters, so memory.current and
 * memory.usage_in_bytes include them, while memory.stat does not.
 *
 * Pages of a slot are returned to the page counters (drain_stock) when the slot would hold more
 * than a batch, when the slot is taken for another cgroup, and by drain_all_stock().
 * @internal
 */
export class ChargeStock {
  readonly nrCpus: number;
  readonly batch: number;
  /** Cached cgroup per (cpu, slot), null when the slot is empty. */
  private readonly cached: (MemCgroup | null)[];
  /** Stocked pages per (cpu, slot). */
  private readonly pages: Int32Array;
  private readonly rng: Rng;
  /** Returns stocked pages to a cgroup's page counters (memcg_uncharge). */
  private readonly uncharge: (cg: MemCgroup, pages: number) => void;

  constructor(nrCpus: number, batch: number, rng: Rng, uncharge: (cg: MemCgroup, pages: number) => void) {
    this.nrCpus = nrCpus;
    this.batch = batch;
    this.cached = new Array<MemCgroup | null>(nrCpus * NR_MEMCG_STOCK).fill(null);
    this.pages = new Int32Array(nrCpus * NR_MEMCG_STOCK);
    this.rng = rng;
    this.uncharge = uncharge;
  }

  /** consume_stock(): takes `nrPages` of `cg` from `cpu`'s stock; false if that slot has fewer (or the charge is above a batch). */
  consume(cpu: number, cg: MemCgroup, nrPages: number): boolean {
    if (nrPages > this.batch) return false;
    const base = cpu * NR_MEMCG_STOCK;
    for (let i = base; i < base + NR_MEMCG_STOCK; i++) {
      if (this.cached[i] !== cg) continue;
      if (this.pages[i]! < nrPages) return false;
      this.pages[i]! -= nrPages;
      return true;
    }
    return false;
  }

  /**
   * refill_stock(): puts `nrPages` charged pages of `cg` into `cpu`'s stock. Above a batch they
   * go straight back to the page counters; a slot that would hold more than a batch is drained;
   * without a slot for `cg` an empty one is taken, or a random one drained and taken.
   */
  refill(cpu: number, cg: MemCgroup, nrPages: number): void {
    if (nrPages > this.batch) {
      this.uncharge(cg, nrPages);
      return;
    }
    const base = cpu * NR_MEMCG_STOCK;
    let empty = -1;
    for (let i = base; i < base + NR_MEMCG_STOCK; i++) {
      const c = this.cached[i];
      if (c === null && empty < 0) empty = i;
      if (c !== cg) continue;
      const n = this.pages[i]! + nrPages;
      this.pages[i] = n;
      if (n > this.batch) this.drainSlot(i);
      return;
    }
    let i = empty;
    if (i < 0) {
      i = base + this.rng.int(0, NR_MEMCG_STOCK - 1);
      this.drainSlot(i);
    }
    this.cached[i] = cg;
    this.pages[i] = nrPages;
  }

  /**
   * `count` refills of `unit` pages each (the pages freed one by one, e.g. page tables at
   * exit), in O(1) when the slot exists: the slot drains each time it passes a batch.
   */
  refillEach(cpu: number, cg: MemCgroup, unit: number, count: number): void {
    if (count <= 0) return;
    if (unit > this.batch) {
      this.uncharge(cg, unit * count);
      return;
    }
    let i = this.slotOf(cpu, cg);
    if (i < 0) {
      this.refill(cpu, cg, unit);
      if (--count === 0) return;
      i = this.slotOf(cpu, cg);
    }
    // The slot holds s pages; each refill adds `unit`, and a total above the batch drains it
    // (the slot is then empty and the next refill takes it again).
    const s = this.pages[i]!;
    const toFirstDrain = Math.floor((this.batch - s) / unit) + 1;
    if (count < toFirstDrain) {
      this.pages[i] = s + count * unit;
      return;
    }
    count -= toFirstDrain;
    const perCycle = Math.floor(this.batch / unit) + 1;
    const cycles = Math.floor(count / perCycle);
    count -= cycles * perCycle;
    const drained = s + toFirstDrain * unit + cycles * perCycle * unit;
    this.pages[i] = count * unit;
    if (count === 0) this.cached[i] = null;
    this.uncharge(cg, drained);
  }

  /** Pages of `cg` stocked on `cpu`. */
  stocked(cpu: number, cg: MemCgroup): number {
    const i = this.slotOf(cpu, cg);
    return i < 0 ? 0 : this.pages[i]!;
  }

  /** Pages stocked on any CPU for `cg` or a cgroup below it. */
  stockedUnder(cg: MemCgroup): number {
    let n = 0;
    for (let i = 0; i < this.cached.length; i++) {
      const c = this.cached[i];
      if (c !== null && c !== undefined && c.isDescendantOf(cg)) n += this.pages[i]!;
    }
    return n;
  }

  /**
   * drain_all_stock(root): every CPU whose stock holds pages of `root`'s subtree
   * (is_memcg_drain_needed) drains its whole stock, every slot, whatever cgroup it caches
   * (drain_local_memcg_stock → drain_stock_fully). The kernel drains other CPUs from a work
   * item; the model drains them at once.
   */
  drainAll(root: MemCgroup): void {
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      const base = cpu * NR_MEMCG_STOCK;
      let needed = false;
      for (let i = base; i < base + NR_MEMCG_STOCK && !needed; i++) {
        const c = this.cached[i];
        needed = c !== null && c !== undefined && this.pages[i]! > 0 && c.isDescendantOf(root);
      }
      if (needed) for (let i = base; i < base + NR_MEMCG_STOCK; i++) this.drainSlot(i);
    }
  }

  /** Calls `fn` for every non-empty slot (for invariant checks). */
  forEach(fn: (cpu: number, cg: MemCgroup, pages: number) => void): void {
    for (let i = 0; i < this.cached.length; i++) {
      const c = this.cached[i];
      if (c !== null && c !== undefined) fn(Math.floor(i / NR_MEMCG_STOCK), c, this.pages[i]!);
    }
  }

  private slotOf(cpu: number, cg: MemCgroup): number {
    const base = cpu * NR_MEMCG_STOCK;
    for (let i = base; i < base + NR_MEMCG_STOCK; i++) if (this.cached[i] === cg) return i;
    return -1;
  }

  /** drain_stock(): the slot's pages back to the page counters; the slot becomes empty. */
  private drainSlot(i: number): void {
    const c = this.cached[i];
    if (c === null || c === undefined) return;
    const n = this.pages[i]!;
    this.pages[i] = 0;
    this.cached[i] = null;
    if (n > 0) this.uncharge(c, n);
  }
}
