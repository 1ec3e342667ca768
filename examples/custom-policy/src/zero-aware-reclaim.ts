import { PAGE_SIZE } from '@kmodel/core';
import type { MetricSnapshot, ReclaimMachine, ReclaimMm, ReclaimPolicy, Vpn, WalkOps } from '@kmodel/core';

/**
 * The predicate this policy changes: a PTE table may go when every entry it holds maps the
 * shared zero page (mapped == zero), not only when all 512 do (the 2022 RFC's zero PTE page).
 * `firstOther` is the index of the first entry that is neither none nor the zero page, -1 if none.
 */
export function onlyZeroPages(firstOther: number): boolean {
  return firstOther < 0;
}

/** Page-table bytes per RSS byte: how suspicious an address space looks. */
function tableRatio(mm: ReclaimMm): number {
  return mm.pgtablesBytes / Math.max(PAGE_SIZE, mm.rssAnonPages * PAGE_SIZE);
}

/**
 * `zero-aware-reclaim`: before an OOM kill, take the address spaces in order of page-table
 * bytes over RSS, scan their PTE tables (the scan is charged to the clock), and free each table
 * whose entries all read zeroes, under one mmap_lock write hold per address space. Unlike the
 * stock `reclaim-path` it needs no pte_ref counters and catches the tables that hold a single
 * zero-page entry (one byte read per 2 MiB).
 */
export function zeroAwareReclaim(): ReclaimPolicy {
  const bases: Vpn[] = [];
  const firstOther: number[] = [];
  let zeroPfn = -1;
  const ops: WalkOps = {
    table: (_t, level, baseVpn) => {
      if (level === 1) {
        bases.push(baseVpn);
        firstOther.push(-1);
      }
    },
    leaf: (vpn, level, pfn) => {
      const k = bases.length - 1;
      if (level === 1 && k >= 0 && firstOther[k]! < 0 && pfn !== zeroPfn) firstOther[k] = vpn - bases[k]!;
    },
    nonPresent: (vpn, level) => {
      const k = bases.length - 1;
      if (level === 1 && k >= 0 && firstOther[k]! < 0) firstOther[k] = vpn - bases[k]!;
    },
  };
  let victims = 0;

  return {
    name: 'zero-aware-reclaim',
    reclaim(cgroup: string | null, bytes: number, machine: ReclaimMachine): number {
      zeroPfn = machine.zeroPfn;
      const costs = machine.clock.costs;
      const candidates = [...machine.mms.values()]
        .filter((mm) => machine.mayReclaimFrom(mm) && machine.inCgroup(mm, cgroup))
        .sort((a, b) => tableRatio(b) - tableRatio(a) || a.id - b.id);
      let freed = 0;
      for (const mm of candidates) {
        if (freed >= bytes) break;
        bases.length = 0;
        firstOther.length = 0;
        mm.pageTable.walk(0, mm.taskSize, ops);
        let scanned = 0;
        let n = 0;
        for (let i = 0; i < bases.length; i++) {
          const f = firstOther[i]!;
          scanned += f < 0 ? 512 : f + 1;
          if (onlyZeroPages(f) && machine.freePteTable(mm, bases[i]!, { allowZeroPages: true, lock: 'none' })) n++;
        }
        machine.chargeScan(scanned);
        if (n === 0) continue;
        victims++;
        machine.holdMmapWrite(mm, costs.mmap_lock_write + n * costs.dontneed_per_table_freed, false);
        freed += n * PAGE_SIZE;
      }
      return freed;
    },
    counters(): MetricSnapshot {
      return { 'zero_aware.victims': victims };
    },
  };
}
