import { fail, show } from '@kmodel/core';
import { ReclaimErrorCode } from './errors.js';

/**
 * Validates a policy's parameters against its defaults: every given key must be known and
 * have the default's type; numbers must be finite and at least `min` (default 0). Returns
 * the merged parameters. Throws E_BAD_POLICY_PARAM naming the key and what was expected.
 */
export function resolveParams<T extends Record<string, number | boolean | string>>(
  policy: string,
  defaults: T,
  given: unknown,
  rules: Partial<Record<keyof T, { min?: number; max?: number; integer?: boolean; oneOf?: readonly string[] }>> = {},
): T {
  if (given === undefined || given === null) return { ...defaults };
  if (typeof given !== 'object' || Array.isArray(given)) fail(ReclaimErrorCode.BadParam, `${policy}: parameters ${show(given)} must be an object`, { policy, value: given });
  const out: Record<string, number | boolean | string> = { ...defaults };
  for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
    if (!(key in defaults)) fail(ReclaimErrorCode.BadParam, `${policy}: unknown parameter ${show(key)}; expected one of ${Object.keys(defaults).join(', ')}`, { policy, key });
    const want = typeof defaults[key];
    if (typeof value !== want) fail(ReclaimErrorCode.BadParam, `${policy}: parameter ${key} = ${show(value)} must be a ${want}`, { policy, key, value });
    const rule = rules[key as keyof T] ?? {};
    if (typeof value === 'number') {
      const min = rule.min ?? 0;
      if (!Number.isFinite(value) || value < min || (rule.max !== undefined && value > rule.max) || (rule.integer && !Number.isInteger(value)))
        fail(ReclaimErrorCode.BadParam, `${policy}: parameter ${key} = ${show(value)} must be a finite ${rule.integer ? 'integer' : 'number'} >= ${min}${rule.max !== undefined ? ` and <= ${rule.max}` : ''}`, { policy, key, value });
    }
    if (typeof value === 'string' && rule.oneOf && !rule.oneOf.includes(value))
      fail(ReclaimErrorCode.BadParam, `${policy}: parameter ${key} = ${show(value)} must be one of ${rule.oneOf.join(', ')}`, { policy, key, value });
    out[key] = value as number | boolean | string;
  }
  return out as T;
}
