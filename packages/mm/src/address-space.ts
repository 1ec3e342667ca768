import {
  CoreErrorCode,
  Counters,
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  GFP_TRANSHUGE_LIGHT,
  NOOP_CHARGER,
  NOOP_TLB_FLUSHER,
  SimClock,
  __GFP_DIRECT_RECLAIM,
  __GFP_ZERO,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_GLOBAL,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_USER,
  fail,
  show,
} from '@kmodel/core';
import type {
  Charger,
  CostModel,
  EntryObserver,
  Level,
  MmId,
  OomTaskStats,
  PageAllocator,
  PageTable,
  PageTableFactory,
  Pfn,
  TableAllocator,
  TlbFlusher,
  Vpn,
  WalkOps,
} from '@kmodel/core';
import { AnonPages } from './anon-pages.js';
import { ZeroCount } from './zero-count.js';
import {
  ADVICE_BY_NUMBER,
  DEFAULT_MAP_WINDOW_VPN,
  DEFAULT_MAX_MAP_COUNT,
  DEFAULT_MMAP_BASE_VPN,
  DEFAULT_MMAP_MIN_ADDR_VPN,
  PMD_PAGES,
  PROT_EXEC,
  PUD_PAGES,
  PROT_READ,
  PROT_WRITE,
  TABLE_BYTES,
  TASK_SIZE_4L_VPN,
  TASK_SIZE_5L_VPN,
  VM_EXEC,
  VM_FAULT_FALLBACK,
  VM_FAULT_OOM,
  VM_FAULT_SIGSEGV,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_WRITE,
} from './constants.js';
import type { Advice } from './constants.js';
import { MmErrorCode as E } from './errors.js';
import type { MmHooks, ZapCause } from './hooks.js';
import { MmapLock } from './mmap-lock.js';
import { resolveProfile } from './profile.js';
import type { KernelProfile, ProfileName } from './profile.js';
import { getUnmappedArea } from './layout.js';
import type { MmapLayout } from './layout.js';
import { Vma, VmaList, anonCompatible, canMerge } from './vma.js';
import type { VmaInfo } from './vma.js';

/** /sys/kernel/mm/transparent_hugepage/enabled. */
export type ThpMode = 'always' | 'madvise' | 'never';

/** Options of {@link AddressSpace}. The machine parts (allocator, zero pages, clock) are shared by many address spaces. */
export interface AddressSpaceOptions {
  /** Identity of the address space (and its task) for the charger, the TLB (as ASID) and OOM. */
  id: MmId;
  /** Task name, as `Name:` in /proc/PID/status. */
  name?: string;
  /** Where anonymous pages and page-table pages come from. */
  allocator: PageAllocator;
  /** Builds the page table (the stock one is `createPageTable` of `@kmodel/pgtable`). */
  pageTables: PageTableFactory;
  /** 4-level (default) or 5-level paging. */
  levels?: 4 | 5;
  /** PFN of the shared zero page (allocated once per machine by the caller). */
  zeroPfn: Pfn;
  /** PFN of the 2 MiB-aligned huge zero page; without it a THP read fault falls back to 4 KiB zero pages. */
  hugeZeroPfn?: Pfn;
  /** transparent_hugepage/use_zero_page (default true). When false a THP read fault allocates a THP. */
  useHugeZeroPage?: boolean;
  /** memcg charging (default: accept everything). */
  charger?: Charger;
  /** TLB shootdowns (default: none). */
  tlb?: TlbFlusher;
  /** Entry observer handed to the page table (pte_ref accounting). */
  observer?: EntryObserver;
  /** Kernel behaviour: `linux-6.18` (default), `linux-6.13`, or a profile object. */
  profile?: ProfileName | KernelProfile;
  /** Simulated clock (default: a private one with the default costs). */
  clock?: SimClock;
  /** System THP mode (this machine: madvise, the default). */
  thp?: ThpMode;
  /** Faults take the per-VMA lock instead of mmap_lock (default true, as in 6.18). */
  perVmaLock?: boolean;
  /** Reclaim and instrumentation hooks. */
  hooks?: MmHooks;
  /** Top of the top-down mmap area (default 0x7ffff7fff000 >> 12, the non-randomized base). */
  mmapBase?: Vpn;
  /** vm.mmap_min_addr in pages (default 1 = 4096 bytes). */
  mmapMinAddr?: Vpn;
  /** vm.max_map_count (default 65530). */
  maxMapCount?: number;
  /** oom_score_adj (default 0). */
  oomScoreAdj?: number;
}

/** A request to {@link AddressSpace.mmap}: a private anonymous mapping. */
export interface MmapRequest {
  /** Hint, or the exact place with `fixedNoreplace`. */
  addr?: Vpn;
  /** Length in pages. */
  pages: number;
  /** Alignment of the chosen address in pages (a power of two; default 1). Ignored with `fixedNoreplace`. */
  align?: number;
  /** PROT_* bits (default PROT_READ | PROT_WRITE). */
  prot?: number;
  /** MAP_FIXED_NOREPLACE: map exactly at `addr` or fail with E_MAPPING_EXISTS. */
  fixedNoreplace?: boolean;
  /** MAP_POPULATE: fault the whole range in (write faults when writable, as populate_vma_page_range does). */
  populate?: boolean;
  /** MAP_NORESERVE (sets VM_NORESERVE, which takes part in VMA merging). */
  noreserve?: boolean;
}

/** The address-space fields of /proc/PID/status plus the page-table counters. */
export interface MmStatus {
  /** kB of mapped virtual memory. */
  VmSize: number;
  /** kB resident: RssAnon + RssFile + RssShmem. */
  VmRSS: number;
  RssAnon: number;
  RssFile: number;
  RssShmem: number;
  /** kB of page tables: pgtables_bytes / 1024. */
  VmPTE: number;
  VmSwap: number;
  /** mm->pgtables_bytes: PTE + PMD + PUD tables (not P4D / PGD), including deposited PTE tables. */
  pgtables_bytes: number;
  nr_ptes: number;
  nr_pmds: number;
  nr_puds: number;
}

/** Options of {@link AddressSpace.tryFreePteTable}. */
export interface TryFreePteTableOptions {
  /** Also free a table whose entries all map the shared zero page (they are cleared first). */
  allowZeroPages: boolean;
  /**
   * Which mmap_lock the caller models: `write` (default; the hold is recorded and faults
   * wait behind it), `read`, or `none` (the caller holds it already).
   */
  lock?: 'write' | 'read' | 'none';
}

/** Counter names of {@link AddressSpace.counters}. */
export const MM_COUNTERS = [
  'pgfault',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_split_pmd',
  'thp_zero_page_mapped',
  'pt_reclaim.pte_tables_freed',
  'pt_reclaim.bytes_freed',
  'pt_reclaim.entries_scanned',
  'tables_alloc_refused',
] as const;

const VM_ACCESS = VM_READ | VM_WRITE | VM_EXEC;
/** Internal fault result: the attempt lost its table or entry to reclaim; fault again. */
const FAULT_RETRY = -1;
/**
 * Attempts after the first before a fault that keeps losing its table to reclaim gives up with
 * VM_FAULT_OOM (the kernel retries without bound; a model must terminate).
 */
const FAULT_RETRIES = 8;
/** PAGE_COPY + special: the shared zero page in a PTE (do_anonymous_page). */
const ZERO_PTE = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL;
/** A freshly written anonymous page (mk_pte + pte_mkwrite + pte_mkdirty). */
const ANON_PTE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** The huge zero page at PMD level (mk_huge_pmd on PAGE_COPY). */
const HUGE_ZERO_PMD = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_PSE;
/** A THP at PMD level. */
const ANON_PMD = ANON_PTE | _PAGE_PSE;
/** PROT_NONE entries: present bit cleared, PROTNONE (= the global bit) set. */
const PROTNONE = _PAGE_GLOBAL;

/**
 * One address space (mm_struct) of private anonymous mappings, behaving like Linux 6.18
 * number for number: VMAs with the kernel's merge and split rules, mmap / munmap /
 * mprotect / madvise / fork / exit, read and write faults with the shared zero page, the
 * huge zero page and THPs, COW, RSS and `pgtables_bytes`, and an mmap_lock model.
 *
 * Addresses are virtual page numbers and lengths are page counts (a 57-bit address does not
 * fit in a double; its page number does). Use `addrToVpn` / `bytesToPages` of `@kmodel/core`
 * at the edges.
 */
export class AddressSpace {
  readonly id: MmId;
  readonly name: string;
  readonly levels: 4 | 5;
  readonly profile: KernelProfile;
  readonly clock: SimClock;
  /** The clock's costs, read by name at each fault site (a monomorphic load, unlike clock.charge(name)). */
  private readonly costs: CostModel;
  readonly thp: ThpMode;
  /** The page table (the `PageTable` contract); read it freely, change it only through this class. */
  readonly pageTable: PageTable;
  /** The mmap_lock model. */
  readonly mmapLock: MmapLock;
  /** First page above the user address space (TASK_SIZE >> 12). */
  readonly taskSize: Vpn;
  /** oom_score_adj. */
  oomScoreAdj: number;

  private readonly allocator: PageAllocator;
  private readonly factory: PageTableFactory;
  private readonly charger: Charger;
  private readonly tlb: TlbFlusher;
  private readonly hooks: MmHooks;
  private readonly zeroPfn: Pfn;
  private readonly hugeZeroPfn: Pfn;
  private readonly useHugeZeroPage: boolean;
  private readonly mmapBase: Vpn;
  private readonly mmapMinAddr: Vpn;
  private readonly maxMapCount: number;
  private readonly layout: MmapLayout;
  private readonly perVmaLock: boolean;
  private readonly anon: AnonPages;
  private readonly vmaList = new VmaList();
  private readonly stats = new Counters(MM_COUNTERS);
  private readonly cPgfault: number;

  private rssAnon = 0;
  private nrPtes = 0;
  private nrPmds = 0;
  private nrPuds = 0;
  private topPfn = -1;
  private dead = false;
  /** A huge PMD was ever installed: lets the fault path skip the PMD check until then. */
  private mayHaveHuge = false;
  /** Deposited PTE tables of huge PMDs: PMD index (vpn / 512) to table PFN. */
  private readonly deposits = new Map<number, Pfn>();
  /** A deposited table being withdrawn into the tree (pgtable_trans_huge_withdraw). */
  private withdrawPfn = -1;
  /** The vpn the current table allocation is for (hooks). */
  private curVpn = 0;
  /**
   * Bumped whenever a table of this address space is freed. A fault that allocated or charged
   * (which may enter reclaim) compares it with {@link AddressSpace.faultGen}, taken when the
   * attempt began, and revalidates its table and entry only when they differ: the model's
   * pte_offset_map_lock() returning NULL / !pte_same() (mm/memory.c do_anonymous_page,
   * wp_page_copy, __do_huge_pmd_anonymous_page).
   */
  private freeGen = 0;
  private faultGen = 0;
  /** PTE tables allocated so far (monotonic): tells a fault whether its table is new. */
  private ptesAllocated = 0;
  // Per-zap tallies, filled by the zap visitor.
  private zapAnon = 0;
  private zapZero = 0;
  private zapTablesFreed = 0;
  // Scratch for collect-then-apply walks.
  private readonly scratchVpn: number[] = [];
  private readonly scratchPfn: number[] = [];
  private readonly scratchFlags: number[] = [];
  private readonly scratchLevel: number[] = [];
  private readonly zapVisit: (vpn: Vpn, level: Level, pfn: Pfn, flags: number) => void;
  private readonly leafOps: WalkOps;
  /** tryFreePteTable's check: stops at the first entry that is not the zero page (its vpn in zeroScanBad). */
  private readonly zeroScanOps: WalkOps;
  private zeroScanBad = -1;
  /** Zero-page entries per PTE table (from the entry hooks), when there is an observer. */
  private readonly zeroCount: ZeroCount | null;

  constructor(options: AddressSpaceOptions) {
    const levels = options.levels ?? 4;
    if (levels !== 4 && levels !== 5) fail(E.BadOption, `levels ${show(levels)} must be 4 or 5`, { value: levels });
    checkPfnOption(options.zeroPfn, 'zeroPfn');
    if (options.hugeZeroPfn !== undefined) {
      checkPfnOption(options.hugeZeroPfn, 'hugeZeroPfn');
      if (options.hugeZeroPfn % PMD_PAGES !== 0)
        fail(E.BadOption, `hugeZeroPfn ${show(options.hugeZeroPfn)} must be 2 MiB aligned (a multiple of 512)`, { value: options.hugeZeroPfn });
    }
    const thp = options.thp ?? 'madvise';
    if (thp !== 'always' && thp !== 'madvise' && thp !== 'never')
      fail(E.BadOption, `thp mode ${show(thp)} must be "always", "madvise" or "never"`, { value: thp });
    this.id = options.id;
    this.name = options.name ?? `mm${options.id}`;
    this.levels = levels;
    this.profile = resolveProfile(options.profile);
    this.clock = options.clock ?? new SimClock();
    this.costs = this.clock.costs;
    this.thp = thp;
    this.allocator = options.allocator;
    this.factory = options.pageTables;
    this.charger = options.charger ?? NOOP_CHARGER;
    this.tlb = options.tlb ?? NOOP_TLB_FLUSHER;
    this.hooks = options.hooks ?? {};
    this.zeroPfn = options.zeroPfn;
    this.hugeZeroPfn = options.hugeZeroPfn ?? -1;
    this.useHugeZeroPage = options.useHugeZeroPage ?? true;
    this.taskSize = levels === 5 ? TASK_SIZE_5L_VPN : TASK_SIZE_4L_VPN;
    this.mmapBase = options.mmapBase ?? DEFAULT_MMAP_BASE_VPN;
    this.mmapMinAddr = options.mmapMinAddr ?? DEFAULT_MMAP_MIN_ADDR_VPN;
    this.maxMapCount = options.maxMapCount ?? DEFAULT_MAX_MAP_COUNT;
    this.oomScoreAdj = options.oomScoreAdj ?? 0;
    this.perVmaLock = options.perVmaLock ?? true;
    this.layout = { levels, taskSize: this.taskSize, mmapBase: this.mmapBase, mmapMinAddr: this.mmapMinAddr };
    if (!(this.mmapBase > 0 && this.mmapBase <= DEFAULT_MAP_WINDOW_VPN && Number.isSafeInteger(this.mmapBase)))
      fail(E.BadOption, `mmapBase ${show(this.mmapBase)} must be a page number in (0, 0x7ffffffff]`, { value: this.mmapBase });
    // A fork child shares its family's page bookkeeping (set by fork just before construction).
    this.anon = forkFamily ?? new AnonPages(this.allocator, this.charger);
    forkFamily = null;
    this.mmapLock = new MmapLock(this.clock, this.perVmaLock);
    this.cPgfault = this.stats.slot('pgfault');
    this.options = options;

    const zeroPfn = this.zeroPfn;
    this.zapVisit = (vpn, level, pfn) => {
      // The common entry of a zapped PTE table, inline: a shared zero page (not in RSS).
      if (pfn === zeroPfn && level === 1) this.zapZero++;
      else this.zapOne(vpn, level, pfn);
    };
    this.leafOps = {
      leaf: (vpn, level, pfn, flags) => {
        this.scratchVpn.push(vpn);
        this.scratchLevel.push(level);
        this.scratchPfn.push(pfn);
        this.scratchFlags.push(flags);
      },
      nonPresent: (vpn, level, lo, hi) => {
        // PROT_NONE entries keep their frame (pte_modify), so they are leaves for us.
        this.scratchVpn.push(vpn);
        this.scratchLevel.push(level);
        this.scratchPfn.push((hi & 0xfffff) * 0x100000 + (lo >>> 12));
        this.scratchFlags.push((lo & 0xfff) | ((hi >>> 20) << 12));
      },
    };
    this.zeroScanOps = {
      leaf: (vpn, level, pfn) => {
        if (level === 1 && pfn === this.zeroPfn) return true;
        this.zeroScanBad = vpn;
        return false;
      },
      nonPresent: (vpn) => {
        this.zeroScanBad = vpn;
        return false;
      },
    };
    const tables: TableAllocator = {
      allocTable: (level) => this.allocTablePage(level),
      freeTable: (pfn, level) => this.freeTablePage(pfn, level),
    };
    // With an entry observer (pte_ref: every reclaim setup has one) mm counts zero-page entries
    // behind it; without one the page table calls no hook at all, and tryFreePteTable walks.
    this.zeroCount = options.observer === undefined ? null : new ZeroCount(this.zeroPfn, options.observer);
    const ptOptions = this.zeroCount === null ? { levels, tables } : { levels, tables, observer: this.zeroCount };
    this.pageTable = this.factory(ptOptions);
  }

  private readonly options: AddressSpaceOptions;

  // ------------------------------------------------------------------ table pages

  /** pte_alloc_one / pmd_alloc_one / pud_alloc_one: GFP_PGTABLE_USER plus the memcg charge; counts where the table is born. */
  private allocTablePage(level: Level): Pfn | null {
    if (level === 1 && this.withdrawPfn >= 0) {
      const pfn = this.withdrawPfn;
      this.withdrawPfn = -1;
      return pfn; // already counted when it was deposited
    }
    const hook = this.hooks.beforeTableAlloc;
    if (hook !== undefined && level < this.levels) {
      const r = hook(this, this.curVpn, level);
      if (r === false) {
        this.stats.add(this.stats.slot('tables_alloc_refused'));
        return null;
      }
      if (typeof r === 'number' && r > 0) this.clock.advance(r);
    }
    const pfn = this.allocator.allocPages(GFP_PGTABLE_USER, 0);
    if (pfn === null) return null;
    // __GFP_ACCOUNT: the page is charged after allocation and freed again if the charge fails.
    if (!this.charger.charge(this.id, 'pagetables', TABLE_BYTES)) {
      this.allocator.freePages(pfn, 0);
      return null;
    }
    if (level === 1) {
      this.nrPtes++;
      this.ptesAllocated++;
    } else if (level === 2) this.nrPmds++;
    else if (level === 3) this.nrPuds++;
    if (level === this.levels) this.topPfn = pfn;
    else this.hooks.onTableAlloc?.(this, this.curVpn, level);
    return pfn;
  }

  /** pte_free / pmd_free / pud_free with the destructor's accounting (mm_dec_nr_ptes ...). */
  private freeTablePage(pfn: Pfn, level: Level): void {
    this.lastPteBlock = -1;
    this.freeGen++;
    if (level === 1) this.nrPtes--;
    else if (level === 2) this.nrPmds--;
    else if (level === 3) this.nrPuds--;
    this.charger.uncharge(this.id, 'pagetables', TABLE_BYTES);
    this.allocator.freePages(pfn, 0);
    if (level < this.levels) this.hooks.onTableFree?.(this, level);
  }

  // ------------------------------------------------------------------ faults

  /**
   * A user access to page `vpn` (handle_mm_fault). Returns 0 when the access succeeds
   * (whether or not it faulted), VM_FAULT_OOM when a page or table could not be allocated
   * or charged, VM_FAULT_SIGSEGV for an address outside any VMA or a forbidden access.
   * An access that needs no fault (the entry already allows it) costs nothing.
   */
  fault(vpn: Vpn, write: boolean): number {
    if (this.dead) this.failExited();
    if (!(vpn >= 0 && vpn < this.taskSize)) return VM_FAULT_SIGSEGV;
    if (Math.floor(vpn) !== vpn) fail(CoreErrorCode.NotAnInteger, `vpn ${show(vpn)} must be an integer page number`, { value: vpn });
    const vma = this.vmaList.find(vpn);
    if (vma === null) return VM_FAULT_SIGSEGV;
    return this.faultIn(vpn, vma, write);
  }

  /** handle_mm_fault once the VMA is known: the access check, then the PTE-level or the PMD-level path. */
  private faultIn(vpn: Vpn, vma: Vma, write: boolean): number {
    const f = vma.flags;
    if (write ? (f & VM_WRITE) === 0 : (f & VM_ACCESS) === 0) return VM_FAULT_SIGSEGV;
    for (let tries = 0; ; tries++) {
      this.faultGen = this.freeGen;
      const r = this.faultOnce(vpn, vma, write);
      if (r !== FAULT_RETRY) {
        // The fault returns to user mode: memory.high work its charges left (mem_cgroup_handle_over_high).
        // A GUP fault (MAP_POPULATE, MADV_POPULATE_*) does not: its syscall returns once, at the end.
        if (this.inFault && !this.gupOnly) this.returnToUser();
        return r;
      }
      // The attempt lost its table or entry to reclaim and released what it took: the access
      // faults again (count_vm_event(PGFAULT) per entry into handle_mm_fault).
      this.stats.add(this.cPgfault);
      if (this.dead || tries === FAULT_RETRIES) return VM_FAULT_OOM;
    }
  }

  /** A real fault (not an access the entry already allows) enters the kernel: mmap_lock or the VMA lock. */
  private enterFault(): void {
    this.mmapLock.faultEnter();
    this.inFault = true;
  }

  /** A fault is in progress: its return to user mode runs the charger's returnToUser. */
  private inFault = false;

  /** resume_user_mode_work after a fault or a memory syscall: the charger settles memory.high debt. */
  private returnToUser(): void {
    this.inFault = false;
    this.charger.returnToUser?.(this.id);
  }

  /** Returns a page taken by {@link AddressSpace.allocAnonPage} (the fault's `release:` path). */
  private releaseAnonPage(pfn: Pfn): void {
    this.charger.uncharge(this.id, 'anon', 4096);
    this.allocator.freePages(pfn, 0);
  }

  /** The PTE table covering `vpn` exists and its entry is none (pte_offset_map_lock + pte_none). */
  private pteNoneStill(vpn: Vpn): boolean {
    const pt = this.pageTable;
    return pt.presentCount(vpn, 1) >= 0 && pt.entryFlags(vpn, 1) === 0;
  }

  /** The PMD table covering `blk` exists and its entry is none (pmd_none under the PMD lock). */
  private pmdNoneStill(blk: Vpn): boolean {
    const pt = this.pageTable;
    return pt.tableAt(blk, 2) >= 0 && pt.tableAt(blk, 1) < 0 && pt.entryFlags(blk, 2) === 0;
  }

  /** One attempt of {@link AddressSpace.faultIn}; {@link FAULT_RETRY} when reclaim took its table. */
  private faultOnce(vpn: Vpn, vma: Vma, write: boolean): number {
    const pt = this.pageTable;
    const blk = Math.floor(vpn / PMD_PAGES);
    if (blk !== this.lastPteBlock && !this.mayHaveHuge && !this.thpEligible(vma, vpn)) {
      // No huge PMD can be here and none will be made: find or make the PTE table in one call
      // (__pte_alloc); a new table has no entries, so the entry need not be read.
      const before = this.ptesAllocated;
      this.curVpn = vpn;
      if (!pt.allocTable(vpn, 1)) return VM_FAULT_OOM;
      if (this.freeGen !== this.faultGen && pt.presentCount(vpn, 1) < 0) return FAULT_RETRY;
      this.lastPteBlock = blk;
      if (this.ptesAllocated !== before) {
        this.enterFault();
        return write ? this.doAnonymousWrite(vpn, vma, true) : this.doZeroRead(vpn, vma, true);
      }
    }
    const fl = pt.entryFlags(vpn, 1);
    if ((fl & _PAGE_PRESENT) !== 0) {
      if (!write || (fl & _PAGE_RW) !== 0) {
        // No fault: the entry allows the access. A store into a THP subpage is remembered.
        if (write && this.anon.thpStored.size > 0 && !this.gupOnly) this.anon.markStored(pt.entryPfn(vpn, 1));
        return 0;
      }
      this.enterFault();
      return this.doWpPage(vpn, vma, fl);
    }
    if (fl !== 0) return 0; // a PROT_NONE entry in an accessible VMA cannot happen: mprotect rewrites entries
    this.enterFault();
    // The PTE table of the last fault is known to exist until a PTE table is freed.
    if (blk === this.lastPteBlock) return write ? this.doAnonymousWrite(vpn, vma, false) : this.doZeroRead(vpn, vma, false);
    return this.faultNoPte(vpn, vma, write);
  }

  /** Faults come from GUP (MADV_POPULATE_WRITE, MAP_POPULATE): writable mappings without a store. */
  private gupOnly = false;

  /** vpn / 512 of a PTE table known to exist (-1: none known). Reset whenever a PTE table is freed. */
  private lastPteBlock = -1;

  /**
   * Bulk access: touches `vpn`, `vpn + stride`, ... below `vpn + pages` (the trace `touch`).
   * Returns 0 when every access succeeded, else the VM_FAULT code of the first failing
   * access, where it stops; {@link AddressSpace.lastTouchCount} tells how many succeeded.
   */
  touch(vpn: Vpn, pages: number, stridePages: number, write: boolean): number {
    if (this.dead) this.failExited();
    if (!(stridePages >= 1 && Number.isSafeInteger(stridePages)))
      fail(CoreErrorCode.OutOfRange, `stride ${show(stridePages)} must be a positive number of pages`, { value: stridePages });
    checkPages(pages);
    if (!Number.isSafeInteger(vpn) || vpn < 0) fail(CoreErrorCode.NotAnInteger, `vpn ${show(vpn)} must be a non-negative integer page number`, { value: vpn });
    const end = vpn + pages;
    let n = 0;
    let v = vpn;
    while (v < end) {
      const vma = v < this.taskSize ? this.vmaList.find(v) : null;
      if (vma === null) {
        this.lastTouchCount = n;
        return VM_FAULT_SIGSEGV;
      }
      // Every access inside this VMA, without looking the VMA up again.
      const stop = vma.end < end ? vma.end : end;
      for (; v < stop; v += stridePages) {
        const r = this.faultIn(v, vma, write);
        if (r !== 0) {
          this.lastTouchCount = n;
          return r;
        }
        n++;
      }
    }
    this.lastTouchCount = n;
    return 0;
  }

  /** Accesses that succeeded in the last {@link AddressSpace.touch}. */
  lastTouchCount = 0;

  /** A none entry whose PTE table is not known to exist: a huge PMD, a THP fault, or the PTE path (allocating the table if needed). */
  private faultNoPte(vpn: Vpn, vma: Vma, write: boolean): number {
    const pt = this.pageTable;
    this.curVpn = vpn;
    if ((this.mayHaveHuge || this.thpEligible(vma, vpn)) && pt.tableAt(vpn, 1) < 0) {
      // The PMD entry is none or huge (no PTE table under it).
      if (this.mayHaveHuge) {
        const pmd = pt.entryFlags(vpn, 2);
        if ((pmd & _PAGE_PSE) !== 0) return this.hugePmdFault(vpn, vma, write, pmd);
      }
      if (this.thpEligible(vma, vpn)) {
        // __handle_mm_fault: pud_alloc / pmd_alloc, then create_huge_pmd only on a none PMD.
        if (!pt.allocTable(vpn, 2)) return VM_FAULT_OOM;
        const r = this.doHugePmdAnonymousPage(vpn, vma, write);
        if (r !== VM_FAULT_FALLBACK) return r;
        this.curVpn = vpn;
      }
    }
    const before = this.ptesAllocated;
    if (!pt.allocTable(vpn, 1)) return VM_FAULT_OOM;
    if (this.freeGen !== this.faultGen && pt.presentCount(vpn, 1) < 0) return FAULT_RETRY;
    this.lastPteBlock = Math.floor(vpn / PMD_PAGES);
    const newTable = this.ptesAllocated !== before;
    return write ? this.doAnonymousWrite(vpn, vma, newTable) : this.doZeroRead(vpn, vma, newTable);
  }

  /** thp_vma_allowable_order + thp_vma_suitable_order: the mode allows it and the aligned 2 MiB lies inside the VMA. */
  private thpEligible(vma: Vma, vpn: Vpn): boolean {
    const f = vma.flags;
    if (this.thp === 'never' || (f & VM_NOHUGEPAGE) !== 0) return false;
    if (this.thp === 'madvise' && (f & VM_HUGEPAGE) === 0) return false;
    const blk = vpn - (vpn % PMD_PAGES);
    return blk >= vma.start && blk + PMD_PAGES <= vma.end;
  }

  /** do_anonymous_page, read: map the shared zero page (not counted in RSS). */
  private doZeroRead(vpn: Vpn, vma: Vma, newTable: boolean): number {
    this.pageTable.setEntry(vpn, 1, this.zeroPfn, (vma.flags & VM_EXEC) !== 0 ? ZERO_PTE : ZERO_PTE | _PAGE_NX);
    this.clock.advance(newTable ? this.costs.fault_read_zero_new_table : this.costs.fault_read_zero);
    this.stats.add(this.cPgfault);
    return 0;
  }

  /** do_anonymous_page, write: a zeroed Movable page, charged as anon. */
  private doAnonymousWrite(vpn: Vpn, vma: Vma, newTable: boolean): number {
    if (vma.anonVma === 0) vma.anonVma = this.anon.nextAnonVma++; // vmf_anon_prepare
    const pfn = this.allocAnonPage(true);
    if (pfn < 0) return VM_FAULT_OOM;
    // do_anonymous_page: the charge may have reclaimed the table (!vmf->pte) or filled the entry.
    if (this.freeGen !== this.faultGen && !this.pteNoneStill(vpn)) {
      this.releaseAnonPage(pfn);
      return FAULT_RETRY;
    }
    this.pageTable.setEntry(vpn, 1, pfn, (vma.flags & VM_EXEC) !== 0 ? ANON_PTE : ANON_PTE | _PAGE_NX);
    this.rssAnon++;
    this.clock.advance(newTable ? this.costs.fault_write_new_table : this.costs.fault_write);
    this.stats.add(this.cPgfault);
    return 0;
  }

  /** vma_alloc_zeroed_movable_folio + mem_cgroup_charge; -1 on failure with nothing kept. */
  private allocAnonPage(zero: boolean): number {
    const pfn = this.allocator.allocPages(zero ? GFP_HIGHUSER_MOVABLE | __GFP_ZERO : GFP_HIGHUSER_MOVABLE, 0);
    if (pfn === null) return -1;
    if (!this.charger.charge(this.id, 'anon', 4096)) {
      this.allocator.freePages(pfn, 0);
      return -1;
    }
    return pfn;
  }

  /** do_wp_page: a write to a present read-only PTE in a writable VMA. */
  private doWpPage(vpn: Vpn, vma: Vma, fl: number): number {
    const pt = this.pageTable;
    const old = pt.entryPfn(vpn, 1);
    const nx = (vma.flags & VM_EXEC) !== 0 ? 0 : _PAGE_NX;
    if (old !== this.zeroPfn && !this.anon.isShared(old)) {
      // wp_can_reuse_anon_folio: the page is exclusive, make it writable in place.
      pt.setEntry(vpn, 1, old, fl | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
      if (this.anon.thpStored.size > 0 && !this.gupOnly) this.anon.markStored(old);
      this.clock.advance(this.costs.fault_read_zero);
      this.stats.add(this.cPgfault);
      return 0;
    }
    // wp_page_copy: a new page (zeroed when breaking COW from the zero page).
    if (vma.anonVma === 0) vma.anonVma = this.anon.nextAnonVma++;
    const pfn = this.allocAnonPage(old === this.zeroPfn);
    if (pfn < 0) return VM_FAULT_OOM;
    // wp_page_copy: the table may have gone (a zero-only table is reclaimable) or the entry changed (!pte_same).
    if (this.freeGen !== this.faultGen && (pt.entryPfn(vpn, 1) !== old || pt.entryFlags(vpn, 1) !== fl)) {
      this.releaseAnonPage(pfn);
      return FAULT_RETRY;
    }
    pt.setEntry(vpn, 1, pfn, ANON_PTE | nx);
    if (old === this.zeroPfn) this.rssAnon++;
    else this.anon.putPage(this.id, old);
    this.tlb.flushRange(this.id, vpn, vpn + 1, false, 1);
    this.clock.advance(this.costs.fault_write);
    this.stats.add(this.cPgfault);
    return 0;
  }

  /** do_huge_pmd_anonymous_page: the huge zero page for a read, a THP for a write; VM_FAULT_FALLBACK to use 4 KiB pages. */
  private doHugePmdAnonymousPage(vpn: Vpn, vma: Vma, write: boolean): number {
    if (vma.anonVma === 0) vma.anonVma = this.anon.nextAnonVma++; // vmf_anon_prepare runs first, even for reads
    const blk = vpn - (vpn % PMD_PAGES);
    if (!write && this.useHugeZeroPage) {
      if (this.hugeZeroPfn < 0) {
        this.stats.add(this.stats.slot('thp_fault_fallback'));
        return VM_FAULT_FALLBACK;
      }
      // set_huge_zero_folio: a PTE table is deposited for a later split (pgtable_trans_huge_deposit).
      const dep = this.allocTablePage(1);
      if (dep === null) return VM_FAULT_OOM;
      // do_huge_pmd_anonymous_page re-checks pmd_none under the PMD lock after pte_alloc_one.
      if (this.freeGen !== this.faultGen && !this.pmdNoneStill(blk)) {
        this.freeTablePage(dep, 1);
        return FAULT_RETRY;
      }
      this.pageTable.setEntry(blk, 2, this.hugeZeroPfn, (vma.flags & VM_EXEC) !== 0 ? HUGE_ZERO_PMD : HUGE_ZERO_PMD | _PAGE_NX);
      this.deposits.set(blk / PMD_PAGES, dep);
      this.mayHaveHuge = true;
      this.clock.advance(this.costs.fault_read_huge_zero);
      this.stats.add(this.cPgfault);
      this.stats.add(this.stats.slot('thp_zero_page_mapped'));
      return 0;
    }
    const r = this.installThp(blk, vma, true, vpn);
    if (r === 0) {
      this.clock.advance(this.costs.fault_write_thp);
      this.stats.add(this.cPgfault);
    }
    return r;
  }

  /**
   * Allocates, charges and maps a THP at `blk` (__do_huge_pmd_anonymous_page). With
   * `deposit`, a PTE table is deposited too. VM_FAULT_FALLBACK when the allocation or the
   * charge fails (THP_FAULT_FALLBACK / _CHARGE), VM_FAULT_OOM when the deposit fails.
   */
  private installThp(blk: Vpn, vma: Vma, deposit: boolean, vpn: Vpn): number {
    // vma_thp_gfp_mask with defrag=madvise: direct reclaim only for MADV_HUGEPAGE areas.
    const gfp = GFP_TRANSHUGE_LIGHT | ((vma.flags & VM_HUGEPAGE) !== 0 ? __GFP_DIRECT_RECLAIM : 0);
    const pfn = this.allocator.allocPages(gfp, 9);
    if (pfn === null) {
      this.stats.add(this.stats.slot('thp_fault_fallback'));
      return VM_FAULT_FALLBACK;
    }
    if (!this.charger.charge(this.id, 'anon', PMD_PAGES * 4096)) {
      this.allocator.freePages(pfn, 9);
      this.stats.add(this.stats.slot('thp_fault_fallback'));
      return VM_FAULT_FALLBACK;
    }
    let dep = -1;
    if (deposit) {
      this.curVpn = blk;
      const d = this.allocTablePage(1);
      if (d === null) {
        this.charger.uncharge(this.id, 'anon', PMD_PAGES * 4096);
        this.allocator.freePages(pfn, 9);
        return VM_FAULT_OOM;
      }
      dep = d;
    }
    // __do_huge_pmd_anonymous_page: pmd_lock, then `if (unlikely(!pmd_none(*vmf->pmd))) goto unlock_release`;
    // do_huge_zero_wp_pmd: `if (!pmd_same(pmdp_get(vmf->pmd), orig_pmd)) goto release`.
    if (this.freeGen !== this.faultGen) {
      const pt = this.pageTable;
      if (deposit ? !this.pmdNoneStill(blk) : pt.tableAt(blk, 1) >= 0 || pt.entryPfn(blk, 2) !== this.hugeZeroPfn) {
        if (dep >= 0) this.freeTablePage(dep, 1);
        this.charger.uncharge(this.id, 'anon', PMD_PAGES * 4096);
        this.allocator.freePages(pfn, 9);
        return FAULT_RETRY;
      }
    }
    if (dep >= 0) this.deposits.set(blk / PMD_PAGES, dep);
    this.pageTable.setEntry(blk, 2, pfn, (vma.flags & VM_EXEC) !== 0 ? ANON_PMD : ANON_PMD | _PAGE_NX);
    this.anon.newThp(pfn, this.gupOnly ? -1 : pfn + (vpn - blk));
    this.rssAnon += PMD_PAGES;
    this.mayHaveHuge = true;
    this.stats.add(this.stats.slot('thp_fault_alloc'));
    return 0;
  }

  /** A fault on a huge PMD: nothing for reads; for writes do_huge_zero_wp_pmd or do_huge_pmd_wp_page. */
  private hugePmdFault(vpn: Vpn, vma: Vma, write: boolean, pmd: number): number {
    if (!write) return 0;
    const pt = this.pageTable;
    const blk = vpn - (vpn % PMD_PAGES);
    const pfn = pt.entryPfn(blk, 2);
    if ((pmd & _PAGE_RW) !== 0) {
      if (!this.gupOnly) this.anon.markStored(pfn + (vpn - blk));
      return 0;
    }
    if (pfn === this.hugeZeroPfn) {
      if (this.profile.thpOnHugeZeroWrite) {
        // do_huge_zero_wp_pmd (v6.11+): a THP replaces the huge zero page; the deposited table stays.
        const r = this.installThp(blk, vma, false, vpn);
        if (r === FAULT_RETRY) return r;
        if (r === 0) {
          this.tlb.flushRange(this.id, blk, blk + PMD_PAGES, false, 2);
          this.clock.advance(this.costs.fault_write_thp); // do_huge_zero_wp_pmd allocates and zeroes a THP too
          this.stats.add(this.cPgfault);
          return 0;
        }
      }
      this.splitHugePmd(blk);
      return this.doWpPage(vpn, vma, pt.entryFlags(vpn, 1));
    }
    if (!this.anon.isShared(pfn)) {
      pt.setEntry(blk, 2, pfn, pmd | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
      if (!this.gupOnly) this.anon.markStored(pfn + (vpn - blk));
      this.clock.advance(this.costs.fault_read_zero);
      this.stats.add(this.cPgfault);
      return 0;
    }
    // do_huge_pmd_wp_page on a shared THP: split the PMD and COW one 4 KiB page.
    this.splitHugePmd(blk);
    return this.doWpPage(vpn, vma, pt.entryFlags(vpn, 1));
  }

  /**
   * __split_huge_pmd: the deposited PTE table is withdrawn into the tree and filled with 512
   * PTEs (4 KiB zero pages for the huge zero page, the subpages for a THP). Table counts and
   * RSS do not change.
   */
  private splitHugePmd(blk: Vpn): void {
    const pt = this.pageTable;
    const pfn = pt.entryPfn(blk, 2);
    const flags = pt.entryFlags(blk, 2);
    const key = blk / PMD_PAGES;
    const dep = this.deposits.get(key);
    if (dep === undefined) throw new Error(`internal: huge PMD at vpn ${blk} has no deposited table`);
    this.deposits.delete(key);
    pt.clearEntry(blk, 2);
    this.withdrawPfn = dep;
    this.curVpn = blk;
    pt.allocTable(blk, 1);
    this.withdrawPfn = -1;
    const nx = flags & _PAGE_NX;
    if (pfn === this.hugeZeroPfn) {
      for (let i = 0; i < PMD_PAGES; i++) pt.setEntry(blk + i, 1, this.zeroPfn, ZERO_PTE | nx);
    } else {
      const f = (flags & ~_PAGE_PSE) & 0xfff | nx;
      for (let i = 0; i < PMD_PAGES; i++) pt.setEntry(blk + i, 1, pfn + i, f);
    }
    this.stats.add(this.stats.slot('thp_split_pmd'));
  }

  /** Splits the huge PMD covering `vpn`, if there is one. */
  private splitIfHuge(vpn: Vpn): void {
    const pt = this.pageTable;
    if (pt.tableAt(vpn, 1) < 0 && (pt.entryFlags(vpn, 2) & _PAGE_PSE) !== 0) this.splitHugePmd(vpn - (vpn % PMD_PAGES));
  }

  // ------------------------------------------------------------------ zap

  /** zapRange visitor: account one cleared leaf. */
  private zapOne(vpn: Vpn, level: Level, pfn: Pfn): void {
    if (level === 1) {
      if (pfn === this.zeroPfn) {
        this.zapZero++;
        return;
      }
      this.rssAnon--;
      this.zapAnon++;
      this.anon.putPage(this.id, pfn);
      return;
    }
    // zap_huge_pmd: the deposited table goes with the PMD (zap_deposited_table).
    const key = vpn / PMD_PAGES;
    const dep = this.deposits.get(key);
    if (dep !== undefined) {
      this.deposits.delete(key);
      this.freeTablePage(dep, 1);
      this.zapTablesFreed++;
    }
    if (pfn === this.hugeZeroPfn) return;
    this.rssAnon -= PMD_PAGES;
    this.zapAnon += PMD_PAGES;
    this.anon.putThpPmd(this.id, pfn);
  }

  /**
   * unmap_page_range over `[start, end)` inside one VMA: huge PMDs cut by the range are split
   * first (zap_pmd_range), then every leaf is cleared and its page released.
   */
  private zapInVma(start: Vpn, end: Vpn): void {
    this.splitHugeEdges(start, end);
    this.pageTable.zapRange(start, end, this.zapVisit);
  }

  /** zap_pmd_range's split of the huge PMDs that `[start, end)` cuts at either edge. */
  private splitHugeEdges(start: Vpn, end: Vpn): void {
    if (this.mayHaveHuge) {
      if (start % PMD_PAGES !== 0) this.splitIfHuge(start);
      if (end % PMD_PAGES !== 0) this.splitIfHuge(end - 1);
    }
  }

  /**
   * MADV_DONTNEED over `[start, end)` inside one VMA; returns the PTE tables PT_RECLAIM freed.
   * With PT_RECLAIM the zap and the table frees go in one pass when the page table offers
   * zapRangeReclaimPt, else zapRange then reclaimEmptyPteTables. Either way every table goes
   * through `freeTablePage` (the TableAllocator mm hands the page table), so nr_ptes, the
   * 'pagetables' charge and the onTableFree hook are accounted there.
   */
  private dontneedInVma(start: Vpn, end: Vpn): number {
    const pt = this.pageTable;
    if (!this.profile.ptReclaimOnDontneed) {
      this.zapInVma(start, end);
      return 0;
    }
    if (pt.zapRangeReclaimPt === undefined) {
      this.zapInVma(start, end);
      return this.reclaimEmptyPteTables(start, end);
    }
    this.splitHugeEdges(start, end);
    return pt.zapRangeReclaimPt(start, end, this.zapVisit);
  }

  /**
   * PT_RECLAIM after a DONTNEED zap of `[start, end)` in one VMA: every PTE table whose whole
   * 2 MiB span lies in the range and that holds no entry is cleared from its PMD and freed
   * (zap_pte_range with reclaim_pt: reclaim_pt_is_enabled needs end - start >= PMD_SIZE for
   * that table; try_get_and_clear_pmd; free_pte). PMD tables are never freed here.
   */
  private reclaimEmptyPteTables(start: Vpn, end: Vpn): number {
    const first = Math.ceil(start / PMD_PAGES) * PMD_PAGES;
    const last = end - (end % PMD_PAGES);
    if (first >= last) return 0;
    // freePgtables frees the empty tables whose span lies inside [floor, ceiling). Calls are cut
    // so that no PMD (1 GiB) or PUD span ever lies inside, which keeps every upper table.
    const pt = this.pageTable;
    let n = 0;
    for (let s = first; s < last; ) {
      const chunkEnd = Math.min(last, (Math.floor(s / PUD_PAGES) + 1) * PUD_PAGES);
      if (s % PUD_PAGES === 0 && chunkEnd - s === PUD_PAGES) {
        n += pt.freePgtables(s, chunkEnd - PMD_PAGES, s, chunkEnd - PMD_PAGES)[1];
        n += pt.freePgtables(chunkEnd - PMD_PAGES, chunkEnd, chunkEnd - PMD_PAGES, chunkEnd)[1];
      } else n += pt.freePgtables(s, chunkEnd, s, chunkEnd)[1];
      s = chunkEnd;
    }
    return n;
  }

  // ------------------------------------------------------------------ validation helpers

  private failExited(): never {
    return fail(E.Exited, `address space ${show(this.id)} (${this.name}) has exited`, { mm: this.id });
  }

  /** Validates `[vpn, vpn + pages)`: integers, inside the user address space. */
  private checkRange(vpn: Vpn, pages: number, what: string, errno: string): void {
    if (this.dead) this.failExited();
    if (!Number.isSafeInteger(vpn) || vpn < 0) fail(CoreErrorCode.NotAnInteger, `${what}: vpn ${show(vpn)} must be a non-negative integer page number`, { value: vpn });
    checkPages(pages);
    if (vpn + pages > this.taskSize)
      fail(E.AddressRange, `${what}: [${show(vpn)}, +${show(pages)} pages) leaves the user address space (TASK_SIZE = vpn ${show(this.taskSize)})`, { vpn, pages, errno });
  }

  // ------------------------------------------------------------------ mmap

  /**
   * mmap(MAP_PRIVATE | MAP_ANONYMOUS): returns the first page of the new mapping.
   * Placement follows arch_get_unmapped_area_topdown: a free hint is used as is; otherwise
   * the highest free gap below the mmap base, 2 MiB aligned when the length is a multiple of
   * 2 MiB (__get_unmapped_area → thp_get_unmapped_area_vmflags, v6.7+ with the v6.13 rule).
   * The new area merges with equal neighbours (vma_merge_new_range).
   *
   * Errors: E_ZERO_LENGTH, E_BAD_PROT, E_BAD_ALIGN (EINVAL); E_ADDRESS_RANGE, E_NO_SPACE,
   * E_MAP_COUNT (ENOMEM); E_MAPPING_EXISTS (EEXIST); E_BELOW_MMAP_MIN_ADDR (EPERM).
   */
  mmap(req: MmapRequest): Vpn {
    if (this.dead) this.failExited();
    const pages = req.pages;
    if (pages === 0) fail(E.ZeroLength, 'mmap of 0 pages: the length must be at least one page', { errno: 'EINVAL' });
    checkPages(pages);
    const prot = req.prot ?? PROT_READ | PROT_WRITE;
    checkProt(prot);
    const align = req.align ?? 1;
    if (!(Number.isSafeInteger(align) && align >= 1 && (align & (align - 1)) === 0 && align <= 2 ** 30))
      fail(E.BadAlign, `alignment ${show(align)} must be a power-of-two number of pages`, { value: align, errno: 'EINVAL' });
    if (pages > this.taskSize) fail(E.AddressRange, `mmap of ${show(pages)} pages exceeds TASK_SIZE`, { pages, errno: 'ENOMEM' });
    let start: Vpn;
    if (req.fixedNoreplace) {
      const addr = req.addr;
      if (addr === undefined) fail(E.AddressRange, 'MAP_FIXED_NOREPLACE needs an address', { errno: 'EINVAL' });
      if (!Number.isSafeInteger(addr) || addr < 0) fail(CoreErrorCode.NotAnInteger, `mmap: vpn ${show(addr)} must be a non-negative integer page number`, { value: addr });
      if (addr + pages > this.taskSize)
        fail(E.AddressRange, `mmap: [${show(addr)}, +${show(pages)} pages) leaves the user address space (TASK_SIZE = vpn ${show(this.taskSize)})`, { vpn: addr, pages, errno: 'ENOMEM' });
      if (addr < this.mmapMinAddr) fail(E.BelowMinAddr, `mmap: vpn ${show(addr)} lies below vm.mmap_min_addr (vpn ${show(this.mmapMinAddr)})`, { vpn: addr, errno: 'EPERM' });
      if (this.vmaList.intersects(addr, addr + pages))
        fail(E.MappingExists, `mmap: [${show(addr)}, +${show(pages)} pages) overlaps an existing mapping (MAP_FIXED_NOREPLACE)`, { vpn: addr, pages, errno: 'EEXIST' });
      start = addr;
    } else {
      start = getUnmappedArea(this.vmaList, this.layout, req.addr, pages, align);
    }
    const flags = prot | (req.noreserve ? VM_NORESERVE : 0);
    const lockStart = this.mmapLock.enter(true);
    const vma = new Vma(start, start + pages, flags, 0);
    const i = this.vmaList.indexAfter(start);
    const prev = i > 0 ? this.vmaList.list[i - 1]! : null;
    const next = this.vmaList.list[i] ?? null;
    const mergePrev = prev !== null && canMerge(prev, vma);
    const mergeNext = next !== null && canMerge(vma, next) && (!mergePrev || anonCompatible(prev!, next));
    if (!mergePrev && !mergeNext && this.vmaList.length >= this.maxMapCount) {
      this.mmapLock.exitWrite(lockStart);
      fail(E.MapCount, `mmap would exceed vm.max_map_count (${this.maxMapCount}) areas`, { errno: 'ENOMEM' });
    }
    if (mergePrev && mergeNext) {
      prev!.end = next!.end;
      if (prev!.anonVma === 0) prev!.anonVma = next!.anonVma;
      this.vmaList.splice(i, 1);
    } else if (mergePrev) {
      prev!.end = vma.end;
      this.vmaList.invalidate();
    } else if (mergeNext) {
      next!.start = start;
      this.vmaList.invalidate();
    } else this.vmaList.splice(i, 0, vma);
    this.mmapLock.exitWrite(lockStart);
    if (req.populate) {
      // populate_vma_page_range: writable private mappings are populated with write faults. Errors are ignored (mm_populate).
      const write = (prot & PROT_WRITE) !== 0;
      this.gupOnly = true;
      try {
        for (let v = start; v < start + pages; v++) if (this.fault(v, write) !== 0) break;
      } finally {
        this.gupOnly = false;
      }
      this.returnToUser();
    }
    return start;
  }

  // ------------------------------------------------------------------ VMA split / merge

  /**
   * __split_vma at `at` for the VMA at `index`; huge PMDs that the new boundary cuts are split
   * (vma_adjust_trans_huge). Callers check vm.max_map_count first (split_vma does for
   * mprotect / madvise; munmap checks only a split in the middle of one area).
   */
  private splitVmaAt(index: number, at: Vpn): void {
    const v = this.vmaList.list[index]!;
    if (this.mayHaveHuge && at % PMD_PAGES !== 0) this.splitIfHuge(at);
    const tail = new Vma(at, v.end, v.flags, v.anonVma);
    v.end = at;
    this.vmaList.splice(index + 1, 0, tail);
  }

  /**
   * vma_modify_flags over `[start, end)` of the VMA at `index`: split off the parts outside
   * the range, set the flags, merge with equal neighbours. Returns the index of the VMA that
   * now holds the range.
   */
  private modifyFlags(index: number, start: Vpn, end: Vpn, flags: number): number {
    let v = this.vmaList.list[index]!;
    const splits = (v.start < start ? 1 : 0) + (v.end > end ? 1 : 0);
    if (splits > 0 && this.vmaList.length + splits > this.maxMapCount)
      fail(E.MapCount, `changing [${show(start)}, ${show(end)}) would exceed vm.max_map_count (${this.maxMapCount})`, { errno: 'ENOMEM' });
    if (v.start < start) {
      this.splitVmaAt(index, start);
      index++;
      v = this.vmaList.list[index]!;
    }
    if (v.end > end) this.splitVmaAt(index, end);
    v.flags = flags;
    this.vmaList.invalidate();
    const list = this.vmaList.list;
    const next = list[index + 1];
    if (next !== undefined && canMerge(v, next)) {
      v.end = next.end;
      if (v.anonVma === 0) v.anonVma = next.anonVma;
      this.vmaList.splice(index + 1, 1);
    }
    const prev = index > 0 ? list[index - 1] : undefined;
    if (prev !== undefined && canMerge(prev, v)) {
      prev.end = v.end;
      if (prev.anonVma === 0) prev.anonVma = v.anonVma;
      this.vmaList.splice(index, 1);
      index--;
    }
    return index;
  }

  // ------------------------------------------------------------------ munmap

  /**
   * munmap(vpn, pages): any page-aligned range; holes are fine. VMAs are split at the ends,
   * their pages zapped, and page tables freed by free_pgtables with the floor / ceiling of
   * the neighbouring VMAs (prev->vm_end, next->vm_start), so a table shared with a
   * remaining neighbour stays.
   *
   * Errors: E_ZERO_LENGTH, E_ADDRESS_RANGE (EINVAL); E_MAP_COUNT (ENOMEM) when the split in
   * the middle of an area would exceed vm.max_map_count.
   */
  munmap(vpn: Vpn, pages: number): void {
    if (pages === 0 && !this.dead) fail(E.ZeroLength, 'munmap of 0 pages: the length must be at least one page', { errno: 'EINVAL' });
    this.checkRange(vpn, pages, 'munmap', 'EINVAL');
    const end = vpn + pages;
    const vl = this.vmaList;
    let i = vl.indexAfter(vpn);
    const first = vl.list[i];
    if (first === undefined || first.start >= end) return;
    // do_vmi_align_munmap: only a split strictly inside one VMA adds an area.
    if (first.start < vpn && end < first.end && vl.length >= this.maxMapCount)
      fail(E.MapCount, `munmap would split an area and exceed vm.max_map_count (${this.maxMapCount})`, { errno: 'ENOMEM' });
    const lockStart = this.mmapLock.enter(true);
    if (first.start < vpn) {
      this.splitVmaAt(i, vpn);
      i++;
    }
    let j = i;
    while (j < vl.list.length && vl.list[j]!.start < end) j++;
    const last = vl.list[j - 1]!;
    if (last.end > end) this.splitVmaAt(j - 1, end);
    const removed = vl.list.slice(i, j);
    const prev = i > 0 ? vl.list[i - 1]! : null;
    const next = vl.list[j] ?? null;
    const freedBefore = this.nrPtes + this.nrPmds + this.nrPuds;
    this.zapAnon = 0;
    this.zapZero = 0;
    for (const v of removed) this.zapInVma(v.start, v.end);
    this.freePgtables(removed, prev === null ? 0 : prev.end, next === null ? 0 : next.start);
    vl.splice(i, j - i);
    const tablesFreed = freedBefore - (this.nrPtes + this.nrPmds + this.nrPuds);
    const c = this.clock;
    c.charge('munmap_per_anon_page', this.zapAnon);
    c.charge('munmap_per_zero_entry', this.zapZero);
    c.charge('munmap_per_table_freed', tablesFreed);
    // tlb_finish_mmu flushes only when something was gathered.
    if (this.zapAnon + this.zapZero + tablesFreed > 0) this.tlb.flushRange(this.id, vpn, end, tablesFreed > 0, 1);
    this.mmapLock.exitWrite(lockStart);
    this.hooks.afterZap?.(this, vpn, end, 'munmap');
  }

  /**
   * free_pgtables (mm/memory.c): VMAs no more than PMD_SIZE apart are gathered into one
   * free_pgd_range call; `floor` / `ceiling` bound what may go (0 = no bound).
   */
  private freePgtables(vmas: Vma[], floor: Vpn, ceiling: Vpn): void {
    const pt = this.pageTable;
    let k = 0;
    while (k < vmas.length) {
      const start = vmas[k]!.start;
      let end = vmas[k]!.end;
      while (k + 1 < vmas.length && vmas[k + 1]!.start <= end + PMD_PAGES) end = vmas[++k]!.end;
      k++;
      const nextStart = k < vmas.length ? vmas[k]!.start : ceiling;
      pt.freePgtables(start, end, floor, nextStart);
    }
  }

  // ------------------------------------------------------------------ mprotect

  /**
   * mprotect(vpn, pages, prot). Zero pages is a no-op (as in the kernel). Over a hole the
   * areas before the hole are changed and E_UNMAPPED (ENOMEM) is thrown, as mprotect does.
   * Entries are rewritten (change_protection): PROT_NONE entries keep their page with the
   * present bit cleared; removing write clears RW; adding write makes exclusive anonymous
   * pages writable (can_change_pte_writable), never the zero page.
   *
   * Errors: E_BAD_PROT (EINVAL), E_ADDRESS_RANGE / E_UNMAPPED / E_MAP_COUNT (ENOMEM).
   */
  mprotect(vpn: Vpn, pages: number, prot: number): void {
    this.checkRange(vpn, pages, 'mprotect', 'ENOMEM');
    checkProt(prot);
    if (pages === 0) return;
    const end = vpn + pages;
    const vl = this.vmaList;
    const firstVma = vl.list[vl.indexAfter(vpn)];
    if (firstVma === undefined || firstVma.start > vpn)
      fail(E.Unmapped, `mprotect: vpn ${show(vpn)} is not mapped`, { vpn, errno: 'ENOMEM' });
    const lockStart = this.mmapLock.enter(true);
    try {
      let cursor = vpn;
      while (cursor < end) {
        const i = vl.indexAfter(cursor);
        const v = vl.list[i];
        if (v === undefined || v.start > cursor)
          fail(E.Unmapped, `mprotect: [${show(cursor)}, ${show(end)}) is not wholly mapped`, { vpn: cursor, errno: 'ENOMEM' });
        const e = Math.min(end, v.end);
        const newFlags = (v.flags & ~VM_ACCESS) | prot;
        if (newFlags !== v.flags) {
          this.modifyFlags(i, cursor, e, newFlags);
          this.changeProtection(cursor, e, prot);
        }
        cursor = e;
      }
    } finally {
      this.mmapLock.exitWrite(lockStart);
    }
  }

  /** change_protection over [start, end) of one (already flag-changed) VMA. */
  private changeProtection(start: Vpn, end: Vpn, prot: number): void {
    if (this.mayHaveHuge) {
      if (start % PMD_PAGES !== 0) this.splitIfHuge(start);
      if (end % PMD_PAGES !== 0) this.splitIfHuge(end - 1);
    }
    this.collectLeaves(start, end);
    const pt = this.pageTable;
    const n = this.scratchVpn.length;
    let changed = false;
    for (let k = 0; k < n; k++) {
      const vpn = this.scratchVpn[k]!;
      const level = this.scratchLevel[k]! as Level;
      const pfn = this.scratchPfn[k]!;
      const old = this.scratchFlags[k]!;
      let f = old;
      if (prot === 0) f = (f & ~_PAGE_PRESENT) | PROTNONE;
      else {
        if ((f & _PAGE_PRESENT) === 0) f = (f & ~PROTNONE) | _PAGE_PRESENT;
        const exclusiveAnon = pfn !== this.zeroPfn && pfn !== this.hugeZeroPfn && !this.anon.isShared(pfn);
        if ((prot & PROT_WRITE) === 0) f &= ~_PAGE_RW;
        else if (exclusiveAnon) f |= _PAGE_RW; // can_change_pte_writable: PageAnonExclusive
        f = (prot & PROT_EXEC) !== 0 ? f & ~_PAGE_NX : f | _PAGE_NX;
      }
      if (f !== old) {
        pt.setEntry(vpn, level, pfn, f);
        changed = true;
      }
    }
    this.clearScratch();
    if (changed) this.tlb.flushRange(this.id, start, end, false, 1);
  }

  private collectLeaves(start: Vpn, end: Vpn): void {
    this.clearScratch();
    this.pageTable.walk(start, end, this.leafOps);
  }

  private clearScratch(): void {
    this.scratchVpn.length = 0;
    this.scratchPfn.length = 0;
    this.scratchFlags.length = 0;
    this.scratchLevel.length = 0;
  }

  // ------------------------------------------------------------------ madvise

  /**
   * madvise(vpn, pages, advice). Zero pages is a no-op (as in the kernel). The advice is
   * applied to every mapped part of the range; if the range has holes, E_UNMAPPED (ENOMEM)
   * is thrown afterwards, as madvise_walk_vmas does.
   *
   * - `dontneed`: zap; with PT_RECLAIM (profile `linux-6.18`) each PTE table whose whole
   *   2 MiB span lies inside the per-VMA zap and is empty afterwards is freed. PMD tables stay.
   * - `free`: lazy free. Without memory pressure the mappings, RSS and tables stay; the
   *   pages are marked clean. A THP cut by the range is split.
   * - `hugepage` / `nohugepage`: VM_HUGEPAGE / VM_NOHUGEPAGE with VMA split and merge.
   * - `populate_read` / `populate_write`: fault the range in, in address order, stopping at
   *   the first hole (E_UNMAPPED, ENOMEM), the first area that forbids the access
   *   (E_POPULATE_ACCESS, EINVAL) or when memory runs out (E_OOM), as madvise_populate does.
   */
  madvise(vpn: Vpn, pages: number, advice: Advice | number): void {
    const adv = typeof advice === 'number' ? ADVICE_BY_NUMBER[advice] : advice;
    if (adv === undefined || !ADVICES.has(adv))
      fail(E.BadAdvice, `unknown madvise advice ${show(advice)}; expected one of ${[...ADVICES].join(', ')}`, { value: advice, errno: 'EINVAL' });
    this.checkRange(vpn, pages, 'madvise', 'ENOMEM');
    if (pages === 0) return;
    const end = vpn + pages;
    const vl = this.vmaList;
    if (vl.indexAfter(vpn) >= vl.length) fail(E.Unmapped, `madvise: no mapping at or above vpn ${show(vpn)}`, { vpn, errno: 'ENOMEM' });
    const write = adv === 'hugepage' || adv === 'nohugepage';
    const lockStart = this.mmapLock.enter(write, adv === 'dontneed' || adv === 'free');
    let hole = false;
    let freedTables = 0;
    this.zapAnon = 0;
    this.zapZero = 0;
    let cursor = vpn;
    try {
      while (cursor < end) {
        const i = vl.indexAfter(cursor);
        const v = vl.list[i];
        if (v === undefined || v.start >= end) {
          hole = true;
          break;
        }
        if (v.start > cursor) {
          hole = true;
          // madvise_populate (GUP) stops at the first hole; the other advice skips it.
          if (adv === 'populate_read' || adv === 'populate_write') break;
          cursor = v.start;
        }
        const e = Math.min(end, v.end);
        switch (adv) {
          case 'dontneed':
            freedTables += this.dontneedInVma(cursor, e);
            break;
          case 'free':
            this.madviseFree(cursor, e);
            break;
          case 'hugepage':
          case 'nohugepage': {
            const nf = adv === 'hugepage' ? (v.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE : (v.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
            if (nf !== v.flags) this.modifyFlags(i, cursor, e, nf);
            break;
          }
          default:
            this.populate(v, cursor, e, adv === 'populate_write');
        }
        cursor = e;
      }
    } finally {
      if (write) this.mmapLock.exitWrite(lockStart);
      if (adv === 'dontneed' || adv === 'free') {
        const c = this.clock;
        c.charge('dontneed_per_table_freed', freedTables);
        c.charge('munmap_per_anon_page', this.zapAnon);
        c.charge('munmap_per_zero_entry', this.zapZero);
        if (freedTables > 0) {
          this.stats.add(this.stats.slot('pt_reclaim.pte_tables_freed'), freedTables);
          this.stats.add(this.stats.slot('pt_reclaim.bytes_freed'), freedTables * TABLE_BYTES);
        }
        if (adv === 'dontneed' && (this.zapAnon > 0 || this.zapZero > 0 || freedTables > 0)) this.tlb.flushRange(this.id, vpn, end, freedTables > 0, 1);
      }
      // MADV_POPULATE_* charged through GUP faults; the syscall returns to user mode once, error or not.
      if (adv === 'populate_read' || adv === 'populate_write') this.returnToUser();
    }
    if (adv === 'dontneed' || adv === 'free') this.hooks.afterZap?.(this, vpn, end, adv);
    if (hole) fail(E.Unmapped, `madvise: [${show(vpn)}, +${show(pages)} pages) is not wholly mapped; the mapped parts were advised`, { vpn, pages, errno: 'ENOMEM' });
  }

  /** madvise_free_single_vma without memory pressure: anonymous pages are marked clean and old; nothing is unmapped. */
  private madviseFree(start: Vpn, end: Vpn): void {
    const pt = this.pageTable;
    if (this.mayHaveHuge) {
      // madvise_free_huge_pmd: an exclusive THP cut by the range is split (split_folio), the
      // huge zero page and shared THPs are left alone.
      if (start % PMD_PAGES !== 0) this.freeSplitPmd(start);
      if (end % PMD_PAGES !== 0) this.freeSplitPmd(end - 1);
    }
    this.collectLeaves(start, end);
    const a = this.anon;
    let split = false;
    for (let k = 0; k < this.scratchVpn.length; k++) {
      const pfn = this.scratchPfn[k]!;
      const vpn = this.scratchVpn[k]!;
      if (pfn === this.zeroPfn || pfn === this.hugeZeroPfn || a.isShared(pfn)) continue;
      if (this.scratchLevel[k] === 1 && a.thp.size > 0) {
        // madvise_free_pte_range: a PTE-mapped large folio not wholly inside the range is split.
        const head = pfn - (pfn % PMD_PAGES);
        if (a.thp.has(head) && !a.thpSplit.has(head)) {
          const fstart = vpn - (pfn - head);
          if (fstart < start || fstart + PMD_PAGES > end || !this.mapsWholeFolio(fstart, head)) {
            this.splitFolio(fstart, head);
            split = true;
          }
        }
      }
      // A split in this call (of this leaf's folio or an earlier one's) remapped its zero-filled
      // subpages to the zero page and may have freed the folio: the collected PFN is stale then.
      if (split && this.scratchLevel[k] === 1 && pt.entryPfn(vpn, 1) !== pfn) continue;
      const f = pt.entryFlags(vpn, this.scratchLevel[k]! as Level);
      if ((f & (_PAGE_DIRTY | _PAGE_ACCESSED)) !== 0) pt.setEntry(vpn, this.scratchLevel[k]! as Level, pfn, f & ~(_PAGE_DIRTY | _PAGE_ACCESSED));
    }
    this.clearScratch();
  }

  /** A PMD-mapped exclusive THP covering `vpn`: split the PMD, then the folio. */
  private freeSplitPmd(vpn: Vpn): void {
    const pt = this.pageTable;
    if (pt.tableAt(vpn, 1) >= 0 || (pt.entryFlags(vpn, 2) & _PAGE_PSE) === 0) return;
    const head = pt.entryPfn(vpn, 2);
    if (head === this.hugeZeroPfn || this.anon.isShared(head)) return; // folio_maybe_mapped_shared
    const blk = vpn - (vpn % PMD_PAGES);
    this.splitHugePmd(blk);
    this.splitFolio(blk, head);
  }

  /** True when all 512 PTEs from `fstart` map the folio at `head` in order. */
  private mapsWholeFolio(fstart: Vpn, head: Pfn): boolean {
    const pt = this.pageTable;
    for (let i = 0; i < PMD_PAGES; i++) if (pt.entryPfn(fstart + i, 1) !== head + i) return false;
    return true;
  }

  /**
   * split_folio of an exclusive anonymous THP mapped by PTEs from `fstart`: every mapped
   * subpage that no store reached is still zero-filled and is mapped to the shared zero page
   * instead (remap_page with RMP_USE_SHARED_ZEROPAGE, v6.12+), leaving RSS. The 2 MiB block
   * itself goes back to the allocator when its last subpage is unmapped.
   */
  private splitFolio(fstart: Vpn, head: Pfn): void {
    const pt = this.pageTable;
    const a = this.anon;
    if (a.isShared(head)) return;
    a.thpSplit.add(head);
    for (let i = 0; i < PMD_PAGES; i++) {
      const vpn = fstart + i;
      if (pt.entryPfn(vpn, 1) !== head + i || a.stored(head, head + i)) continue;
      const f = pt.entryFlags(vpn, 1);
      pt.setEntry(vpn, 1, this.zeroPfn, ZERO_PTE | (f & _PAGE_NX));
      this.rssAnon--;
      a.putPage(this.id, head + i);
    }
  }

  /** madvise_populate over [start, end) of `vma` (GUP faultin_page_range). */
  private populate(vma: Vma, start: Vpn, end: Vpn, write: boolean): void {
    const f = vma.flags;
    if (write ? (f & VM_WRITE) === 0 : (f & VM_ACCESS) === 0)
      fail(E.PopulateAccess, `MADV_POPULATE_${write ? 'WRITE' : 'READ'}: the area at vpn ${show(vma.start)} does not allow ${write ? 'writes' : 'reads'}`, { vpn: start, errno: 'EINVAL' });
    const pt = this.pageTable;
    let v = start;
    while (v < end) {
      this.gupOnly = true;
      let r: number;
      try {
        r = this.fault(v, write);
      } finally {
        this.gupOnly = false;
      }
      if (r !== 0) fail(E.OutOfMemory, `MADV_POPULATE: out of memory at vpn ${show(v)}`, { vpn: v, errno: 'ENOMEM' });
      // A huge PMD satisfies the rest of its 2 MiB at once.
      if (this.mayHaveHuge && pt.tableAt(v, 1) < 0 && (pt.entryFlags(v, 2) & _PAGE_PSE) !== 0) v = v - (v % PMD_PAGES) + PMD_PAGES;
      else v++;
    }
  }

  // ------------------------------------------------------------------ reclaim interface

  /**
   * Frees the PTE table covering `vpn` if it holds no entry, or (with `allowZeroPages`) only
   * shared-zero-page entries, which are cleared first. Full accounting: nr_ptes,
   * pgtables_bytes, the memcg uncharge, a TLB flush with freed tables. RSS is unchanged
   * (zero pages are not in RSS). Huge PMDs and missing tables are left alone. The work is
   * modelled as a background mmap_lock hold (see `options.lock`). Returns whether it freed.
   */
  tryFreePteTable(vpn: Vpn, options: TryFreePteTableOptions): boolean {
    if (this.dead) return false;
    if (!Number.isSafeInteger(vpn) || vpn < 0 || vpn >= this.taskSize)
      fail(E.AddressRange, `tryFreePteTable: vpn ${show(vpn)} is outside the user address space`, { vpn });
    const pt = this.pageTable;
    const zc = this.zeroCount;
    const blk = vpn - (vpn % PMD_PAGES);
    const present = pt.presentCount(blk, 1);
    if (present < 0) return false;
    const costs = this.clock.costs;
    let scanned = 0;
    if (present > 0) {
      if (!options.allowZeroPages) return false;
      // The model's cost is the kernel's scan of the 512 entries up to the first that blocks.
      // With an observer the host knows a zero-only table from its zero count; otherwise, or
      // for a table that is not one, the present entries are walked up to the first that
      // blocks (where the kernel's scan would stop).
      if (zc === null || zc.counts[pt.tableAt(blk, 1)] !== present) {
        this.zeroScanBad = -1;
        pt.walk(blk, blk + PMD_PAGES, this.zeroScanOps);
        if (this.zeroScanBad >= 0) {
          // A page other than the zero page, or a non-present entry (PROT_NONE zero page, marker).
          scanned = this.zeroScanBad - blk + 1;
          this.stats.add(this.stats.slot('pt_reclaim.entries_scanned'), scanned);
          this.holdLock(options, scanned * costs.pte_scan_entry);
          return false;
        }
      }
      scanned = PMD_PAGES;
      // Every entry is the zero page (nothing to account): they go with the table, whose
      // observer hears tableFree (the PageTable contract's freePteTable).
    }
    pt.freePteTable(blk);
    this.tlb.flushRange(this.id, blk, blk + PMD_PAGES, true, 1);
    this.stats.add(this.stats.slot('pt_reclaim.entries_scanned'), scanned);
    this.stats.add(this.stats.slot('pt_reclaim.pte_tables_freed'));
    this.stats.add(this.stats.slot('pt_reclaim.bytes_freed'), TABLE_BYTES);
    this.holdLock(options, scanned * costs.pte_scan_entry + costs.dontneed_per_table_freed);
    return true;
  }

  private holdLock(options: TryFreePteTableOptions, ns: number): void {
    const lock = options.lock ?? 'write';
    if (lock === 'write') this.mmapLock.writeBackground(ns, false);
    else if (lock === 'read') this.mmapLock.readAcquisitions++;
  }

  /** The VMAs in address order (read-only views). */
  *vmas(): IterableIterator<VmaInfo> {
    for (const v of this.vmaList.list) yield { start: v.start, end: v.end, flags: v.flags, hasAnonVma: v.anonVma !== 0 };
  }

  /** Number of VMAs (map_count). */
  get mapCount(): number {
    return this.vmaList.length;
  }

  /** The VMA containing `vpn`, or null. */
  vmaAt(vpn: Vpn): VmaInfo | null {
    const v = this.vmaList.find(vpn);
    return v === null ? null : { start: v.start, end: v.end, flags: v.flags, hasAnonVma: v.anonVma !== 0 };
  }

  // ------------------------------------------------------------------ fork / exit

  /**
   * fork: a new address space `childId` with copies of every VMA. Page tables are copied
   * (copy_page_range) only for VMAs with an anon_vma (vma_needs_copy: the others are filled
   * again by faults); anonymous pages become shared and read-only in both (COW); zero-page
   * entries and huge zero PMDs are copied (with a new deposited table). Throws E_OOM if a
   * table cannot be allocated; the child is then torn down.
   */
  fork(childId: MmId, options: { name?: string; observer?: EntryObserver; hooks?: MmHooks } = {}): AddressSpace {
    if (this.dead) this.failExited();
    const o = this.options;
    const childOptions: AddressSpaceOptions = { ...o, id: childId, name: options.name ?? this.name, profile: this.profile, clock: this.clock, thp: this.thp };
    delete childOptions.observer;
    if (options.observer !== undefined) childOptions.observer = options.observer;
    if (options.hooks !== undefined) childOptions.hooks = options.hooks;
    forkFamily = this.anon;
    let child: AddressSpace;
    try {
      child = new AddressSpace(childOptions);
    } finally {
      forkFamily = null;
    }
    const lockStart = this.mmapLock.enter(true);
    try {
      for (const v of this.vmaList.list) {
        child.vmaList.list.push(new Vma(v.start, v.end, v.flags, v.anonVma));
        if (v.anonVma !== 0 && !this.copyPageRange(child, v)) {
          child.exit();
          fail(E.OutOfMemory, `fork: out of memory copying the page tables of [${show(v.start)}, ${show(v.end)})`, { errno: 'ENOMEM' });
        }
      }
      child.rssAnon = child.rssAnonCopied;
      child.mayHaveHuge = this.mayHaveHuge;
      child.oomScoreAdj = this.oomScoreAdj;
      this.tlb.flushAll(this.id);
    } finally {
      this.mmapLock.exitWrite(lockStart);
    }
    return child;
  }

  private rssAnonCopied = 0;

  /**
   * `pageTable.allocTable` for `vpn`, with `vpn` known to the table-allocation hooks. A charge
   * inside it may reclaim and free the parent it is hooked into; the page table re-checks the
   * parent after allocating (the PageTable contract's pmd_install rule), so no retry is needed here.
   */
  private allocTableAt(vpn: Vpn, level: Level): boolean {
    this.curVpn = vpn;
    return this.pageTable.allocTable(vpn, level);
  }

  /**
   * copy_page_range for one VMA: mirror the tables, copy the leaves, write-protect anonymous
   * pages. The parent is walked first with no allocation (a walk must not change the table);
   * then each child table is allocated and, since that charge may enter reclaim and free
   * parent tables, the parent's table is looked up again before its entries are copied, as
   * copy_pmd_range (pmd_none: skip) and copy_pte_range (pte_offset_map_rw_nolock NULL after
   * pte_alloc_map_lock: nothing to copy, the new child table stays) do.
   */
  private copyPageRange(child: AddressSpace, vma: Vma): boolean {
    const cpt = child.pageTable;
    const pt = this.pageTable;
    const start = vma.start;
    this.clearScratch();
    const sv = this.scratchVpn;
    const sl = this.scratchLevel;
    const sp = this.scratchPfn;
    // Table events are recorded in the leaf scratch with level -L (a table at level L).
    pt.walk(vma.start, vma.end, {
      table: (_t, level, baseVpn) => {
        sv.push(baseVpn);
        sl.push(-level);
        sp.push(-1);
        this.scratchFlags.push(0);
      },
      leaf: this.leafOps.leaf!,
      nonPresent: this.leafOps.nonPresent!,
    });
    const a = this.anon;
    const walkGen = this.freeGen;
    let skipEnd = -1; // leaves below this vpn belong to a parent table that went away
    let childGen = child.freeGen;
    let ok = true;
    for (let k = 0; k < sv.length; k++) {
      const vpn = sv[k]!;
      const lv = sl[k]!;
      if (vpn < skipEnd) continue;
      if (lv < 0) {
        const level = -lv as Level;
        const at = Math.max(vpn, start);
        const span = 512 ** level; // pages mapped by a table at `level`
        if (this.freeGen !== walkGen && pt.tableAt(at, level) < 0) {
          skipEnd = vpn + span; // freed by reclaim in an earlier child allocation: p?d_none, skip
          continue;
        }
        const gen = this.freeGen;
        if (!child.allocTableAt(at, level)) {
          ok = false;
          break;
        }
        childGen = child.freeGen;
        if (this.freeGen !== gen && pt.tableAt(at, level) < 0) skipEnd = vpn + span;
        continue;
      }
      const level = lv as Level;
      const pfn = sp[k]!;
      let f = this.scratchFlags[k]!;
      if (child.freeGen !== childGen) {
        // Reclaim freed a child table: make sure the one this entry goes into is still there.
        if (!child.allocTableAt(vpn, level === 1 ? 1 : 2)) {
          ok = false;
          break;
        }
        childGen = child.freeGen;
      }
      if (level === 1) {
        if (pfn !== this.zeroPfn) {
          if ((f & _PAGE_RW) !== 0) {
            f &= ~_PAGE_RW;
            pt.setEntry(vpn, 1, pfn, f); // ptep_set_wrprotect
          }
          const head = pfn - (pfn % PMD_PAGES);
          const m = a.thp.size > 0 ? a.thp.get(head) : undefined;
          if (m !== undefined) {
            a.thp.set(head, m + 1);
            if (!a.owner.has(head)) a.owner.set(head, this.id);
          } else {
            a.shared.set(pfn, (a.shared.get(pfn) ?? 1) + 1);
            if (!a.owner.has(pfn)) a.owner.set(pfn, this.id);
          }
          child.rssAnonCopied++;
          f &= ~_PAGE_ACCESSED; // pte_mkold
        }
        cpt.setEntry(vpn, 1, pfn, f);
      } else {
        // copy_huge_pmd: the child gets its own deposited table (pte_alloc_one first, then
        // `if (unlikely(!pmd_trans_huge(pmd)))` frees it again).
        child.curVpn = vpn;
        const gen = this.freeGen;
        const dep = child.allocTablePage(1);
        if (dep === null) {
          ok = false;
          break;
        }
        if (this.freeGen !== gen && (pt.tableAt(vpn, 1) >= 0 || pt.entryFlags(vpn, 2) === 0)) {
          child.freeTablePage(dep, 1);
          continue;
        }
        if (child.freeGen !== childGen && cpt.tableAt(vpn, 2) < 0) {
          child.freeTablePage(dep, 1);
          if (!child.allocTableAt(vpn, 2)) {
            ok = false;
            break;
          }
          childGen = child.freeGen;
          k--; // copy this entry again with a fresh deposit
          continue;
        }
        child.deposits.set(vpn / PMD_PAGES, dep);
        if (pfn !== this.hugeZeroPfn) {
          if ((f & _PAGE_RW) !== 0) {
            f &= ~_PAGE_RW;
            pt.setEntry(vpn, 2, pfn, f);
          }
          a.thp.set(pfn, (a.thp.get(pfn) ?? PMD_PAGES) + PMD_PAGES);
          if (!a.owner.has(pfn)) a.owner.set(pfn, this.id);
          child.rssAnonCopied += PMD_PAGES;
        }
        cpt.setEntry(vpn, 2, pfn, f);
      }
    }
    this.clearScratch();
    return ok;
  }

  /**
   * exit_mmap: every page is released, every table freed (including the top table,
   * pgd_free), every charge returned. Further calls throw E_EXITED (faults too).
   */
  exit(): void {
    if (this.dead) return;
    this.zapAnon = 0;
    this.zapZero = 0;
    for (const v of this.vmaList.list) this.pageTable.zapRange(v.start, v.end, this.zapVisit);
    this.pageTable.clearAll();
    for (const dep of this.deposits.values()) this.freeTablePage(dep, 1);
    this.deposits.clear();
    if (this.topPfn >= 0) {
      this.charger.uncharge(this.id, 'pagetables', TABLE_BYTES);
      this.allocator.freePages(this.topPfn, 0);
      this.topPfn = -1;
    }
    const had = this.vmaList.length > 0;
    const first = had ? this.vmaList.list[0]!.start : 0;
    const last = had ? this.vmaList.list[this.vmaList.length - 1]!.end : 0;
    this.vmaList.splice(0, this.vmaList.length);
    this.tlb.flushAll(this.id);
    this.dead = true;
    if (had) this.hooks.afterZap?.(this, first, last, 'exit');
  }

  /** True after {@link AddressSpace.exit}. */
  get exited(): boolean {
    return this.dead;
  }

  // ------------------------------------------------------------------ accounting

  /** mm->pgtables_bytes: PTE + PMD + PUD tables (mm_inc_nr_ptes / pmds / puds), deposited tables included. */
  get pgtablesBytes(): number {
    return (this.nrPtes + this.nrPmds + this.nrPuds) * TABLE_BYTES;
  }

  /** Resident anonymous pages (MM_ANONPAGES). */
  get rssAnonPages(): number {
    return this.rssAnon;
  }

  /** The /proc/PID/status fields (kB) and the table counters. */
  status(): MmStatus {
    let pages = 0;
    for (const v of this.vmaList.list) pages += v.end - v.start;
    const bytes = this.pgtablesBytes;
    return {
      VmSize: pages * 4,
      VmRSS: this.rssAnon * 4,
      RssAnon: this.rssAnon * 4,
      RssFile: 0,
      RssShmem: 0,
      VmPTE: bytes / 1024,
      VmSwap: 0,
      pgtables_bytes: bytes,
      nr_ptes: this.nrPtes,
      nr_pmds: this.nrPmds,
      nr_puds: this.nrPuds,
    };
  }

  /** The address-space lines of /proc/PID/status, in the kernel's format. */
  statusText(): string {
    const s = this.status();
    const kb = (k: string, v: number) => `${k}:\t${String(v).padStart(8)} kB\n`;
    return (
      `Name:\t${this.name}\n` +
      kb('VmSize', s.VmSize) +
      kb('VmRSS', s.VmRSS) +
      kb('RssAnon', s.RssAnon) +
      kb('RssFile', s.RssFile) +
      kb('RssShmem', s.RssShmem) +
      kb('VmPTE', s.VmPTE) +
      kb('VmSwap', s.VmSwap)
    );
  }

  /** oom_badness inputs (an `OomHost` answers with these). */
  oomStats(): OomTaskStats | null {
    if (this.dead) return null;
    return { rssPages: this.rssAnon, pgtablesBytes: this.pgtablesBytes, swapents: 0, oomScoreAdj: this.oomScoreAdj };
  }

  /** Counters: pgfault, thp_*, pt_reclaim.*, mmap_lock.* (metrics.md names). */
  counters(): Record<string, number> {
    const l = this.mmapLock;
    return {
      ...this.stats.snapshot(),
      'mmap_lock.write_hold_ns': l.writeHoldNs,
      'mmap_lock.waiters': l.waiters,
      'mmap_lock.wait_ns': l.waitNs,
    };
  }

  /** Deposited PTE tables (one per huge PMD), counted in nr_ptes. */
  get depositedTables(): number {
    return this.deposits.size;
  }
}

/** The fork family the next constructed address space joins (see fork). */
let forkFamily: AnonPages | null = null;

const ADVICES: ReadonlySet<string> = new Set<Advice>(['dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read', 'populate_write']);

function checkPages(pages: number): void {
  if (!Number.isSafeInteger(pages) || pages < 0) fail(CoreErrorCode.NotAnInteger, `length ${show(pages)} must be a non-negative integer number of pages`, { value: pages });
}

function checkProt(prot: number): void {
  if (!Number.isInteger(prot) || prot < 0 || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0)
    fail(E.BadProt, `protection ${show(prot)} must combine PROT_READ (1), PROT_WRITE (2) and PROT_EXEC (4)`, { value: prot, errno: 'EINVAL' });
}

function checkPfnOption(pfn: unknown, what: string): void {
  if (typeof pfn !== 'number' || !Number.isSafeInteger(pfn) || pfn < 0 || pfn >= 2 ** 40)
    fail(E.BadOption, `${what} ${show(pfn)} must be a PFN (integer below 2^40)`, { value: pfn });
}
