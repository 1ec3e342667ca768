import type { SimClock } from '@kmodel/core';

/**
 * A model of mmap_lock (an rwsem) and of per-VMA locks, on the simulated clock.
 *
 * The address space's own thread takes the lock around every syscall; its hold time is the
 * simulated time the call took. Other actors (a reclaim thread, khugepaged) take it "in the
 * background" with {@link MmapLock.writeBackground}: the lock is then busy until
 * `now + hold`, and a fault that arrives in that window waits behind the writer (the clock
 * advances to the end of the hold and `mmap_lock.waiters` counts it). With per-VMA locks
 * (lock_vma_under_rcu, v6.4+) a fault waits only if the writer also write-locked the VMAs
 * (vma_start_write), as munmap and mprotect do but a page-table scanner holding only
 * mmap_lock does not.
 */
export class MmapLock {
  /** Simulated ns during which mmap_lock was held for write (`mmap_lock.write_hold_ns`). */
  writeHoldNs = 0;
  /** Faults that waited behind a writer (`mmap_lock.waiters`). */
  waiters = 0;
  /** Simulated ns faults spent waiting. */
  waitNs = 0;
  /** Write acquisitions. */
  writeAcquisitions = 0;
  /** Read acquisitions (syscalls and faults that took mmap_lock). */
  readAcquisitions = 0;
  /** End of the current background write hold (simulated ns). @internal */
  busyUntil = 0;
  /** Whether the background writer holds the VMA locks too. @internal */
  busyVmas = false;

  constructor(
    private readonly clock: SimClock,
    /** Faults use per-VMA locks (CONFIG_PER_VMA_LOCK). */
    readonly perVmaLock: boolean,
  ) {}

  /**
   * A writer on another CPU holds the lock for `holdNs` from now (a reclaim pass,
   * khugepaged). `lockVmas`: it also write-locks the VMAs, so per-VMA-lock faults wait too.
   * Returns the ns this writer itself waited for an earlier background writer.
   */
  writeBackground(holdNs: number, lockVmas = false): number {
    const now = this.clock.now;
    const start = this.busyUntil > now ? this.busyUntil : now;
    this.busyUntil = start + holdNs;
    this.busyVmas = lockVmas;
    this.writeHoldNs += holdNs;
    this.writeAcquisitions++;
    return start - now;
  }

  /** A fault enters (lock_vma_under_rcu, else mmap_read_lock): waits behind a busy writer. */
  faultEnter(): void {
    if (this.busyUntil > this.clock.now && (!this.perVmaLock || this.busyVmas)) this.waitBehindWriter();
    else if (!this.perVmaLock) this.readAcquisitions++;
  }

  /**
   * The owning thread takes the lock for a syscall (`write`: mmap, munmap, mprotect). With
   * `vmaLock` (MADV_DONTNEED / MADV_FREE under per-VMA locks, v6.17+) a read waits only for
   * a writer that locked the VMAs. Returns the start time.
   */
  enter(write: boolean, vmaLock = false): number {
    if (this.busyUntil > this.clock.now && (write || !vmaLock || !this.perVmaLock || this.busyVmas)) this.waitBehindWriter();
    if (write) {
      this.writeAcquisitions++;
      this.clock.charge('mmap_lock_write');
    } else {
      this.readAcquisitions++;
      this.clock.charge('mmap_lock_read');
    }
    return this.clock.now;
  }

  /** The owning thread releases a write hold that began at `start`. */
  exitWrite(start: number): void {
    this.writeHoldNs += this.clock.now - start;
  }

  private waitBehindWriter(): void {
    const wait = this.busyUntil - this.clock.now;
    this.waiters++;
    this.waitNs += wait;
    this.clock.advance(wait);
  }
}
