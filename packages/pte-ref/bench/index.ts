/**
 * pte-ref benchmarks: observer updates per second (a set/clear mix on one address space), PTE
 * table births (allocation plus first entry, with and without a query in between) and
 * ordered-index updates per second over 10,000 address spaces. Prints rates and host memory;
 * asserts nothing. Run: pnpm --filter @kmodel/pte-ref bench (build core and pte-ref first).
 */
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_USER, makeEntryHi, makeEntryLo } from '@kmodel/core';
import { PteRef } from '@kmodel/pte-ref';

const ZERO_PFN = 0x3b34;
const ANON = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
const ZERO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function rate(n: number, ns: bigint): string {
  return `${((n * 1e9) / Number(ns) / 1e6).toFixed(2)} M/s`;
}

/** A deterministic xorshift32 so that runs are comparable. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/**
 * Set/clear mix: 1,024 PTE tables (2 GiB of address space), entries chosen at random; a none
 * slot gets an anonymous page (70 %) or the zero page (30 %), a filled slot is cleared (50 %)
 * or overwritten (COW of the zero page / another anon page). Table transitions into and out
 * of empty / zero-only move the mm in the index as they happen.
 */
function observerMix(ops: number): void {
  const ref = new PteRef(ZERO_PFN, { zeroRule: 'symmetric' });
  const obs = ref.observerFor(1);
  const TABLES = 1024;
  for (let t = 0; t < TABLES; t++) obs.tableAlloc(t, 1, t * 512);
  const lo = new Uint32Array(TABLES * 512);
  const hi = new Uint32Array(TABLES * 512);
  const anonLo = makeEntryLo(0x10000, ANON);
  const anonHi = makeEntryHi(0x10000, ANON);
  const zeroLo = makeEntryLo(ZERO_PFN, ZERO);
  const zeroHi = makeEntryHi(ZERO_PFN, ZERO);
  const rnd = xorshift(7);
  let sets = 0;
  let clears = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < ops; k++) {
    const r = rnd();
    const slot = r % (TABLES * 512);
    const table = slot >>> 9;
    const index = slot & 511;
    const ol = lo[slot]!;
    const oh = hi[slot]!;
    if (ol === 0 && oh === 0) {
      const z = (r >>> 24) < 77;
      const nl = z ? zeroLo : anonLo;
      const nh = z ? zeroHi : anonHi;
      obs.pteSet(table, index, 0, 0, nl, nh);
      lo[slot] = nl;
      hi[slot] = nh;
      sets++;
    } else if ((r >>> 31) === 0) {
      obs.pteClear(table, index, ol, oh);
      lo[slot] = 0;
      hi[slot] = 0;
      clears++;
    } else {
      obs.pteSet(table, index, ol, oh, anonLo, anonHi);
      lo[slot] = anonLo;
      hi[slot] = anonHi;
      sets++;
    }
  }
  const ns = process.hrtime.bigint() - t0;
  console.log(`observer set/clear mix: ${ops} updates (${sets} sets, ${clears} clears, ${ref.indexMoves} index moves, ${ref.indexRepositions} tree re-insertions) in ${(Number(ns) / 1e6).toFixed(0)} ms = ${rate(ops, ns)}`);
}

/**
 * Zero-only churn: one table repeatedly read-swept to zero-only and COW'd back, so every
 * 512th update moves the mm in the index (the worst realistic transition rate).
 */
function transitionChurn(rounds: number): void {
  const ref = new PteRef(ZERO_PFN);
  const obs = ref.observerFor(1);
  obs.tableAlloc(0, 1, 0);
  const zeroLo = makeEntryLo(ZERO_PFN, ZERO);
  const zeroHi = makeEntryHi(ZERO_PFN, ZERO);
  const anonLo = makeEntryLo(0x10000, ANON);
  const anonHi = makeEntryHi(0x10000, ANON);
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 512; i++) obs.pteSet(0, i, 0, 0, zeroLo, zeroHi);
    obs.pteSet(0, 0, zeroLo, zeroHi, anonLo, anonHi);
    obs.pteClear(0, 0, anonLo, anonHi);
    for (let i = 1; i < 512; i++) obs.pteClear(0, i, zeroLo, zeroHi);
  }
  const ns = process.hrtime.bigint() - t0;
  const n = rounds * 1025;
  console.log(`zero-only churn: ${n} updates, ${rounds * 4} index moves, in ${(Number(ns) / 1e6).toFixed(0)} ms = ${rate(n, ns)}`);
}

/**
 * Table births, the 2 TiB read attack's pattern: `tables` PTE tables each allocated (empty,
 * reclaimable) and given one zero-page entry right away (not reclaimable), spread round-robin
 * over `mms` address spaces; every key change is undone before the next query unless
 * `queryEvery` births separate queries (largest(), as a reclaim trigger would ask).
 */
function tableBirths(tables: number, mms: number, queryEvery: number): void {
  const ref = new PteRef(ZERO_PFN);
  const observers = Array.from({ length: mms }, (_, mm) => ref.observerFor(mm + 1));
  const zeroLo = makeEntryLo(ZERO_PFN, ZERO);
  const zeroHi = makeEntryHi(ZERO_PFN, ZERO);
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < tables; k++) {
    const obs = observers[k % mms]!;
    const t = Math.floor(k / mms);
    obs.tableAlloc(t, 1, t * 512);
    obs.pteSet(t, 0, 0, 0, zeroLo, zeroHi);
    if (queryEvery > 0 && k % queryEvery === 0) sink += ref.largest() ?? 0;
  }
  sink += ref.largest() ?? 0;
  const ns = process.hrtime.bigint() - t0;
  const every = queryEvery > 0 ? `largest() every ${queryEvery}` : 'one largest() at the end';
  console.log(`table births: ${tables} over ${mms} mm(s), ${every}: ${ref.indexMoves} index moves, ${ref.indexRepositions} tree re-insertions, in ${(Number(ns) / 1e6).toFixed(0)} ms = ${rate(tables, ns)} births (checksum ${sink})`);
}

/**
 * Index updates over 10,000 address spaces: each mm gets tables up front; then random mms
 * gain or lose an empty table (tableAlloc / tableFree), each of which moves that mm in the
 * ordered index; largest() is read after every update.
 */
function indexUpdates(mms: number, updates: number): void {
  const ref = new PteRef(ZERO_PFN);
  const observers = Array.from({ length: mms }, (_, mm) => ref.observerFor(mm));
  const next = new Int32Array(mms);
  const rnd = xorshift(11);
  for (let mm = 0; mm < mms; mm++) {
    const n = 1 + (rnd() % 64);
    for (let t = 0; t < n; t++) observers[mm]!.tableAlloc(t, 1, t * 512);
    next[mm] = n;
  }
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < updates; k++) {
    const r = rnd();
    const mm = r % mms;
    const obs = observers[mm]!;
    if ((r >>> 31) === 0 || next[mm] === 0) {
      obs.tableAlloc(next[mm]!, 1, next[mm]! * 512);
      next[mm]!++;
    } else {
      obs.tableFree(--next[mm]!, 1);
    }
    sink += ref.largest() ?? 0;
  }
  const ns = process.hrtime.bigint() - t0;
  console.log(`index updates over ${mms} mms: ${updates} updates + largest() in ${(Number(ns) / 1e6).toFixed(0)} ms = ${rate(updates, ns)} (index holds ${ref.indexedMmCount()} mms, checksum ${sink % 1000})`);
}

const before = process.memoryUsage();
observerMix(20_000_000);
transitionChurn(5_000);
tableBirths(1_048_576, 1, 0);
tableBirths(1_048_576, 1, 1);
tableBirths(1_048_576, 64, 0);
indexUpdates(10_000, 2_000_000);
const after = process.memoryUsage();
console.log(`host memory: rss ${mib(after.rss)} (was ${mib(before.rss)}), heapUsed ${mib(after.heapUsed)}, arrayBuffers ${mib(after.arrayBuffers)}`);
