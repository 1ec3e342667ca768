import type { EntryObserver, Level, Pfn, TableId, Vpn } from '@kmodel/core';

/**
 * Per PTE table, how many present entries map the shared zero page: kept from the page
 * table's entry hooks, so that page-table reclaim can tell a zero-only table in O(1)
 * (presentCount === zero count) instead of reading its 512 entries. It forwards every hook
 * to the user's observer, if any.
 *
 * @internal
 */
export class ZeroCount {
  /** Zero-page entries per table id. */
  counts = new Int32Array(256);
  /** The observer to give the page table. */
  readonly observer: EntryObserver;
  /** Entry bits of a present PTE for the zero page: low half (PFN bits 0-19 and _PAGE_PRESENT), high half (PFN bits 20-39). */
  private readonly zLo: number;
  private readonly zHi: number;

  constructor(zeroPfn: Pfn, user: EntryObserver | undefined) {
    this.zLo = (((zeroPfn % 0x100000) << 12) | 1) >>> 0;
    this.zHi = Math.floor(zeroPfn / 0x100000) & 0xfffff;
    const zLo = this.zLo;
    const zHi = this.zHi;
    // A present zero-page PTE: the PFN bits and _PAGE_PRESENT (see core's entry.ts layout).
    const isZero = (lo: number, hi: number): number => (((lo & 0xfffff001) >>> 0) === zLo && (hi & 0xfffff) === zHi ? 1 : 0);
    if (user === undefined) {
      this.observer = {
        pteSet: (t, _i, oLo, oHi, nLo, nHi) => {
          const d = isZero(nLo, nHi) - isZero(oLo, oHi);
          if (d !== 0) this.counts[t]! += d;
        },
        pteClear: (t, _i, oLo, oHi) => {
          if (isZero(oLo, oHi) === 1) this.counts[t]!--;
        },
        tableAlloc: (t) => this.reset(t),
        tableFree: (t) => this.reset(t),
      };
    } else {
      this.observer = {
        pteSet: (t, i, oLo, oHi, nLo, nHi) => {
          const d = isZero(nLo, nHi) - isZero(oLo, oHi);
          if (d !== 0) this.counts[t]! += d;
          user.pteSet(t, i, oLo, oHi, nLo, nHi);
        },
        pteClear: (t, i, oLo, oHi) => {
          if (isZero(oLo, oHi) === 1) this.counts[t]!--;
          user.pteClear(t, i, oLo, oHi);
        },
        tableAlloc: (t: TableId, level: Level, baseVpn: Vpn) => {
          this.reset(t);
          user.tableAlloc(t, level, baseVpn);
        },
        tableFree: (t: TableId, level: Level) => {
          this.reset(t);
          user.tableFree(t, level);
        },
      };
    }
  }

  private reset(t: TableId): void {
    if (t >= this.counts.length) {
      const grown = new Int32Array(Math.max(t + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[t] = 0;
  }
}
