import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KmodelError, TimeSeries } from '@kmodel/core';
import type { MachineParts } from '../machine/parts.js';
import { buildScenarioMachine } from '../machine/scenario-config.js';
import type { Machine, MachineSnapshot, SimProcess } from '../machine/types.js';
import { SERIES_METRICS, type MetricsBlock, type Report, type RunResult } from '../report/types.js';
import type { Scenario, WorkloadSpec } from '../scenario/schema.js';
import { parseTrace } from '../trace/index.js';
import { VERSION } from '../version.js';
import type { WorkOp, Workload } from '../workload/ops.js';
import { allocatorChurn, sparseScan, traceWorkload, unmappedGuest, vmBalloonMigration, zeroPageAttack } from '../workload/stock.js';

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Policies to run (default: the scenario's `policies`). */
  policies?: readonly string[];
  /** The scenario file's path: trace workloads' files are relative to its folder. */
  scenarioPath?: string;
  /** Called as the run advances (ops done of the total, and the policy running). */
  onProgress?: (done: number, total: number, policy: string) => void;
  /** Adds `host_ms` to each run (host wall time; makes the report non-deterministic). */
  hostTime?: boolean;
  /** Layers to use instead of the stock ones (a user's allocator, policy, ...). */
  parts?: MachineParts;
  /** Called with the machine once the run has ended (to inspect its page tables, say). */
  onMachineDone?: (machine: Machine) => void;
}

/** Process instances named by a scenario: "name" once, "name-0".."name-(n-1)" when count > 1. */
export function processInstances(scenario: Scenario): { spec: string; name: string; cgroup: string }[] {
  return scenario.processes.flatMap((p) =>
    p.count === 1 ? [{ spec: p.name, name: p.name, cgroup: p.cgroup }] : Array.from({ length: p.count }, (_, i) => ({ spec: p.name, name: `${p.name}-${i}`, cgroup: p.cgroup })),
  );
}

function makeWorkload(spec: WorkloadSpec, machine: Machine, baseDir: string): Workload {
  const rng = machine.rng.fork();
  switch (spec.type) {
    case 'zero-page-attack':
      return zeroPageAttack(spec);
    case 'allocator-churn':
      return allocatorChurn(spec, rng);
    case 'vm-balloon-migration':
      return vmBalloonMigration(spec, rng);
    case 'sparse-scan':
      return sparseScan(spec, rng);
    case 'unmapped-guest':
      return unmappedGuest(spec);
    case 'trace': {
      const path = resolve(baseDir, spec.file);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        throw new KmodelError('E_SCENARIO_READ', `cannot read trace ${JSON.stringify(spec.file)} (${path}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path });
      }
      return traceWorkload(parseTrace(text, spec.file));
    }
  }
}

/** A workload bound to a process, with its iterator. */
interface Cursor {
  readonly process: SimProcess;
  readonly it: Iterator<WorkOp>;
  /** Prefix of region names ("w2." for the third workload) when a process runs several workloads, else "". */
  prefix: string;
  done: boolean;
}

/** The op with its region name prefixed, so two workloads of one process never share a region name. */
function inNamespace(op: WorkOp, prefix: string): WorkOp {
  return prefix === '' || !('region' in op) ? op : { ...op, region: prefix + op.region };
}

function block(snap: MachineSnapshot): MetricsBlock {
  return { ...snap.machine, processes: snap.processes, cgroups: snap.cgroups };
}

/** Largest value of every nested metric seen across samples. */
function maxNested(into: Record<string, Record<string, number>>, from: Record<string, Record<string, number>>): void {
  for (const [owner, metrics] of Object.entries(from)) {
    const dst = (into[owner] ??= {});
    for (const [k, v] of Object.entries(metrics)) dst[k] = dst[k] === undefined ? v : Math.max(dst[k]!, v);
  }
}

/**
 * Runs the scenario once under `policy` on a freshly built machine: every process of the
 * scenario runs every workload that names it, all interleaved one op at a time (round robin, in
 * scenario order), sampled every `sample_interval` of simulated time. Deterministic for a seed.
 */
export function runPolicy(scenario: Scenario, policy: string, options: RunOptions = {}): RunResult {
  const started = options.hostTime ? performance.now() : 0;
  const machine = buildScenarioMachine(scenario, policy, options.parts);
  const baseDir = options.scenarioPath ? dirname(resolve(options.scenarioPath)) : process.cwd();
  const procs = new Map<string, SimProcess[]>();
  for (const inst of processInstances(scenario)) {
    const p = machine.spawn(inst.name, inst.cgroup);
    const list = procs.get(inst.spec) ?? [];
    list.push(p);
    procs.set(inst.spec, list);
  }
  const cursors: Cursor[] = [];
  let total = 0;
  scenario.workloads.forEach((spec, k) => {
    const targets = spec.processes ? spec.processes.flatMap((n) => procs.get(n) ?? []) : [...procs.values()].flat();
    for (const p of targets) {
      const w = makeWorkload(spec, machine, baseDir);
      total += w.totalOps;
      cursors.push({ process: p, it: w.ops[Symbol.iterator](), prefix: `w${k}.`, done: false });
    }
  });
  const perProcess = new Map<SimProcess, number>();
  for (const c of cursors) perProcess.set(c.process, (perProcess.get(c.process) ?? 0) + 1);
  for (const c of cursors) if (perProcess.get(c.process) === 1) c.prefix = '';

  const series = new TimeSeries();
  const peakNested = { machine: {} as Record<string, Record<string, number>>, processes: {} as Record<string, Record<string, number>>, cgroups: {} as Record<string, Record<string, number>> };
  const sample = () => {
    const snap = machine.snapshot();
    const values: Record<string, number> = {};
    for (const m of SERIES_METRICS) values[m] = snap.machine[m] ?? 0;
    series.sample(machine.clock.now, values);
    maxNested(peakNested.machine, { machine: snap.machine });
    maxNested(peakNested.processes, snap.processes);
    maxNested(peakNested.cgroups, snap.cgroups);
    return snap;
  };
  const interval = scenario.sample_interval;
  const limit = scenario.length;
  sample();
  let nextSample = interval > 0 ? interval : Infinity;
  let done = 0;
  let live = cursors.length;
  const progressEvery = Math.max(1, Math.floor(total / 200));
  outer: while (live > 0) {
    for (const c of cursors) {
      if (c.done) continue;
      const r = c.process.alive ? c.it.next() : { done: true as const, value: undefined };
      if (r.done) {
        c.done = true;
        live--;
        continue;
      }
      machine.schedule(c.process);
      if (r.value.op === 'unmapped-guest') machine.kernelWork(r.value, c.process);
      else c.process.apply(inNamespace(r.value, c.prefix));
      done++;
      machine.tick();
      if (machine.clock.now >= nextSample) {
        sample();
        // The next multiple of the interval after now (the clock may have jumped several).
        nextSample = (Math.floor(machine.clock.now / interval) + 1) * interval;
      }
      if (options.onProgress && done % progressEvery === 0) options.onProgress(done, total, policy);
      if (limit !== undefined && machine.clock.now >= limit) break outer;
    }
  }
  const finalSnap = sample();
  options.onMachineDone?.(machine);
  options.onProgress?.(total, total, policy);
  const peak: MetricsBlock = { ...peakNested.machine['machine'], processes: peakNested.processes, cgroups: peakNested.cgroups };
  const result: RunResult = {
    policy,
    final: block(finalSnap),
    peak,
    series: series.toJSON(),
    events: [...machine.events],
    ...(options.hostTime ? { host_ms: Math.round(performance.now() - started) } : {}),
  };
  return result;
}

/** Runs the scenario under each policy (default: the scenario's list) and returns the report. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): Report {
  const policies = options.policies ?? scenario.policies;
  return { kmodel: VERSION, scenario: scenario.name, seed: scenario.seed, runs: policies.map((p) => runPolicy(scenario, p, options)) };
}
