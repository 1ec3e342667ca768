/**
 * Differential sweep: random traces (packages/sim/test/support/random-trace.ts) run on the
 * live kernel and in the model; every trace that disagrees is written to the output
 * directory with its side-by-side report.
 *   nice -n 10 npx tsx validation/fuzz.ts [count=200] [firstSeed=1] [outDir=/tmp/kmodel-fuzz]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunner, runNative } from '../packages/sim/src/native/index.js';
import { replayTrace, statusRecords } from '../packages/sim/src/replay/replay.js';
import { parseTrace } from '../packages/sim/src/trace/index.js';
import { renderValidation, validateTrace } from '../packages/sim/src/validate/index.js';
import { randomTrace } from '../packages/sim/test/support/random-trace.js';

const count = Number(process.argv[2] ?? 200);
const firstSeed = Number(process.argv[3] ?? 1);
const outDir = process.argv[4] ?? '/tmp/kmodel-fuzz';
mkdirSync(outDir, { recursive: true });
const runner = buildRunner();

let differ = 0;
for (let seed = firstSeed; seed < firstSeed + count; seed++) {
  if (seed > firstSeed && (seed - firstSeed) % 250 === 0) console.log(`... ${seed - firstSeed} traces, ${differ} disagree`);
  const text = randomTrace(seed);
  const name = `seed-${seed}.jsonl`;
  const trace = parseTrace(text, name);
  let result;
  try {
    result = await validateTrace(trace, {
      profile: 'linux-6.18',
      runNative: (t) => runNative(t, { runner }),
      runModel: (t) => statusRecords(replayTrace(t)),
      // The runner allocates nothing between records: any RssAnon difference is worth a look.
      rssToleranceKb: 0,
    });
  } catch (e) {
    // A side that throws is a disagreement too (the other side may have run the trace fine).
    differ++;
    writeFileSync(join(outDir, name), text);
    writeFileSync(join(outDir, `seed-${seed}.txt`), `${(e as Error).stack ?? String(e)}\n`);
    console.log(`THROWS  seed ${seed}: ${(e as Error).message}`);
    continue;
  }
  if (!result.report.agree) {
    differ++;
    writeFileSync(join(outDir, name), text);
    writeFileSync(join(outDir, `seed-${seed}.txt`), `${renderValidation(result)}\n`);
    console.log(`DIFFERS seed ${seed}: ${result.report.firstDifference!.label} ${result.report.firstDifference!.field} kernel ${result.report.firstDifference!.native} model ${result.report.firstDifference!.model}`);
  }
}
console.log(`${count} traces, ${differ} disagree (seeds ${firstSeed}..${firstSeed + count - 1}, failures in ${outDir})`);
