import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseAddress, parseSize } from '@kmodel/core';
import { POLICIES } from '@kmodel/reclaim';
import { KERNEL_PROFILES, type KernelProfile } from '../scenario/profiles.js';
import { VERSION } from '../version.js';
import { badInput, classifyError, ExitCode, type CliIo } from './io.js';

// Command implementations load on demand, so `--help` and usage errors start fast.
const lazy = {
  scenario: () => import('../scenario/load.js'),
  run: () => import('../run/run.js'),
  report: async () => ({ ...(await import('../report/csv.js')), ...(await import('../report/json.js')), ...(await import('../report/table.js')) }),
  html: () => import('../report/html.js'),
  trace: () => import('../trace/index.js'),
  replay: () => import('../replay/replay.js'),
  walk: async () => ({ ...(await import('../walk/scenario-walk.js')), ...(await import('../walk/walk.js')) }),
  validate: () => import('./validate.js'),
  progress: () => import('./progress.js'),
};

function sizeOption(value: string): number {
  try {
    return parseSize(/^\d+$/.test(value) ? Number(value) : value, 'size');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^E_[A-Z_]+: /, ''));
  }
}

function profileOption(value: string): string {
  if (!(KERNEL_PROFILES as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown profile "${value}"; expected one of ${KERNEL_PROFILES.join(', ')}`);
  return value;
}

/** The policies `--policy` accepts, one line each. */
function policyHelp(): string {
  const lines = [
    ['kernel', "the machine's kernel profile alone (linux-6.18: PT_RECLAIM at MADV_DONTNEED)"],
    ...Object.entries(POLICIES).map(([name, p]) => [name, p.summary]),
    ['direct-map, per-page, freetype', 'how unmapped-guest memory leaves the direct map'],
  ];
  return `\nPolicies (combine reclaim policies with +, e.g. mainline+reclaim-path):\n${lines.map(([n, d]) => `  ${n}: ${d}`).join('\n')}\n`;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return badInput(`cannot read ${what} ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

interface OutputOptions {
  json?: boolean;
  csv?: boolean;
  html?: string;
  hostTime?: boolean;
}

async function runAndReport(io: CliIo, file: string, policies: string[] | undefined, opts: OutputOptions): Promise<void> {
  if (opts.json && opts.csv) badInput('--json and --csv both print to stdout; choose one');
  const [{ loadScenario }, { runScenario }, { reportJson, renderCsv, renderTable }, { progressBar }] = await Promise.all([lazy.scenario(), lazy.run(), lazy.report(), lazy.progress()]);
  const scenario = loadScenario(file);
  const bar = progressBar(io);
  let report;
  try {
    report = runScenario(scenario, { ...(policies ? { policies } : {}), scenarioPath: file, hostTime: Boolean(opts.hostTime), ...(bar.onProgress ? { onProgress: bar.onProgress } : {}) });
  } finally {
    bar.stop();
  }
  if (opts.json) io.out(reportJson(report));
  else if (opts.csv) io.out(renderCsv(report));
  else io.out(renderTable(report));
  if (opts.html) {
    const { renderHtml } = await lazy.html();
    writeFileSync(opts.html, await renderHtml(report, { description: scenario.description }));
    io.err(`HTML report written to ${opts.html}\n`);
  }
}

function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print the report as JSON (the shape of shared metrics.md)')
    .option('--csv', 'print the report as CSV: policy,metric,final,peak')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--host-time', 'add host_ms (host wall time) to each run; omitted by default so output is deterministic');
}

/**
 * The `kmodel` command line. Commands return through `io`; the promise resolves to the exit
 * code (0 ok, 1 failure, 2 bad input). Never calls `process.exit`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = ExitCode.Ok;
  const program = new Command('kmodel')
    .description('Model Linux page-table memory: run scenarios under reclaim policies, replay traces, walk page tables.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();

  addOutputOptions(
    program
      .command('run')
      .description('run a scenario under the policies it lists and print a summary table')
      .argument('<scenario>', 'scenario file (YAML or JSON)'),
  ).action(async (file: string, opts: OutputOptions) => runAndReport(io, file, undefined, opts));

  addOutputOptions(
    program
      .command('compare')
      .description('run a scenario with the same workload and seed under each policy, side by side')
      .argument('<scenario>', 'scenario file (YAML or JSON)')
      .requiredOption('--policy <list>', 'comma-separated policies, e.g. none,mainline,reclaim-path')
      .addHelpText('after', policyHelp),
  ).action(async (file: string, opts: OutputOptions & { policy: string }) => {
    const policies = opts.policy.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (policies.length === 0) badInput('--policy needs at least one policy name');
    if (new Set(policies).size !== policies.length) badInput(`--policy lists a policy twice: ${opts.policy}`);
    await runAndReport(io, file, policies, opts);
  });

  program
    .command('replay')
    .description('replay a trace (format v1) in the model and print one status record per status op')
    .argument('<trace>', 'trace file (JSON Lines)')
    .addOption(new Option('--profile <name>', `kernel profile (${KERNEL_PROFILES.join(', ')})`).default('linux-6.18').argParser(profileOption))
    .option('--memory-max <size>', 'run inside a cgroup v2 with this memory.max', sizeOption)
    .option('--cgroup-v1', 'use a cgroup v1 memory controller (with --limit)')
    .option('--limit <size>', 'cgroup v1 memory.limit_in_bytes', sizeOption)
    .option('--oom-kill-disable', 'cgroup v1 memory.oom_control: the task stalls at the limit instead of being killed')
    .option('--json', 'print JSON Lines (one record per line) instead of a table')
    .action(async (file: string, opts: { profile: string; memoryMax?: number; cgroupV1?: boolean; limit?: number; oomKillDisable?: boolean; json?: boolean }) => {
      if (opts.oomKillDisable && !opts.cgroupV1) badInput('--oom-kill-disable is a cgroup v1 setting: use it with --cgroup-v1 --limit');
      if (opts.memoryMax !== undefined && (opts.cgroupV1 || opts.limit !== undefined)) badInput('--memory-max is cgroup v2; --cgroup-v1 takes --limit instead');
      if (opts.limit !== undefined && !opts.cgroupV1) badInput('--limit needs --cgroup-v1 (for cgroup v2 use --memory-max)');
      if (opts.cgroupV1 && opts.limit === undefined) badInput('--cgroup-v1 needs --limit <size>');
      const [{ parseTrace }, { replayTrace, formatReplay }] = await Promise.all([lazy.trace(), lazy.replay()]);
      const trace = parseTrace(readText(file, 'trace'), file);
      const records = replayTrace(trace, {
        profile: opts.profile as KernelProfile,
        ...(opts.memoryMax !== undefined ? { memoryMax: opts.memoryMax } : {}),
        ...(opts.limit !== undefined ? { cgroupV1Limit: opts.limit } : {}),
        ...(opts.oomKillDisable ? { oomKillDisable: true } : {}),
      });
      io.out(opts.json ? records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '') : formatReplay(records));
    });

  program
    .command('walk')
    .description('walk a virtual address through the page tables, level by level, with every entry decoded')
    .argument('<address>', 'virtual address, "0x..."')
    .option('--scenario <file>', 'run this scenario (its first policy) and walk in its first process; without it, a fresh process maps and writes the page at <address>')
    .option('--process <name>', 'process to walk in (with --scenario)')
    .option('--json', 'print the walk as JSON')
    .action(async (addr: string, opts: { scenario?: string; process?: string; json?: boolean }) => {
      const address = parseAddress(addr);
      if (opts.process !== undefined && opts.scenario === undefined) badInput('--process needs --scenario');
      const [{ loadScenario }, { walkScenario, formatWalk }] = await Promise.all([lazy.scenario(), lazy.walk()]);
      const scenario = opts.scenario !== undefined ? loadScenario(opts.scenario) : undefined;
      const walk = walkScenario(address, scenario, { ...(opts.process !== undefined ? { process: opts.process } : {}), ...(opts.scenario !== undefined ? { scenarioPath: opts.scenario } : {}) });
      io.out(opts.json ? JSON.stringify(walk, null, 2) + '\n' : formatWalk(walk));
    });

  program
    .command('validate')
    .description('run traces on the live kernel and in the model, compare VmPTE and RssAnon deltas; exit 1 on any disagreement')
    .argument('<traces...>', 'trace files (JSON Lines)')
    .addOption(new Option('--profile <name>', `kernel profile of the model (${KERNEL_PROFILES.join(', ')})`).default('linux-6.18').argParser(profileOption))
    .option('--json', 'print the comparison as JSON')
    .action(async (files: string[], opts: { profile: string; json?: boolean }) => {
      const { validateCommand } = await lazy.validate();
      code = await validateCommand(io, files, { profile: opts.profile as KernelProfile, json: Boolean(opts.json) });
    });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors are bad input.
      return e.exitCode === 0 ? ExitCode.Ok : ExitCode.BadInput;
    }
    const { code: c, message } = classifyError(e);
    io.err(`kmodel: ${message}\n`);
    return c;
  }
}
