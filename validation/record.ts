/**
 * Records what the live kernel prints for the traces of this directory:
 *   npx tsx validation/record.ts [trace.jsonl ...]     (default: every validation/*.jsonl)
 * writes <name>.kernel.json beside each trace (3 native runs that must agree in VmPTE).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordNative } from '../packages/sim/src/native/index.js';
import { parseTrace } from '../packages/sim/src/trace/index.js';
import { recordDeltas, recordingPathFor } from '../packages/sim/src/validate/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const files = args.length > 0 ? args : readdirSync(here).filter((f) => f.endsWith('.jsonl')).sort().map((f) => join(here, f));

for (const file of files) {
  const trace = parseTrace(readFileSync(file, 'utf8'), basename(file));
  const recording = await recordNative(trace);
  writeFileSync(recordingPathFor(file), `${JSON.stringify(recording, null, 2)}\n`);
  const deltas = recordDeltas(recording.records);
  console.log(`${basename(file)} (RssAnon spread ${recording.rssAnonSpreadKb} kB)`);
  for (const d of deltas) console.log(`  ${d.label.padEnd(28)} VmPTE ${String(d.VmPTE).padStart(7)}  RssAnon ${String(d.RssAnon).padStart(7)}`);
}
