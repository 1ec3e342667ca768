import { GiB, MiB, parseAddress, parseSize, PAGE_SIZE, PMD_SIZE } from '@kmodel/core';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { KERNEL_PROFILES } from './profiles.js';

/**
 * The scenario file schema (YAML or JSON). Keys are snake_case; sizes are bytes or strings with a
 * binary unit (`"24GiB"`), durations are simulated nanoseconds or strings with a unit (`"10ms"`).
 * Parsing applies every default, so a {@link Scenario} is complete.
 */

function describeError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // Drop the "E_CODE: " prefix of KmodelError messages: the path already says where.
  return msg.replace(/^E_[A-Z_]+: /, '');
}

/** A size in bytes; optionally a multiple of `multiple` and at least `min`. */
function size(opts: { multiple?: number; min?: number } = {}) {
  const multiple = opts.multiple ?? 1;
  const min = opts.min ?? 0;
  return z.union([z.number(), z.string()], { error: 'expected a size: bytes as an integer or a string such as "2MiB"' }).transform((v, ctx) => {
    let bytes: number;
    try {
      bytes = parseSize(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: describeError(e) });
      return z.NEVER;
    }
    if (bytes % multiple !== 0) {
      ctx.addIssue({ code: 'custom', message: `size ${JSON.stringify(v)} must be a multiple of ${multiple} bytes` });
      return z.NEVER;
    }
    if (bytes < min) {
      ctx.addIssue({ code: 'custom', message: `size ${JSON.stringify(v)} must be at least ${min} bytes` });
      return z.NEVER;
    }
    return bytes;
  });
}

const duration = z.union([z.number(), z.string()], { error: 'expected a duration: ns as an integer or a string such as "10ms"' }).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: describeError(e) });
    return z.NEVER;
  }
});

const address = z.string({ error: 'expected an address as a "0x..." hex string' }).transform((v, ctx) => {
  try {
    const a = parseAddress(v);
    if (a % BigInt(PAGE_SIZE) !== 0n) {
      ctx.addIssue({ code: 'custom', message: `address ${v} must be 4 KiB aligned` });
      return z.NEVER;
    }
    return a;
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: describeError(e) });
    return z.NEVER;
  }
});

const fraction = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const positive = z.number().int().positive();
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a name of letters, digits, "_", "." or "-"');
/** Names of the processes a workload runs in (each instance of each); default every process. */
const processRefs = z.array(name).min(1).optional();

export { KERNEL_PROFILES, type KernelProfile } from './profiles.js';

const machine = z.strictObject({
  /** Physical memory. */
  ram: size({ multiple: 2 * MiB, min: 64 * MiB }).default(24 * GiB),
  /** CPUs (TLBs and mermap slices). */
  cpus: positive.max(256).default(2),
  /** 4-level or 5-level (LA57) paging. */
  paging_levels: z.union([z.literal(4), z.literal(5)], { error: 'expected 4 or 5' }).default(4),
  /** Kernel behaviour profile. */
  profile: z.enum(KERNEL_PROFILES).default('linux-6.18'),
  /** Cost overrides, ns per operation (names of @kmodel/core's DEFAULT_COSTS). */
  costs: z.record(z.string(), z.number().nonnegative()).default({}),
  /** cgroup v1 or v2 (the unified hierarchy). */
  cgroup_version: z.union([z.literal(1), z.literal(2)], { error: 'expected 1 or 2' }).default(2),
});

const cgroup = z.strictObject({
  /** Path from the root, e.g. "/attack" or "/a/b" (parents are created). */
  path: z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'expected a cgroup path such as "/attack"'),
  /** v2 memory.max. */
  memory_max: size({ multiple: PAGE_SIZE }).optional(),
  /** v2 memory.high. */
  memory_high: size({ multiple: PAGE_SIZE }).optional(),
  /** v1 memory.limit_in_bytes. */
  limit_in_bytes: size({ multiple: PAGE_SIZE }).optional(),
  /** v1 memory.oom_control oom_kill_disable. */
  oom_kill_disable: z.boolean().optional(),
});

const process = z.strictObject({
  name,
  /** cgroup path; the root cgroup when absent. */
  cgroup: z.string().default('/'),
  /** Number of identical processes ("name-0", "name-1", ... when more than one). */
  count: positive.max(4096).default(1),
});

const zeroPageAttack = z.strictObject({
  type: z.literal('zero-page-attack'),
  processes: processRefs,
  /** Address space each process maps and reads. */
  size: size({ multiple: PMD_SIZE, min: PMD_SIZE }),
  /** One byte read per stride. */
  stride: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(PMD_SIZE),
});

const allocatorChurn = z.strictObject({
  type: z.literal('allocator-churn'),
  processes: processRefs,
  /** Arenas per process, each one mapping. */
  arenas: positive.max(1024).default(4),
  arena_size: size({ multiple: PMD_SIZE, min: PMD_SIZE }).default(GiB),
  /** Rounds of touch-then-give-back per arena. */
  rounds: positive.max(1_000_000).default(20),
  /** Bytes written per round in each arena (as runs of `run_size`). */
  touch_per_round: size({ multiple: PAGE_SIZE }).default(64 * MiB),
  /** One write per `touch_stride` inside a touched run. */
  touch_stride: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(64 * 1024),
  /** Size of the runs touched and given back. */
  run_size: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(4 * MiB),
  /** Fraction of the touched runs given back with MADV_DONTNEED each round. */
  release_fraction: fraction.default(0.75),
  /** Alignment of the given-back sub-ranges (4 KiB: jemalloc-like extents; 2 MiB: hugepage-aligned purges). */
  release_align: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(PAGE_SIZE),
});

const vmBalloonMigration = z.strictObject({
  type: z.literal('vm-balloon-migration'),
  processes: processRefs,
  guest_memory: size({ multiple: PMD_SIZE, min: PMD_SIZE }).default(4 * GiB),
  /** One write per stride when the guest fills its memory before ballooning. */
  fill_stride: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(64 * 1024),
  /** Fraction of guest memory the balloon takes back (DONTNEED). */
  balloon_fraction: fraction.default(0.75),
  /** Granularity of balloon inflation (virtio-balloon hands back 4 KiB pages). */
  balloon_chunk: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(PAGE_SIZE),
  /** Live migration reads all guest memory at this stride. */
  migration_stride: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(PAGE_SIZE),
});

const sparseScan = z.strictObject({
  type: z.literal('sparse-scan'),
  processes: processRefs,
  size: size({ multiple: PMD_SIZE, min: PMD_SIZE }).default(256 * GiB),
  /** Pages written at random places before the scans. */
  data_pages: count.max(10_000_000).default(1024),
  /** Read scans over the whole mapping. */
  passes: positive.max(1000).default(1),
  stride: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(PMD_SIZE),
});

const unmappedGuest = z.strictObject({
  type: z.literal('unmapped-guest'),
  processes: processRefs,
  /** Guest memory allocated (and zeroed) outside the direct map. */
  guest_memory: size({ multiple: PAGE_SIZE, min: PAGE_SIZE }).default(256 * MiB),
  /** Folio order (0: 4 KiB pages; 9: 2 MiB folios). */
  order: z.number().int().min(0).max(10).default(0),
  /**
   * How pages leave the direct map: stay mapped (`direct-map`), per-page removal (`per-page`),
   * freetype pageblock removal (`freetype`). Default: the run's policy when it is one of these
   * three, else `freetype`.
   */
  strategy: z.enum(['direct-map', 'per-page', 'freetype']).optional(),
  /** read() calls through the mermap, as a fraction of the folios. */
  reads: fraction.default(0.5),
  /** Copy-on-write faults, as a fraction of the folios. */
  cow_faults: fraction.default(0.1),
  /** Folios freed during the run, as a fraction of the folios. */
  frees: fraction.default(0.1),
  /** A mapping may be held for up to this many further operations (a preempted task). */
  max_hold: count.max(64).default(4),
  /** Stale-TLB checker: report violations, flush on free, or track a page flag. */
  checker: z.enum(['report', 'flush_on_free', 'page_flag']).default('report'),
});

const traceWorkload = z.strictObject({
  type: z.literal('trace'),
  processes: processRefs,
  /** A trace file (format v1), relative to the scenario file. */
  file: z.string().min(1),
});

const workload = z.discriminatedUnion('type', [zeroPageAttack, allocatorChurn, vmBalloonMigration, sparseScan, unmappedGuest, traceWorkload], {
  error: 'expected a workload with type zero-page-attack, allocator-churn, vm-balloon-migration, sparse-scan, unmapped-guest or trace',
});

/** The schema of a scenario file. */
export const scenarioSchema = z
  .strictObject({
    name: name,
    description: z.string().default(''),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(1),
    machine: machine.prefault({}),
    cgroups: z.array(cgroup).default([]),
    processes: z.array(process).min(1),
    workloads: z.array(workload).min(1),
    /**
     * Policies to run the workload under: `kernel` (the machine's kernel profile alone), the
     * stock reclaim policies of @kmodel/reclaim (combined with "+"), or the direct-map strategies.
     */
    policies: z.array(z.string().min(1)).min(1).default(['kernel']),
    /** Parameters of stock reclaim policies, by policy spec: `{ zero-scan: { ratio: 1 } }`. */
    policy_params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Stop after this much simulated time (the workloads' end otherwise). */
    length: duration.optional(),
    /** Simulated time between samples of the series. */
    sample_interval: duration.default(1_000_000),
  })
  .superRefine((s, ctx) => {
    const cgroupPaths = new Set(['/', ...s.cgroups.map((c) => c.path)]);
    s.cgroups.forEach((c, i) => {
      const v1 = c.limit_in_bytes !== undefined || c.oom_kill_disable !== undefined;
      const v2 = c.memory_max !== undefined || c.memory_high !== undefined;
      if (s.machine.cgroup_version === 2 && v1) ctx.addIssue({ code: 'custom', path: ['cgroups', i], message: 'limit_in_bytes / oom_kill_disable are cgroup v1 files; set machine.cgroup_version: 1 or use memory_max' });
      if (s.machine.cgroup_version === 1 && v2) ctx.addIssue({ code: 'custom', path: ['cgroups', i], message: 'memory_max / memory_high are cgroup v2 files; use limit_in_bytes with cgroup_version 1' });
    });
    const total = s.processes.reduce((n, p) => n + p.count, 0);
    // Each address space is a PCID of the TLB model (1..4095), like an x86 ASID space without recycling.
    if (total > 4095) ctx.addIssue({ code: 'custom', path: ['processes'], message: `${total} processes in all; at most 4095 (one PCID each)` });
    const procNames = new Set<string>();
    s.processes.forEach((p, i) => {
      if (procNames.has(p.name)) ctx.addIssue({ code: 'custom', path: ['processes', i, 'name'], message: `duplicate process name "${p.name}"` });
      procNames.add(p.name);
      if (!cgroupPaths.has(p.cgroup)) ctx.addIssue({ code: 'custom', path: ['processes', i, 'cgroup'], message: `unknown cgroup "${p.cgroup}"; expected "/" or one of the paths under cgroups` });
    });
    s.workloads.forEach((w, i) => {
      w.processes?.forEach((p, j) => {
        if (!procNames.has(p)) ctx.addIssue({ code: 'custom', path: ['workloads', i, 'processes', j], message: `unknown process "${p}"; expected one of ${[...procNames].join(', ')}` });
      });
    });
    const seen = new Set<string>();
    s.policies.forEach((p, i) => {
      if (seen.has(p)) ctx.addIssue({ code: 'custom', path: ['policies', i], message: `policy "${p}" is listed twice` });
      seen.add(p);
    });
  });

/** A scenario file as written (before defaults). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario with every default applied. */
export type Scenario = z.output<typeof scenarioSchema>;
/** One validated workload. */
export type WorkloadSpec = Scenario['workloads'][number];
/** One validated cgroup entry. */
export type CgroupSpec = Scenario['cgroups'][number];
/** One validated process entry. */
export type ProcessSpec = Scenario['processes'][number];
/** The validated machine section. */
export type MachineSpec = Scenario['machine'];
