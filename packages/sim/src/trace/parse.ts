import { KmodelError, PAGE_SIZE, show } from '@kmodel/core';
import type { z } from 'zod';
import { TraceErrorCode } from './errors.js';
import { OP_NAMES, OP_SCHEMAS } from './schema.js';
import type { Trace, TraceCall, TraceMadvise, TraceMunmap, TraceOp, TraceTouch } from './types.js';
import { subtractRange, type Range } from '../ranges.js';

/** A half-open byte range [start, end) of offsets within a region. */

interface LiveRegion {
  readonly size: number;
  readonly addr?: bigint;
  readonly prot: string;
  /** Still-mapped offset ranges, sorted and disjoint. */
  mapped: Range[];
  readonly line: number;
}

function traceError(code: TraceErrorCode, source: string, line: number, message: string, details: Record<string, unknown> = {}): KmodelError {
  return new KmodelError(code, `${source}:${line}: ${message}`, { source, line, ...details });
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function schemaError(source: string, line: number, op: string, raw: unknown, error: z.ZodError): KmodelError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join('.');
  let message: string;
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(OP_SCHEMAS[op as keyof typeof OP_SCHEMAS].shape).join(', ');
    message = `${op}: unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (fields of ${op}: ${known})`;
  } else if (issue.path.length > 0 && valueAt(raw, issue.path) === undefined) {
    message = `${op}: missing required field "${path}"`;
  } else {
    // Custom issues (sizes, addresses) already quote the value.
    const got = issue.code === 'custom' ? '' : `, got ${show(valueAt(raw, issue.path))}`;
    message = `${op}: field "${path}": ${issue.message}${got}`;
  }
  return traceError(TraceErrorCode.Schema, source, line, message, { path, op });
}

/** Parses one non-blank line into an op with defaults applied (no cross-line checks). */
function parseLine(text: string, source: string, line: number): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw traceError(TraceErrorCode.Syntax, source, line, `not valid JSON (${(e as Error).message}): ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw traceError(TraceErrorCode.Syntax, source, line, `expected a JSON object, got ${show(raw)}`);
  }
  const op = (raw as Record<string, unknown>)['op'];
  if (typeof op !== 'string' || !(OP_NAMES as string[]).includes(op)) {
    throw traceError(TraceErrorCode.Schema, source, line, `field "op": expected one of ${OP_NAMES.join(', ')}, got ${show(op)}`, { path: 'op' });
  }
  const result = OP_SCHEMAS[op as keyof typeof OP_SCHEMAS].safeParse(raw);
  if (!result.success) throw schemaError(source, line, op, raw, result.error);
  return { ...result.data, line };
}

function requirePageMultiple(value: number, field: string, source: string, line: number): void {
  if (value % PAGE_SIZE !== 0) {
    throw traceError(TraceErrorCode.Unaligned, source, line, `${field} ${show(value)} is not a multiple of 4 KiB`, { path: field, value });
  }
}

/** The first part of [s, e) not covered by `ranges`, or undefined when fully covered. */
function firstHole(ranges: readonly Range[], s: number, e: number): number | undefined {
  let at = s;
  for (const [a, b] of ranges) {
    if (b <= at) continue;
    if (a > at) return at;
    at = b;
    if (at >= e) return undefined;
  }
  return at < e ? at : undefined;
}

/**
 * The system calls one `madvise` / `munmap` op issues: `repeat.count` calls (or one), each
 * covering `size` bytes (default: from the op's offset to the end of the region), the
 * offset advancing by `repeat.step` from one call to the next.
 */
export function traceCalls(op: TraceMadvise | TraceMunmap): TraceCall[] {
  const size = op.size ?? op.regionSize - op.offset;
  const count = op.repeat?.count ?? 1;
  const step = op.repeat?.step ?? 0;
  const calls: TraceCall[] = [];
  for (let i = 0; i < count; i++) calls.push({ offset: op.offset + i * step, size });
  return calls;
}

/** The byte range [offset, end) a `touch` op walks, with "rest of the region" resolved. */
export function touchRange(op: TraceTouch): TraceCall {
  return { offset: op.offset, size: op.size ?? op.regionSize - op.offset };
}

/** Checks an op against the live regions and labels, then applies it. */
class TraceChecker {
  private readonly regions = new Map<string, LiveRegion>();
  private readonly labels = new Map<string, number>();

  constructor(private readonly source: string) {}

  check(raw: Record<string, unknown>): TraceOp {
    const line = raw['line'] as number;
    const op = raw as unknown as TraceOp;
    switch (op.op) {
      case 'status': {
        const first = this.labels.get(op.label);
        if (first !== undefined) {
          throw traceError(TraceErrorCode.DuplicateLabel, this.source, line, `status label ${show(op.label)} is already used on line ${first}; labels must be unique`, { label: op.label });
        }
        this.labels.set(op.label, line);
        return op;
      }
      case 'mmap':
        return this.mmap(op, line);
      default:
        return this.regionOp(raw, line);
    }
  }

  private mmap(op: TraceOp & { op: 'mmap' }, line: number): TraceOp {
    const { source } = this;
    requirePageMultiple(op.size, 'size', source, line);
    if (op.align % PAGE_SIZE !== 0 || (op.align & (op.align - 1)) !== 0) {
      throw traceError(TraceErrorCode.Unaligned, source, line, `align ${show(op.align)} must be a power of two and a multiple of 4 KiB`, { path: 'align', value: op.align });
    }
    if (op.addr !== undefined && op.addr % BigInt(PAGE_SIZE) !== 0n) {
      throw traceError(TraceErrorCode.Unaligned, source, line, `addr ${show(op.addr)} is not a multiple of 4 KiB`, { path: 'addr', value: `0x${op.addr.toString(16)}` });
    }
    const prev = this.regions.get(op.region);
    if (prev !== undefined) {
      throw traceError(TraceErrorCode.RegionInUse, source, line, `region ${show(op.region)} (mapped on line ${prev.line}) is still mapped; munmap all of it before reusing the name`, { region: op.region });
    }
    if (op.addr !== undefined) this.requireNoOverlap('mmap', op.region, op.addr, op.addr + BigInt(op.size), line);
    this.regions.set(op.region, { size: op.size, ...(op.addr !== undefined ? { addr: op.addr } : {}), prot: op.prot, mapped: [[0, op.size]], line });
    return op;
  }

  /**
   * Throws `E_TRACE_OVERLAP` when [start, end) meets a still-mapped part of another region
   * placed with `addr` (regions without `addr` are placed at run time and cannot be checked).
   */
  private requireNoOverlap(what: string, region: string, start: bigint, end: bigint, line: number): void {
    for (const [name, r] of this.regions) {
      if (r.addr === undefined || name === region) continue;
      for (const [a, b] of r.mapped) {
        if (start < r.addr + BigInt(b) && r.addr + BigInt(a) < end) {
          throw traceError(TraceErrorCode.Overlap, this.source, line, `${what} ${show(region)} at ${show(start)}..${show(end)} overlaps region ${show(name)} (line ${r.line}) at ${show(r.addr + BigInt(a))}..${show(r.addr + BigInt(b))}`, { region, other: name });
        }
      }
    }
  }

  private regionOp(raw: Record<string, unknown>, line: number): TraceOp {
    const { source } = this;
    const name = raw['region'] as string;
    const r = this.regions.get(name);
    if (r === undefined) {
      const live = [...this.regions.keys()];
      throw traceError(TraceErrorCode.UnknownRegion, source, line, `region ${show(name)} is not mapped here (mapped regions: ${live.length > 0 ? live.map((n) => JSON.stringify(n)).join(', ') : 'none'})`, { region: name });
    }
    const op = { ...raw, regionSize: r.size } as unknown as TraceTouch | TraceMadvise | TraceMunmap;
    requirePageMultiple(op.offset, 'offset', source, line);
    if (op.size !== undefined) requirePageMultiple(op.size, 'size', source, line);
    if (op.op === 'touch') requirePageMultiple(op.stride, 'stride', source, line);
    if (op.op !== 'touch' && op.repeat !== undefined) requirePageMultiple(op.repeat.step, 'repeat.step', source, line);
    if (op.offset >= r.size) {
      throw traceError(TraceErrorCode.OutOfRegion, source, line, `offset ${show(op.offset)} is not inside region ${show(name)} of size ${show(r.size)}`, { region: name });
    }
    const calls = op.op === 'touch' ? [touchRange(op)] : traceCalls(op);
    for (const c of calls) {
      if (c.size <= 0 || c.offset + c.size > r.size) {
        throw traceError(TraceErrorCode.OutOfRegion, source, line, `range offset ${show(c.offset)} + size ${show(c.size)} reaches past the end of region ${show(name)} (size ${show(r.size)})`, { region: name, offset: c.offset, size: c.size });
      }
    }
    if (op.op === 'touch' || op.op === 'madvise') {
      for (const c of calls) {
        const hole = firstHole(r.mapped, c.offset, c.offset + c.size);
        if (hole !== undefined) {
          throw traceError(TraceErrorCode.Unmapped, source, line, `${op.op} covers offset ${show(hole)} of region ${show(name)}, which was already unmapped`, { region: name, offset: hole });
        }
      }
      this.checkProtection(op, r, line);
    } else {
      // A munmap over a hole of its region must not reach a region mapped into that hole since:
      // the kernel would unmap that region's pages too.
      if (r.addr !== undefined) for (const c of calls) this.requireNoOverlap('munmap of', name, r.addr + BigInt(c.offset), r.addr + BigInt(c.offset + c.size), line);
      for (const c of calls) r.mapped = subtractRange(r.mapped, c.offset, c.offset + c.size);
      if (r.mapped.length === 0) this.regions.delete(name);
    }
    return op;
  }

  /** Accesses the kernel would refuse (SIGSEGV for a touch, EFAULT for populate) are trace errors. */
  private checkProtection(op: TraceTouch | TraceMadvise, r: LiveRegion, line: number): void {
    const needs = op.op === 'touch' ? (op.access === 'write' ? 'rw' : 'r') : op.advice === 'populate_write' ? 'rw' : op.advice === 'populate_read' ? 'r' : undefined;
    if (needs === undefined) return;
    const ok = needs === 'rw' ? r.prot === 'rw' : r.prot !== 'none';
    if (!ok) {
      const what = op.op === 'touch' ? `touch with access "${op.access}"` : `madvise "${op.advice}"`;
      throw traceError(TraceErrorCode.Protection, this.source, line, `${what} on region ${show(op.region)} mapped with prot ${show(r.prot)} would fault in the kernel`, { region: op.region });
    }
  }
}

/**
 * Parses a trace in format v1 (JSON Lines; blank lines and `#` comments ignored), validating
 * each line with a schema and then the whole sequence: regions exist when used, names are
 * reused only after a full munmap, labels are unique, sizes and offsets are multiples of
 * 4 KiB, ranges stay inside their region. Throws a `KmodelError` naming the source and line
 * (codes in {@link TraceErrorCode}).
 */
export function parseTrace(text: string, source = '<input>'): Trace {
  const checker = new TraceChecker(source);
  const ops: TraceOp[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#')) continue;
    ops.push(checker.check(parseLine(t, source, i + 1)));
  }
  return { source, ops };
}

/** The `status` labels of a trace, in order. */
export function traceLabels(trace: Trace): string[] {
  return trace.ops.flatMap((op) => (op.op === 'status' ? [op.label] : []));
}
