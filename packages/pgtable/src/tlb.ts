/**
 * One CPU's TLB (Intel SDM Vol. 3A §4.10 "Caching translation information"): a
 * set-associative array per page size (4 KiB, 2 MiB, 1 GiB), entries tagged with a PCID
 * (§4.10.1) and a global bit, LRU replacement within a set, and the invalidation
 * instructions: INVLPG, the four INVPCID types (§4.10.4.1), and MOV to CR3 with and
 * without the no-flush bit (bit 63).
 *
 * Paging-structure caches (§4.10.3) per level keep table pointers, so that a miss walks only
 * below the deepest cached entry; every invalidation drops the PCID's entries there.
 */
import { fail, show } from '@kmodel/core';
import { PgtableErrorCode as E } from './errors.js';
import { tableIndex } from './entry.js';
import { RIGHT_G } from './hw-walk.js';

/** Size and associativity of one page size's TLB. `entries / ways` must be a power of two. */
export interface TlbGeometry {
  entries: number;
  ways: number;
}

/** Geometry per page size, and of the paging-structure caches. */
export interface TlbConfig {
  /** 4 KiB pages. */
  pte: TlbGeometry;
  /** 2 MiB pages. */
  pmd: TlbGeometry;
  /** 1 GiB pages. */
  pud: TlbGeometry;
  /**
   * Paging-structure caches (SDM §4.10.3; AMD's page-walk cache): this geometry for each of
   * the PDE, PDPTE, PML4E (and PML5E) caches. `entries: 0` turns them off: every miss walks
   * from the top. Default 32 entries, 4-way per level.
   */
  pwc?: TlbGeometry;
}

/**
 * Defaults shaped like a recent Intel core's second-level TLB: 1536 entries 12-way for
 * 4 KiB pages, 32 entries 4-way for 2 MiB, 16 entries 4-way for 1 GiB.
 */
export const DEFAULT_TLB_CONFIG: Readonly<TlbConfig> = Object.freeze({
  pte: { entries: 1536, ways: 12 },
  pmd: { entries: 32, ways: 4 },
  pud: { entries: 16, ways: 4 },
  pwc: { entries: 32, ways: 4 },
});

/** INVPCID types (SDM Vol. 2 INVPCID; arch/x86/include/asm/invpcid.h). */
export const INVPCID_TYPE_INDIV_ADDR = 0;
export const INVPCID_TYPE_SINGLE_CTXT = 1;
export const INVPCID_TYPE_ALL_INCL_GLOBAL = 2;
export const INVPCID_TYPE_ALL_NON_GLOBAL = 3;

/** Largest PCID (12 bits). */
export const MAX_PCID = 4095;

const SPAN_MASK = [0, 0, 511, 0x3ffff];
const SET_SHIFT = [0, 0, 9, 18];

/** One page size's entries, as parallel typed arrays. */
class TlbArray {
  readonly sets: number;
  readonly ways: number;
  readonly setMask: number;
  /** Page-aligned vpn of each entry; -1 = invalid. */
  readonly tag: Float64Array;
  readonly pcid: Uint16Array;
  /** First PFN of the cached page. */
  readonly pfn: Float64Array;
  /** Rights (RIGHT_* bits of hw-walk). */
  readonly rights: Uint32Array;
  readonly stamp: Uint32Array;
  valid = 0;

  constructor(g: TlbGeometry, what: string) {
    const sets = g.entries / g.ways;
    if (!(Number.isInteger(g.ways) && g.ways >= 1 && Number.isInteger(sets) && sets >= 1 && (sets & (sets - 1)) === 0))
      fail(E.BadTlbParam, `${what} TLB geometry ${show(g)}: entries / ways must be a power of two`, { value: g });
    this.sets = sets;
    this.ways = g.ways;
    this.setMask = sets - 1;
    this.tag = new Float64Array(g.entries).fill(-1);
    this.pcid = new Uint16Array(g.entries);
    this.pfn = new Float64Array(g.entries);
    this.rights = new Uint32Array(g.entries);
    this.stamp = new Uint32Array(g.entries);
  }
}

/**
 * One paging-structure cache: entries at one level (2 = PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E)
 * that point to a table, tagged by the span they map and the PCID, holding the table they
 * point to and the rights combined down to them. Never global (SDM §4.10.3.1).
 */
class PscArray {
  readonly sets: number;
  readonly ways: number;
  readonly setMask: number;
  readonly tag: Float64Array;
  readonly pcid: Uint16Array;
  readonly table: Int32Array;
  readonly tablePfn: Float64Array;
  readonly rights: Uint8Array;
  readonly stamp: Uint32Array;
  valid = 0;

  constructor(g: TlbGeometry) {
    const n = g.entries;
    const sets = n === 0 ? 1 : n / g.ways;
    if (!(n === 0 || (Number.isInteger(g.ways) && g.ways >= 1 && Number.isInteger(sets) && (sets & (sets - 1)) === 0)))
      fail(E.BadTlbParam, `paging-structure cache geometry ${show(g)}: entries / ways must be a power of two`, { value: g });
    this.sets = sets;
    this.ways = n === 0 ? 0 : g.ways;
    this.setMask = sets - 1;
    this.tag = new Float64Array(n).fill(-1);
    this.pcid = new Uint16Array(n);
    this.table = new Int32Array(n);
    this.tablePfn = new Float64Array(n);
    this.rights = new Uint8Array(n);
    this.stamp = new Uint32Array(n);
  }
}

/** `vpn` modulo the pages one level-`l` entry maps (l = 2..5), from the split `lo` / `hi` halves. */
function spanOffset(lo: number, hi: number, l: number): number {
  return l === 2 ? lo & 511 : l === 3 ? lo & 0x3ffff : l === 4 ? lo & 0x7ffffff : (hi & 0xf) * 4294967296 + lo;
}

/**
 * The TLB of one CPU. `lookup` / `fill` are the hot path; the invalidation methods are the
 * instructions. The current PCID is the one the last CR3 write loaded.
 */
export class Tlb {
  /** Per level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB); index 0 unused. */
  private readonly arrays: TlbArray[];
  private readonly a1: TlbArray;
  private readonly a2: TlbArray;
  private readonly a3: TlbArray;
  /** PCID in CR3 now. */
  pcid = 0;
  /** CR4.PCIDE: with it off, every CR3 write flushes all non-global entries. */
  readonly pcide: boolean;
  private clock = 1;
  /** Non-global TLB and walk-cache entries held per PCID (so a flush can skip a CPU that holds none). */
  private readonly perPcid = new Uint32Array(MAX_PCID + 1);
  /** Paging-structure caches by entry level (2..5); index 0 and 1 unused. */
  private readonly psc: PscArray[];
  /** Whether the paging-structure caches are on. */
  readonly pwcEnabled: boolean;
  /** Set by {@link pscLookup}: the table the hit entry points to, its PFN, and the combined rights. */
  pscHitTable = -1;
  pscHitPfn = -1;
  pscHitRights = 0;
  /** Level of the last hit (1..3), pfn of its page, rights: set by {@link lookup}. */
  hitLevel = 0;
  hitPfn = -1;
  hitRights = 0;
  hitSlot = -1;

  constructor(config: Readonly<TlbConfig> = DEFAULT_TLB_CONFIG, pcide = true) {
    this.a1 = new TlbArray(config.pte, '4 KiB');
    this.a2 = new TlbArray(config.pmd, '2 MiB');
    this.a3 = new TlbArray(config.pud, '1 GiB');
    this.arrays = [this.a1, this.a1, this.a2, this.a3];
    const pwc = config.pwc ?? { entries: 0, ways: 1 };
    this.psc = [0, 1, 2, 3, 4, 5].map(() => new PscArray(pwc));
    this.pwcEnabled = pwc.entries > 0;
    this.pcide = pcide;
  }

  /**
   * Looks `vpn` up for the current PCID (or a global entry). Returns the frame of the 4 KiB
   * page (entry PFN + offset inside a huge page), or -1 on a miss. On a hit, `hitLevel`,
   * `hitRights` and `hitPfn` describe the entry.
   */
  lookup(vpn: number): number {
    const lo = vpn >>> 0;
    let k = this.a1.valid === 0 ? -1 : this.probe(this.a1, vpn, lo & this.a1.setMask);
    let l = 1;
    if (k < 0 && this.a2.valid !== 0) {
      k = this.probe(this.a2, vpn - (lo & 511), (lo >>> 9) & this.a2.setMask);
      l = 2;
    }
    if (k < 0 && this.a3.valid !== 0) {
      k = this.probe(this.a3, vpn - (lo & 0x3ffff), (lo >>> 18) & this.a3.setMask);
      l = 3;
    }
    if (k < 0) {
      this.hitLevel = 0;
      return -1;
    }
    const a = this.arrays[l];
    a.stamp[k] = this.clock++;
    this.hitLevel = l;
    this.hitSlot = k;
    this.hitPfn = a.pfn[k];
    this.hitRights = a.rights[k];
    return a.pfn[k] + (lo & SPAN_MASK[l]);
  }

  /**
   * The frame cached for `vpn` under `pcid` (or by a global entry), or -1: a query for
   * checkers that neither counts nor changes the LRU order.
   */
  peek(vpn: number, pcid: number): number {
    const lo = vpn >>> 0;
    for (let l = 1; l <= 3; l++) {
      const a = this.arrays[l];
      if (a.valid === 0) continue;
      const off = lo & SPAN_MASK[l];
      const tag = vpn - off;
      for (let k = ((lo >>> SET_SHIFT[l]) & a.setMask) * a.ways, e = k + a.ways; k < e; k++)
        if (a.tag[k] === tag && (a.pcid[k] === pcid || a.rights[k] & RIGHT_G)) return a.pfn[k] + off;
    }
    return -1;
  }

  /** Slot of the entry tagged `tag` for the current PCID (or global) in set `set` of `a`, or -1. */
  private probe(a: TlbArray, tag: number, set: number): number {
    const tags = a.tag;
    const cur = this.pcid;
    for (let k = set * a.ways, e = k + a.ways; k < e; k++) if (tags[k] === tag && (a.pcid[k] === cur || a.rights[k] & RIGHT_G)) return k;
    return -1;
  }

  /** Caches a translation: the page of size `level` holding `vpn` maps to `leafPfn`, for the current PCID. */
  fill(vpn: number, level: number, leafPfn: number, rights: number): void {
    const a = this.arrays[level];
    const lo = vpn >>> 0;
    const tag = vpn - (lo & SPAN_MASK[level]);
    const base = ((lo >>> SET_SHIFT[level]) & a.setMask) * a.ways;
    const cur = this.pcid;
    let victim = base;
    let oldest = 0xffffffff;
    for (let k = base, e = base + a.ways; k < e; k++) {
      if (a.tag[k] === tag && (a.pcid[k] === cur || (a.rights[k] | rights) & RIGHT_G)) {
        victim = k; // refresh the same translation
        break;
      }
      if (a.tag[k] === -1) {
        victim = k;
        oldest = 0;
        continue;
      }
      if (oldest !== 0 && a.stamp[k] < oldest) {
        oldest = a.stamp[k];
        victim = k;
      }
    }
    if (a.tag[victim] === -1) a.valid++;
    else if (!(a.rights[victim] & RIGHT_G)) this.perPcid[a.pcid[victim]]--;
    if (!(rights & RIGHT_G)) this.perPcid[cur]++;
    a.tag[victim] = tag;
    a.pcid[victim] = cur;
    a.pfn[victim] = leafPfn;
    a.rights[victim] = rights;
    a.stamp[victim] = this.clock++;
  }

  /**
   * Looks `vpn` up in the paging-structure caches of the current PCID, deepest first (a PDE
   * hit leaves only the PTE to read). Returns the level of the cached entry (2..`levels`), with
   * `pscHitTable` / `pscHitPfn` / `pscHitRights` set, or 0 on a miss.
   */
  pscLookup(vpn: number, levels: number): number {
    const lo = vpn >>> 0;
    const hi = (vpn - lo) / 4294967296;
    const cur = this.pcid;
    for (let l = 2; l <= levels; l++) {
      const a = this.psc[l];
      if (a.valid === 0) continue;
      const tag = vpn - spanOffset(lo, hi, l);
      for (let k = (tableIndex(lo, hi, l) & a.setMask) * a.ways, e = k + a.ways; k < e; k++) {
        if (a.tag[k] === tag && a.pcid[k] === cur) {
          a.stamp[k] = this.clock++;
          this.pscHitTable = a.table[k];
          this.pscHitPfn = a.tablePfn[k];
          this.pscHitRights = a.rights[k];
          return l;
        }
      }
    }
    return 0;
  }

  /** Caches the level-`level` entry for `vpn` (current PCID): it points to `table` (at `tablePfn`) with combined `rights`. */
  pscFill(vpn: number, level: number, table: number, tablePfn: number, rights: number): void {
    const a = this.psc[level];
    if (a.ways === 0) return;
    const lo = vpn >>> 0;
    const hi = (vpn - lo) / 4294967296;
    const tag = vpn - spanOffset(lo, hi, level);
    const base = (tableIndex(lo, hi, level) & a.setMask) * a.ways;
    const cur = this.pcid;
    let victim = base;
    let oldest = 0xffffffff;
    for (let k = base, e = base + a.ways; k < e; k++) {
      if (a.tag[k] === tag && a.pcid[k] === cur) {
        victim = k;
        break;
      }
      if (a.tag[k] === -1) {
        victim = k;
        oldest = 0;
      } else if (oldest !== 0 && a.stamp[k] < oldest) {
        oldest = a.stamp[k];
        victim = k;
      }
    }
    if (a.tag[victim] === -1) a.valid++;
    else this.perPcid[a.pcid[victim]]--;
    this.perPcid[cur]++;
    a.tag[victim] = tag;
    a.pcid[victim] = cur;
    a.table[victim] = table;
    a.tablePfn[victim] = tablePfn;
    a.rights[victim] = rights;
    a.stamp[victim] = this.clock++;
  }

  /** Drops the paging-structure-cache entries of `pcid` (every PCID when -1). Returns how many. */
  pscInvalidate(pcid: number): number {
    let n = 0;
    for (let l = 2; l <= 5; l++) {
      const a = this.psc[l];
      if (a.valid === 0) continue;
      for (let k = 0; k < a.tag.length; k++) {
        if (a.tag[k] !== -1 && (pcid === -1 || a.pcid[k] === pcid)) {
          this.perPcid[a.pcid[k]]--;
          a.tag[k] = -1;
          a.valid--;
          n++;
        }
      }
    }
    return n;
  }

  /** Paging-structure-cache entries held now. */
  pscSize(): number {
    return this.psc[2].valid + this.psc[3].valid + this.psc[4].valid + this.psc[5].valid;
  }

  /** Updates the rights of the entry found by the last {@link lookup} (e.g. D after a write walk). */
  setHitRights(rights: number): void {
    if (this.hitLevel > 0) this.arrays[this.hitLevel].rights[this.hitSlot] = rights;
  }

  /** INVLPG: entries for the page holding `vpn` (any size) of the current PCID, and global ones. Returns how many went. */
  invlpg(vpn: number): number {
    return this.invalidatePage(vpn, this.pcid, true);
  }

  /**
   * INVPCID of `type` (0 individual address, 1 single context, 2 all including globals, 3 all
   * non-global). `vpn` is used by type 0 only. Returns the number of entries invalidated.
   */
  invpcid(type: number, pcid: number, vpn = 0): number {
    switch (type) {
      case INVPCID_TYPE_INDIV_ADDR:
        return this.invalidatePage(vpn, pcid, false);
      case INVPCID_TYPE_SINGLE_CTXT:
        return this.invalidateWhere(pcid, false);
      case INVPCID_TYPE_ALL_INCL_GLOBAL:
        return this.invalidateWhere(-1, true);
      case INVPCID_TYPE_ALL_NON_GLOBAL:
        return this.invalidateWhere(-1, false);
      default:
        return fail(E.BadTlbParam, `INVPCID type ${show(type)} unknown, expected 0..3`, { value: type });
    }
  }

  /**
   * MOV to CR3 loading `pcid`. With CR4.PCIDE and `noFlush` (bit 63), nothing is invalidated;
   * with PCIDE and without it, the non-global entries of `pcid`; without PCIDE, every
   * non-global entry (SDM §4.10.4.1).
   */
  writeCr3(pcid: number, noFlush: boolean): number {
    this.pcid = this.pcide ? pcid : 0;
    if (this.pcide && noFlush) return 0;
    return this.invalidateWhere(this.pcide ? pcid : -1, false);
  }

  /** True when this TLB (or its walk caches) may hold non-global entries tagged `pcid`. */
  mayCache(pcid: number): boolean {
    return this.perPcid[pcid] > 0;
  }

  /** Valid entries now, all sizes. */
  size(): number {
    return this.arrays[1].valid + this.arrays[2].valid + this.arrays[3].valid;
  }

  /**
   * Calls `fn(vpn, level, pcid, pfn, rights)` for every valid entry (`vpn` is the first page of
   * the cached page). For checkers; not a hot path.
   */
  forEach(fn: (vpn: number, level: number, pcid: number, pfn: number, rights: number) => void): void {
    for (let l = 1; l <= 3; l++) {
      const a = this.arrays[l];
      if (a.valid === 0) continue;
      for (let k = 0; k < a.tag.length; k++) if (a.tag[k] !== -1) fn(a.tag[k], l, a.pcid[k], a.pfn[k], a.rights[k]);
    }
  }

  /** True when a valid entry (any PCID) maps a page whose frames include `pfn`. */
  cachesPfn(pfn: number): boolean {
    for (let l = 1; l <= 3; l++) {
      const a = this.arrays[l];
      if (a.valid === 0) continue;
      const span = SPAN_MASK[l] + 1;
      for (let k = 0; k < a.tag.length; k++) if (a.tag[k] !== -1 && pfn >= a.pfn[k] && pfn < a.pfn[k] + span) return true;
    }
    return false;
  }

  /**
   * Entries for the page holding `vpn` with `pcid` (any PCID when -1), plus global ones when
   * `global`; and every paging-structure-cache entry of `pcid`, whatever its address (INVLPG and
   * INVPCID type 0 do so, SDM §4.10.4.1).
   */
  invalidatePage(vpn: number, pcid: number, global: boolean): number {
    const lo = vpn >>> 0;
    let n = 0;
    this.pscInvalidate(pcid);
    for (let l = 1; l <= 3; l++) {
      const a = this.arrays[l];
      if (a.valid === 0) continue;
      const tag = vpn - (lo & SPAN_MASK[l]);
      const base = ((lo >>> SET_SHIFT[l]) & a.setMask) * a.ways;
      for (let k = base, e = base + a.ways; k < e; k++) {
        if (a.tag[k] !== tag) continue;
        const g = (a.rights[k] & RIGHT_G) !== 0;
        if ((g && global) || (!g && (pcid === -1 || a.pcid[k] === pcid))) {
          if (!g) this.perPcid[a.pcid[k]]--;
          a.tag[k] = -1;
          a.valid--;
          n++;
        }
      }
    }
    return n;
  }

  /** Non-global entries of `pcid` (every PCID when -1), plus every global entry when `global`; and the paging-structure caches of `pcid`. */
  invalidateWhere(pcid: number, global: boolean): number {
    let n = 0;
    this.pscInvalidate(pcid);
    for (let l = 1; l <= 3; l++) {
      const a = this.arrays[l];
      if (a.valid === 0) continue;
      for (let k = 0; k < a.tag.length; k++) {
        if (a.tag[k] === -1) continue;
        const g = (a.rights[k] & RIGHT_G) !== 0;
        if (g ? global : pcid === -1 || a.pcid[k] === pcid) {
          if (!g) this.perPcid[a.pcid[k]]--;
          a.tag[k] = -1;
          a.valid--;
          n++;
        }
      }
    }
    return n;
  }
}
