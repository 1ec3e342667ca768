/**
 * Host storage for simulated page-table pages.
 *
 * A table is a small dense integer id (reused after free). Its metadata lives in typed arrays
 * indexed by that id; its entries live in a chunked word space of `Uint32Array`s, each entry
 * as two 32-bit halves. A table starts in a compact *small* form (up to {@link SMALL_SLOTS}
 * slots of `(index, lo, hi, child)`, 64 bytes) and is promoted to the *dense* form (512
 * `(lo, hi)` pairs = 4 KiB, plus 512 child ids for upper levels) when it fills. A dense
 * table that empties goes back to the small form, so an empty table left behind by
 * MADV_DONTNEED costs the host about 100 bytes, not 4 KiB.
 *
 * Host cost per table: metadata {@link META_BYTES_PER_TABLE} bytes, plus 64 bytes (small)
 * or 4096 bytes (dense PTE table) or 6144 bytes (dense upper table, which also keeps the
 * child ids).
 *
 * @internal
 */

/** Entries a small-form table holds before promotion to the dense form. */
export const SMALL_SLOTS = 4;
/** Words per small block: SMALL_SLOTS × (index, lo, hi, child). */
export const SMALL_WORDS = SMALL_SLOTS * 4;
/** Words per dense PTE block: 512 × (lo, hi). */
export const DENSE_WORDS = 1024;
/** Words per dense upper-level block: 512 × (lo, hi) then 512 child ids. */
export const DENSE_UPPER_WORDS = 1536;
/** Metadata bytes per table id: level 1, form 1, count 2, block 4, pfn 8, parent 4, parentIdx 2, baseVpn 8. */
export const META_BYTES_PER_TABLE = 30;

/** Form of a table id. */
export const FORM_FREE = 0;
export const FORM_SMALL = 1;
export const FORM_DENSE = 2;

/** Child id meaning "no child". */
export const NO_CHILD = 0xffffffff;

const CHUNK_SHIFT = 20;
const CHUNK_WORDS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_WORDS - 1;
/** Word addresses are unsigned 32-bit: at most 4096 chunks (16 GiB of entries). */
const MAX_CHUNKS = 4096;

export class TableSlab {
  // Per-table metadata, indexed by table id.
  level = new Uint8Array(64);
  form = new Uint8Array(64);
  count = new Uint16Array(64);
  block = new Uint32Array(64);
  pfn = new Float64Array(64);
  parent = new Int32Array(64);
  parentIdx = new Uint16Array(64);
  baseVpn = new Float64Array(64);

  /** Word space: chunk c holds word addresses [c << 20, (c + 1) << 20). */
  chunks: Uint32Array[] = [];
  private bump = 0;
  private freeIds: number[] = [];
  private nextId = 0;
  private freeSmall: number[] = [];
  private freeDense: number[] = [];
  private freeDenseUpper: number[] = [];
  /** Tables alive per form, for host-memory accounting. */
  liveSmall = 0;
  liveDense = 0;
  liveDenseUpper = 0;
  liveIds = 0;

  /** Words of the word space: `chunks[a >>> 20][a & 0xfffff]`. */
  static readonly CHUNK_SHIFT = CHUNK_SHIFT;
  static readonly CHUNK_MASK = CHUNK_MASK;

  /** Allocates a table id in small form with no entries. */
  allocId(level: number, pfn: number, parent: number, parentIdx: number, baseVpn: number): number {
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop()!;
    else {
      id = this.nextId++;
      if (id >= this.level.length) this.growMeta(this.level.length * 2);
    }
    this.level[id] = level;
    this.form[id] = FORM_SMALL;
    this.count[id] = 0;
    this.block[id] = this.allocBlock(SMALL_WORDS, this.freeSmall);
    this.pfn[id] = pfn;
    this.parent[id] = parent;
    this.parentIdx[id] = parentIdx;
    this.baseVpn[id] = baseVpn;
    this.liveSmall++;
    this.liveIds++;
    return id;
  }

  /** Releases a table id and its block. */
  freeId(id: number): void {
    this.releaseBlock(id);
    this.form[id] = FORM_FREE;
    this.count[id] = 0;
    this.parent[id] = -1;
    this.freeIds.push(id);
    this.liveIds--;
  }

  /**
   * Word address of the low half of entry `i` of table `t`. For a dense table this is where the
   * entry lives (the words may be zero: a none entry); for a small table it is -1 when the
   * table holds no entry `i`.
   */
  pos(t: number, i: number): number {
    const a = this.block[t];
    if (this.form[t] === FORM_DENSE) return a + (i << 1);
    const w = this.chunks[a >>> CHUNK_SHIFT];
    const o = a & CHUNK_MASK;
    const n = this.count[t];
    for (let k = 0; k < n; k++) if (w[o + (k << 2)] === i) return a + (k << 2) + 1;
    return -1;
  }

  /** Word address of the child id of entry `i` of upper table `t`, given its {@link pos}. */
  childPos(t: number, i: number, p: number): number {
    return this.form[t] === FORM_DENSE ? this.block[t] + 1024 + i : p + 2;
  }

  read(p: number): number {
    return this.chunks[p >>> CHUNK_SHIFT][p & CHUNK_MASK];
  }

  write(p: number, v: number): void {
    this.chunks[p >>> CHUNK_SHIFT][p & CHUNK_MASK] = v;
  }

  /**
   * Stores a non-none entry `i` of table `t` that is none now (count grows by one); returns the
   * word address of its low half. Promotes the table to the dense form when the small form is full.
   */
  insert(t: number, i: number, lo: number, hi: number, child: number): number {
    const n = this.count[t];
    if (this.form[t] === FORM_SMALL && n < SMALL_SLOTS) {
      const a = this.block[t] + (n << 2);
      const w = this.chunks[a >>> CHUNK_SHIFT];
      const o = a & CHUNK_MASK;
      w[o] = i;
      w[o + 1] = lo;
      w[o + 2] = hi;
      w[o + 3] = child;
      this.count[t] = n + 1;
      return a + 1;
    }
    if (this.form[t] === FORM_SMALL) this.promote(t);
    const a = this.block[t];
    const w = this.chunks[a >>> CHUNK_SHIFT];
    const o = (a & CHUNK_MASK) + (i << 1);
    w[o] = lo;
    w[o + 1] = hi;
    if (this.level[t] > 1) w[(a & CHUNK_MASK) + 1024 + i] = child;
    this.count[t] = n + 1;
    return a + (i << 1);
  }

  /** Removes non-none entry `i` (at word address `p`) of table `t`; count drops by one. */
  remove(t: number, i: number, p: number): void {
    const n = this.count[t] - 1;
    this.count[t] = n;
    if (this.form[t] === FORM_DENSE) {
      const w = this.chunks[p >>> CHUNK_SHIFT];
      const o = p & CHUNK_MASK;
      w[o] = 0;
      w[o + 1] = 0;
      if (this.level[t] > 1) w[(this.block[t] & CHUNK_MASK) + 1024 + i] = NO_CHILD;
      if (n === 0) this.demote(t);
      return;
    }
    // Small form: move the last slot into the freed one.
    const a = this.block[t];
    const w = this.chunks[a >>> CHUNK_SHIFT];
    const last = (a & CHUNK_MASK) + (n << 2);
    const o = (p & CHUNK_MASK) - 1;
    if (o !== last) {
      w[o] = w[last];
      w[o + 1] = w[last + 1];
      w[o + 2] = w[last + 2];
      w[o + 3] = w[last + 3];
    }
  }

  /** Empties table `t` (every entry none), back to the small form. */
  reset(t: number): void {
    if (this.form[t] === FORM_DENSE) this.demote(t);
    this.count[t] = 0;
  }

  /** Host bytes used now by the tables (metadata, small and dense blocks). */
  hostBytes(): number {
    return (
      this.liveIds * META_BYTES_PER_TABLE +
      this.liveSmall * SMALL_WORDS * 4 +
      this.liveDense * DENSE_WORDS * 4 +
      this.liveDenseUpper * DENSE_UPPER_WORDS * 4
    );
  }

  /** Host bytes of table `t`: its metadata plus its block. */
  tableHostBytes(t: number): number {
    const f = this.form[t];
    if (f === FORM_FREE) return 0;
    const words = f === FORM_SMALL ? SMALL_WORDS : this.level[t] > 1 ? DENSE_UPPER_WORDS : DENSE_WORDS;
    return META_BYTES_PER_TABLE + words * 4;
  }

  private promote(t: number): void {
    const upper = this.level[t] > 1;
    const small = this.block[t];
    const dense = upper
      ? this.allocBlock(DENSE_UPPER_WORDS, this.freeDenseUpper)
      : this.allocBlock(DENSE_WORDS, this.freeDense);
    const dw = this.chunks[dense >>> CHUNK_SHIFT];
    const d = dense & CHUNK_MASK;
    dw.fill(0, d, d + DENSE_WORDS);
    if (upper) dw.fill(NO_CHILD, d + DENSE_WORDS, d + DENSE_UPPER_WORDS);
    const sw = this.chunks[small >>> CHUNK_SHIFT];
    const s = small & CHUNK_MASK;
    const n = this.count[t];
    for (let k = 0; k < n; k++) {
      const o = s + (k << 2);
      const i = sw[o];
      dw[d + (i << 1)] = sw[o + 1];
      dw[d + (i << 1) + 1] = sw[o + 2];
      if (upper) dw[d + 1024 + i] = sw[o + 3];
    }
    this.freeSmall.push(small);
    this.liveSmall--;
    if (upper) this.liveDenseUpper++;
    else this.liveDense++;
    this.block[t] = dense;
    this.form[t] = FORM_DENSE;
  }

  private demote(t: number): void {
    this.releaseBlock(t);
    this.block[t] = this.allocBlock(SMALL_WORDS, this.freeSmall);
    this.form[t] = FORM_SMALL;
    this.liveSmall++;
  }

  private releaseBlock(t: number): void {
    if (this.form[t] === FORM_DENSE) {
      if (this.level[t] > 1) {
        this.freeDenseUpper.push(this.block[t]);
        this.liveDenseUpper--;
      } else {
        this.freeDense.push(this.block[t]);
        this.liveDense--;
      }
    } else if (this.form[t] === FORM_SMALL) {
      this.freeSmall.push(this.block[t]);
      this.liveSmall--;
    }
  }

  private allocBlock(words: number, freeList: number[]): number {
    if (freeList.length > 0) return freeList.pop()!;
    let a = this.bump;
    const room = CHUNK_WORDS - (a & CHUNK_MASK);
    if ((a & CHUNK_MASK) === 0 || room < words) {
      if (room < words) a += room;
      const c = a >>> CHUNK_SHIFT;
      if (c >= MAX_CHUNKS) throw new RangeError('kmodel pgtable: host table storage exhausted (16 GiB of entries)');
      if (this.chunks.length <= c) this.chunks.push(new Uint32Array(CHUNK_WORDS));
    }
    this.bump = a + words;
    return a;
  }

  private growMeta(n: number): void {
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(n);
      next.set(old as never);
      return next;
    };
    this.level = grow(this.level, (k) => new Uint8Array(k));
    this.form = grow(this.form, (k) => new Uint8Array(k));
    this.count = grow(this.count, (k) => new Uint16Array(k));
    this.block = grow(this.block, (k) => new Uint32Array(k));
    this.pfn = grow(this.pfn, (k) => new Float64Array(k));
    this.parent = grow(this.parent, (k) => new Int32Array(k));
    this.parentIdx = grow(this.parentIdx, (k) => new Uint16Array(k));
    this.baseVpn = grow(this.baseVpn, (k) => new Float64Array(k));
  }
}
