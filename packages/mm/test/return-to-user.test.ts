import { describe, expect, it } from 'vitest';
import { GFP_PGTABLE_USER, GiB as GiB_BYTES } from '@kmodel/core';
import type { Charger, ChargeKind, MmId } from '@kmodel/core';
import { BuddyAllocator } from '@kmodel/buddy';
import { createPageTable } from '@kmodel/pgtable';
import { AddressSpace } from '@kmodel/mm';
import { A, MiB } from './helpers/machine.js';

/** A charger that logs charges and returns to user mode, in order. */
class LoggingCharger implements Charger {
  readonly log: string[] = [];
  charge(_mm: MmId, kind: ChargeKind): boolean {
    this.log.push(kind === 'pagetables' ? 'T' : 'A');
    return true;
  }
  uncharge(): void {}
  returnToUser(mm: MmId): void {
    this.log.push(`R${mm}`);
  }
}

function setup() {
  const buddy = new BuddyAllocator({ memory: GiB_BYTES, pcp: false });
  const zeroPfn = buddy.allocPages(GFP_PGTABLE_USER, 0)!;
  const charger = new LoggingCharger();
  const mm = new AddressSpace({ id: 7, allocator: buddy, pageTables: createPageTable, zeroPfn, charger });
  charger.log.length = 0; // the top table's charge
  return { mm, charger };
}

describe('return to user mode (resume_user_mode_work: mem_cgroup_handle_over_high)', () => {
  it('follows every fault, not an access the entry already allows', () => {
    const { mm, charger } = setup();
    mm.mmap({ addr: A, pages: 4 * MiB, fixedNoreplace: true });
    expect(charger.log).toEqual([]);
    mm.touch(A, 3, 1, true); // three write faults: the first makes PUD, PMD and PTE tables
    expect(charger.log).toEqual(['T', 'T', 'T', 'A', 'R7', 'A', 'R7', 'A', 'R7']);
    charger.log.length = 0;
    mm.touch(A, 3, 1, false); // present and readable: no fault, no kernel entry
    mm.touch(A, 3, 1, true);
    expect(charger.log).toEqual([]);
    mm.touch(A + 3, 1, 1, false); // a zero-page read fault charges nothing but still returns
    expect(charger.log).toEqual(['R7']);
  });

  it('comes once per populating syscall, after all its GUP faults', () => {
    const { mm, charger } = setup();
    mm.mmap({ addr: A, pages: 3, fixedNoreplace: true, populate: true });
    expect(charger.log).toEqual(['T', 'T', 'T', 'A', 'A', 'A', 'R7']);
    charger.log.length = 0;
    mm.mmap({ addr: A + 2 * MiB, pages: 2, fixedNoreplace: true });
    mm.madvise(A + 2 * MiB, 2, 'populate_write');
    expect(charger.log).toEqual(['T', 'A', 'A', 'R7']);
    charger.log.length = 0;
    mm.madvise(A + 2 * MiB, 2, 'dontneed'); // frees only: nothing to settle
    expect(charger.log).toEqual([]);
  });
});
