/**
 * @packageDocumentation
 * Page-table reclaim policies for kmodel, compared on equal terms: `none` (before 6.14),
 * `mainline` (PT_RECLAIM at MADV_DONTNEED), `pte-ref-immediate` (the 2021-2022 refcount
 * designs), `free-ptes` (the 2022 RFC's proc trigger), `reclaim-path` (the RFC's proposal:
 * before OOM, the mm with the largest reclaimable_pt_bytes), `zero-scan` (a zero-page scanner
 * behind a suspicion heuristic), `pmd-level` and `throttle`. One driver runs any combination
 * and keeps the books in metrics.md names.
 */
export { ReclaimErrorCode } from './errors.js';
export { ReclaimDriver } from './driver.js';
export type { DriverHooks, PolicyProfile } from './driver.js';
export { REPORT_METRICS, MACHINE_METRICS } from './metrics.js';
export type { ReportMetric } from './metrics.js';
export { resolveParams } from './params.js';
export { looksSuspicious, mmLooksSuspicious } from './suspicion.js';
export { POLICIES, POLICY_NAMES, createPolicy, parsePolicySpec, policyModules } from './registry.js';
export type { PolicyDefinition, PolicyName } from './registry.js';
export { nonePolicy } from './policies/none.js';
export { mainlinePolicy, mainlineMayReclaimPteTable } from './policies/mainline.js';
export { pteRefImmediatePolicy, pteRefCanFree, PTE_REF_IMMEDIATE_DEFAULTS } from './policies/pte-ref-immediate.js';
export type { PteRefImmediateParams } from './policies/pte-ref-immediate.js';
export { freePtesPolicy, freeUserPtes, freePtesMayFree, requirePteRef, FREE_PTES_DEFAULTS } from './policies/free-ptes.js';
export type { FreePtesParams } from './policies/free-ptes.js';
export { reclaimPathPolicy, pickLargestReclaimable, reclaimPathServes, RECLAIM_PATH_DEFAULTS } from './policies/reclaim-path.js';
export type { ReclaimPathParams } from './policies/reclaim-path.js';
export { zeroScanPolicy, zeroScanVerdict, ZERO_SCAN_DEFAULTS } from './policies/zero-scan.js';
export type { ZeroScanParams } from './policies/zero-scan.js';
export { pmdLevelPolicy, pmdTableReclaimable, PMD_LEVEL_DEFAULTS } from './policies/pmd-level.js';
export type { PmdLevelParams } from './policies/pmd-level.js';
export { throttlePolicy, TableBudget, THROTTLE_DEFAULTS } from './policies/throttle.js';
export type { ThrottleParams } from './policies/throttle.js';
