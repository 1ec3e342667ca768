/**
 * The counters of a policy report, in metrics.md names. `pt_reclaim.refault_ns` is the extra
 * table-allocation cost of the refaults; `pt_reclaim.scan_ns` and `pt_reclaim.walker_ns` are
 * simulated time spent in software scans and in per-walker refcounting; the `tlb.*` counts are
 * the shootdowns reclaim asked for (a 2 MiB range is above the 33-page ceiling: a full flush).
 */
export const REPORT_METRICS = [
  'pt_reclaim.pte_tables_freed',
  'pt_reclaim.pmd_tables_freed',
  'pt_reclaim.bytes_freed',
  'pt_reclaim.entries_scanned',
  'pt_reclaim.refaults',
  'pt_reclaim.refault_ns',
  'pt_reclaim.scan_ns',
  'pt_reclaim.walker_ns',
  'mmap_lock.write_hold_ns',
  'mmap_lock.waiters',
  'tlb.flush_single',
  'tlb.flush_full',
] as const;

/** One of {@link REPORT_METRICS}. */
export type ReportMetric = (typeof REPORT_METRICS)[number];

/**
 * Counters of the driver that no address space keeps (the machine adds them to the address
 * spaces' own `pt_reclaim.*` and `mmap_lock.*` counters without counting anything twice).
 */
export const MACHINE_METRICS = [
  'pt_reclaim.pmd_tables_freed',
  'pt_reclaim.bytes_freed',
  'pt_reclaim.entries_scanned',
  'pt_reclaim.refaults',
  'pt_reclaim.refault_ns',
  'pt_reclaim.scan_ns',
  'pt_reclaim.walker_ns',
] as const;
