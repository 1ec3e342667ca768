/**
 * @kmodel/mm benchmark: simulated faults per second (host time) for the fault kinds whose
 * real cost was measured on Linux 6.18 (500 ns zero-page read, 1.6 us read that allocates a
 * PTE table, 0.6 us per PTE table freed by DONTNEED), and host memory and time for the
 * 2 TiB attack (one read per 2 MiB: 1,048,576 faults, one PTE table each).
 *
 * Run: pnpm --filter @kmodel/mm... build   (mm and the packages it uses: core, pgtable, buddy, pte-ref)
 *      && pnpm --filter @kmodel/mm bench             (stock buddy allocator)
 *      && pnpm --filter @kmodel/mm bench freelist    (a minimal allocator: the model's own cost)
 *
 * Every case runs in a process of its own, so that no case inherits another's heap, JIT
 * state or allocator state. Each figure is measured RUNS times after a warm-up; the best
 * and the median run are printed. The host is shared: the median moves with load, the best
 * shows what the code does when it has a core to itself. Figures are never asserted.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GFP_PGTABLE_USER, GiB } from '@kmodel/core';
import type { PageAllocator, PageTableFactory } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { createPageTable } from '@kmodel/pgtable';
import { AddressSpace } from '@kmodel/mm';
import { PteRef } from '@kmodel/pte-ref';

const A = 0x100000000; // vpn of 0x100000000000
const MiB_PAGES = 256;
const GiB_PAGES = 256 * 1024;
const RUNS = 40;

/** A minimal free-list allocator: shows what the address space and page table cost without the buddy allocator. */
class FreeListAllocator implements PageAllocator {
  private next = 0;
  private readonly free: number[][] = Array.from({ length: 11 }, () => []);
  private used = 0;
  constructor(private readonly pages: number) {}
  allocPages(_gfp: number, order: number): number | null {
    const size = 2 ** order;
    if (this.used + size > this.pages) return null;
    let pfn = this.free[order]!.pop();
    if (pfn === undefined) {
      pfn = Math.ceil(this.next / size) * size;
      this.next = pfn + size;
    }
    this.used += size;
    return pfn;
  }
  freePages(pfn: number, order: number): void {
    this.free[order]!.push(pfn);
    this.used -= 2 ** order;
  }
  managedPages(): number {
    return this.pages;
  }
  nrFreePages(): number {
    return this.pages - this.used;
  }
}

/**
 * The stock page table with zapRangeReclaimPt hidden: mm then zaps and frees the emptied PTE
 * tables in two passes (zapRange, then freePgtables per span), as with a PageTable that lacks it.
 */
const twoPassPageTables: PageTableFactory = (options) => {
  const pt = createPageTable(options);
  Object.defineProperty(pt, 'zapRangeReclaimPt', { value: undefined });
  return pt;
};

/** Address spaces on one allocator; with `pteRef`, each gets a pte_ref observer (as in every reclaim setup). */
function machine(allocatorKind: string, memoryBytes: number, pteRef = false, pageTables: PageTableFactory = createPageTable) {
  const allocator: PageAllocator = allocatorKind === 'buddy' ? new BuddyAllocator({ memory: memoryBytes }) : new FreeListAllocator(memoryBytes / 4096);
  const zeroPfn = allocator.allocPages(GFP_PGTABLE_USER, 0)!;
  const hugeZeroPfn = allocator.allocPages(GFP_PGTABLE_USER, 9)!;
  const ref = new PteRef(zeroPfn);
  let id = 1;
  return () => {
    const n = id++;
    return new AddressSpace({ id: n, allocator, pageTables, zeroPfn, hugeZeroPfn, ...(pteRef ? { observer: ref.observerFor(n) } : {}) });
  };
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

/** Per-operation times of a series of runs. */
class Series {
  private readonly perOp: number[] = [];
  add(ns: number, ops: number): void {
    this.perOp.push(ns / ops);
  }
  get best(): number {
    return Math.min(...this.perOp);
  }
  get median(): number {
    const s = [...this.perOp].sort((a, b) => a - b);
    return s[s.length >> 1]!;
  }
}

function report(name: string, s: Series, ops: number, kernelNs: number): void {
  const b = s.best;
  const m = s.median;
  console.log(
    `${name.padEnd(36)} ${String(ops).padStart(8)} ops  best ${b.toFixed(1).padStart(7)} ns  median ${m.toFixed(1).padStart(7)} ns  ` +
      `(kernel ${kernelNs} ns: ${(kernelNs / b).toFixed(1)}x / ${(kernelNs / m).toFixed(1)}x faster)`,
  );
}

/** Faults of a touch of every page of a fresh `pages`-page mapping, RUNS times after a warm-up. */
function touchSeries(allocator: string, pages: number, write: boolean): Series {
  const newMm = machine(allocator, 16 * GiB);
  const s = new Series();
  for (let run = -3; run < RUNS; run++) {
    const mm = newMm();
    mm.mmap({ addr: A, pages, fixedNoreplace: true });
    const ns = time(() => mm.touch(A, pages, 1, write));
    mm.exit();
    if (run >= 0) s.add(ns, pages);
  }
  return s;
}

type Case = (allocator: string) => void;

const CASES: Record<string, Case> = {
  /** The 2 TiB attack: one byte read per 2 MiB, then one DONTNEED of it all. */
  'attack-2tib': (allocator) => {
    const make = machine(allocator, 8 * GiB);
    globalThis.gc?.();
    const before = process.memoryUsage();
    const mm = make();
    const pages = 2048 * GiB_PAGES;
    mm.mmap({ addr: A, pages, fixedNoreplace: true, noreserve: true });
    const ns = time(() => mm.touch(A, pages, 512, false));
    globalThis.gc?.();
    const after = process.memoryUsage();
    const s = mm.status();
    const hostBytes = after.rss - before.rss;
    console.log(
      `2 TiB attack: ${pages / 512} faults in ${(ns / 1e6).toFixed(0)} ms (${(ns / (pages / 512)).toFixed(0)} ns/fault); ` +
        `VmPTE ${s.VmPTE} kB (${s.nr_ptes} PTE, ${s.nr_pmds} PMD, ${s.nr_puds} PUD tables); ` +
        `host memory +${(hostBytes / 2 ** 20).toFixed(0)} MiB RSS (${(hostBytes / s.nr_ptes).toFixed(0)} B per PTE table), ` +
        `arrays +${((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toFixed(0)} MiB; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
    const d = time(() => mm.madvise(A, pages, 'dontneed'));
    console.log(`2 TiB DONTNEED: ${s.nr_ptes - mm.status().nr_ptes} tables freed in ${(d / 1e6).toFixed(0)} ms`);
  },

  /** read-4K: a read of every page in turn; 511 of every 512 faults find their PTE table in place. */
  'read-4k': (allocator) => report('read-4K (zero page)', touchSeries(allocator, 256 * MiB_PAGES, false), 256 * MiB_PAGES, 500),

  /** read-one-per-2MiB: every fault allocates a PTE table; then DONTNEED frees them all. */
  'new-table': (allocator) => {
    const newMm = machine(allocator, 16 * GiB);
    const pages = 64 * GiB_PAGES;
    const faults = new Series();
    const frees = new Series();
    let tables = 0;
    for (let run = -3; run < RUNS; run++) {
      const mm = newMm();
      mm.mmap({ addr: A, pages, fixedNoreplace: true, noreserve: true });
      const ns = time(() => mm.touch(A, pages, 512, false));
      const before = mm.status().nr_ptes;
      const d = time(() => mm.madvise(A, pages, 'dontneed'));
      tables = before - mm.status().nr_ptes;
      mm.exit();
      if (run < 0) continue;
      faults.add(ns, pages / 512);
      frees.add(d, tables);
    }
    report('read-one-per-2MiB (new table)', faults, pages / 512, 1600);
    report('DONTNEED, per PTE table freed', frees, tables, 600);
  },

  /** write-4K: allocate and map a zeroed page. */
  'write-4k': (allocator) => report('write-4K', touchSeries(allocator, 128 * MiB_PAGES, true), 128 * MiB_PAGES, 2300),

  /**
   * DONTNEED of one-read-per-2MiB memory with the one-pass zapRangeReclaimPt and without it
   * (zapRange, then freePgtables per span), measured in turn so that both see the same load.
   */
  'dontneed-passes': (allocator) => {
    const makers = [machine(allocator, 16 * GiB), machine(allocator, 16 * GiB, false, twoPassPageTables)];
    const series = [new Series(), new Series()];
    const pages = 64 * GiB_PAGES;
    let tables = 0;
    for (let run = -4; run < RUNS; run++) {
      const k = (run + (run >> 1)) & 1; // order: 0 1 1 0 0 1 1 0 ...
      const mm = makers[k]!();
      mm.mmap({ addr: A, pages, fixedNoreplace: true, noreserve: true });
      mm.touch(A, pages, 512, false);
      const before = mm.status().nr_ptes;
      const ns = time(() => mm.madvise(A, pages, 'dontneed'));
      tables = before - mm.status().nr_ptes;
      mm.exit();
      if (run >= 0) series[k]!.add(ns, tables);
    }
    report('DONTNEED per table, 1 pass', series[0]!, tables, 600);
    report('DONTNEED per table, 2 passes', series[1]!, tables, 600);
  },

  /**
   * tryFreePteTable on zero-only tables (every entry maps the zero page) and on empty tables
   * (presentCount 0: a free only); with a pte_ref observer mm knows a zero-only table from its
   * zero-page count, without one it walks the table's 512 entries.
   */
  'try-free': (allocator) => {
    const withRef = machine(allocator, 16 * GiB, true);
    const noRef = machine(allocator, 16 * GiB);
    for (const [kind, make] of [['zero-only, pte_ref', withRef], ['zero-only, no observer', noRef], ['empty, pte_ref', withRef]] as const) {
      const tables = 1024;
      const pages = tables * 512;
      const s = new Series();
      let freed = 0;
      for (let run = -3; run < 20; run++) {
        const mm = make();
        mm.mmap({ addr: A, pages, fixedNoreplace: true });
        mm.touch(A, pages, 1, false);
        if (kind.startsWith('empty')) {
          // Two zaps per table, neither covering all 2 MiB: PT_RECLAIM leaves the empty table.
          for (let v = A; v < A + pages; v += 512) {
            mm.madvise(v, 1, 'dontneed');
            mm.madvise(v + 1, 511, 'dontneed');
          }
        }
        freed = 0;
        const ns = time(() => {
          for (let v = A; v < A + pages; v += 512) if (mm.tryFreePteTable(v, { allowZeroPages: true, lock: 'none' })) freed++;
        });
        mm.exit();
        if (run >= 0) s.add(ns, freed);
      }
      report(`tryFreePteTable (${kind})`, s, freed, kind.startsWith('zero') ? 512 * 2 + 650 : 650);
    }
  },
};

const args = process.argv.slice(2);
const caseName = args[0] === '--case' ? args[1]! : null;
const allocator = (caseName === null ? args[0] : args[2]) === 'freelist' ? 'freelist' : 'buddy';

if (caseName !== null) {
  const run = CASES[caseName];
  if (run === undefined) throw new Error(`unknown bench case ${caseName}`);
  run(allocator);
} else {
  console.log(`allocator: ${allocator}; ${RUNS} runs per figure after warm-up, each case in its own process; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const self = fileURLToPath(import.meta.url);
  for (const name of Object.keys(CASES)) {
    // process.execArgv carries the TypeScript loader this script runs under.
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--case', name, allocator], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
