import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadValidationCase, loadValidationSuite, renderValidation, replayTrace, statusRecords, validateTrace, type ValidationCase } from '@kmodel/sim';
import { describe, expect, it } from 'vitest';

/**
 * The CI check of the model against the kernel: every trace of validation/ is replayed in the
 * model and compared with the records the live kernel printed for it (committed beside it).
 */
const suiteDir = fileURLToPath(new URL('../../../validation/', import.meta.url));
const suite = loadValidationSuite(suiteDir);

function validate(c: ValidationCase, profile: 'linux-6.18' | 'linux-6.13') {
  return validateTrace(c.trace, {
    profile,
    runNative: () => c.recording!.records,
    runModel: (t) => statusRecords(replayTrace(t, { profile })),
  });
}

describe('the validation suite', () => {
  it('has at least 15 traces, each with a kernel recording from a CONFIG_PT_RECLAIM=y kernel', () => {
    expect(suite.length).toBeGreaterThanOrEqual(15);
    for (const c of suite) {
      expect(c.recording, `${c.path} has no .kernel.json`).toBeDefined();
      expect(c.recording!.kernel.config['CONFIG_PT_RECLAIM']).toBe('y');
      expect(c.recording!.kernel.la57).toBe(false);
    }
  });

  it.each(suite.map((c) => [basename(c.path), c] as const))('%s: the linux-6.18 model agrees with the recorded kernel', async (_name, c) => {
    const result = await validate(c, 'linux-6.18');
    const table = renderValidation(result);
    expect(result.report.rows.filter((r) => !r.vmPteOk).map((r) => r.label), `VmPTE differs:\n${table}`).toEqual([]);
    expect(result.report.rows.filter((r) => !r.rssAnonOk).map((r) => r.label), `RssAnon differs:\n${table}`).toEqual([]);
    expect(result.report.agree).toBe(true);
  });

  it('a model without PT reclaim (linux-6.13) disagrees at the first status after a whole-block MADV_DONTNEED', async () => {
    const result = await validate(loadValidationCase(`${suiteDir}dontneed-whole.jsonl`), 'linux-6.13');
    expect(result.report.agree).toBe(false);
    expect(result.report.firstDifference).toEqual({ index: 2, label: 'dontneed-whole', field: 'VmPTE', native: 8, model: 2056 });
    expect(renderValidation(result)).toContain('dontneed-whole.jsonl:8: first difference at status "dontneed-whole": VmPTE delta is 8 kB on the kernel but 2056 kB in the model (profile linux-6.13; +2048 kB; must be equal)');
  });
});
