/**
 * Shrinks a trace that disagrees with the kernel: drops op lines one at a time (then
 * status lines) while the trace still parses and still shows the same kind of
 * disagreement (the error code of a side that throws, or the field that differs first).
 *   nice -n 10 npx tsx validation/minimise.ts <trace.jsonl> [out.jsonl]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildRunner, runNative } from '../packages/sim/src/native/index.js';
import { replayTrace, statusRecords } from '../packages/sim/src/replay/replay.js';
import { parseTrace } from '../packages/sim/src/trace/index.js';
import { renderValidation, validateTrace } from '../packages/sim/src/validate/index.js';

const [input, output = input!.replace(/\.jsonl$/, '.min.jsonl')] = process.argv.slice(2);
const runner = buildRunner();

/** The kind of disagreement of a trace, or undefined when it parses badly or both sides agree. */
async function kind(lines: readonly string[]): Promise<string | undefined> {
  let trace;
  try {
    trace = parseTrace(lines.join('\n'), 'min.jsonl');
  } catch {
    return undefined;
  }
  if (!trace.ops.some((o) => o.op === 'status')) return undefined;
  try {
    const r = await validateTrace(trace, { profile: 'linux-6.18', runNative: (t) => runNative(t, { runner }), runModel: (t) => statusRecords(replayTrace(t)), rssToleranceKb: 0 });
    return r.report.agree ? undefined : `differs ${r.report.firstDifference!.field}`;
  } catch (e) {
    return `throws ${(e as { code?: string }).code ?? (e as Error).message}`;
  }
}

let lines = readFileSync(input!, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
const want = await kind(lines);
if (want === undefined) throw new Error(`${input} shows no disagreement`);
console.log(`${input}: ${want}, ${lines.length} lines`);
for (const statusPass of [false, true, false]) {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.includes('"status"') !== statusPass) continue;
    const shorter = [...lines.slice(0, i), ...lines.slice(i + 1)];
    if ((await kind(shorter)) === want) lines = shorter;
  }
}
writeFileSync(output!, `${lines.join('\n')}\n`);
console.log(`${output}: ${lines.length} lines`);
const trace = parseTrace(lines.join('\n'), output);
try {
  console.log(renderValidation(await validateTrace(trace, { profile: 'linux-6.18', runNative: (t) => runNative(t, { runner }), runModel: (t) => statusRecords(replayTrace(t)), rssToleranceKb: 0 })));
} catch (e) {
  console.log((e as Error).message);
}
