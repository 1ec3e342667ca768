/**
 * @packageDocumentation
 * The mermap (mm/mermap.c in the mm tree): CPU-local, ephemeral kernel mappings of pages
 * outside the direct map, with a bump allocator per (address space, CPU) that may fail and
 * unmaps without a TLB flush; a per-CPU TLB model that tracks the stale entries this leaves;
 * the stale-TLB checker (report / flush on free / page flag); and the guest_memfd-like
 * workload that compares keeping memory in the direct map, per-page removal and freetype
 * pageblock removal.
 */
export { MermapErrorCode } from './errors.js';
export { MERMAP_TLB_COUNTER_NAMES, MermapTlb, PgtableMermapTlb } from './tlb.js';
export type { MermapTlbModel } from './tlb.js';
export {
  MERMAP_COUNTER_NAMES,
  MERMAP_CPU_REGION_PAGES,
  MERMAP_NR_ALLOCS,
  MERMAP_SENTINEL_FLAGS,
  Mermap,
  PAGE_KERNEL_NOGLOBAL,
  defaultMermapBaseVpn,
  mmLocalBaseVpn,
} from './mermap.js';
export type { MermapOptions } from './mermap.js';
export { CHECKER_COUNTER_NAMES, STALE_TLB_MODES, StaleTlbChecker, withStaleTlbCheck } from './stale.js';
export type { StaleHazard, StaleTlbCheckerOptions, StaleTlbMode, TlbOp } from './stale.js';
export {
  DIRECT_MAP_STRATEGIES,
  STRATEGY_REPORT_METRICS,
  WORKLOAD_COUNTER_NAMES,
  formatStrategyTable,
  runDirectMapStrategies,
  runUnmappedWorkload,
  workloadDefaults,
} from './workload.js';
export type {
  DirectMapStrategiesOptions,
  DirectMapStrategy,
  StrategyEnv,
  StrategyMachine,
  StrategyMachineFactory,
  StrategyResult,
  UnmappedWorkloadOptions,
} from './workload.js';
