import { describe, expect, it } from 'vitest';
import { _PAGE_GLOBAL, _PAGE_NX, _PAGE_PKEY_SHIFT, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, KmodelError } from '@kmodel/core';
import {
  ACCESS_FETCH,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  createPageTable,
  DEFAULT_PAGING_MODE,
  ENTRY_A,
  ENTRY_D,
  PF_INSTR,
  PF_PK,
  PF_PROT,
  PF_RSVD,
  PF_USER,
  PF_WRITE,
  translate,
} from '@kmodel/pgtable';
import { codeOf, CountingTables } from './helpers.js';

const P = _PAGE_PRESENT;
const URW = P | _PAGE_RW | _PAGE_USER;

function vpnOf(addr: bigint): number {
  return Number(addr >> 12n);
}

describe('translate on synthetic tables', () => {
  for (const levels of [4, 5] as const) {
    describe(`${levels}-level`, () => {
      const pt = createPageTable({ levels, tables: new CountingTables() });
      // 4 KiB page at 0x7f12_3456_7000, 2 MiB leaf at 0x4000_0000 + 2 MiB, 1 GiB leaf at 0x80_0000_0000.
      const a4k = 0x7f1234567000n;
      pt.allocTable(vpnOf(a4k), 1);
      pt.setEntry(vpnOf(a4k), 1, 0xabcde, URW);
      const a2m = 0x40200000n;
      pt.allocTable(vpnOf(a2m), 2);
      pt.setEntry(vpnOf(a2m), 2, 0x200 * 7, URW | _PAGE_PSE);
      const a1g = 0x8000000000n;
      pt.allocTable(vpnOf(a1g), 3);
      pt.setEntry(vpnOf(a1g), 3, 0x40000 * 3, URW | _PAGE_PSE);

      it('a 4 KiB page takes one reference per level', () => {
        const r = translate(pt, a4k + 0x123n, ACCESS_USER);
        expect(r).toMatchObject({ ok: true, physAddr: (0xabcden << 12n) | 0x123n, level: 1, memRefs: levels, pfn: 0xabcde });
      });
      it('a 2 MiB leaf stops at the PMD', () => {
        const off = 0x1_2345n;
        const r = translate(pt, a2m + off, ACCESS_USER | ACCESS_WRITE);
        expect(r).toMatchObject({ ok: true, physAddr: (BigInt(0x200 * 7) << 12n) + off, level: 2, memRefs: levels - 1, pfn: 0x200 * 7 + 0x12 });
      });
      it('a 1 GiB leaf stops at the PUD', () => {
        const off = 0x3fff_ffffn;
        const r = translate(pt, a1g + off, ACCESS_USER);
        expect(r).toMatchObject({ ok: true, physAddr: (BigInt(0x40000 * 3) << 12n) + off, level: 3, memRefs: levels - 2 });
      });
      it('a missing page is a not-present fault with the access bits', () => {
        // 0x100000000000 (16 TiB) has no PGD entry (4-level) / no P4D entry (5-level).
        const r = translate(pt, 0x100000000000n, ACCESS_USER | ACCESS_WRITE);
        expect(r).toMatchObject({ ok: false, physAddr: null, errorCode: PF_USER | PF_WRITE, level: 4, memRefs: levels - 3, pfn: -1 });
        // 0x1000 has a PGD entry (the 2 MiB leaf's) but no PUD entry.
        expect(translate(pt, 0x1000n, 0)).toMatchObject({ ok: false, level: 3, memRefs: levels - 2 });
      });
    });
  }

  it('rejects non-canonical addresses (4-level: 0x0000800000000000; 5-level: 0x0100000000000000)', () => {
    const pt4 = createPageTable({ levels: 4, tables: new CountingTables() });
    const pt5 = createPageTable({ levels: 5, tables: new CountingTables() });
    expect(codeOf(() => translate(pt4, 0x0000800000000000n, 0))).toBe('E_NONCANONICAL');
    expect(codeOf(() => translate(pt4, 0xffff7fffffffffffn, 0))).toBe('E_NONCANONICAL');
    expect(codeOf(() => translate(pt4, 1n << 64n, 0))).toBe('E_NONCANONICAL');
    expect(translate(pt4, 0xffff800000000000n, 0).errorCode).toBe(0); // canonical, not present: error code 0
    expect(translate(pt5, 0x0000800000000000n, 0).ok).toBe(false); // canonical with LA57
    expect(codeOf(() => translate(pt5, 0x0100000000000000n, 0))).toBe('E_NONCANONICAL');
    expect(codeOf(() => translate(pt5, 0xfeffffffffffffffn, 0))).toBe('E_NONCANONICAL');
  });

  it('translates 57-bit addresses above 2^53 exactly, in both halves', () => {
    const pt = createPageTable({ levels: 5, tables: new CountingTables() });
    const user = 0x00fe_dcba_9876_5000n; // > 2^53
    const kern = 0xff11_2233_4455_6000n; // upper half with LA57
    const top = 2n ** 40n - 1n;
    for (const [a, pfn] of [
      [user, 0x1234567n],
      [kern, top],
    ] as const) {
      expect(a & ((1n << 64n) - 1n)).toBeGreaterThan(2n ** 53n);
      pt.allocTable(vpnOf(a), 1);
      pt.setEntry(vpnOf(a), 1, Number(pfn), P | _PAGE_RW | _PAGE_USER);
      const r = translate(pt, a + 0xfffn, ACCESS_USER);
      expect(r.physAddr).toBe((pfn << 12n) | 0xfffn);
      expect(r.memRefs).toBe(5);
    }
    // The two pages sit in different PML5 entries (bits 56..48): 0x00fe... -> 254, 0xff11... -> 0x111 = 273.
    expect(pt.tableCount(4)).toBe(2);
  });
});

describe('kernel mappings', () => {
  it('a global 1 GiB kernel leaf in the LA57 upper half: the kernel reads it, user mode faults with P|U', () => {
    const pt = createPageTable({ levels: 5, tables: new CountingTables(), kernel: true });
    const addr = 0xff11_0000_0000_0000n; // 5-level direct map base
    const vpn = Number(addr >> 12n);
    pt.allocTable(vpn, 3);
    pt.setEntry(vpn, 3, 0, P | _PAGE_RW | _PAGE_GLOBAL | _PAGE_NX | _PAGE_PSE | 0x60);
    const r = translate(pt, addr + 0x1234_5678n, ACCESS_WRITE);
    expect(r).toMatchObject({ ok: true, physAddr: 0x1234_5678n, level: 3, memRefs: 3 });
    expect(translate(pt, addr, ACCESS_USER).errorCode).toBe(PF_PROT | PF_USER);
    expect(translate(pt, addr, ACCESS_FETCH).errorCode).toBe(PF_PROT | PF_INSTR);
  });
});

describe('access rights and the page-fault error code (SDM §4.6, §4.7)', () => {
  function setup(flags: number, upper = URW) {
    const pt = createPageTable({ levels: 4, tables: new CountingTables() });
    const vpn = 0x400;
    pt.allocTable(vpn, 1);
    pt.setEntry(vpn, 1, 77, flags);
    void upper;
    return { pt, addr: BigInt(vpn) << 12n, vpn };
  }
  const mode = DEFAULT_PAGING_MODE;

  it('user access to a supervisor page faults with P|U', () => {
    const { pt, addr } = setup(P | _PAGE_RW);
    expect(translate(pt, addr, ACCESS_USER).errorCode).toBe(PF_PROT | PF_USER);
    expect(translate(pt, addr, ACCESS_READ).ok).toBe(true);
  });
  it('a write to a read-only page faults with P|W|U; CR0.WP=0 lets the kernel write', () => {
    const { pt, addr } = setup(P | _PAGE_USER);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_WRITE).errorCode).toBe(PF_PROT | PF_WRITE | PF_USER);
    const kro = setup(P);
    expect(translate(kro.pt, kro.addr, ACCESS_WRITE).errorCode).toBe(PF_PROT | PF_WRITE);
    expect(translate(kro.pt, kro.addr, ACCESS_WRITE, { ...mode, wp: false }).ok).toBe(true);
  });
  it('NX faults an instruction fetch with P|I', () => {
    const { pt, addr } = setup(URW | _PAGE_NX);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_FETCH).errorCode).toBe(PF_PROT | PF_USER | PF_INSTR);
    expect(translate(pt, addr, ACCESS_USER).ok).toBe(true);
  });
  it('NX without EFER.NXE is a reserved bit', () => {
    const { pt, addr } = setup(URW | _PAGE_NX);
    expect(translate(pt, addr, ACCESS_USER, { ...mode, nxe: false }).errorCode).toBe(PF_PROT | PF_RSVD | PF_USER);
  });
  it('address bits above MAXPHYADDR are reserved', () => {
    const pt = createPageTable({ levels: 4, tables: new CountingTables() });
    pt.allocTable(1, 1);
    pt.setEntry(1, 1, 2 ** 36, URW); // physical address 2^48
    expect(translate(pt, 0x1000n, ACCESS_USER, { ...mode, maxPhysAddr: 46 }).errorCode).toBe(PF_PROT | PF_RSVD | PF_USER);
    expect(translate(pt, 0x1000n, ACCESS_USER, { ...mode, maxPhysAddr: 52 }).ok).toBe(true);
  });
  it('SMAP and SMEP stop the kernel at user pages; EFLAGS.AC lifts SMAP', () => {
    const { pt, addr } = setup(URW);
    expect(translate(pt, addr, ACCESS_READ).errorCode).toBe(PF_PROT);
    expect(translate(pt, addr, ACCESS_READ, { ...mode, ac: true }).ok).toBe(true);
    expect(translate(pt, addr, ACCESS_FETCH).errorCode).toBe(PF_PROT | PF_INSTR);
    expect(translate(pt, addr, ACCESS_FETCH, { ...mode, smep: false }).ok).toBe(true);
  });
  it('protection keys: AD faults reads, WD faults writes, fetches ignore keys', () => {
    const { pt, addr } = setup(URW | (5 << _PAGE_PKEY_SHIFT));
    const pkru = (1 << (2 * 5 + 1)) >>> 0; // WD for key 5
    expect(translate(pt, addr, ACCESS_USER, { ...mode, pkru }).ok).toBe(true);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_WRITE, { ...mode, pkru }).errorCode).toBe(PF_PROT | PF_PK | PF_WRITE | PF_USER);
    // Linux's default PKRU (0x55555554) access-disables key 5.
    expect(translate(pt, addr, ACCESS_USER).errorCode).toBe(PF_PROT | PF_PK | PF_USER);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_FETCH).ok).toBe(true);
    expect(translate(pt, addr, ACCESS_USER, { ...mode, pke: false }).ok).toBe(true);
  });
  it('U/S and R/W combine over every level', () => {
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables, kernel: true }); // table pointers without _PAGE_USER
    pt.allocTable(0x400, 1);
    pt.setEntry(0x400, 1, 9, URW);
    expect(translate(pt, 0x400000n, ACCESS_USER).errorCode).toBe(PF_PROT | PF_USER);
  });
  it('A is set in the leaf, D in the leaf on a write, nothing in the leaf on a fault (table pointers carry A from _PAGE_TABLE)', () => {
    const { pt, addr, vpn } = setup(P | _PAGE_USER);
    const fail = translate(pt, addr, ACCESS_USER | ACCESS_WRITE);
    expect(fail.ok).toBe(false);
    expect(pt.entryLo(vpn, 1) & ENTRY_A).toBe(0);
    expect(pt.entryLo(vpn, 2) & ENTRY_A).toBe(ENTRY_A);
    const r = translate(pt, addr, ACCESS_USER);
    expect(r.adWrites).toBe(1);
    expect(pt.entryLo(vpn, 1) & (ENTRY_A | ENTRY_D)).toBe(ENTRY_A);
    pt.setEntry(vpn, 1, 77, URW | (0 << _PAGE_PKEY_SHIFT));
    const w = translate(pt, addr, ACCESS_USER | ACCESS_WRITE);
    expect(w.ok).toBe(true);
    expect(pt.entryLo(vpn, 1) & (ENTRY_A | ENTRY_D)).toBe(ENTRY_A | ENTRY_D);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_WRITE).adWrites).toBe(0);
  });
  it('a bad address is a KmodelError and touches nothing', () => {
    const { pt, vpn } = setup(URW);
    let err: unknown;
    try {
      translate(pt, -1n, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KmodelError);
    expect(pt.entryLo(vpn, 1) & ENTRY_A).toBe(0);
  });
  it('a bad paging mode is E_BAD_MODE', () => {
    const { pt, addr } = setup(URW);
    expect(codeOf(() => translate(pt, addr, ACCESS_USER, { ...mode, maxPhysAddr: 30 }))).toBe('E_BAD_MODE');
    expect(codeOf(() => translate(pt, addr, ACCESS_USER, { ...mode, pkru: -1 }))).toBe('E_BAD_MODE');
  });
  it('global and PAT bits do not change rights', () => {
    const { pt, addr } = setup(URW | _PAGE_GLOBAL | _PAGE_PSE);
    expect(translate(pt, addr, ACCESS_USER | ACCESS_WRITE).ok).toBe(true);
  });
});
