import { GiB, MiB, PAGE_SIZE } from '@kmodel/core';
import type { ChargeKind, MmId, OomHost, OomTaskStats } from '@kmodel/core';
import { CHARGE_KINDS } from '@kmodel/memcg';
import type { MemcgTree } from '@kmodel/memcg';

interface Proc {
  rssPages: number;
  pgtablesBytes: number;
  swapents: number;
  oomScoreAdj: number;
  /** Bytes of the attack region read so far (one byte per 2 MiB). */
  readBytes: number;
  /** Upper-level tables already present (by 512 GiB / 1 GiB index). */
  puds: Set<number>;
  pmds: Set<number>;
}

/**
 * A stand-in for the address-space layer in memcg tests: processes that charge through the
 * tree, keep their own RSS and pgtables_bytes, and are torn down (everything uncharged) when
 * the OOM killer picks them.
 */
export class FakeProcesses implements OomHost {
  readonly procs = new Map<MmId, Proc>();
  readonly killed: MmId[] = [];

  constructor(readonly tree: MemcgTree) {
    tree.setOomHost(this);
  }

  spawn(mm: MmId, path: string, oomScoreAdj = 0): void {
    this.procs.set(mm, { rssPages: 0, pgtablesBytes: 0, swapents: 0, oomScoreAdj, readBytes: 0, puds: new Set(), pmds: new Set() });
    this.tree.attach(mm, path);
  }

  /**
   * One fault or syscall that charges `bytes`: charges through the tree, returns to user mode
   * (memory.high work) and, on success, counts anon pages as RSS and page tables as pgtables_bytes.
   */
  charge(mm: MmId, kind: ChargeKind, bytes: number): boolean {
    const ok = this.tree.charge(mm, kind, bytes);
    this.tree.returnToUser(mm);
    if (!ok) return false;
    const p = this.procs.get(mm);
    if (p) {
      if (kind === 'anon') p.rssPages += bytes / PAGE_SIZE;
      if (kind === 'pagetables') p.pgtablesBytes += bytes;
    }
    return true;
  }

  /**
   * The attack: read one byte per 2 MiB of a MAP_NORESERVE mapping placed at the start of an
   * empty 512 GiB slot, until `bytes` have been covered or a page-table charge fails. Each
   * 2 MiB costs a PTE table, each GiB a PMD table, the first read a PUD table; the reads map
   * the shared zero page, so RSS does not grow. Returns false when a charge failed (the read
   * at `readBytes` faulted with VM_FAULT_OOM).
   */
  readEvery2MiB(mm: MmId, bytes: number): boolean {
    const p = this.procs.get(mm)!;
    const end = p.readBytes + bytes;
    while (p.readBytes < end) {
      const ok = this.readFault(mm, p);
      this.tree.returnToUser(mm);
      if (!ok) return false;
      p.readBytes += 2 * MiB;
    }
    return true;
  }

  /** The read fault at `p.readBytes`: the tables it needs, each charged (one page each). */
  private readFault(mm: MmId, p: Proc): boolean {
    const off = p.readBytes;
    const pud = Math.floor(off / (512 * GiB));
    if (!p.puds.has(pud)) {
      if (!this.chargeTable(mm, p)) return false;
      p.puds.add(pud);
    }
    const pmd = Math.floor(off / GiB);
    if (!p.pmds.has(pmd)) {
      if (!this.chargeTable(mm, p)) return false;
      p.pmds.add(pmd);
    }
    return this.chargeTable(mm, p);
  }

  private chargeTable(mm: MmId, p: Proc): boolean {
    if (!this.tree.charge(mm, 'pagetables', PAGE_SIZE)) return false;
    p.pgtablesBytes += PAGE_SIZE;
    return true;
  }

  oomStats(mm: MmId): OomTaskStats | null {
    const p = this.procs.get(mm);
    return p ? { rssPages: p.rssPages, pgtablesBytes: p.pgtablesBytes, swapents: p.swapents, oomScoreAdj: p.oomScoreAdj } : null;
  }

  oomKill(mm: MmId): void {
    for (const kind of CHARGE_KINDS) {
      const b = this.tree.chargedBy(mm, kind);
      if (b > 0) this.tree.uncharge(mm, kind, b);
    }
    this.procs.delete(mm);
    this.killed.push(mm);
  }
}
