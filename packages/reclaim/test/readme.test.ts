import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, SimClock } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { AddressSpace } from '@kmodel/mm';
import { createPageTable } from '@kmodel/pgtable';
import { PteRef } from '@kmodel/pte-ref';
import { createPolicy } from '@kmodel/reclaim';

describe('the README snippet', () => {
  it('runs as written', () => {
    const clock = new SimClock();
    const allocator = new BuddyAllocator({ memory: 1 << 30 });
    const zeroPfn = allocator.allocPages(GFP_KERNEL, 0)!;
    const pteRef = new PteRef(zeroPfn);
    const mms = new Map<number, AddressSpace>();
    const policy = createPolicy('mainline+reclaim-path')({ clock, mms, pteRef });
    const mm = new AddressSpace({ id: 1, allocator, pageTables: createPageTable, zeroPfn, clock, observer: pteRef.observerFor(1), profile: policy.profile, hooks: policy.hooks });
    mms.set(1, mm);
    policy.attach(mm);
    const base = mm.mmap({ pages: 64 * 512, align: 512 });
    mm.touch(base, 64 * 512, 1, false);
    expect(policy.reclaimer.reclaim(null, 1 << 20)).toBe(262144);
    expect([policy.report()['pt_reclaim.pte_tables_freed'], mm.status().nr_ptes]).toEqual([64, 0]);
  });
});
