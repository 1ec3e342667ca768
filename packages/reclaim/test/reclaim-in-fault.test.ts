import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, SimClock } from '@kmodel/core';
import type { MmId } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { MemcgTree } from '@kmodel/memcg';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { AddressSpace } from '@kmodel/mm';
import { createPolicy } from '@kmodel/reclaim';

// Reclaim entered from a memcg charge inside a fault may free the very table the fault is about
// to fill; mm retries the fault as the kernel does when pte_offset_map_lock() returns NULL.
// These run the stock reclaim-path policy behind a reclaimer that drops the reclaim request, so
// the driver never knows who charges.
describe('reclaim-path under memory.max, without the charging task', () => {
  /** buddy + pgtable + pte-ref + memcg + the reclaim-path policy; reclaim may pick the faulting task. */
  function stack(memoryMax: number, policy = 'reclaim-path') {
    const clock = new SimClock();
    const buddy = new BuddyAllocator({ memory: 1 << 30, nrCpus: 1 });
    const zeroPfn = buddy.allocPages(GFP_KERNEL, 0)!;
    const hugeZeroPfn = buddy.allocPages(GFP_KERNEL, 9)!;
    const pteRef = new PteRef(zeroPfn);
    const mms = new Map<MmId, AddressSpace>();
    let kills = 0;
    const memcg = new MemcgTree({
      version: 'v2',
      clock,
      oomHost: {
        oomStats: (id) => mms.get(id)?.oomStats() ?? null,
        oomKill: (id) => {
          kills++;
          mms.get(id)?.exit();
          mms.delete(id);
          pteRef.forgetMm(id);
        },
      },
    });
    memcg.create('/test', { limits: { 'memory.max': memoryMax } });
    // The request (and with it the charging task) is dropped: reclaim may free the fault's own tables.
    const driver = createPolicy(policy)({ clock, mms, pteRef, memcg });
    memcg.setReclaimer({ reclaim: (cgroup, bytes) => driver.reclaimer.reclaim(cgroup, bytes) });
    memcg.attach(1, '/test');
    const mm = new AddressSpace({
      id: 1, allocator: buddy, pageTables: createPageTable, zeroPfn, hugeZeroPfn, observer: pteRef.observerFor(1),
      profile: driver.profile, clock, charger: memcg, hooks: driver.hooks,
    });
    mms.set(1, mm);
    driver.attach(mm);
    return { mm, memcg, driver, pteRef, kills: () => kills };
  }

  it('a COW of the zero page at memory.max: reclaim frees the faulting zero-only table, the fault retries', () => {
    const { mm, memcg, driver, pteRef, kills } = stack(1 << 30);
    const base = mm.mmap({ pages: 16 * 512, align: 512 });
    expect(mm.touch(base, 8 * 512, 1, false)).toBe(0); // 8 zero-only tables
    // Drain the per-CPU stock first, so that memory.current is what the tables hold.
    memcg.drainStock('/test');
    memcg.write('/test', 'memory.max', memcg.read('/test', 'memory.current'));
    expect(mm.fault(base + 5, true)).toBe(0);
    expect(kills()).toBe(0);
    expect(driver.report()['pt_reclaim.pte_tables_freed']).toBe(8);
    expect(mm.pageTable.presentCount(base, 1)).toBe(1);
    expect([mm.status().nr_ptes, mm.status().RssAnon]).toEqual([1, 4]);
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
  });

  it('reclaim-path with pmd-level: PMD tables freed inside the charges of a fault never take a table being hooked', () => {
    const { mm, driver, pteRef, kills } = stack(64 << 10, 'reclaim-path+pmd-level');
    const base = mm.mmap({ pages: 4 * 512 * 512, align: 512 * 512 }); // 4 GiB, 1 GiB aligned
    // Read sweeps over 2 MiB in each 1 GiB: zero-only tables, PMD tables emptied by reclaim and made again.
    for (let round = 0; round < 6; round++)
      for (let g = 0; g < 4; g++) expect(mm.touch(base + g * 512 * 512 + round * 512, 512, 1, false)).toBe(0);
    expect(kills()).toBe(0);
    const r = driver.report();
    expect(r['pt_reclaim.pte_tables_freed']).toBeGreaterThan(0);
    expect(r['pt_reclaim.pmd_level_frees']).toBeGreaterThan(0);
    const s = mm.status();
    expect(s.nr_ptes).toBe(mm.pageTable.tableCount(1));
    expect(s.nr_pmds).toBe(mm.pageTable.tableCount(2));
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
    for (let g = 0; g < 4; g++) expect(mm.pageTable.entryPfn(base + g * 512 * 512 + 5 * 512 + 7, 1)).toBeGreaterThanOrEqual(0);
  });

  it('a write into a new table at memory.max: reclaim frees the new empty table, the fault retries', () => {
    const { mm, memcg, driver, pteRef, kills } = stack(1 << 30);
    const base = mm.mmap({ pages: 16 * 512, align: 512 });
    expect(mm.touch(base, 4 * 512, 1, false)).toBe(0); // 4 zero-only tables
    // Room for the new PTE table only: the anon charge reclaims.
    memcg.drainStock('/test');
    memcg.write('/test', 'memory.max', String(Number(memcg.read('/test', 'memory.current')) + 4096));
    expect(mm.fault(base + 8 * 512 + 3, true)).toBe(0);
    expect(kills()).toBe(0);
    expect(driver.report()['pt_reclaim.pte_tables_freed']).toBe(5); // the 4 zero-only ones and the new one
    expect([mm.status().nr_ptes, mm.status().RssAnon]).toEqual([1, 4]);
    expect(mm.pageTable.entryFlags(base + 8 * 512 + 3, 1) & 2).toBe(2);
    expect(pteRef.verify(1, mm.pageTable)).toEqual([]);
  });
});
