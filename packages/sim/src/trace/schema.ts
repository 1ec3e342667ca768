import { parseAddress, parseSize } from '@kmodel/core';
import { z } from 'zod';
import { TRACE_ADVICES } from './types.js';

/** The message of a KmodelError without its `E_CODE: ` prefix, for embedding in a zod issue. */
function bare(e: unknown): string {
  return e instanceof Error ? e.message.replace(/^E_[A-Z_]+: /, '') : String(e);
}

const SIZE_EXPECTED = 'expected a size: bytes as an integer, a "0x..." string, or an integer with a binary unit such as "4KiB" or "2MiB"';

/** A size or offset (bytes) as the trace format writes it; `positive` rejects 0. */
function size(positive: boolean) {
  return z.union([z.number(), z.string()], { error: SIZE_EXPECTED }).transform((v, ctx) => {
    try {
      const bytes = parseSize(v);
      if (positive && bytes === 0) {
        ctx.addIssue({ code: 'custom', message: `expected a positive size, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return bytes;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: bare(e) });
      return z.NEVER;
    }
  });
}

const address = z.string({ error: 'expected an address as a "0x..." hex string' }).transform((v, ctx) => {
  try {
    return parseAddress(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: bare(e) });
    return z.NEVER;
  }
});

const name = (what: string) => z.string({ error: `expected the ${what} as a non-empty string` }).min(1, { error: `expected a non-empty ${what}` });

const repeat = z.strictObject({
  count: z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).min(1).max(1 << 24),
  step: size(false),
});

const regionFields = {
  region: name('region name'),
  offset: size(false).default(0),
  size: size(true).optional(),
};

/** Schemas of the five ops, each a strict object: unknown fields are errors. */
export const OP_SCHEMAS = {
  mmap: z.strictObject({
    op: z.literal('mmap'),
    region: name('region name'),
    size: size(true),
    addr: address.optional(),
    align: size(true).default(4096),
    prot: z.enum(['rw', 'r', 'none']).default('rw'),
    thp: z.enum(['default', 'never', 'always']).default('default'),
  }),
  touch: z.strictObject({
    op: z.literal('touch'),
    ...regionFields,
    stride: size(true).default(4096),
    access: z.enum(['read', 'write']).default('read'),
  }),
  madvise: z.strictObject({
    op: z.literal('madvise'),
    ...regionFields,
    advice: z.enum(TRACE_ADVICES as [string, ...string[]]),
    repeat: repeat.optional(),
  }),
  munmap: z.strictObject({
    op: z.literal('munmap'),
    ...regionFields,
    repeat: repeat.optional(),
  }),
  status: z.strictObject({
    op: z.literal('status'),
    label: name('label'),
  }),
} as const;

/** Op names in the order the format lists them. */
export const OP_NAMES = Object.keys(OP_SCHEMAS) as (keyof typeof OP_SCHEMAS)[];
