import type { EntryObserver, Level, TableAllocator, TableId, Vpn } from '@kmodel/core';

/** A table allocator handing out PFNs from a counter, with an optional failure budget. */
export class CountingTables implements TableAllocator {
  next: number;
  live = 0;
  freed: number[] = [];
  /** Allocations left before allocTable returns null (Infinity = never fails). */
  budget = Infinity;
  constructor(firstPfn = 0x100000) {
    this.next = firstPfn;
  }
  allocTable(_level: Level): number | null {
    if (this.budget <= 0) return null;
    this.budget--;
    this.live++;
    return this.next++;
  }
  freeTable(pfn: number, _level: Level): void {
    this.live--;
    this.freed.push(pfn);
  }
}

/** An observer that records every call as a tuple. */
export class RecordingObserver implements EntryObserver {
  calls: unknown[][] = [];
  pteSet(table: TableId, index: number, oldLo: number, oldHi: number, newLo: number, newHi: number): void {
    this.calls.push(['set', table, index, oldLo, oldHi, newLo, newHi]);
  }
  pteClear(table: TableId, index: number, oldLo: number, oldHi: number): void {
    this.calls.push(['clear', table, index, oldLo, oldHi]);
  }
  tableAlloc(table: TableId, level: Level, baseVpn: Vpn): void {
    this.calls.push(['alloc', table, level, baseVpn]);
  }
  tableFree(table: TableId, level: Level): void {
    this.calls.push(['free', table, level]);
  }
}

/** Catches a thrown error's code (or 'none'). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
