import { fail, show } from '@kmodel/core';
import type { ReclaimContext, ReclaimPolicy } from '@kmodel/core';
import { ReclaimDriver } from './driver.js';
import { ReclaimErrorCode } from './errors.js';
import { resolveParams } from './params.js';
import { FREE_PTES_DEFAULTS, freePtesPolicy } from './policies/free-ptes.js';
import { mainlinePolicy } from './policies/mainline.js';
import { nonePolicy } from './policies/none.js';
import { PMD_LEVEL_DEFAULTS, pmdLevelPolicy } from './policies/pmd-level.js';
import { PTE_REF_IMMEDIATE_DEFAULTS, pteRefImmediatePolicy } from './policies/pte-ref-immediate.js';
import { RECLAIM_PATH_DEFAULTS, reclaimPathPolicy } from './policies/reclaim-path.js';
import { THROTTLE_DEFAULTS, throttlePolicy } from './policies/throttle.js';
import { ZERO_SCAN_DEFAULTS, zeroScanPolicy } from './policies/zero-scan.js';

/** A stock policy in the registry. */
export interface PolicyDefinition {
  /** One line for `kmodel compare --help` and reports. */
  readonly summary: string;
  /** Its parameters and their defaults (an empty object: none). */
  readonly defaults: Readonly<Record<string, number | boolean | string>>;
  /** A fresh module (per machine); `params` are validated against `defaults`. */
  create(params?: unknown): ReclaimPolicy;
}

const TIME = { min: 0 };

/** The stock policies by name. Combine them with `+` in {@link createPolicy} (e.g. `mainline+reclaim-path`). */
export const POLICIES = {
  none: {
    summary: 'kernels before 6.14: page tables go only at munmap and exit',
    defaults: {},
    create: (params?: unknown) => (resolveParams('none', {}, params), nonePolicy()),
  },
  mainline: {
    summary: 'CONFIG_PT_RECLAIM (6.14+): empty PTE tables freed by a MADV_DONTNEED covering their 2 MiB',
    defaults: {},
    create: (params?: unknown) => (resolveParams('mainline', {}, params), mainlinePolicy()),
  },
  'pte-ref-immediate': {
    summary: '2021-2022 pte_refcount: free a PTE table when its mapped count reaches 0, every walker pays refcounting',
    defaults: PTE_REF_IMMEDIATE_DEFAULTS,
    create: (params?: unknown) => pteRefImmediatePolicy(resolveParams('pte-ref-immediate', { ...PTE_REF_IMMEDIATE_DEFAULTS }, params)),
  },
  'free-ptes': {
    summary: "the 2022 RFC's /proc/sys/vm/free_ptes: per process, empty and zero PTE tables under mmap_lock for write, a flush per table",
    defaults: FREE_PTES_DEFAULTS,
    create: (params?: unknown) => freePtesPolicy(resolveParams('free-ptes', { ...FREE_PTES_DEFAULTS }, params, { intervalNs: TIME })),
  },
  'reclaim-path': {
    summary: 'before an OOM kill: the mm with the largest reclaimable_pt_bytes, mmap_lock for write, free its empty and zero tables, repeat',
    defaults: RECLAIM_PATH_DEFAULTS,
    create: (params?: unknown) => reclaimPathPolicy(resolveParams('reclaim-path', { ...RECLAIM_PATH_DEFAULTS }, params, { on: { oneOf: ['oom', 'any'] } })),
  },
  'zero-scan': {
    summary: 'scanner clearing zero-page entries and freeing the emptied tables, run when page tables outgrow RSS',
    defaults: ZERO_SCAN_DEFAULTS,
    create: (params?: unknown) => zeroScanPolicy(resolveParams('zero-scan', { ...ZERO_SCAN_DEFAULTS }, params, { intervalNs: { min: 1 } })),
  },
  'pmd-level': {
    summary: 'also free PMD tables that become empty (with PT_RECLAIM at MADV_DONTNEED unless dontneed=false)',
    defaults: PMD_LEVEL_DEFAULTS,
    create: (params?: unknown) => pmdLevelPolicy(resolveParams('pmd-level', { ...PMD_LEVEL_DEFAULTS }, params)),
  },
  throttle: {
    summary: 'rate-limit page-table allocation of a suspicious process or cgroup (delay or refuse)',
    defaults: THROTTLE_DEFAULTS,
    create: (params?: unknown) =>
      throttlePolicy(
        resolveParams('throttle', { ...THROTTLE_DEFAULTS }, params, {
          ratePerSec: { min: Number.MIN_VALUE },
          burst: { min: 1 },
          scope: { oneOf: ['process', 'cgroup'] },
          mode: { oneOf: ['delay', 'refuse'] },
        }),
      ),
  },
} as const satisfies Record<string, PolicyDefinition>;

/** A stock policy name. */
export type PolicyName = keyof typeof POLICIES;

/** The stock policy names, in registry order. */
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

/**
 * Splits a policy spec (`name` or `a+b+c`) into its stock names. Throws E_UNKNOWN_POLICY for an
 * unknown or repeated name, or an empty spec.
 */
export function parsePolicySpec(spec: string): PolicyName[] {
  if (typeof spec !== 'string' || spec.trim() === '') fail(ReclaimErrorCode.UnknownPolicy, `policy ${show(spec)} must be a name such as ${POLICY_NAMES.join(', ')} (combine with +)`, { value: spec });
  const names = spec.split('+').map((s) => s.trim());
  const seen = new Set<string>();
  for (const n of names) {
    if (!Object.hasOwn(POLICIES, n)) fail(ReclaimErrorCode.UnknownPolicy, `unknown policy ${show(n)} in ${show(spec)}; expected one of ${POLICY_NAMES.join(', ')} (combine with +)`, { value: n });
    if (seen.has(n)) fail(ReclaimErrorCode.UnknownPolicy, `policy ${show(n)} appears twice in ${show(spec)}`, { value: spec });
    seen.add(n);
  }
  if (names.length > 1 && seen.has('none')) fail(ReclaimErrorCode.UnknownPolicy, `"none" cannot be combined with other policies in ${show(spec)}`, { value: spec });
  return names as PolicyName[];
}

/**
 * Fresh policy modules for a spec. `params` are the parameters of the policy for a single
 * name, or keyed by component name for a combination (`{ 'zero-scan': { ratio: 1 } }`).
 */
export function policyModules(spec: string, params: Record<string, unknown> = {}): ReclaimPolicy[] {
  const names = parsePolicySpec(spec);
  if (names.length > 1) {
    for (const k of Object.keys(params))
      if (!names.includes(k as PolicyName)) fail(ReclaimErrorCode.BadParam, `parameters for ${show(k)}, which is not part of ${show(spec)}`, { key: k });
    return names.map((n) => POLICIES[n].create(params[n]));
  }
  return [POLICIES[names[0]!].create(params)];
}

/**
 * The factory the simulator registers under a policy name: validates `spec` and `params` now
 * (KmodelError E_UNKNOWN_POLICY / E_BAD_POLICY_PARAM), and builds a fresh {@link ReclaimDriver}
 * for each machine it is given.
 */
export function createPolicy(spec: string, params: Record<string, unknown> = {}): (ctx: ReclaimContext) => ReclaimDriver {
  policyModules(spec, params);
  const name = parsePolicySpec(spec).join('+');
  return (ctx) => new ReclaimDriver(ctx, policyModules(spec, params), name);
}
