import { Counters, fail, show, SimClock, type Vpn } from '@kmodel/core';
import { DirectMapErrorCode } from './errors.js';

/**
 * tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c): a kernel range of more pages than
 * this is flushed with a full flush instead of one INVLPG per page.
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/**
 * The kernel-side TLB shootdowns the direct map needs (arch/x86/mm/tlb.c). Kernel
 * mappings are global, so they concern every online CPU. A per-CPU TLB model
 * (`@kmodel/pgtable`'s `TlbSystem`, `@kmodel/mermap`'s `MermapTlb`) implements this, so
 * that a direct-map flush also clears what that model caches.
 */
export interface KernelTlbFlusher {
  /**
   * flush_tlb_kernel_range(start, end): on every CPU (the caller's locally, the others by
   * IPI), one INVLPG per page when the range has at most {@link TLB_SINGLE_PAGE_FLUSH_CEILING}
   * pages, otherwise a full flush.
   */
  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void;
  /** flush_tlb_all(): a full flush (global entries included) on every CPU. */
  flushTlbAll(): void;
}

/** The `tlb.*` counters a flusher keeps (names from the shared metric list). */
export const TLB_COUNTER_NAMES = ['tlb.flush_single', 'tlb.flush_full', 'tlb.ipis'] as const;

/**
 * A flusher that only counts and charges: no TLB contents. `tlb.flush_single` counts
 * INVLPGs (pages × CPUs), `tlb.flush_full` full flushes (one per CPU), `tlb.ipis` the IPIs
 * sent to the other CPUs. The clock is charged for the initiating CPU: its own flush work
 * plus `tlb_ipi` per remote CPU (the remote flushes run in parallel with the local one).
 */
export class CountingKernelTlb implements KernelTlbFlusher {
  readonly nrCpus: number;
  readonly counters = new Counters(TLB_COUNTER_NAMES);
  private readonly clock: SimClock;
  private readonly sSingle = this.counters.slot('tlb.flush_single');
  private readonly sFull = this.counters.slot('tlb.flush_full');
  private readonly sIpis = this.counters.slot('tlb.ipis');

  /** Throws E_BAD_CPU_COUNT unless `nrCpus` is an integer in 1..4096. */
  constructor(nrCpus: number, clock: SimClock = new SimClock()) {
    if (!Number.isInteger(nrCpus) || nrCpus < 1 || nrCpus > 4096) fail(DirectMapErrorCode.BadCpuCount, `nrCpus ${show(nrCpus)} must be an integer in 1..4096`, { value: nrCpus });
    this.nrCpus = nrCpus;
    this.clock = clock;
  }

  flushTlbKernelRange(startVpn: Vpn, endVpn: Vpn): void {
    const pages = endVpn - startVpn;
    if (pages <= 0) return;
    if (pages > TLB_SINGLE_PAGE_FLUSH_CEILING) {
      this.flushTlbAll();
      return;
    }
    this.counters.add(this.sSingle, pages * this.nrCpus);
    this.sendIpis();
    this.clock.charge('tlb_flush_single', pages);
  }

  flushTlbAll(): void {
    this.counters.add(this.sFull, this.nrCpus);
    this.sendIpis();
    this.clock.charge('tlb_flush_full');
  }

  private sendIpis(): void {
    const remote = this.nrCpus - 1;
    if (remote === 0) return;
    this.counters.add(this.sIpis, remote);
    this.clock.charge('tlb_ipi', remote);
  }
}
