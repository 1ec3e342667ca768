/**
 * Host storage for simulated page-table pages.
 *
 * A table is a small dense integer id (reused after free). Its metadata lives in typed arrays
 * indexed by that id; its entries live in a chunked word space of `Uint32Array`s, each entry
 * as two 32-bit halves. A table starts in a compact *small* form: up to {@link SMALL_SLOTS}
 * slots of `(index, lo, hi)` for a PTE table (48 bytes) or `(index, lo, hi, child)` for an
 * upper table (64 bytes). It is promoted to the *dense* form when it fills: 512 `(lo, hi)`
 * pairs (4 KiB), followed for an upper table by 512 child ids (2 KiB). A dense table that
 * empties goes back to the small form, so an empty table left behind by MADV_DONTNEED costs
 * the host about 70 bytes, not 4 KiB.
 *
 * Host cost per table: metadata {@link META_BYTES_PER_TABLE} bytes plus its block.
 *
 * @internal
 */

/** Entries a small-form table holds before promotion to the dense form. */
export const SMALL_SLOTS = 4;
/** Words per slot of a small PTE table (index, lo, hi) and of a small upper table (index, lo, hi, child). */
export const PTE_SLOT_WORDS = 3;
export const UPPER_SLOT_WORDS = 4;
/** Words per dense PTE block: 512 × (lo, hi). */
export const DENSE_WORDS = 1024;
/** Words per dense upper-level block: 512 × (lo, hi) then 512 child ids. */
export const DENSE_UPPER_WORDS = 1536;
/** Metadata bytes per table id: level 1, form 1, count 2, block 4, pfn 8, parent 4, parentIdx 2. */
export const META_BYTES_PER_TABLE = 22;

/** Form of a table id. */
export const FORM_FREE = 0;
export const FORM_SMALL = 1;
export const FORM_DENSE = 2;

/** End of an intrusive free list. */
const NONE = 0xffffffff;

/** Child id meaning "no child". */
export const NO_CHILD = 0xffffffff;

/** Word addresses: chunk `a >>> 20`, offset `a & 0xfffff`. */
export const CHUNK_SHIFT = 20;
export const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
const CHUNK_WORDS = 1 << CHUNK_SHIFT;
/** Words of the first chunk; each next chunk is twice the last, up to CHUNK_WORDS. */
const FIRST_CHUNK_WORDS = 4096;
/** Word addresses are unsigned 32-bit: at most 4096 chunk windows (almost 16 GiB of entries). */
const MAX_CHUNKS = 4096;

/** Kinds of block, for the free lists and the byte counts. */
const K_SMALL_PTE = 0;
const K_SMALL_UPPER = 1;
const K_DENSE_PTE = 2;
const K_DENSE_UPPER = 3;
const KIND_WORDS = [SMALL_SLOTS * PTE_SLOT_WORDS, SMALL_SLOTS * UPPER_SLOT_WORDS, DENSE_WORDS, DENSE_UPPER_WORDS];

export class TableSlab {
  // Per-table metadata, indexed by table id (growth by 1.5×).
  level = new Uint8Array(64);
  form = new Uint8Array(64);
  count = new Uint16Array(64);
  block = new Uint32Array(64);
  pfn = new Float64Array(64);
  parent = new Int32Array(64);
  parentIdx = new Uint16Array(64);

  /** Word space: chunk c holds word addresses [c << 20, (c + 1) << 20). */
  chunks: Uint32Array[] = [];
  private bump = 0;
  private nextId = 0;
  // Free ids and free blocks are intrusive LIFO lists, as in a kernel slab: a free id links to
  // the next through its `block` slot, a free block through its first word. Freeing allocates
  // nothing on the host heap. NONE ends a list (no id or block address reaches 2^32 - 1).
  private freeIdHead = NONE;
  private readonly freeBlockHead = new Uint32Array([NONE, NONE, NONE, NONE]);
  /** Live blocks per kind (small PTE, small upper, dense PTE, dense upper). */
  readonly live = [0, 0, 0, 0];
  liveIds = 0;

  /** Allocates a table id in small form with no entries. */
  allocId(level: number, pfn: number, parent: number, parentIdx: number): number {
    let id = this.freeIdHead;
    if (id !== NONE) this.freeIdHead = this.block[id];
    else {
      id = this.nextId++;
      if (id >= this.level.length) this.growMeta(Math.ceil(this.level.length * 1.5));
    }
    this.level[id] = level;
    this.form[id] = FORM_SMALL;
    this.count[id] = 0;
    this.block[id] = this.allocBlock(level > 1 ? K_SMALL_UPPER : K_SMALL_PTE);
    this.pfn[id] = pfn;
    this.parent[id] = parent;
    this.parentIdx[id] = parentIdx;
    this.liveIds++;
    return id;
  }

  /** Releases a table id and its block. */
  freeId(id: number): void {
    this.releaseBlock(id);
    this.form[id] = FORM_FREE;
    this.count[id] = 0;
    this.parent[id] = -1;
    this.block[id] = this.freeIdHead;
    this.freeIdHead = id;
    this.liveIds--;
  }

  /** Words per small slot of table `t`. */
  slotWords(t: number): number {
    return this.level[t] > 1 ? UPPER_SLOT_WORDS : PTE_SLOT_WORDS;
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
    const s = this.level[t] > 1 ? UPPER_SLOT_WORDS : PTE_SLOT_WORDS;
    const end = o + this.count[t] * s;
    for (let q = o; q < end; q += s) if (w[q] === i) return a + (q - o) + 1;
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
    const upper = this.level[t] > 1;
    if (this.form[t] === FORM_SMALL) {
      if (n < SMALL_SLOTS) {
        const a = this.block[t] + n * (upper ? UPPER_SLOT_WORDS : PTE_SLOT_WORDS);
        const w = this.chunks[a >>> CHUNK_SHIFT];
        const o = a & CHUNK_MASK;
        w[o] = i;
        w[o + 1] = lo;
        w[o + 2] = hi;
        if (upper) w[o + 3] = child;
        this.count[t] = n + 1;
        return a + 1;
      }
      this.promote(t);
    }
    const a = this.block[t];
    const w = this.chunks[a >>> CHUNK_SHIFT];
    const o = (a & CHUNK_MASK) + (i << 1);
    w[o] = lo;
    w[o + 1] = hi;
    if (upper) w[(a & CHUNK_MASK) + 1024 + i] = child;
    this.count[t] = n + 1;
    return a + (i << 1);
  }

  /** Removes non-none entry `i` (at word address `p`) of table `t`; count drops by one. */
  remove(t: number, i: number, p: number): void {
    const n = this.count[t] - 1;
    this.count[t] = n;
    const upper = this.level[t] > 1;
    if (this.form[t] === FORM_DENSE) {
      const w = this.chunks[p >>> CHUNK_SHIFT];
      const o = p & CHUNK_MASK;
      w[o] = 0;
      w[o + 1] = 0;
      if (upper) w[(this.block[t] & CHUNK_MASK) + 1024 + i] = NO_CHILD;
      if (n === 0) this.demote(t);
      return;
    }
    // Small form: move the last slot into the freed one.
    const s = upper ? UPPER_SLOT_WORDS : PTE_SLOT_WORDS;
    const a = this.block[t];
    const w = this.chunks[a >>> CHUNK_SHIFT];
    const last = (a & CHUNK_MASK) + n * s;
    const o = (p & CHUNK_MASK) - 1;
    if (o !== last) w.copyWithin(o, last, last + s);
  }

  /** Empties table `t` (every entry none), back to the small form. */
  reset(t: number): void {
    if (this.form[t] === FORM_DENSE) this.demote(t);
    this.count[t] = 0;
  }

  /** Host bytes of every typed array this slab holds (metadata capacity and entry chunks), used or not. */
  reservedBytes(): number {
    let b = this.level.length * META_BYTES_PER_TABLE;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }

  /** Host bytes used now by the tables (metadata, small and dense blocks). */
  hostBytes(): number {
    let b = this.liveIds * META_BYTES_PER_TABLE;
    for (let k = 0; k < 4; k++) b += this.live[k] * KIND_WORDS[k] * 4;
    return b;
  }

  /** Host bytes of table `t`: its metadata plus its block. */
  tableHostBytes(t: number): number {
    const f = this.form[t];
    if (f === FORM_FREE) return 0;
    return META_BYTES_PER_TABLE + KIND_WORDS[this.kind(t)] * 4;
  }

  private kind(t: number): number {
    return (this.form[t] === FORM_DENSE ? 2 : 0) + (this.level[t] > 1 ? 1 : 0);
  }

  private promote(t: number): void {
    const upper = this.level[t] > 1;
    const s = upper ? UPPER_SLOT_WORDS : PTE_SLOT_WORDS;
    const small = this.block[t];
    const dense = this.allocBlock(upper ? K_DENSE_UPPER : K_DENSE_PTE);
    const dw = this.chunks[dense >>> CHUNK_SHIFT];
    const d = dense & CHUNK_MASK;
    dw.fill(0, d, d + DENSE_WORDS);
    if (upper) dw.fill(NO_CHILD, d + DENSE_WORDS, d + DENSE_UPPER_WORDS);
    const sw = this.chunks[small >>> CHUNK_SHIFT];
    const so = small & CHUNK_MASK;
    const n = this.count[t];
    for (let k = 0; k < n; k++) {
      const o = so + k * s;
      const i = sw[o];
      dw[d + (i << 1)] = sw[o + 1];
      dw[d + (i << 1) + 1] = sw[o + 2];
      if (upper) dw[d + 1024 + i] = sw[o + 3];
    }
    // Released only now: a free block's first word is its free-list link.
    this.releaseBlock(t);
    this.block[t] = dense;
    this.form[t] = FORM_DENSE;
  }

  private demote(t: number): void {
    this.releaseBlock(t);
    this.form[t] = FORM_SMALL;
    this.block[t] = this.allocBlock(this.level[t] > 1 ? K_SMALL_UPPER : K_SMALL_PTE);
  }

  private releaseBlock(t: number): void {
    if (this.form[t] === FORM_FREE) return;
    this.pushBlock(this.kind(t), this.block[t]);
  }

  /** Puts block `a` of `kind` on its free list (its first word becomes the link). */
  private pushBlock(kind: number, a: number): void {
    this.chunks[a >>> CHUNK_SHIFT][a & CHUNK_MASK] = this.freeBlockHead[kind];
    this.freeBlockHead[kind] = a;
    this.live[kind]--;
  }

  /** A block of `kind`: the last one freed, else fresh words; its contents are undefined. */
  private allocBlock(kind: number): number {
    this.live[kind]++;
    const free = this.freeBlockHead[kind];
    if (free !== NONE) {
      this.freeBlockHead[kind] = this.chunks[free >>> CHUNK_SHIFT][free & CHUNK_MASK];
      return free;
    }
    const words = KIND_WORDS[kind];
    let a = this.bump;
    const c = a >>> CHUNK_SHIFT;
    const chunk = c < this.chunks.length ? this.chunks[c] : undefined;
    if (chunk === undefined || (a & CHUNK_MASK) + words > chunk.length) {
      // Open the next window with a chunk twice the size of the last (16 KiB first, 4 MiB at
      // most): a small page table stays small and storage grows without copying.
      const next = chunk === undefined ? c : c + 1;
      if (next >= MAX_CHUNKS) throw new RangeError('kmodel pgtable: host table storage exhausted (4096 chunks of entries)');
      this.chunks.push(new Uint32Array(chunk === undefined ? FIRST_CHUNK_WORDS : Math.min(chunk.length * 2, CHUNK_WORDS)));
      a = next * CHUNK_WORDS;
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
  }
}
