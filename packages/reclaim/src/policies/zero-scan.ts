import type { MetricSnapshot, ReclaimMachine, ReclaimMm, ReclaimPolicy, TableId, Vpn, WalkOps } from '@kmodel/core';
import { mmLooksSuspicious } from '../suspicion.js';

/** Parameters of {@link zeroScanPolicy}. */
export type ZeroScanParams = {
  /** Simulated ns between checks of the suspicion heuristic. */
  intervalNs: number;
  /** Suspicious when pgtables_bytes > ratio × RSS bytes ... */
  ratio: number;
  /** ... and pgtables_bytes is at least this. */
  minPgtablesBytes: number;
};

/** Defaults of {@link zeroScanPolicy}: check every 10 ms; page tables above a quarter of RSS and at least 1 MiB. */
export const ZERO_SCAN_DEFAULTS: ZeroScanParams = { intervalNs: 10_000_000, ratio: 0.25, minPgtablesBytes: 1 << 20 };

/**
 * The scanner's verdict on one PTE table from the index of its first entry that is neither
 * none nor the zero page (-1: none such): the table may be emptied and freed when there is
 * none; the scan reads entries up to and including that one (all 512 otherwise).
 */
export function zeroScanVerdict(firstOtherIndex: number): { reclaimable: boolean; scanned: number } {
  return firstOtherIndex < 0 ? { reclaimable: true, scanned: 512 } : { reclaimable: false, scanned: firstOtherIndex + 1 };
}

/**
 * `zero-scan`: a scanner that clears zero-page entries and frees the emptied tables
 * (David Hildenbrand's 2021 pgtable_reclaim prototype with zap_zero_pages), run on an address
 * space only when the suspicion heuristic fires. The lockless scan of every PTE table is
 * charged to the clock (`pte_scan_entry` per entry read); each candidate is then re-checked
 * and freed under mmap_lock for write, held in the background (faults wait), with a TLB flush.
 */
export function zeroScanPolicy(params: ZeroScanParams = ZERO_SCAN_DEFAULTS): ReclaimPolicy {
  let next = 0;
  let triggers = 0;
  let zeroPfn = -1;
  // Scan state, filled by the walk callbacks (no closure per entry).
  const bases: Vpn[] = [];
  const firstOther: number[] = [];
  let cur = -1;
  const ops: WalkOps = {
    table: (_t: TableId, level, baseVpn) => {
      if (level === 1) {
        bases.push(baseVpn);
        firstOther.push(-1);
        cur = bases.length - 1;
      }
      return true;
    },
    leaf: (vpn, level, pfn) => {
      if (level === 1 && cur >= 0 && firstOther[cur]! < 0 && pfn !== zeroPfn) firstOther[cur] = vpn - bases[cur]!;
    },
    nonPresent: (vpn, level) => {
      if (level === 1 && cur >= 0 && firstOther[cur]! < 0) firstOther[cur] = vpn - bases[cur]!;
    },
  };

  function scan(mm: ReclaimMm, machine: ReclaimMachine): number {
    zeroPfn = machine.zeroPfn;
    bases.length = 0;
    firstOther.length = 0;
    cur = -1;
    mm.pageTable.walk(0, mm.taskSize, ops);
    let scanned = 0;
    let freed = 0;
    for (let i = 0; i < bases.length; i++) {
      const v = zeroScanVerdict(firstOther[i]!);
      scanned += v.scanned;
      if (v.reclaimable && machine.freePteTable(mm, bases[i]!, { allowZeroPages: true, lock: 'write' })) freed++;
    }
    machine.chargeScan(scanned);
    return freed;
  }

  return {
    name: 'zero-scan',
    tick(machine) {
      if (machine.clock.now < next) return;
      next = machine.clock.now + params.intervalNs;
      for (const mm of [...machine.mms.values()]) {
        if (mm.exited || !mmLooksSuspicious(mm, params.ratio, params.minPgtablesBytes)) continue;
        triggers++;
        scan(mm, machine);
      }
    },
    counters(): MetricSnapshot {
      return { 'pt_reclaim.zero_scan_triggers': triggers };
    },
  };
}
