/**
 * @kmodel/sim benchmark: host time and memory of
 * - `kmodel replay` of the 2 TiB one-byte-per-2-MiB attack, end to end (a child process, node
 *   start-up included) and in-process (replayTrace alone);
 * - each policy of the demo scenario (runPolicy), in simulated operations per host second.
 *
 * Run: pnpm build && pnpm --filter @kmodel/sim bench
 * The figures are host timings on a shared machine: noisy, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_SCENARIO, parseTrace, replayTrace, runPolicy, statusRecords, validateScenario } from '@kmodel/sim';

const ATTACK = [
  '{"op":"status","label":"baseline"}',
  '{"op":"mmap","region":"attack","addr":"0x100000000000","size":"2TiB","prot":"r"}',
  '{"op":"touch","region":"attack","stride":"2MiB","access":"read"}',
  '{"op":"status","label":"after-attack"}',
].join('\n');

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function endToEnd(): void {
  const dir = mkdtempSync(join(tmpdir(), 'kmodel-bench-'));
  const file = join(dir, 'attack-2t.jsonl');
  writeFileSync(file, ATTACK + '\n');
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const out = execFileSync(process.execPath, [cli, 'replay', file, '--json'], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const last = JSON.parse(out.trim().split('\n').at(-1)!);
    console.log(`kmodel replay 2 TiB attack, end to end: ${ms.toFixed(0)} ms  (VmPTE ${last.VmPTE} kB, nr_ptes ${last.nr_ptes}, nr_pmds ${last.nr_pmds})`);
  }
  rmSync(dir, { recursive: true, force: true });
}

function inProcess(): void {
  const trace = parseTrace(ATTACK);
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const recs = statusRecords(replayTrace(trace));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const mem = process.memoryUsage();
  console.log(`replayTrace 2 TiB attack, in process: ${ms.toFixed(0)} ms, ${(1_048_576 / (ms / 1000) / 1e6).toFixed(2)} M faults/s; rss ${mib(mem.rss)} (+${mib(mem.rss - before)}), heap ${mib(mem.heapUsed)}; PTE tables ${recs[1]!['nr_ptes']}`);
}

function demoPolicies(): void {
  const scenario = validateScenario(DEMO_SCENARIO, 'demo');
  for (const policy of scenario.policies) {
    let ops = 0;
    const t0 = process.hrtime.bigint();
    const run = runPolicy(scenario, policy, { onProgress: (done) => (ops = done) });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`demo under ${policy.padEnd(12)}: ${ms.toFixed(0)} ms host, ${ops} ops (${((ops / ms) * 1000).toFixed(0)} ops/s), ${((run.final['time_ns'] as number) / 1e6).toFixed(1)} ms simulated, rss ${mib(process.memoryUsage().rss)}`);
  }
}

endToEnd();
inProcess();
demoPolicies();
