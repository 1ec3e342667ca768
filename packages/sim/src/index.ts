/**
 * @packageDocumentation
 * The kmodel simulator: the machine builder that wires the model packages (or a user's own
 * layers), the workloads of the seeds, trace replay, reports (table, JSON, CSV, HTML with
 * charts) and the `kmodel` CLI.
 */
export * from './trace/index.js';
export * from './native/index.js';
export * from './validate/index.js';
export { parseDuration } from './scenario/duration.js';
export { scenarioSchema, KERNEL_PROFILES, type KernelProfile, type Scenario, type ScenarioInput, type WorkloadSpec, type CgroupSpec, type ProcessSpec, type MachineSpec } from './scenario/schema.js';
export { loadScenario, parseScenario, validateScenario, formatPath, ScenarioErrorCode, type ScenarioIssue } from './scenario/load.js';
export type { Report, RunResult, MetricsBlock, SimEvent } from './report/types.js';
export { SERIES_METRICS } from './report/types.js';
export { reportCharts, type ChartSpec } from './report/charts.js';
export { renderSvg } from './report/svg.js';
export { renderHtml } from './report/html.js';
export { renderTable, summaryRows, summaryColumns, SUMMARY_COLUMNS, DIRECT_MAP_COLUMNS, metric } from './report/table.js';
export { renderCsv } from './report/csv.js';
export { reportJson } from './report/json.js';
export { walkAddress, formatWalk, checkUserAddress, type WalkResult, type WalkStep } from './walk/walk.js';
export type { WorkOp, Workload, UnmappedGuestOp } from './workload/ops.js';
export { chunkedTouch, chunkedTouchOps, TOUCH_CHUNK } from './workload/ops.js';
export { zeroPageAttack, allocatorChurn, vmBalloonMigration, sparseScan, unmappedGuest, traceWorkload } from './workload/stock.js';
export { VERSION } from './version.js';
export type { Machine, MachineSnapshot, ProcessMetrics, SimProcess } from './machine/types.js';
export { StockMachine, MachineErrorCode } from './machine/build.js';
export type { MachineConfig, MachineParts } from './machine/parts.js';
export { policyNames, type PolicyBinding, type PolicyContext, type PolicyFactory } from './machine/policy.js';
export { buildScenarioMachine, scenarioMachineConfig } from './machine/scenario-config.js';
export { runUnmappedGuest, type KernelWorkEnv, type KernelWorkResult } from './machine/kernel-work.js';
export { MmProcess, ProcessErrorCode } from './machine/process.js';
export { runScenario, runPolicy, processInstances, type RunOptions } from './run/run.js';
export { replayTrace, statusRecords, formatReplay, REPLAY_CGROUP, type ReplayOptions, type ReplayRecord, type OomKillRecord, type OomStallRecord } from './replay/replay.js';
export { walkScenario, type WalkScenarioOptions } from './walk/scenario-walk.js';
export { runCli } from './cli/program.js';
export { ExitCode, type CliIo } from './cli/io.js';
export { DEMO_SCENARIO } from './demo-scenario.js';
