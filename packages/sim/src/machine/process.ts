import { fail, show, type PageTable } from '@kmodel/core';
import { PROT_NONE, PROT_READ, PROT_WRITE, VM_FAULT_OOM, type AddressSpace } from '@kmodel/mm';
import type { WorkOp } from '../workload/ops.js';
import type { ProcessMetrics, SimProcess } from './types.js';
import { subtractRange, type Range } from '../ranges.js';

/** Error codes of applying workload ops to a process. */
export const ProcessErrorCode = {
  /** An op names a region the process has not mapped. */
  UnknownRegion: 'E_UNKNOWN_REGION',
  /** An op's range leaves its region. */
  OutOfRegion: 'E_OUT_OF_REGION',
  /** `mmap` reuses a live region name. */
  RegionInUse: 'E_REGION_IN_USE',
  /** An access hit no mapping, or one that forbids it (SIGSEGV). */
  Segv: 'E_SEGV',
} as const;

const PROT: Record<string, number> = { rw: PROT_READ | PROT_WRITE, r: PROT_READ, none: PROT_NONE };

interface Region {
  readonly vpn: number;
  readonly pages: number;
  /** Page ranges of the region still mapped, relative to `vpn` (the name is free for an mmap when none is left). */
  mapped: Range[];
}

const ZERO_METRICS: ProcessMetrics = Object.freeze({ VmPTE: 0, VmRSS: 0, RssAnon: 0, pgtables_bytes: 0, nr_ptes: 0, nr_pmds: 0, nr_puds: 0, reclaimable_pt_bytes: 0 });

/**
 * A process of the stock machine: an `@kmodel/mm` AddressSpace plus the names of the regions its
 * workloads mapped. Sizes and offsets arrive in bytes and go to mm as page counts.
 */
export class MmProcess implements SimProcess {
  private readonly regions = new Map<string, Region>();
  /** Set when a fault could not be satisfied and the task did not die (e.g. a v1 cgroup with the OOM killer disabled: the task waits). */
  stalled = false;

  constructor(
    readonly name: string,
    readonly cgroup: string,
    readonly mmSpace: AddressSpace,
    private readonly reclaimable: () => number,
    private readonly onFaultOom: (p: MmProcess) => void,
  ) {}

  get mm(): number {
    return this.mmSpace.id;
  }

  get alive(): boolean {
    return !this.mmSpace.exited && !this.stalled;
  }

  get pageTable(): PageTable {
    return this.mmSpace.pageTable;
  }

  /** The live regions as `{ name, start, end }` byte addresses (`0x...`), in mapping order. */
  regionList(): { name: string; start: string; end: string }[] {
    return [...this.regions].filter(([, r]) => r.mapped.length > 0).map(([name, r]) => ({ name, start: `0x${(BigInt(r.vpn) << 12n).toString(16)}`, end: `0x${(BigInt(r.vpn + r.pages) << 12n).toString(16)}` }));
  }

  private range(regionName: string, offset: number, size: number): [vpn: number, pages: number] {
    const r = this.regions.get(regionName) ?? fail(ProcessErrorCode.UnknownRegion, `process ${show(this.name)} has no region ${show(regionName)}`, { region: regionName });
    const pages = size / 4096;
    const first = offset / 4096;
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(pages) || first + pages > r.pages) {
      fail(ProcessErrorCode.OutOfRegion, `[${show(offset)}, +${show(size)}) is not a page range inside region ${show(regionName)} of ${r.pages * 4096} bytes`, { region: regionName, offset, size });
    }
    return [r.vpn + first, pages];
  }

  apply(op: WorkOp): ProcessMetrics | null {
    if (!this.alive) return op.op === 'status' ? this.metrics() : null;
    // The address space returns to user mode itself after each fault and populating syscall
    // (the charger's returnToUser: memcg's memory.high work).
    return this.applyOp(op);
  }

  private applyOp(op: WorkOp): ProcessMetrics | null {
    const mm = this.mmSpace;
    switch (op.op) {
      case 'mmap': {
        if ((this.regions.get(op.region)?.mapped.length ?? 0) > 0) fail(ProcessErrorCode.RegionInUse, `region ${show(op.region)} is still mapped in ${show(this.name)}`, { region: op.region });
        const pages = op.size / 4096;
        const vpn = mm.mmap({
          pages,
          prot: PROT[op.prot]!,
          noreserve: true,
          ...(op.addr !== undefined ? { addr: Number(op.addr >> 12n), fixedNoreplace: true } : { align: op.align / 4096 }),
        });
        this.regions.set(op.region, { vpn, pages, mapped: [[0, pages]] });
        if (op.thp === 'always') mm.madvise(vpn, pages, 'hugepage');
        else if (op.thp === 'never') mm.madvise(vpn, pages, 'nohugepage');
        return null;
      }
      case 'touch': {
        const [vpn, pages] = this.range(op.region, op.offset, op.size);
        const r = mm.touch(vpn, pages, op.stride / 4096, op.access === 'write');
        if (r === VM_FAULT_OOM) {
          if (!mm.exited) this.stalled = true;
          this.onFaultOom(this);
        } else if (r !== 0) {
          fail(ProcessErrorCode.Segv, `${op.access} of region ${show(op.region)} at offset ${show(op.offset + mm.lastTouchCount * op.stride)} in ${show(this.name)} faulted with SIGSEGV`, { region: op.region });
        }
        return null;
      }
      case 'madvise': {
        const [vpn, pages] = this.range(op.region, op.offset, op.size);
        mm.madvise(vpn, pages, op.advice);
        return null;
      }
      case 'munmap': {
        const [vpn, pages] = this.range(op.region, op.offset, op.size);
        mm.munmap(vpn, pages);
        // A munmap over pages unmapped before is a no-op for them (the kernel allows holes). A
        // region with nothing left keeps its place, so that later calls of a `repeat` still find
        // it, until an mmap reuses the name.
        const r = this.regions.get(op.region)!;
        r.mapped = subtractRange(r.mapped, vpn - r.vpn, vpn - r.vpn + pages);
        return null;
      }
      case 'status':
        return this.metrics();
      case 'unmapped-guest':
        return fail('E_KERNEL_OP', 'unmapped-guest is kernel work: the machine runs it (Machine.kernelWork), not a process');
    }
  }

  metrics(): ProcessMetrics {
    if (this.mmSpace.exited) return { ...ZERO_METRICS };
    const s = this.mmSpace.status();
    return {
      VmPTE: s.VmPTE,
      VmRSS: s.VmRSS,
      RssAnon: s.RssAnon,
      pgtables_bytes: s.pgtables_bytes,
      nr_ptes: s.nr_ptes,
      nr_pmds: s.nr_pmds,
      nr_puds: s.nr_puds,
      reclaimable_pt_bytes: this.reclaimable(),
    };
  }
}
