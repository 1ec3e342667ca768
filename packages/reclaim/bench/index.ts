/**
 * reclaim benchmarks (host speed of the model, not simulated time): tables freed per second by
 * reclaim-path (one pressure event over 4,096 zero-only tables), entries scanned per second by
 * zero-scan (4,096 sparse tables), and DONTNEED churn per second under mainline and
 * pte-ref-immediate. Prints rates and host memory; asserts nothing.
 * Run: pnpm --filter @kmodel/reclaim bench (build core, buddy, pgtable, pte-ref, mm and reclaim first).
 */
import { GFP_KERNEL, SimClock } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { AddressSpace } from '@kmodel/mm';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { createPolicy } from '@kmodel/reclaim';

const T = 512;

function machine(policy: string, params: Record<string, unknown> = {}) {
  const clock = new SimClock();
  const allocator = new BuddyAllocator({ memory: 2 * 2 ** 30 });
  const zeroPfn = allocator.allocPages(GFP_KERNEL, 0)!;
  const pteRef = new PteRef(zeroPfn);
  const mms = new Map<number, AddressSpace>();
  const driver = createPolicy(policy, params)({ clock, mms, pteRef });
  const mm = new AddressSpace({ id: 1, allocator, pageTables: createPageTable, zeroPfn, clock, observer: pteRef.observerFor(1), profile: driver.profile, hooks: driver.hooks });
  mms.set(1, mm);
  driver.attach(mm);
  return { clock, driver, mm };
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function line(what: string, n: number, unit: string, s: number): void {
  console.log(`${what.padEnd(44)} ${(n / s / 1e3).toFixed(1).padStart(9)} k${unit}/s  (${n} in ${(s * 1e3).toFixed(1)} ms)`);
}

{
  const { mm, driver } = machine('reclaim-path');
  const base = mm.mmap({ pages: 4096 * T, align: T });
  mm.touch(base, 4096 * T, 1, false);
  const s = time(() => driver.reclaimer.reclaim(null, 1 << 30));
  line('reclaim-path: zero-only tables freed', driver.report()['pt_reclaim.pte_tables_freed']!, 'tables', s);
}
{
  const { mm, driver, clock } = machine('zero-scan', { intervalNs: 1, minPgtablesBytes: 0 });
  const base = mm.mmap({ pages: 4096 * T, align: T });
  mm.touch(base, 4096 * T, T, false);
  clock.advance(10);
  const s = time(() => driver.tick());
  line('zero-scan: entries scanned (lockless + re-check)', driver.report()['pt_reclaim.entries_scanned']!, 'entries', s);
}
for (const policy of ['none', 'mainline', 'pte-ref-immediate']) {
  const { mm, driver } = machine(policy);
  const base = mm.mmap({ pages: 256 * T, align: T });
  let ops = 0;
  const s = time(() => {
    for (let r = 0; r < 8; r++) {
      mm.touch(base, 256 * T, 64, true);
      const run = r % 2 === 0 ? T : T / 2;
      for (let v = base; v < base + 256 * T; v += run, ops++) mm.madvise(v, run, 'dontneed');
      driver.tick();
    }
  });
  line(`churn under ${policy}: touch rounds + DONTNEEDs`, ops, 'ops', s);
}
const mem = process.memoryUsage();
console.log(`host memory: rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB`);
