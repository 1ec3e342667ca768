import type { Report } from './types.js';

/**
 * The report as JSON text (two-space indent, trailing newline). Keys keep the order in which the
 * runner wrote them, so the same scenario and seed give byte-identical text; `host_ms` appears
 * only when the run was asked to measure it.
 */
export function reportJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}
