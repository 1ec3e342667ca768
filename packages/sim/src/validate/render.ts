import type { StatusRecord } from '../trace/index.js';
import type { CompareRow } from './compare.js';
import type { ValidationResult } from './validate.js';

function signed(kb: number): string {
  return kb > 0 ? `+${kb}` : String(kb);
}

/** The kernel work behind a row's `noise`, e.g. `khugepaged +1, THP fallback +2`. */
function noiseText(r: CompareRow): string {
  return [r.native.collapses > 0 ? `khugepaged +${r.native.collapses}` : '', r.native.thpFallbacks > 0 ? `THP fallback +${r.native.thpFallbacks}` : ''].filter((s) => s !== '').join(', ');
}

/** One line naming the first disagreement of a result, or `undefined` when both sides agree. */
export function describeFirstDifference(result: ValidationResult): string | undefined {
  const d = result.report.firstDifference;
  if (d === undefined) return undefined;
  const line = result.lines[d.index];
  const where = `${result.source}${line !== undefined ? `:${line}` : ''}`;
  const rule = d.field === 'VmPTE' ? 'must be equal' : `may differ by at most ${result.report.rssToleranceKb} kB`;
  return `${where}: first difference at status "${d.label}": ${d.field} delta is ${d.native} kB on the kernel but ${d.model} kB in the model (profile ${result.profile}; ${signed(d.model - d.native)} kB; ${rule})`;
}

/**
 * Renders a result as a side-by-side text table: per status record the kernel's and the
 * model's VmPTE and RssAnon deltas (kB) and whether they agree, then the first difference.
 */
export function renderValidation(result: ValidationResult): string {
  const { report } = result;
  const header = ['status', 'line', 'VmPTE kernel', 'VmPTE model', 'RssAnon kernel', 'RssAnon model', 'result'];
  const body = report.rows.map((r, i) => [
    r.label,
    String(result.lines[i] ?? ''),
    String(r.native.VmPTE),
    String(r.model.VmPTE),
    String(r.native.RssAnon),
    String(r.model.RssAnon),
    r.ok ? (r.noise.length > 0 ? `ok (${noiseText(r)}: RssAnon not compared)` : 'ok') : [r.vmPteOk ? '' : `VmPTE ${signed(r.model.VmPTE - r.native.VmPTE)}`, r.rssAnonOk ? '' : `RssAnon ${signed(r.model.RssAnon - r.native.RssAnon)}`].filter((s) => s !== '').join(', ') + ' DIFFERS',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const fmt = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 || c === row.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `${result.source}: kernel vs model (profile ${result.profile}), deltas against "${report.rows[0]?.label ?? ''}" in kB; VmPTE must be equal, RssAnon within ±${report.rssToleranceKb} kB`,
    fmt(header),
    ...body.map(fmt),
  ];
  out.push(describeFirstDifference(result) ?? `${result.source}: agrees (${report.rows.length} records)`);
  if (result.unplaced.length > 0) {
    const many = result.unplaced.length > 1;
    const which = many ? `the mmaps on lines ${result.unplaced.join(', ')} have no addr` : `the mmap on line ${result.unplaced[0]} has no addr`;
    const it = many ? 'them' : 'it';
    out.push(
      result.pinShift !== undefined
        ? `note: ${which}: both sides mapped ${it} where the model places ${it}, ${result.pinShift / (1n << 30n)} GiB lower (clear of the runner's own mappings); the kernel's own placement is not compared`
        : `note: ${which}: the kernel places ${it} where ASLR puts ${it}, next to the runner's own mappings, so tables and THPs can differ from the model's and from run to run; give every mapping an addr in an empty 512 GiB slot to compare exactly`,
    );
  }
  if (result.thpMismatch !== undefined) {
    const { enabled, useZeroPage } = result.thpMismatch;
    out.push(
      `note: this kernel runs THP enabled=${enabled}, use_zero_page=${useZeroPage}; the model assumes enabled=madvise, use_zero_page=1 (the reference machine), so faults outside MADV_HUGEPAGE regions, or reads in them, can map other pages here than in the model`,
    );
  }
  return out.join('\n');
}

/** A one-line-per-trace summary and a closing count, for several results. */
export function renderValidationSummary(results: readonly ValidationResult[]): string {
  const agree = results.filter((r) => r.report.agree).length;
  const lines = results.map((r) => `${r.report.agree ? 'ok     ' : 'DIFFERS'}  ${r.source}`);
  lines.push(`${agree} of ${results.length} traces agree with the kernel (RssAnon tolerance ±${results[0]?.report.rssToleranceKb ?? 0} kB)`);
  return lines.join('\n');
}

function plain(records: readonly StatusRecord[]): StatusRecord[] {
  return records.map((r) => ({ ...r }));
}

/** A JSON-ready object of results (`kmodel validate --json`): every record, every delta, the verdicts. */
export function validationJson(results: readonly ValidationResult[]): object {
  return {
    agree: results.every((r) => r.report.agree),
    traces: results.map((r) => ({
      source: r.source,
      profile: r.profile,
      agree: r.report.agree,
      unplacedMmapLines: r.unplaced,
      pinShift: r.pinShift === undefined ? null : `0x${r.pinShift.toString(16)}`,
      thpMismatch: r.thpMismatch ?? null,
      rssToleranceKb: r.report.rssToleranceKb,
      firstDifference: r.report.firstDifference === undefined ? null : { ...r.report.firstDifference, line: r.lines[r.report.firstDifference.index] ?? null },
      rows: r.report.rows.map((row, i) => ({ ...row, line: r.lines[i] ?? null })),
      native: plain(r.native),
      model: plain(r.model),
    })),
  };
}
