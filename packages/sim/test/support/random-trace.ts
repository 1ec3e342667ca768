/**
 * Random traces in format v1 for differential runs against the live kernel
 * (`validation/fuzz.ts`): every op and field, regions placed around a 2 MiB, 1 GiB or
 * 512 GiB boundary in otherwise empty 512 GiB slots, and some without `addr` (which
 * validation maps where the model places them), and only calls the kernel accepts
 * (no touch or populate the protection forbids, no madvise over a hole), so every trace
 * parses and runs natively. Memory stays small: a window of 24 MiB, plus at most one large
 * region whose writes are sparse.
 */
import { Rng } from '@kmodel/core';

const PAGES_2M = 512;
const PAGES_1G = 512 * 512;
const PAGES_512G = 512 * 512 * 512;
/** First page of the 512 GiB slot at 0x100000000000. */
const SLOT0 = 0x100000000000 / 4096;
/** Pages of the window that small regions are placed in (24 MiB). */
const WINDOW = 6 * 1024;
/** Stand-in first page of regions mapped without `addr` (their real place is the model's choice). */
const UNPLACED = 2 ** 34;
/** Most 2 MiB blocks one write touch or populate_write may reach in the large region. */
const FAR_WRITE_POINTS = 16;

/** Where a trace places its window. */
export type Placement = 'pmd' | 'gib' | 'p4d';
export const PLACEMENTS: readonly Placement[] = ['pmd', 'gib', 'p4d'];
/**
 * What a trace's mappings look like: `mixed` sizes and flags; `small`, many regions of a few
 * pages, often adjacent (VMA merges and splits); `thp`, MADV_HUGEPAGE regions of whole 2 MiB
 * blocks, written and then cut by partial advice and munmap.
 */
export type Style = 'mixed' | 'small' | 'thp';
export const STYLES: readonly Style[] = ['mixed', 'small', 'thp'];

/** Options of {@link randomTrace}. */
export interface RandomTraceOptions {
  /** Ops other than `status` (default 6..24, drawn). */
  readonly ops?: number;
  /** Window placement (default drawn). */
  readonly placement?: Placement;
  /** Kind of mappings (default drawn, `mixed` half of the time). */
  readonly style?: Style;
}

interface Region {
  readonly name: string;
  /** First page (absolute page number). */
  readonly start: number;
  readonly pages: number;
  readonly prot: 'rw' | 'r' | 'none';
  /** The large region far from the window: writes there are sparse. */
  readonly far: boolean;
  /** Mapped without `addr`: the model places it (validate maps it there on both sides); `start` is a stand-in. */
  readonly unplaced: boolean;
  /** Still-mapped page ranges [a, b) relative to `start`, sorted and disjoint. */
  mapped: [number, number][];
}

const kib = (pages: number): string => `${pages * 4}KiB`;
const hex = (page: number): string => `0x${(BigInt(page) * 4096n).toString(16)}`;

class Generator {
  private readonly regions: Region[] = [];
  private readonly lines: string[] = [];
  private names = 0;
  private unplacedCount = 0;
  private statuses = 0;
  private readonly window: number;
  private readonly farBase: number;

  constructor(
    private readonly rng: Rng,
    readonly placement: Placement,
    readonly style: Style,
  ) {
    const slot = SLOT0 + rng.int(0, 3) * 2 * PAGES_512G;
    // The boundary the window straddles sits in its middle.
    const boundary = placement === 'p4d' ? slot + PAGES_512G : placement === 'gib' ? slot + rng.int(1, 4) * PAGES_1G : slot + rng.int(1, 64) * PAGES_2M;
    this.window = boundary - WINDOW / 2;
    this.farBase = slot + PAGES_512G + 8 * PAGES_1G;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(0, xs.length - 1)]!;
  }

  private emit(op: Record<string, unknown>): void {
    this.lines.push(JSON.stringify(op));
  }

  status(): void {
    this.emit({ op: 'status', label: `s${this.statuses++}` });
  }

  private overlaps(start: number, pages: number): boolean {
    return this.regions.some((r) => r.mapped.some(([a, b]) => start < r.start + b && r.start + a < start + pages));
  }

  /** A size in pages: small, a few 2 MiB blocks, or blocks give or take some pages. */
  private size(max: number): number {
    if (this.style === 'small') return Math.min(max, this.rng.int(1, 16));
    if (this.style === 'thp') return Math.min(max, this.rng.int(1, 4) * PAGES_2M + (this.rng.chance(0.8) ? 0 : this.rng.int(-8, 8)));
    const kind = this.rng.int(0, 3);
    const pages = kind === 0 ? this.rng.int(1, 64) : kind === 1 ? this.rng.int(65, 2048) : kind === 2 ? this.rng.int(1, 6) * PAGES_2M : this.rng.int(1, 6) * PAGES_2M + this.rng.int(-16, 16);
    return Math.max(1, Math.min(pages, max));
  }

  mmap(): void {
    const far = !this.regions.some((r) => r.far) && this.rng.chance(0.15);
    const unplaced = !far && this.rng.chance(0.15);
    let start: number;
    let pages: number;
    if (unplaced) {
      pages = this.size(WINDOW);
      start = UNPLACED + this.unplacedCount++ * PAGES_1G * 4; // apart from everything, never compared
    } else if (far) {
      pages = this.rng.int(1, 16) * 64 * PAGES_2M + (this.rng.chance(0.5) ? 0 : this.rng.int(1, 511));
      start = this.farBase + (this.rng.chance(0.5) ? PAGES_1G - this.rng.int(1, 256) * PAGES_2M : this.rng.int(0, 8) * PAGES_2M + this.rng.int(0, 3) * 128);
    } else {
      pages = this.size(WINDOW);
      const align = this.style === 'thp' ? PAGES_2M : this.pick([1, 16, PAGES_2M, PAGES_2M]);
      start = this.window + Math.floor(this.rng.int(0, WINDOW - pages) / align) * align;
      if (this.rng.chance(0.2)) start = this.window + WINDOW / 2 - this.rng.int(1, pages); // across the boundary
      const next = this.live();
      // Right before or after another region: the kernel merges compatible neighbours into one VMA.
      if (next !== undefined && !next.far && !next.unplaced && this.rng.chance(0.3)) start = this.rng.chance(0.5) ? next.start + next.pages : next.start - pages;
    }
    if (!unplaced && this.overlaps(start, pages)) return;
    // Reuse a free name now and then: a name is free again after a whole-region munmap.
    const name = this.names > 0 && this.rng.chance(0.2) ? `r${this.rng.int(0, this.names - 1)}` : `r${this.names++}`;
    if (this.regions.some((r) => r.name === name)) return;
    const prot = this.style === 'thp' && this.rng.chance(0.8) ? 'rw' : this.pick(['rw', 'rw', 'rw', 'r', 'none'] as const);
    const op: Record<string, unknown> = { op: 'mmap', region: name, ...(unplaced ? {} : { addr: hex(start) }), size: this.rng.chance(0.5) ? kib(pages) : pages * 4096 };
    if (this.rng.chance(unplaced ? 0.5 : 0.3)) op['align'] = this.pick(['4KiB', '2MiB', '1GiB']); // ignored with addr
    if (prot !== 'rw' || this.rng.chance(0.2)) op['prot'] = prot;
    const thp = this.style === 'thp' && this.rng.chance(0.8) ? 'always' : this.pick(['default', 'always', 'always', 'never'] as const);
    if (thp !== 'default' || this.rng.chance(0.2)) op['thp'] = thp;
    this.emit(op);
    this.regions.push({ name, start, pages, prot, far, unplaced, mapped: [[0, pages]] });
  }

  private live(): Region | undefined {
    return this.regions.length > 0 ? this.pick(this.regions) : undefined;
  }

  /** A page range [offset, offset + pages) inside one mapped piece of `r`, often 2 MiB aligned in absolute terms. */
  private mappedRange(r: Region): [number, number] {
    const [a, b] = this.pick(r.mapped);
    if (this.rng.chance(0.4)) {
      // Whole 2 MiB blocks of the piece, if any.
      const first = Math.ceil((r.start + a) / PAGES_2M) * PAGES_2M - r.start;
      const last = Math.floor((r.start + b) / PAGES_2M) * PAGES_2M - r.start;
      if (last > first) {
        const blocks = (last - first) / PAGES_2M;
        const i = this.rng.int(0, blocks - 1);
        return [first + i * PAGES_2M, this.rng.int(1, blocks - i) * PAGES_2M];
      }
    }
    if (this.rng.chance(0.3)) return [a, b - a];
    const offset = this.rng.int(a, b - 1);
    return [offset, this.rng.int(1, b - offset)];
  }

  private regionFields(r: Region, offset: number, pages: number): Record<string, unknown> {
    const op: Record<string, unknown> = { region: r.name };
    if (offset !== 0 || this.rng.chance(0.3)) op['offset'] = this.rng.chance(0.5) ? kib(offset) : offset * 4096;
    // "size" absent means the rest of the region.
    if (offset + pages !== r.pages || this.rng.chance(0.5)) op['size'] = kib(pages);
    return op;
  }

  touch(): void {
    const r = this.live();
    if (r === undefined || r.prot === 'none') return;
    const [offset, pages] = this.mappedRange(r);
    const write = r.prot === 'rw' && this.rng.chance(0.6);
    let stride = this.pick([1, 1, 2, 7, 16, 64, PAGES_2M, PAGES_2M, PAGES_2M + 1, 3 * PAGES_2M]);
    if (r.far) stride = Math.max(stride, write ? Math.ceil(pages / FAR_WRITE_POINTS) : PAGES_2M);
    if (r.far && write) stride = Math.ceil(stride / PAGES_2M) * PAGES_2M;
    const op = { op: 'touch', ...this.regionFields(r, offset, pages), access: write ? 'write' : 'read' } as Record<string, unknown>;
    if (stride !== 1 || this.rng.chance(0.3)) op['stride'] = kib(stride);
    if (!write && this.rng.chance(0.3)) delete op['access'];
    this.emit(op);
  }

  madvise(): void {
    const r = this.live();
    if (r === undefined) return;
    const advice = this.pick(['dontneed', 'dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read', 'populate_write'] as const);
    if (advice === 'populate_read' && r.prot === 'none') return;
    if (advice === 'populate_write' && r.prot !== 'rw') return;
    let [offset, pages] = this.mappedRange(r);
    if (advice === 'populate_write' && r.far) pages = Math.min(pages, FAR_WRITE_POINTS * PAGES_2M);
    const op = { op: 'madvise', ...this.regionFields(r, offset, pages), advice } as Record<string, unknown>;
    const piece = r.mapped.find(([a, b]) => a <= offset && offset < b)!;
    // repeat: consecutive calls of `pages` each, all inside the same mapped piece.
    const fit = Math.floor((piece[1] - offset) / pages);
    if (fit >= 2 && this.rng.chance(0.3) && !(advice === 'populate_write' && r.far)) {
      // Calls back to back, overlapping, or with gaps; all inside the piece.
      const step = Math.max(0, pages + this.pick([0, 0, -1, 1, 16, -Math.floor(pages / 2)]));
      const count = step === 0 ? this.rng.int(2, 4) : Math.min(64, Math.floor((piece[1] - offset - pages) / step) + 1);
      if (count >= 2) {
        op['size'] = kib(pages);
        op['repeat'] = { count: this.rng.int(2, count), step: kib(step) };
      }
    }
    this.emit(op);
  }

  munmap(): void {
    const r = this.live();
    if (r === undefined) return;
    let offset: number;
    let pages: number;
    let count = 1;
    let step = 0;
    // Where the model put an unplaced region's holes is unknown: unmap only what is still mapped.
    const kind = r.unplaced ? 1 : this.rng.int(0, 3);
    if (kind === 0) [offset, pages] = [0, r.pages];
    else if (kind === 1) [offset, pages] = this.mappedRange(r);
    else {
      // Anywhere in the region, holes included (munmap of an unmapped range is fine).
      offset = this.rng.int(0, r.pages - 1);
      pages = this.rng.int(1, r.pages - offset);
      const gap = this.rng.int(0, 16);
      const fit = Math.floor((r.pages - offset - pages) / (pages + gap)) + 1;
      if (kind === 3 && fit >= 2) {
        step = pages + gap;
        count = this.rng.int(2, Math.min(32, fit));
      }
    }
    // A call over a hole of `r` must not reach a region mapped into that hole (the parser rejects it).
    const others = (s: number, n: number) => this.regions.some((o) => o !== r && o.mapped.some(([a, b]) => r.start + s < o.start + b && o.start + a < r.start + s + n));
    for (let i = 0; i < count; i++) {
      if (others(offset + i * step, pages)) {
        [offset, pages] = this.mappedRange(r);
        count = 1;
        break;
      }
    }
    const op = { op: 'munmap', ...this.regionFields(r, offset, pages) } as Record<string, unknown>;
    if (count > 1) {
      op['size'] = kib(pages);
      op['repeat'] = { count, step: kib(step) };
    }
    this.emit(op);
    for (let i = 0; i < count; i++) {
      const s = offset + i * step;
      const e = s + pages;
      r.mapped = r.mapped.flatMap(([a, b]): [number, number][] => (b <= s || a >= e ? [[a, b]] : [...(a < s ? [[a, s] as [number, number]] : []), ...(b > e ? [[e, b] as [number, number]] : [])]));
    }
    if (r.mapped.length === 0) this.regions.splice(this.regions.indexOf(r), 1);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * A random trace in format v1 (JSON Lines text) for `seed`: a baseline `status`, then
 * mmaps with `addr` in an empty 512 GiB slot, touches, madvises and munmaps, each followed
 * by a `status`. The same seed always gives the same trace.
 */
export function randomTrace(seed: number, options: RandomTraceOptions = {}): string {
  const rng = new Rng(seed);
  const placement = options.placement ?? PLACEMENTS[rng.int(0, PLACEMENTS.length - 1)]!;
  const style = options.style ?? (rng.chance(0.5) ? 'mixed' : STYLES[rng.int(1, STYLES.length - 1)]!);
  const g = new Generator(rng, placement, style);
  const ops = options.ops ?? (rng.chance(0.2) ? rng.int(40, 80) : rng.int(6, 24));
  // Small regions come in numbers: more mmaps.
  const mmaps = style === 'small' ? 4 : 1;
  g.status();
  g.mmap();
  for (let i = 0; i < ops; i++) {
    const k = rng.int(0, 9);
    if (k <= mmaps) g.mmap();
    else if (k <= 4) g.touch();
    else if (k <= 7) g.madvise();
    else g.munmap();
    g.status();
  }
  return g.text();
}
