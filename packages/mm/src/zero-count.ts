import type { EntryObserver, Level, Pfn, TableId, Vpn } from '@kmodel/core';

/** Bits of an entry's low half that a present zero-page PTE fixes: PFN bits 0-19 and _PAGE_PRESENT. */
const LO_MASK = 0xfffff001 | 0;

/**
 * Per PTE table, how many present entries map the shared zero page, so that page-table
 * reclaim can tell a zero-only table in O(1) (presentCount === zero count) instead of
 * reading its 512 entries. It is the page table's observer and forwards every hook to the
 * user's observer (mm installs it only when there is one, so that an address space without
 * an observer keeps a page table that calls no hooks).
 *
 * @internal
 */
export class ZeroCount implements EntryObserver {
  /** Zero-page entries per table id. */
  counts = new Int32Array(256);
  /** Low / high entry half of a present zero-page PTE under LO_MASK / 0xfffff (signed 32-bit). */
  private readonly zLo: number;
  private readonly zHi: number;

  constructor(
    zeroPfn: Pfn,
    private readonly user: EntryObserver,
  ) {
    this.zLo = ((zeroPfn % 0x100000) << 12) | 1;
    this.zHi = Math.floor(zeroPfn / 0x100000) & 0xfffff;
  }

  pteSet(t: TableId, i: number, oLo: number, oHi: number, nLo: number, nHi: number): void {
    const zLo = this.zLo;
    const zHi = this.zHi;
    if ((nLo & LO_MASK) === zLo && (nHi & 0xfffff) === zHi) this.counts[t]!++;
    if ((oLo & LO_MASK) === zLo && (oHi & 0xfffff) === zHi) this.counts[t]!--;
    this.user.pteSet(t, i, oLo, oHi, nLo, nHi);
  }

  pteClear(t: TableId, i: number, oLo: number, oHi: number): void {
    if ((oLo & LO_MASK) === this.zLo && (oHi & 0xfffff) === this.zHi) this.counts[t]!--;
    this.user.pteClear(t, i, oLo, oHi);
  }

  tableAlloc(t: TableId, level: Level, baseVpn: Vpn): void {
    this.reset(t); // ids are reused: a new table starts at 0
    this.user.tableAlloc(t, level, baseVpn);
  }

  tableFree(t: TableId, level: Level): void {
    this.user.tableFree(t, level);
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
