import { describe, expect, it } from 'vitest';
import { KmodelError } from '@kmodel/core';
import { DEFAULT_MMAP_BASE_VPN, MmErrorCode, PROT_NONE, PROT_READ, VM_FAULT_OOM, VM_FAULT_SIGSEGV, pageRange, protFromString } from '@kmodel/mm';
import { A, MiB, kb, machine } from './helpers/machine.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof KmodelError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('mmap placement (arch_get_unmapped_area_topdown, thp_get_unmapped_area)', () => {
  it('places top-down below the mmap base, 2 MiB aligned for 2 MiB multiples only', () => {
    const mm = machine().mm();
    expect(DEFAULT_MMAP_BASE_VPN * 4096).toBe(0x7ffff7fff000);
    const a = mm.mmap({ pages: 1 });
    expect(a).toBe(0x7ffff7ffe);
    const b = mm.mmap({ pages: 3 * MiB });
    expect(b).toBe(a - 3 * MiB); // not aligned: 3 MiB is not a multiple of 2 MiB (v6.13 rule)
    expect(mm.mapCount).toBe(1); // merged with the first mapping
    const c = mm.mmap({ pages: 4 * MiB });
    expect(c % 512).toBe(0);
    expect(c).toBe(Math.floor((b - 4 * MiB) / 512) * 512);
    const d = mm.mmap({ pages: 1 });
    expect(d).toBe(b - 1); // the highest gap: between the 4 MiB area and the first one
  });

  it('a free hint is used; a taken hint falls back to top-down; explicit alignment is honoured', () => {
    const mm = machine().mm();
    expect(mm.mmap({ addr: 0x200000000, pages: 1 })).toBe(0x200000000);
    expect(mm.mmap({ addr: 0x200000000, pages: 1 })).toBe(0x7ffff7ffe);
    const x = mm.mmap({ pages: 10, align: 4096 });
    expect(x % 4096).toBe(0);
  });

  it('adjacent mappings with equal flags merge; different flags do not', () => {
    const mm = machine().mm();
    mm.mmap({ addr: A, pages: 10, fixedNoreplace: true });
    mm.mmap({ addr: A + 20, pages: 10, fixedNoreplace: true });
    mm.mmap({ addr: A + 10, pages: 10, fixedNoreplace: true });
    expect(mm.mapCount).toBe(1);
    mm.mmap({ addr: A + 30, pages: 10, fixedNoreplace: true, noreserve: true });
    expect(mm.mapCount).toBe(2);
    mm.mprotect(A + 5, 5, PROT_READ);
    expect(mm.mapCount).toBe(4);
    mm.mprotect(A + 5, 5, PROT_READ | 2);
    expect(mm.mapCount).toBe(2);
  });

  it('5-level paging: a P4D table is charged but not counted in pgtables_bytes (no mm_inc_nr_p4ds)', () => {
    const m = machine();
    const mm = m.mm({ levels: 5 });
    const charged0 = m.charger.bytes.pagetables!;
    mm.mmap({ addr: 2 ** 40, pages: 1, fixedNoreplace: true });
    mm.fault(2 ** 40, false);
    expect(kb(mm)).toEqual([12, 0]);
    expect(m.charger.bytes.pagetables! - charged0).toBe(4 * 4096);
  });

  it('5-level paging places above 47 bits only with a high hint', () => {
    const mm = machine().mm({ levels: 5 });
    expect(mm.mmap({ pages: 1 })).toBe(0x7ffff7ffe);
    const hi = 2 ** 40;
    expect(mm.mmap({ addr: hi, pages: 1 })).toBe(hi);
    expect(mm.mmap({ addr: 2 ** 36, pages: 1, fixedNoreplace: true })).toBe(2 ** 36);
    const four = machine().mm();
    expect(code(() => four.mmap({ addr: 2 ** 36, pages: 1, fixedNoreplace: true }))).toBe(MmErrorCode.AddressRange);
  });
});

describe('prot letters', () => {
  it('parses the trace format letters', () => {
    expect(['rw', 'r', 'none', 'rwx', 'x', 'wr', ''].map(protFromString)).toEqual([3, 1, 0, 7, 4, -1, -1]);
  });
});

describe('bad input', () => {
  it('byte ranges must be page aligned', () => {
    expect(pageRange('0x100000000000', '2MiB')).toEqual({ vpn: A, pages: 512 });
    expect(pageRange(0x100000000000n + 4096n, 8192)).toEqual({ vpn: A + 1, pages: 2 });
    expect(code(() => pageRange('0x100000000800', '2MiB'))).toBe('E_UNALIGNED');
    expect(code(() => pageRange('0x100000000000', 100))).toBe('E_UNALIGNED');
    expect(code(() => pageRange('0x100000000000', '1.5MiB'))).toBe('E_BAD_SIZE');
    expect(code(() => pageRange('heap', 4096))).toBe('E_BAD_ADDRESS');
  });

  it('zero length, bad prot, bad alignment, bad advice', () => {
    const mm = machine().mm();
    expect(code(() => mm.mmap({ pages: 0 }))).toBe(MmErrorCode.ZeroLength);
    expect(code(() => mm.mmap({ pages: 1, prot: 8 }))).toBe(MmErrorCode.BadProt);
    expect(code(() => mm.mmap({ pages: 1, align: 3 }))).toBe(MmErrorCode.BadAlign);
    expect(code(() => mm.munmap(A, 0))).toBe(MmErrorCode.ZeroLength);
    expect(code(() => mm.mmap({ pages: 1.5 }))).toBe('E_NOT_INTEGER');
    mm.mmap({ addr: A, pages: 4, fixedNoreplace: true });
    expect(code(() => mm.madvise(A, 4, 'sequential' as never))).toBe(MmErrorCode.BadAdvice);
    expect(mm.mapCount).toBe(1);
    // The kernel returns 0 for madvise / mprotect of length 0.
    mm.madvise(A, 0, 'dontneed');
    mm.mprotect(A, 0, PROT_READ);
  });

  it('overlapping fixed mapping: EEXIST and nothing changes', () => {
    const mm = machine().mm();
    mm.mmap({ addr: A, pages: 512, fixedNoreplace: true });
    mm.touch(A, 512, 1, false);
    const before = mm.status();
    expect(code(() => mm.mmap({ addr: A + 511, pages: 2, fixedNoreplace: true }))).toBe(MmErrorCode.MappingExists);
    expect(mm.status()).toEqual(before);
    expect(mm.mapCount).toBe(1);
  });

  it('outside the user range', () => {
    const mm = machine().mm();
    const top = 2 ** 35 - 1; // TASK_SIZE 0x7ffffffff000
    expect(code(() => mm.mmap({ addr: top, pages: 1, fixedNoreplace: true }))).toBe(MmErrorCode.AddressRange);
    expect(code(() => mm.mmap({ addr: top - 1, pages: 2, fixedNoreplace: true }))).toBe(MmErrorCode.AddressRange);
    expect(mm.mmap({ addr: top - 1, pages: 1, fixedNoreplace: true })).toBe(top - 1);
    expect(code(() => mm.mmap({ addr: 0, pages: 1, fixedNoreplace: true }))).toBe(MmErrorCode.BelowMinAddr);
    expect(code(() => mm.munmap(top, 1))).toBe(MmErrorCode.AddressRange);
    expect(code(() => mm.madvise(top, 2, 'dontneed'))).toBe(MmErrorCode.AddressRange);
    expect(mm.fault(top, false)).toBe(VM_FAULT_SIGSEGV);
    expect(mm.fault(A, false)).toBe(VM_FAULT_SIGSEGV);
  });

  it('madvise over a hole: the mapped parts are advised, then E_UNMAPPED (as measured: VmPTE 16 -> 8 with ENOMEM)', () => {
    const mm = machine().mm();
    mm.mmap({ addr: A, pages: 2 * MiB, fixedNoreplace: true });
    mm.mmap({ addr: A + 4 * MiB, pages: 2 * MiB, fixedNoreplace: true });
    mm.touch(A, 2 * MiB, 1, false);
    mm.touch(A + 4 * MiB, 2 * MiB, 1, false);
    expect(kb(mm)).toEqual([16, 0]);
    expect(code(() => mm.madvise(A, 6 * MiB, 'dontneed'))).toBe(MmErrorCode.Unmapped);
    expect(kb(mm)).toEqual([8, 0]);
  });

  it('madvise with a hole first (measured: VmPTE 12 -> 8 with ENOMEM); madvise of nothing changes nothing', () => {
    const mm = machine().mm();
    mm.mmap({ addr: A + 2 * MiB, pages: 2 * MiB, fixedNoreplace: true });
    mm.touch(A + 2 * MiB, 2 * MiB, 1, false);
    expect(kb(mm)).toEqual([12, 0]);
    expect(code(() => mm.madvise(A, 4 * MiB, 'dontneed'))).toBe(MmErrorCode.Unmapped);
    expect(kb(mm)).toEqual([8, 0]);
    expect(code(() => mm.madvise(A + 8 * MiB, 4, 'dontneed'))).toBe(MmErrorCode.Unmapped);
  });

  it('mprotect over a hole changes the areas before it, then E_UNMAPPED', () => {
    const mm = machine().mm();
    mm.mmap({ addr: A, pages: 10, fixedNoreplace: true });
    mm.mmap({ addr: A + 20, pages: 10, fixedNoreplace: true });
    expect(code(() => mm.mprotect(A, 30, PROT_READ))).toBe(MmErrorCode.Unmapped);
    expect([...mm.vmas()].map((v) => v.flags & 7)).toEqual([PROT_READ, 3]);
    expect(code(() => mm.mprotect(A + 12, 2, PROT_READ))).toBe(MmErrorCode.Unmapped);
  });

  it('faults: write to read-only is SIGSEGV, PROT_NONE forbids reads, OOM leaves the entry none', () => {
    const m = machine();
    const mm = m.mm();
    mm.mmap({ addr: A, pages: 1024, fixedNoreplace: true, prot: PROT_READ });
    expect(mm.fault(A, true)).toBe(VM_FAULT_SIGSEGV);
    expect(mm.fault(A, false)).toBe(0);
    mm.mprotect(A, 512, PROT_NONE);
    expect(mm.fault(A, false)).toBe(VM_FAULT_SIGSEGV);
    expect(mm.pageTable.entryPfn(A, 1)).toBe(m.zeroPfn); // PROT_NONE keeps the frame
    mm.mprotect(A, 1024, PROT_READ | 2);
    m.charger.refuse = 'anon';
    expect(mm.fault(A + 600, true)).toBe(VM_FAULT_OOM);
    expect(mm.pageTable.entryFlags(A + 600, 1)).toBe(0);
    expect(kb(mm)).toEqual([16, 0]); // the new PTE table stays, as do_anonymous_page leaves it
    m.charger.refuse = 'pagetables';
    expect(mm.fault(A + 4 * MiB, true)).toBe(VM_FAULT_SIGSEGV);
    mm.mmap({ addr: A + 4 * MiB, pages: 1, fixedNoreplace: true });
    expect(mm.fault(A + 4 * MiB, false)).toBe(VM_FAULT_OOM);
    expect(kb(mm)).toEqual([16, 0]);
    m.charger.refuse = null;
    m.allocator.refuse = true;
    expect(mm.fault(A + 4 * MiB, false)).toBe(VM_FAULT_OOM);
  });

  it('an exited address space refuses work', () => {
    const mm = machine().mm();
    mm.exit();
    expect(code(() => mm.mmap({ pages: 1 }))).toBe(MmErrorCode.Exited);
    expect(code(() => mm.fault(A, false))).toBe(MmErrorCode.Exited);
    expect(mm.oomStats()).toBeNull();
  });

  it('bad options', () => {
    const m = machine();
    expect(code(() => m.mm({ profile: 'linux-5.0' as never }))).toBe(MmErrorCode.BadOption);
    expect(code(() => m.mm({ hugeZeroPfn: 3 }))).toBe(MmErrorCode.BadOption);
    expect(code(() => m.mm({ thp: 'sometimes' as never }))).toBe(MmErrorCode.BadOption);
  });

  it('max_map_count: a split that would exceed it fails before any change', () => {
    const mm = machine().mm({ maxMapCount: 3 });
    mm.mmap({ addr: A, pages: 100, fixedNoreplace: true });
    mm.munmap(A + 10, 1);
    mm.munmap(A + 20, 1);
    expect(mm.mapCount).toBe(3);
    expect(code(() => mm.munmap(A + 30, 1))).toBe(MmErrorCode.MapCount);
    expect(mm.mapCount).toBe(3);
    mm.munmap(A + 21, 1); // trims an end: no new area
    expect(mm.mapCount).toBe(3);
  });
});
