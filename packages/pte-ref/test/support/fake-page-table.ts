import { _PAGE_PRESENT, entryFlags, entryPfn, type EntryObserver, type TableId, type Vpn, type WalkOps } from '@kmodel/core';
import type { RecountSource } from '@kmodel/pte-ref';

/**
 * A tiny stand-in for a page table, for tests only: PTE tables keyed by their 2 MiB base,
 * one PMD table per 1 GiB span (so TableIds are shared across levels, as in a real page
 * table), ids reused lowest-first after free. It reports every change to the observer before
 * writing, the way set_pte_at calls track_pte_set before set_pte.
 */
export class FakePageTable implements RecountSource {
  readonly levels = 4 as const;
  private readonly pte = new Map<Vpn, { id: TableId; lo: Uint32Array; hi: Uint32Array }>();
  private readonly pmd = new Map<number, { id: TableId; users: number }>();
  private readonly freeIds: TableId[] = [];
  private nextId = 0;

  constructor(private readonly observer: EntryObserver) {}

  private takeId(): TableId {
    if (this.freeIds.length === 0) return this.nextId++;
    this.freeIds.sort((a, b) => a - b);
    return this.freeIds.shift()!;
  }

  /** TableId of the PTE table at `base` (2 MiB aligned VPN), or -1. */
  tableAt(base: Vpn): TableId {
    return this.pte.get(base)?.id ?? -1;
  }

  /** Base VPNs of the PTE tables that exist. */
  bases(): Vpn[] {
    return [...this.pte.keys()].sort((a, b) => a - b);
  }

  /** Allocates the PTE table at `base` (and its PMD table) if missing. */
  allocTable(base: Vpn): TableId {
    const have = this.pte.get(base);
    if (have) return have.id;
    const gib = Math.floor(base / (512 * 512));
    let pmd = this.pmd.get(gib);
    if (!pmd) {
      pmd = { id: this.takeId(), users: 0 };
      this.observer.tableAlloc(pmd.id, 2, gib * 512 * 512);
      this.pmd.set(gib, pmd);
    }
    pmd.users++;
    const id = this.takeId();
    this.observer.tableAlloc(id, 1, base);
    this.pte.set(base, { id, lo: new Uint32Array(512), hi: new Uint32Array(512) });
    return id;
  }

  /** Frees the PTE table at `base` whatever it holds (like freePteTable), and an unused PMD table. */
  freeTable(base: Vpn): void {
    const t = this.pte.get(base);
    if (!t) return;
    this.observer.tableFree(t.id, 1);
    this.pte.delete(base);
    this.freeIds.push(t.id);
    const gib = Math.floor(base / (512 * 512));
    const pmd = this.pmd.get(gib)!;
    if (--pmd.users === 0) {
      this.observer.tableFree(pmd.id, 2);
      this.pmd.delete(gib);
      this.freeIds.push(pmd.id);
    }
  }

  /** The entry at `vpn` as halves ([0, 0] when none or no table). */
  get(vpn: Vpn): [number, number] {
    const t = this.pte.get(vpn - (vpn % 512));
    return t ? [t.lo[vpn % 512]!, t.hi[vpn % 512]!] : [0, 0];
  }

  /** set_pte_at: the table must exist. */
  set(vpn: Vpn, lo: number, hi: number): void {
    const t = this.pte.get(vpn - (vpn % 512))!;
    const i = vpn % 512;
    this.observer.pteSet(t.id, i, t.lo[i]!, t.hi[i]!, lo, hi);
    t.lo[i] = lo;
    t.hi[i] = hi;
  }

  /** ptep_get_and_clear: the table must exist. */
  clear(vpn: Vpn): void {
    const t = this.pte.get(vpn - (vpn % 512))!;
    const i = vpn % 512;
    this.observer.pteClear(t.id, i, t.lo[i]!, t.hi[i]!);
    t.lo[i] = 0;
    t.hi[i] = 0;
  }

  walk(startVpn: Vpn, endVpn: Vpn, ops: WalkOps): void {
    for (const base of this.bases()) {
      if (base + 512 <= startVpn || base >= endVpn) continue;
      const t = this.pte.get(base)!;
      ops.table?.(t.id, 1, base, 0);
      for (let i = 0; i < 512; i++) {
        const lo = t.lo[i]!;
        const hi = t.hi[i]!;
        if (lo === 0 && hi === 0) continue;
        if (lo & _PAGE_PRESENT) ops.leaf?.(base + i, 1, entryPfn(lo, hi), entryFlags(lo, hi));
        else ops.nonPresent?.(base + i, 1, lo, hi);
      }
    }
  }
}
