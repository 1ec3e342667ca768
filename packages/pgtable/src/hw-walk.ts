/**
 * The hardware page walk (Intel SDM Vol. 3A §4.5 "4-level and 5-level paging", §4.6 "Access
 * rights", §4.7 "Page-fault exceptions", §4.8 "Accessed and dirty flags").
 *
 * {@link hardwareWalk} is the hot form (vpn in, a reused {@link WalkResult} out, no
 * allocation); {@link translate} is the API edge for byte addresses (bigint, up to 64 bits).
 */
import { fail, show } from '@kmodel/core';
import { PgtableErrorCode as E } from './errors.js';
import type { X86PageTable } from './page-table.js';

/**
 * Page-fault error-code bits (arch/x86/include/asm/trap_pf.h `X86_PF_*`, SDM §4.7).
 * The access bits of {@link hardwareWalk} use the same positions.
 */
export const PF_PROT = 1 << 0;
export const PF_WRITE = 1 << 1;
export const PF_USER = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_INSTR = 1 << 4;
export const PF_PK = 1 << 5;

/** Access kinds, OR-ed together: a supervisor read is 0. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = PF_WRITE;
/** The access is made at CPL 3. */
export const ACCESS_USER = PF_USER;
export const ACCESS_FETCH = PF_INSTR;

/** Effective-rights bits of a translation (what a TLB entry caches). */
export const RIGHT_W = 1 << 1;
export const RIGHT_U = 1 << 2;
export const RIGHT_NX = 1 << 3;
export const RIGHT_G = 1 << 8;
export const RIGHT_D = 1 << 6;
/** Protection key of the leaf, in bits 12..15 of the rights. */
export const RIGHT_PKEY_SHIFT = 12;

/**
 * The control-register state a walk depends on. Defaults are Linux's on a current x86-64 CPU:
 * CR0.WP, CR4.SMEP, CR4.SMAP and EFER.NXE on, protection keys enabled with PKRU = 0x55555554
 * (Linux's init_pkru_value: every key but 0 access-disabled).
 */
export interface PagingMode {
  /** CR0.WP: supervisor writes honour R/W. */
  wp: boolean;
  /** CR4.SMEP: supervisor instruction fetches from user pages fault. */
  smep: boolean;
  /** CR4.SMAP: supervisor data accesses to user pages fault unless EFLAGS.AC. */
  smap: boolean;
  /** EFLAGS.AC (stac / clac). */
  ac: boolean;
  /** IA32_EFER.NXE: bit 63 is XD; when clear, bit 63 is reserved. */
  nxe: boolean;
  /** CR4.PKE: protection keys for user pages. */
  pke: boolean;
  /** PKRU: AD bit 2k and WD bit 2k+1 for key k. */
  pkru: number;
  /** MAXPHYADDR (36..52): entry address bits at or above it are reserved. */
  maxPhysAddr: number;
}

/** Linux's defaults (see {@link PagingMode}). */
export const DEFAULT_PAGING_MODE: Readonly<PagingMode> = Object.freeze({
  wp: true,
  smep: true,
  smap: true,
  ac: false,
  nxe: true,
  pke: true,
  pkru: 0x55555554,
  maxPhysAddr: 52,
});

/** Throws `E_BAD_MODE` unless `mode` holds a MAXPHYADDR in 36..52 and a 32-bit PKRU. Returns `mode`. */
export function checkPagingMode(mode: Readonly<PagingMode>): Readonly<PagingMode> {
  const m = mode.maxPhysAddr;
  if (!(Number.isInteger(m) && m >= 36 && m <= 52)) fail(E.BadMode, `maxPhysAddr ${show(m)} out of range, expected an integer in 36..52`, { value: m });
  const k = mode.pkru;
  if (!(Number.isInteger(k) && k >= 0 && k <= 0xffffffff)) fail(E.BadMode, `pkru ${show(k)} is not a 32-bit value`, { value: k });
  return mode;
}

/** The outcome of one walk. {@link hardwareWalk} reuses one instance. */
export class WalkResult {
  /** True when the access is allowed; false for a page fault. */
  ok = false;
  /** Page-fault error code (PF_* bits) when `ok` is false; 0 otherwise. */
  errorCode = 0;
  /** Level of the leaf (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), or of the entry that faulted. */
  level = 0;
  /** Frame of the 4 KiB page that holds the address (leaf PFN + offset inside a huge leaf); -1 on a non-present fault. */
  pfn = -1;
  /** First PFN of the leaf. */
  leafPfn = -1;
  /** Effective rights (RIGHT_* bits, protection key in bits 12..15), as a TLB would cache them. */
  rights = 0;
  /** Paging-structure entries read (4 for a 4 KiB page with 4-level paging, 5 with 5-level). */
  memRefs = 0;
  /** Accessed / dirty flags the walk set (locked writes to entries). */
  adWrites = 0;
  /**
   * The tables the walk went through: `path[l]` is the table at level `l` it entered below
   * where it started (the paging-structure caches are filled from it); -1 above that.
   */
  readonly path = new Int32Array(6).fill(-1);
  /** `pathRights[l]`: combined R/W and U/S (bits 1, 2) and XD (bit 3) of the entries above `path[l]`. */
  readonly pathRights = new Uint8Array(6);
}


/**
 * Walks `pt` for `vpn` as the MMU does on a TLB miss. `access` is ACCESS_* bits; `mode` the
 * control registers. Sets A in every entry the walk uses and D in the leaf on a write (only
 * when the access is allowed: a faulting access sets A in the entries above the leaf, which it
 * used, but not in the leaf). The observer hears nothing: A / D updates are the hardware's, not
 * set_pte_at. `setAD = false` makes a side-effect-free walk (the TLB's shadow check).
 *
 * `vpn` must be canonical (the caller checks; the byte-address form {@link translate} does).
 */
export function hardwareWalk(pt: X86PageTable, vpn: number, access: number, mode: Readonly<PagingMode>, out: WalkResult, setAD = true): WalkResult {
  return hardwareWalkFrom(pt, vpn, access, mode, out, setAD, pt.top, pt.levels, 0x6);
}

/**
 * The walk from table `start` at level `level` down, with `rights` (R/W, U/S in bits 1, 2;
 * XD in bit 3) combined from the entries above it: what the MMU does after a hit in a
 * paging-structure cache (SDM §4.10.3.2). `memRefs` counts only the entries read from here.
 */
export function hardwareWalkFrom(
  pt: X86PageTable,
  vpn: number,
  access: number,
  mode: Readonly<PagingMode>,
  out: WalkResult,
  setAD: boolean,
  start: number,
  level: number,
  rights: number,
): WalkResult {
  // Numeric literals stand for the entry / slab constants on this path (named in comments):
  // imported and module-level bindings cost a check per use in optimised code.
  const slab = pt.slab;
  const form = slab.form;
  const block = slab.block;
  const count = slab.count;
  const chunks = slab.chunks;
  const lo32 = vpn >>> 0;
  const hi32 = ((vpn - lo32) / 4294967296) | 0;
  // Entry bits at or above MAXPHYADDR are reserved (high half bits maxPhysAddr-32 .. 19), and
  // XD (bit 63) without EFER.NXE (SDM §4.5.4).
  const rsvdHi = mode === DEFAULT_PAGING_MODE ? 0 : reservedHigh(mode);
  const path = out.path;
  const pathRights = out.pathRights;
  let t = start;
  let l: number = level;
  let rwus = rights & 0x6; // RW | US, AND-ed over the levels
  let nx = (rights >>> 3) & 1;
  let ad = 0;
  let lo = 0;
  let hi = 0;
  let w = chunks[0];
  let q = -1;
  for (; ; l--) {
    // pte_index / pmd_index / pud_index / p4d_index / pgd_index
    const i = l < 4 ? (lo32 >>> (9 * l - 9)) & 511 : l === 4 ? ((lo32 >>> 27) | (hi32 << 5)) & 511 : (hi32 >>> 4) & 511;
    const a = block[t];
    w = chunks[a >>> 20]; // CHUNK_SHIFT
    const o = a & 0xfffff; // CHUNK_MASK
    const dense = form[t] === 2; // FORM_DENSE
    if (dense) q = o + (i << 1);
    else {
      q = -1;
      const s = l > 1 ? 4 : 3; // UPPER_SLOT_WORDS : PTE_SLOT_WORDS
      for (let k = o, e = o + count[t] * s; k < e; k += s)
        if (w[k] === i) {
          q = k + 1;
          break;
        }
      if (q < 0) {
        lo = 0;
        hi = 0;
        break; // none: not present
      }
    }
    lo = w[q];
    hi = w[q + 1];
    if (!(lo & 1) || hi & rsvdHi) break; // not present, or reserved bits
    rwus &= lo;
    nx |= hi >>> 31;
    if (l === 1 || lo & 0x80) break; // a leaf (PS)
    if (setAD && !(lo & 0x20)) {
      w[q] = (lo | 0x20) >>> 0; // ENTRY_A
      ad++;
    }
    t = dense ? w[o + 1024 + i] : w[q + 2];
    path[l - 1] = t;
    pathRights[l - 1] = rwus | (nx << 3);
  }
  for (let k = l - 1; k >= 1; k--) path[k] = -1;
  out.memRefs = level - l + 1;
  out.level = l;
  const accBits = (access & (PF_WRITE | PF_USER)) | (access & PF_INSTR && (mode.nxe || mode.smep) ? PF_INSTR : 0);
  // Not present; reserved bits, or PS in a PML4E / PML5E (l >= 4 here); access rights (SDM §4.6.1)
  // on the combined U/S, R/W and XD of every level.
  const pkey = (hi >>> 27) & 0xf;
  let errorCode = -1; // -1: the access is allowed
  if (!(lo & 1)) errorCode = accBits;
  else if (hi & rsvdHi || l >= 4) errorCode = PF_PROT | PF_RSVD | accBits;
  else {
    const f = leafFault(access, rwus & 0x2, rwus & 0x4, nx, pkey, mode);
    if (f !== 0) errorCode = f | accBits;
  }
  if (errorCode >= 0) {
    out.ok = false;
    out.errorCode = errorCode;
    out.pfn = -1;
    out.leafPfn = -1;
    out.rights = 0;
    out.adWrites = ad;
    return out;
  }
  const nlo = access & PF_WRITE ? lo | 0x60 : lo | 0x20; // A, and D on a write
  if (setAD && nlo !== lo) {
    w[q] = nlo >>> 0;
    ad++;
  }
  // leafPfn, inline: a huge leaf's bit 12 is PAT, not a frame bit.
  const base = (hi & 0xfffff) * 1048576 + (l > 1 && lo & 0x80 ? (lo >>> 12) & 0xffffe : lo >>> 12);
  out.ok = true;
  out.errorCode = 0;
  out.leafPfn = base;
  out.pfn = base + (l === 1 ? 0 : l === 2 ? lo32 & 511 : lo32 & 0x3ffff);
  out.rights = (rwus & 0x6) | (nx && mode.nxe ? RIGHT_NX : 0) | (lo & 0x100) | (nlo & 0x40) | (pkey << 12);
  out.adWrites = ad;
  return out;
}

/** Reserved bits of an entry's high half: address bits at or above MAXPHYADDR, and XD without EFER.NXE (0 for Linux's mode). */
function reservedHigh(mode: Readonly<PagingMode>): number {
  const maxPa = mode.maxPhysAddr;
  return ((maxPa >= 52 ? 0 : 0xfffff & ~((1 << (maxPa - 32)) - 1)) | (mode.nxe ? 0 : 0x80000000)) >>> 0;
}

/** The protection checks of SDM §4.6.1 for a present leaf; returns PF_PROT (| PF_PK) or 0. */
function leafFault(access: number, rw: number, us: number, nx: number, pkey: number, mode: Readonly<PagingMode>): number {
  const write = (access & PF_WRITE) !== 0;
  if (access & PF_USER) {
    if (!us) return PF_PROT;
    if (access & PF_INSTR) return nx && mode.nxe ? PF_PROT : 0;
    if (write && !rw) return PF_PROT;
    if (mode.pke) {
      const bits = (mode.pkru >>> (2 * pkey)) & 3;
      if (bits & 1 || (write && bits & 2)) return PF_PROT | PF_PK;
    }
    return 0;
  }
  if (access & PF_INSTR) return (nx && mode.nxe) || (us && mode.smep) ? PF_PROT : 0;
  if (us && mode.smap && !mode.ac) return PF_PROT;
  if (write && !rw && mode.wp) return PF_PROT;
  if (us && mode.pke) {
    const bits = (mode.pkru >>> (2 * pkey)) & 3;
    if (bits & 1 || (write && mode.wp && bits & 2)) return PF_PROT | PF_PK;
  }
  return 0;
}

/** The outcome of {@link translate}, a fresh object per call (the API edge). */
export interface Translation {
  ok: boolean;
  /** Physical byte address when `ok`. */
  physAddr: bigint | null;
  /** Page-fault error code (PF_* bits) when not `ok`. */
  errorCode: number;
  /** Leaf level, or the level whose entry faulted. */
  level: number;
  /** Frame of the 4 KiB page, -1 on a non-present fault. */
  pfn: number;
  /** Paging-structure entries read. */
  memRefs: number;
  /** A / D flags set by the walk. */
  adWrites: number;
}

/**
 * translate(address, access, mode): the hardware walk for a byte address of up to 64 bits.
 * Throws `E_NONCANONICAL` (on the CPU: #GP, not #PF) for a non-canonical address.
 */
export function translate(pt: X86PageTable, addr: bigint, access: number, mode: Readonly<PagingMode> = DEFAULT_PAGING_MODE): Translation {
  if (typeof addr !== 'bigint' || addr < 0n || addr >= 1n << 64n)
    fail(E.NonCanonical, `address ${show(addr)} is not a 64-bit address (expected a bigint in [0, 2^64))`, { value: String(addr) });
  const vpn = Number(addr >> 12n);
  const userEnd = BigInt(pt.userEnd) << 12n;
  if (!(addr < userEnd || addr >= (1n << 64n) - userEnd))
    fail(E.NonCanonical, `address ${show(addr)} is not canonical with ${pt.levels}-level paging (bits 63..${pt.vaBits - 1} must be equal)`, { value: `0x${addr.toString(16)}` });
  checkPagingMode(mode);
  const r = hardwareWalk(pt, vpn, access, mode, new WalkResult());
  return {
    ok: r.ok,
    physAddr: r.ok ? (BigInt(r.pfn) << 12n) | (addr & 0xfffn) : null,
    errorCode: r.errorCode,
    level: r.level,
    pfn: r.pfn,
    memRefs: r.memRefs,
    adWrites: r.adWrites,
  };
}
