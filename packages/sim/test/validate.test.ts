import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compareRecords,
  DEFAULT_RSS_TOLERANCE_KB,
  describeFirstDifference,
  kernelNoiseDuring,
  MODEL_THP,
  loadValidationCase,
  loadValidationSuite,
  parseRecording,
  parseTrace,
  recordDeltas,
  recordingPathFor,
  renderValidation,
  renderValidationSummary,
  validateTrace,
  validationJson,
  ValidateErrorCode,
  replayTrace,
  type StatusRecord,
  type Trace,
} from '@kmodel/sim';
import { describe, expect, it } from 'vitest';
import { thrown } from './support/thrown.js';

const rec = (label: string, VmPTE: number, RssAnon: number, extra: Record<string, number> = {}): StatusRecord => ({ label, VmPTE, RssAnon, VmRSS: RssAnon + 1000, PageTables: 5000, ...extra });

// What the kernel printed for validation/dontneed-whole.jsonl, and a model that forgets PT reclaim.
const kernel = [rec('baseline', 36, 268), rec('written', 2092, 2316), rec('dontneed-whole', 44, 268), rec('unmapped', 36, 268)];
const noReclaim = [rec('baseline', 0, 0), rec('written', 2056, 2048), rec('dontneed-whole', 2056, 0), rec('unmapped', 0, 0)];
const good = [rec('baseline', 0, 0), rec('written', 2056, 2048), rec('dontneed-whole', 8, 0), rec('unmapped', 0, 0)];

const traceText = [
  '{"op":"status","label":"baseline"}',
  '{"op":"mmap","region":"heap","addr":"0x100000000000","size":"1GiB"}',
  '{"op":"touch","region":"heap","stride":"2MiB","access":"write"}',
  '{"op":"status","label":"written"}',
  '{"op":"madvise","region":"heap","advice":"dontneed"}',
  '{"op":"status","label":"dontneed-whole"}',
  '{"op":"munmap","region":"heap"}',
  '{"op":"status","label":"unmapped"}',
].join('\n');
const trace = parseTrace(traceText, 'dontneed-whole.jsonl');

describe('recordDeltas', () => {
  it('subtracts the first record', () => {
    expect(recordDeltas(kernel)).toEqual([
      { label: 'baseline', VmPTE: 0, RssAnon: 0, collapses: 0, thpFallbacks: 0 },
      { label: 'written', VmPTE: 2056, RssAnon: 2048, collapses: 0, thpFallbacks: 0 },
      { label: 'dontneed-whole', VmPTE: 8, RssAnon: 0, collapses: 0, thpFallbacks: 0 },
      { label: 'unmapped', VmPTE: 0, RssAnon: 0, collapses: 0, thpFallbacks: 0 },
    ]);
  });
  it('counts khugepaged collapses and THP fallbacks from /proc/vmstat counters when the records carry them', () => {
    const noisy = kernel.map((r, i) => ({ ...r, thp_collapse_alloc: i < 2 ? 220 : 223, thp_fault_fallback: i < 3 ? 0 : 1 }));
    expect(recordDeltas(noisy).map((d) => [d.collapses, d.thpFallbacks])).toEqual([
      [0, 0],
      [0, 0],
      [3, 0],
      [3, 1],
    ]);
    expect(kernelNoiseDuring(noisy)).toEqual({ collapses: 3, thpFallbacks: 1 });
    expect(kernelNoiseDuring(kernel)).toEqual({ collapses: 0, thpFallbacks: 0 });
  });
  it('needs a record', () => {
    expect(thrown(() => recordDeltas([])).code).toBe(ValidateErrorCode.NoRecords);
  });
});

describe('compareRecords', () => {
  it('agrees on equal deltas whatever the baselines', () => {
    const r = compareRecords(kernel, good);
    expect(r.agree).toBe(true);
    expect(r.firstDifference).toBeUndefined();
    expect(r.rssToleranceKb).toBe(DEFAULT_RSS_TOLERANCE_KB);
    expect(r.rows.map((row) => row.ok)).toEqual([true, true, true, true]);
  });

  it('finds the first record whose VmPTE delta differs', () => {
    const r = compareRecords(kernel, noReclaim);
    expect(r.agree).toBe(false);
    expect(r.firstDifference).toEqual({ index: 2, label: 'dontneed-whole', field: 'VmPTE', native: 8, model: 2056 });
    expect(r.rows.map((row) => row.vmPteOk)).toEqual([true, true, false, true]);
  });

  it('requires VmPTE exactly: 4 kB off is a difference', () => {
    const r = compareRecords(kernel, [good[0]!, rec('written', 2060, 2048), good[2]!, good[3]!]);
    expect(r.firstDifference).toMatchObject({ label: 'written', field: 'VmPTE', native: 2056, model: 2060 });
  });

  it('accepts RssAnon within the tolerance and rejects it beyond', () => {
    const model = [good[0]!, rec('written', 2056, 2048 + 64), good[2]!, good[3]!];
    expect(compareRecords(kernel, model, { rssToleranceKb: 64 }).agree).toBe(true);
    const r = compareRecords(kernel, model, { rssToleranceKb: 60 });
    expect(r.agree).toBe(false);
    expect(r.firstDifference).toEqual({ index: 1, label: 'written', field: 'RssAnon', native: 2048, model: 2112 });
    expect(r.rows[1]).toMatchObject({ vmPteOk: true, rssAnonOk: false, ok: false });
  });

  it('does not compare RssAnon at records the kernel reached after a khugepaged collapse, but still VmPTE', () => {
    // khugepaged turned a sparsely written 2 MiB block into a THP: +2044 kB that the trace never asked for.
    const collapsed = [rec('baseline', 36, 268, { thp_collapse_alloc: 5 }), rec('written', 2092, 2316, { thp_collapse_alloc: 5 }), rec('dontneed-whole', 44, 2312, { thp_collapse_alloc: 6 }), rec('unmapped', 36, 268, { thp_collapse_alloc: 6 })];
    const r = compareRecords(collapsed, good);
    expect(r.agree).toBe(true);
    expect(r.rows.map((row) => row.noise)).toEqual([[], [], ['khugepaged'], ['khugepaged']]);
    const off = compareRecords(collapsed, [good[0]!, good[1]!, rec('dontneed-whole', 12, 0), good[3]!]);
    expect(off.firstDifference).toMatchObject({ label: 'dontneed-whole', field: 'VmPTE', native: 8, model: 12 });
    const text = renderValidation({ source: 't.jsonl', profile: 'linux-6.18', lines: [1, 2, 3, 4], unplaced: [], native: collapsed, model: good, report: r });
    expect(text).toContain('ok (khugepaged +1: RssAnon not compared)');
  });

  it('does not compare RssAnon after a THP fault fell back to 4 KiB pages', () => {
    // No free 2 MiB block: the kernel mapped 4 KiB pages (a PTE table instead of a deposit) where the model has a THP.
    const fellBack = [rec('baseline', 36, 268, { thp_fault_fallback: 0 }), rec('written', 2092, 272, { thp_fault_fallback: 512 }), rec('dontneed-whole', 44, 268, { thp_fault_fallback: 512 }), rec('unmapped', 36, 268, { thp_fault_fallback: 512 })];
    const r = compareRecords(fellBack, good);
    expect(r.agree).toBe(true);
    expect(r.rows.map((row) => row.noise)).toEqual([[], ['thp_fallback'], ['thp_fallback'], ['thp_fallback']]);
    const text = renderValidation({ source: 't.jsonl', profile: 'linux-6.18', lines: [1, 2, 3, 4], unplaced: [], native: fellBack, model: good, report: r });
    expect(text).toContain('ok (THP fallback +512: RssAnon not compared)');
  });

  it('refuses different labels and a negative tolerance', () => {
    const e = thrown(() => compareRecords(kernel, good.slice(0, 3)));
    expect(e.code).toBe(ValidateErrorCode.Labels);
    expect(e.message).toContain('[baseline, written, dontneed-whole, unmapped]');
    expect(thrown(() => compareRecords(kernel, good, { rssToleranceKb: -1 })).code).toBe('E_OUT_OF_RANGE');
  });
});

describe('validateTrace and its reports', () => {
  it('renders agreement side by side', async () => {
    const result = await validateTrace(trace, { profile: 'linux-6.18', runNative: () => kernel, runModel: async () => good });
    expect(result.lines).toEqual([1, 4, 6, 8]);
    expect(result.report.agree).toBe(true);
    const text = renderValidation(result);
    expect(text.split('\n')).toEqual([
      'dontneed-whole.jsonl: kernel vs model (profile linux-6.18), deltas against "baseline" in kB; VmPTE must be equal, RssAnon within ±64 kB',
      'status          line  VmPTE kernel  VmPTE model  RssAnon kernel  RssAnon model  result',
      'baseline           1             0            0               0              0  ok',
      'written            4          2056         2056            2048           2048  ok',
      'dontneed-whole     6             8            8               0              0  ok',
      'unmapped           8             0            0               0              0  ok',
      'dontneed-whole.jsonl: agrees (4 records)',
    ]);
    expect(describeFirstDifference(result)).toBeUndefined();
  });

  it('names the first differing record, its trace line and the profile', async () => {
    const result = await validateTrace(trace, { profile: 'linux-6.13', runNative: () => kernel, runModel: () => noReclaim, rssToleranceKb: 16 });
    const text = renderValidation(result);
    expect(text).toContain('dontneed-whole     6             8         2056               0              0  VmPTE +2048 DIFFERS');
    expect(describeFirstDifference(result)).toBe(
      'dontneed-whole.jsonl:6: first difference at status "dontneed-whole": VmPTE delta is 8 kB on the kernel but 2056 kB in the model (profile linux-6.13; +2048 kB; must be equal)',
    );
    expect(renderValidationSummary([result])).toBe('DIFFERS  dontneed-whole.jsonl\n0 of 1 traces agree with the kernel (RssAnon tolerance ±16 kB)');
  });

  it('maps the mappings without addr where the model places them, 4 TiB lower, on both sides, and says so', async () => {
    const unplacedTrace = parseTrace(traceText.replace('"addr":"0x100000000000",', ''), 'unplaced.jsonl');
    const ran: Trace[] = [];
    const result = await validateTrace(unplacedTrace, {
      profile: 'linux-6.18',
      runNative: (t) => (ran.push(t), kernel),
      runModel: (t) => (ran.push(t), good),
    });
    expect(result.unplaced).toEqual([2]);
    expect(result.pinShift).toBe(8n << 39n);
    // Both sides ran the same pinned trace: the model's own top-down placement of 1 GiB, 4 TiB lower.
    let own = 0n;
    replayTrace(unplacedTrace, { onMmap: (_line, addr) => (own = addr) });
    for (const t of ran) expect(t.ops.find((o) => o.op === 'mmap')).toMatchObject({ line: 2, addr: own - (8n << 39n), size: 1 << 30 });
    expect(own % (2n << 20n)).toBe(0n);
    expect(renderValidation(result).split('\n').at(-1)).toBe(
      "note: the mmap on line 2 has no addr: both sides mapped it where the model places it, 4096 GiB lower (clear of the runner's own mappings); the kernel's own placement is not compared",
    );
    const json = validationJson([result]) as { traces: { unplacedMmapLines: number[]; pinShift: string | null }[] };
    expect(json.traces[0]).toMatchObject({ unplacedMmapLines: [2], pinShift: '0x40000000000' });
  });

  it('with placement "kernel", runs the trace as it is and notes that the kernel randomises the placement', async () => {
    const unplacedTrace = parseTrace(traceText.replace('"addr":"0x100000000000",', ''), 'unplaced.jsonl');
    const ran: Trace[] = [];
    const result = await validateTrace(unplacedTrace, { profile: 'linux-6.18', placement: 'kernel', runNative: (t) => (ran.push(t), kernel), runModel: () => good });
    expect(ran[0]).toBe(unplacedTrace);
    expect(result.pinShift).toBeUndefined();
    expect(renderValidation(result).split('\n').at(-1)).toBe(
      "note: the mmap on line 2 has no addr: the kernel places it where ASLR puts it, next to the runner's own mappings, so tables and THPs can differ from the model's and from run to run; give every mapping an addr in an empty 512 GiB slot to compare exactly",
    );
    const placed = await validateTrace(trace, { profile: 'linux-6.18', runNative: (t) => (ran.push(t), kernel), runModel: () => good });
    expect(ran.at(-1)).toBe(trace);
    expect(placed.unplaced).toEqual([]);
    expect(renderValidation(placed)).not.toContain('note:');
  });

  it('notes a kernel whose THP settings are not the ones the model assumes', async () => {
    const always = kernel.map((r) => ({ ...r, thp_enabled: 'always', thp_use_zero_page: '1' }));
    const result = await validateTrace(trace, { profile: 'linux-6.18', runNative: () => always, runModel: () => good });
    expect(result.thpMismatch).toEqual({ enabled: 'always', useZeroPage: '1' });
    expect(renderValidation(result).split('\n').at(-1)).toBe(
      'note: this kernel runs THP enabled=always, use_zero_page=1; the model assumes enabled=madvise, use_zero_page=1 (the reference machine), so faults outside MADV_HUGEPAGE regions, or reads in them, can map other pages here than in the model',
    );
    const same = kernel.map((r) => ({ ...r, thp_enabled: MODEL_THP.enabled, thp_use_zero_page: MODEL_THP.useZeroPage }));
    const ok = await validateTrace(trace, { profile: 'linux-6.18', runNative: () => same, runModel: () => good });
    expect(ok.thpMismatch).toBeUndefined();
    expect(renderValidation(ok)).not.toContain('note:');
  });

  it('produces JSON with rows, lines and the first difference', async () => {
    const result = await validateTrace(trace, { profile: 'linux-6.13', runNative: () => kernel, runModel: () => noReclaim });
    const json = JSON.parse(JSON.stringify(validationJson([result]))) as { agree: boolean; traces: { firstDifference: unknown; rows: { line: number }[]; native: StatusRecord[] }[] };
    expect(json.agree).toBe(false);
    expect(json.traces[0]!.firstDifference).toEqual({ index: 2, label: 'dontneed-whole', field: 'VmPTE', native: 8, model: 2056, line: 6 });
    expect(json.traces[0]!.rows.map((r) => r.line)).toEqual([1, 4, 6, 8]);
    expect(json.traces[0]!.native[1]).toEqual(kernel[1]);
  });
});

describe('kernel recordings', () => {
  const suiteDir = fileURLToPath(new URL('../../../validation/', import.meta.url));

  it('maps a trace path to its recording', () => {
    expect(recordingPathFor('validation/a.jsonl')).toBe('validation/a.kernel.json');
  });

  it('loads every committed trace with its recording', () => {
    const suite = loadValidationSuite(suiteDir);
    expect(suite.length).toBeGreaterThanOrEqual(15);
    for (const c of suite) {
      expect(c.recording, c.path).toBeDefined();
      expect(c.recording!.kernel.config['CONFIG_PT_RECLAIM']).toBe('y');
    }
  });

  it('rejects a malformed recording naming the field', () => {
    const good = readFileSync(join(suiteDir, 'dontneed-whole.kernel.json'), 'utf8');
    const broken = good.replace('"VmPTE": ', '"VmPTE": "x", "_": ');
    const e = thrown(() => parseRecording(broken, 'r.kernel.json'));
    expect(e.code).toBe(ValidateErrorCode.BadRecording);
    expect(e.message).toContain('r.kernel.json: field "records.0.VmPTE"');
  });

  it('rejects a recording whose labels no longer match its trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmodel-validate-'));
    try {
      const recording = JSON.parse(readFileSync(join(suiteDir, 'dontneed-whole.kernel.json'), 'utf8')) as { trace: string };
      recording.trace = 't.jsonl';
      writeFileSync(join(dir, 't.kernel.json'), JSON.stringify(recording));
      writeFileSync(join(dir, 't.jsonl'), traceText.replace('"unmapped"', '"gone"'));
      const e = thrown(() => loadValidationCase(join(dir, 't.jsonl')));
      expect(e.code).toBe(ValidateErrorCode.BadRecording);
      expect(e.message).toContain('re-record');
      writeFileSync(join(dir, 't.jsonl'), traceText);
      expect(loadValidationCase(join(dir, 't.jsonl')).recording!.records).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
