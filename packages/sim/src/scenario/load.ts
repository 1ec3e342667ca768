import { readFileSync } from 'node:fs';
import { fail, KmodelError } from '@kmodel/core';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { scenarioSchema, type Scenario } from './schema.js';

/** Error codes of scenario loading. */
export const ScenarioErrorCode = {
  /** The file could not be read. */
  Read: 'E_SCENARIO_READ',
  /** The file is not valid YAML / JSON. */
  Syntax: 'E_SCENARIO_SYNTAX',
  /** The document does not match the schema; `details.issues` lists `{ path, message }`. */
  Invalid: 'E_SCENARIO_INVALID',
} as const;

/** One schema violation: the dotted path of the bad field (`workloads[0].size`) and what was expected. */
export interface ScenarioIssue {
  readonly path: string;
  readonly message: string;
}

/** Formats a zod path as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}

function issuesOf(error: z.ZodError): ScenarioIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/**
 * Validates a parsed document (from YAML or JSON) against the scenario schema. Throws
 * `E_SCENARIO_INVALID` whose message lists every bad field by path.
 */
export function validateScenario(doc: unknown, source = '<scenario>'): Scenario {
  const result = scenarioSchema.safeParse(doc);
  if (!result.success) {
    const issues = issuesOf(result.error);
    fail(ScenarioErrorCode.Invalid, `${source} is not a valid scenario:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`, { source, issues });
  }
  return result.data;
}

/** Parses scenario text (YAML, of which JSON is a subset) and validates it. */
export function parseScenario(text: string, source = '<scenario>'): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    fail(ScenarioErrorCode.Syntax, `${source} is not valid YAML or JSON: ${e instanceof Error ? e.message : String(e)}`, { source });
  }
  return validateScenario(doc, source);
}

/** Reads and validates a scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KmodelError(ScenarioErrorCode.Read, `cannot read scenario ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path });
  }
  return parseScenario(text, path);
}
