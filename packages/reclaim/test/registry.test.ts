import { describe, expect, it } from 'vitest';
import { isKmodelError } from '@kmodel/core';
import { POLICIES, POLICY_NAMES, createPolicy, parsePolicySpec, policyModules } from '@kmodel/reclaim';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isKmodelError(e) ? e.code : 'not a KmodelError';
  }
  return undefined;
}

describe('the registry', () => {
  it('has the eight stock policies', () => {
    expect(POLICY_NAMES).toEqual(['none', 'mainline', 'pte-ref-immediate', 'free-ptes', 'reclaim-path', 'zero-scan', 'pmd-level', 'throttle']);
    for (const n of POLICY_NAMES) expect(POLICIES[n].create().name).toBe(n);
  });

  it('parses combinations and rejects unknown, repeated or mixed-with-none names', () => {
    expect(parsePolicySpec('mainline+reclaim-path')).toEqual(['mainline', 'reclaim-path']);
    expect(parsePolicySpec(' zero-scan ')).toEqual(['zero-scan']);
    expect(code(() => parsePolicySpec('mainlne'))).toBe('E_UNKNOWN_POLICY');
    expect(code(() => parsePolicySpec('mainline+mainline'))).toBe('E_UNKNOWN_POLICY');
    expect(code(() => parsePolicySpec('none+mainline'))).toBe('E_UNKNOWN_POLICY');
    expect(code(() => parsePolicySpec(''))).toBe('E_UNKNOWN_POLICY');
  });

  it('validates parameters when the factory is made', () => {
    expect(code(() => createPolicy('zero-scan', { ratio: -1 }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('zero-scan', { ratoi: 1 }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('zero-scan', { ratio: '1' }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('throttle', { mode: 'kill' }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('throttle', { ratePerSec: 0 }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('mainline+zero-scan', { throttle: {} }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('mainline', { x: 1 }))).toBe('E_BAD_POLICY_PARAM');
    expect(code(() => createPolicy('mainline+zero-scan', { 'zero-scan': { ratio: 2 } }))).toBeUndefined();
    expect(policyModules('mainline+zero-scan').map((p) => p.name)).toEqual(['mainline', 'zero-scan']);
  });
});
