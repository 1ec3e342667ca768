import { describe, expect, it } from 'vitest';
import type { ChargeKind, MmId } from '@kmodel/core';
import { PteRef } from '@kmodel/pte-ref';
import { AddressSpace, VM_FAULT_OOM } from '@kmodel/mm';
import { A, RecordingCharger, machine } from './helpers/machine.js';

/**
 * Reclaim entered from a charge inside a fault may free the very PTE (or PMD) table the fault
 * is about to fill (the kernel's pte_offset_map_lock then returns NULL and the fault is
 * retried). These chargers free tables of the charging address space from inside `charge`.
 */
class FreeingCharger extends RecordingCharger {
  /** Frees in `mm` when a charge of `kind` comes; `times` charges in a row (Infinity: always). */
  mm: AddressSpace | null = null;
  kind: ChargeKind = 'anon';
  times = 1;
  /** What to free: the PTE table of these vpns, or the (empty) PMD table. */
  vpns: number[] = [];
  level: 1 | 2 = 1;
  frees = 0;
  override charge(id: MmId, kind: ChargeKind, bytes: number): boolean {
    if (this.mm !== null && kind === this.kind && this.times > 0) {
      this.times--;
      for (const v of this.vpns) {
        const ok = this.level === 1
          ? this.mm.tryFreePteTable(v, { allowZeroPages: true, lock: 'none' })
          : this.mm.pageTable.presentCount(v, 2) === 0 && this.mm.pageTable.freePmdTable(v);
        if (ok) this.frees++;
      }
    }
    return super.charge(id, kind, bytes);
  }
}

function setup() {
  const m = machine();
  const charger = new FreeingCharger();
  const mm = m.mm({ charger });
  return { m, charger, mm };
}

describe('reclaim inside a fault', () => {
  it('a write fault whose anon charge frees the new (empty) PTE table retries with a new table', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 1024, fixedNoreplace: true });
    charger.mm = mm;
    charger.vpns = [A];
    expect(mm.fault(A + 5, true)).toBe(0);
    expect(charger.frees).toBe(1);
    expect(mm.pageTable.presentCount(A, 1)).toBe(1);
    expect(mm.pageTable.entryPfn(A + 5, 1)).toBeGreaterThan(0);
    const s = mm.status();
    expect([s.nr_ptes, s.RssAnon, s.VmPTE]).toEqual([1, 4, 12]);
    // The first page was given back on the retry: one anon page and four live tables (PGD to PTE) are charged.
    expect(charger.bytes).toEqual({ pagetables: 4 * 4096, anon: 4096 });
    expect(mm.counters().pgfault).toBe(2); // the access faulted twice
  });

  it('a COW of the zero page whose charge frees the zero-only table retries, leaving one anon entry', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 512, fixedNoreplace: true });
    expect(mm.touch(A, 512, 1, false)).toBe(0);
    charger.mm = mm;
    charger.vpns = [A];
    expect(mm.fault(A + 7, true)).toBe(0);
    expect(charger.frees).toBe(1);
    expect(mm.pageTable.presentCount(A, 1)).toBe(1); // the zero entries went with the table
    expect(mm.pageTable.entryPfn(A + 6, 1)).toBe(-1);
    const s = mm.status();
    expect([s.nr_ptes, s.RssAnon]).toEqual([1, 4]);
    expect(charger.bytes).toEqual({ pagetables: 4 * 4096, anon: 4096 });
  });

  it('gives up with VM_FAULT_OOM, everything released, when every retry loses its table', () => {
    const { m, charger, mm } = setup();
    mm.mmap({ addr: A, pages: 512, fixedNoreplace: true });
    charger.mm = mm;
    charger.vpns = [A];
    charger.times = Infinity;
    const used0 = m.allocator.managedPages() - m.allocator.nrFreePages();
    expect(mm.fault(A, true)).toBe(VM_FAULT_OOM);
    expect(charger.frees).toBeGreaterThan(1);
    const s = mm.status();
    expect([s.nr_ptes, s.RssAnon]).toEqual([0, 0]);
    expect(charger.bytes.anon).toBe(0);
    expect(charger.bytes.pagetables).toBe(3 * 4096); // PGD, PUD and PMD stay, as after any failed fault
    expect(m.allocator.managedPages() - m.allocator.nrFreePages()).toBe(used0 + 2);
    // The address space is intact: the next fault without reclaim succeeds.
    charger.times = 0;
    expect(mm.fault(A, true)).toBe(0);
    expect(mm.status().RssAnon).toBe(4);
  });

  it('a THP fault whose charge frees the empty PMD table retries and maps the THP', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 1024, fixedNoreplace: true });
    mm.madvise(A, 1024, 'hugepage');
    charger.mm = mm;
    charger.vpns = [A];
    charger.level = 2;
    expect(mm.fault(A + 3, true)).toBe(0);
    expect(charger.frees).toBe(1);
    expect(mm.counters().thp_fault_alloc).toBe(1);
    const s = mm.status();
    expect([s.nr_ptes, s.nr_pmds, s.RssAnon]).toEqual([1, 1, 2048]); // the deposited table counts
    expect(charger.bytes).toEqual({ pagetables: 4 * 4096, anon: 512 * 4096 });
  });

  it('a huge zero page read whose deposit charge frees the empty PMD table retries', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 1024, fixedNoreplace: true });
    mm.madvise(A, 1024, 'hugepage');
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.vpns = [A];
    charger.level = 2;
    // The first pagetables charge is the PMD table itself: skip it, free at the deposit's.
    let n = 0;
    const inner = charger.charge.bind(charger);
    charger.charge = (id, kind, bytes) => {
      if (kind === 'pagetables' && ++n < 3) return RecordingCharger.prototype.charge.call(charger, id, kind, bytes);
      return inner(id, kind, bytes);
    };
    expect(mm.fault(A, false)).toBe(0);
    expect(charger.frees).toBe(1);
    expect(mm.counters().thp_zero_page_mapped).toBe(1);
    expect([mm.status().nr_ptes, mm.status().nr_pmds]).toEqual([1, 1]);
    expect(charger.bytes.pagetables).toBe(4 * 4096);
  });

  it('a PTE table charge that frees the new, still empty PMD table above it: the table is not hooked into the freed one', () => {
    const { m, charger, mm } = setup();
    mm.mmap({ addr: A, pages: 512, fixedNoreplace: true });
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.vpns = [A];
    charger.level = 2;
    // PUD and PMD charges pass; the PTE table's charge frees the empty PMD table (a PMD-level policy).
    let n = 0;
    const inner = charger.charge.bind(charger);
    charger.charge = (id, kind, bytes) => {
      if (kind === 'pagetables' && ++n < 3) return RecordingCharger.prototype.charge.call(charger, id, kind, bytes);
      return inner(id, kind, bytes);
    };
    const used0 = m.allocator.managedPages() - m.allocator.nrFreePages();
    expect(mm.fault(A + 1, true)).toBe(0);
    expect(charger.frees).toBe(1);
    const s = mm.status();
    expect([s.nr_puds, s.nr_pmds, s.nr_ptes, s.RssAnon]).toEqual([1, 1, 1, 4]);
    expect([mm.pageTable.tableCount(2), mm.pageTable.tableCount(1)]).toEqual([1, 1]);
    expect(mm.pageTable.presentCount(A, 1)).toBe(1);
    expect(charger.bytes).toEqual({ pagetables: 4 * 4096, anon: 4096 });
    expect(m.allocator.managedPages() - m.allocator.nrFreePages()).toBe(used0 + 4); // PUD, PMD, PTE, page
    mm.exit();
    expect(charger.bytes).toEqual({ pagetables: 0, anon: 0 });
  });

  it('MADV_POPULATE_READ whose table charges free the earlier zero-only tables still maps the page it returns from', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 4 * 512, fixedNoreplace: true });
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.times = Infinity;
    charger.vpns = [A, A + 512, A + 1024, A + 1536];
    mm.madvise(A, 4 * 512, 'populate_read');
    // Each new table's charge freed the zero-only tables before it; the last one stays full.
    expect(mm.pageTable.presentCount(A + 1536, 1)).toBe(512);
    expect(mm.status().nr_ptes).toBe(1);
    expect(charger.frees).toBe(3);
  });

  it('fork: the child charges free the parent tables being copied; the copy follows what is left', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 3 * 512, fixedNoreplace: true });
    expect(mm.touch(A, 1024, 1, false)).toBe(0); // two zero-only tables
    expect(mm.fault(A + 1024, true)).toBe(0); // a table with one anon page (anon_vma for the copy)
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.times = Infinity;
    charger.vpns = [A, A + 512, A + 1024];
    const child = mm.fork(2);
    // The first child charge (its PUD table) freed both zero-only tables of the parent.
    expect(charger.frees).toBe(2);
    expect([mm.status().nr_ptes, child.status().nr_ptes]).toEqual([1, 1]);
    expect(child.pageTable.presentCount(A + 1024, 1)).toBe(1);
    expect(child.pageTable.tableAt(A, 1)).toBe(-1);
    expect(child.status().RssAnon).toBe(4);
    expect(mm.pageTable.entryFlags(A + 1024, 1) & 2).toBe(0); // write-protected for COW
    charger.mm = null;
    expect(child.fault(A + 1024, true)).toBe(0);
    expect(child.pageTable.entryPfn(A + 1024, 1)).not.toBe(mm.pageTable.entryPfn(A + 1024, 1));
  });

  it('fork: charges that free parent tables around a THP still copy the THP with its own deposit', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 3 * 512, fixedNoreplace: true });
    mm.madvise(A + 512, 512, 'hugepage');
    expect(mm.touch(A, 512, 1, false)).toBe(0); // zero-only table (before the THP area)
    expect(mm.fault(A + 512, true)).toBe(0); // a THP
    expect(mm.touch(A + 1024, 512, 1, false)).toBe(0); // zero-only table after it
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.times = Infinity;
    charger.vpns = [A, A + 1024];
    const child = mm.fork(2);
    expect(charger.frees).toBe(2);
    const c = child.status();
    expect([c.nr_ptes, c.RssAnon]).toEqual([1, 2048]); // the deposit only
    expect(child.pageTable.entryPfn(A + 512, 2)).toBe(mm.pageTable.entryPfn(A + 512, 2));
    expect(child.pageTable.tableAt(A, 1)).toBe(-1);
    expect(child.pageTable.tableAt(A + 1024, 1)).toBe(-1);
    expect(mm.pageTable.entryFlags(A + 512, 2) & 2).toBe(0); // write-protected in the parent
    charger.mm = null;
    expect(child.fault(A + 600, true)).toBe(0); // COW on the shared THP splits the child's PMD
    expect(child.counters().thp_split_pmd).toBe(1);
    child.exit();
    mm.exit();
    expect(charger.bytes).toEqual({ pagetables: 0, anon: 0 });
  });

  it('fork: a charge that frees the parent PTE table right after the child table was made leaves it empty', () => {
    const { charger, mm } = setup();
    mm.mmap({ addr: A, pages: 2 * 512, fixedNoreplace: true });
    expect(mm.fault(A + 600, true)).toBe(0); // anon_vma, a table at A + 512
    expect(mm.touch(A, 512, 1, false)).toBe(0); // a zero-only table at A, copied first
    charger.mm = mm;
    charger.kind = 'pagetables';
    charger.vpns = [A];
    // Skip the child's PGD, PUD and PMD charges; free the parent's zero-only table at the PTE charge.
    let n = 0;
    const inner = charger.charge.bind(charger);
    charger.charge = (id, kind, bytes) => {
      if (kind === 'pagetables' && ++n < 4) return RecordingCharger.prototype.charge.call(charger, id, kind, bytes);
      return inner(id, kind, bytes);
    };
    const child = mm.fork(2);
    expect(charger.frees).toBe(1);
    // copy_pte_range: dst table allocated, src gone: nothing copied, the empty child table stays.
    expect(child.pageTable.presentCount(A, 1)).toBe(0);
    expect(child.pageTable.presentCount(A + 512, 1)).toBe(1);
    expect([mm.status().nr_ptes, child.status().nr_ptes]).toEqual([1, 2]);
  });
});


/** An address space with a pte_ref observer (mm then keeps zero-page counts) or without one (it walks). */
function withOrWithout(observer: boolean, m: ReturnType<typeof machine>, zeroPfn = m.zeroPfn) {
  const ref = new PteRef(zeroPfn);
  const mm = observer ? m.mm({ zeroPfn, observer: ref.observerFor(1), id: 1 }) : m.mm({ zeroPfn });
  return { mm, verify: () => (observer ? ref.verify(mm.id, mm.pageTable) : []) };
}

describe.each([true, false])('tryFreePteTable with an observer: %s', (observer) => {
  it('follows clears, COW and mprotect: no table with other pages is taken for zero-only', () => {
    const m = machine();
    const { mm, verify } = withOrWithout(observer, m);
    mm.mmap({ addr: A, pages: 5 * 512, fixedNoreplace: true });
    expect(mm.fault(A + 2048, true)).toBe(0);
    expect(mm.tryFreePteTable(A + 2048, { allowZeroPages: true, lock: 'none' })).toBe(false);
    expect(mm.touch(A, 4 * 512, 1, false)).toBe(0);
    mm.madvise(A + 7, 1, 'dontneed'); // table 0: a zero entry cleared ...
    expect(mm.fault(A + 7, true)).toBe(0); // ... and an anonymous page in its place
    expect(mm.fault(A + 512 + 3, true)).toBe(0); // table 1: COW of a zero entry
    mm.mprotect(A + 1024 + 5, 1, 0); // table 2: a zero entry made PROT_NONE
    for (const [t, first] of [[0, 7], [1, 3], [2, 5]] as const) {
      const before = mm.counters()['pt_reclaim.entries_scanned']!;
      expect(mm.tryFreePteTable(A + t * 512, { allowZeroPages: true, lock: 'none' })).toBe(false);
      expect(mm.counters()['pt_reclaim.entries_scanned']! - before).toBe(first + 1);
    }
    mm.madvise(A + 1536 + 9, 1, 'dontneed'); // table 3: 511 zero entries and a none one
    expect(mm.tryFreePteTable(A + 1536, { allowZeroPages: true, lock: 'none' })).toBe(true);
    expect([mm.status().nr_ptes, mm.status().RssAnon]).toEqual([4, 12]);
    expect(verify()).toEqual([]);
  });

  it('holds for a zero page whose PFN sets the top bit of the low entry half and bits above 2^20', () => {
    for (const zeroPfn of [0x3fffff, 0x80000, 0x123456789]) {
      const m = machine();
      const { mm, verify } = withOrWithout(observer, m, zeroPfn);
      mm.mmap({ addr: A, pages: 3 * 512, fixedNoreplace: true });
      expect(mm.touch(A, 3 * 512, 1, false)).toBe(0);
      expect(mm.pageTable.entryPfn(A, 1)).toBe(zeroPfn);
      expect(mm.fault(A + 512 + 9, true)).toBe(0); // table 1: one anonymous page
      mm.mprotect(A + 1024 + 3, 1, 0); // table 2: one PROT_NONE zero page
      expect(mm.tryFreePteTable(A + 1024, { allowZeroPages: true, lock: 'none' })).toBe(false);
      expect(mm.tryFreePteTable(A + 512, { allowZeroPages: true, lock: 'none' })).toBe(false);
      expect(mm.counters()['pt_reclaim.entries_scanned']).toBe(4 + 10);
      expect(mm.tryFreePteTable(A, { allowZeroPages: true, lock: 'none' })).toBe(true);
      expect(mm.status().nr_ptes).toBe(2);
      // Splitting a huge zero PMD fills the withdrawn table with 512 zero entries.
      const H = A + 8 * 512;
      mm.mmap({ addr: H, pages: 512, fixedNoreplace: true });
      mm.madvise(H, 512, 'hugepage');
      expect(mm.fault(H, false)).toBe(0);
      expect(mm.pageTable.entryPfn(H, 2)).toBe(m.hugeZeroPfn);
      mm.madvise(H + 5, 1, 'dontneed'); // split: 511 zero entries and a none one
      expect(mm.pageTable.presentCount(H, 1)).toBe(511);
      expect(mm.tryFreePteTable(H, { allowZeroPages: true, lock: 'none' })).toBe(true);
      expect(mm.status().nr_ptes).toBe(2);
      expect(verify()).toEqual([]);
    }
  });
});
