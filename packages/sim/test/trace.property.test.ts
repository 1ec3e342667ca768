import { isKmodelError } from '@kmodel/core';
import { encodeTrace, parseTrace, traceCalls, touchRange } from '@kmodel/sim';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const PAGE = 4096;

/** A valid trace over one region: ops with page-aligned ranges that stay inside it. */
const validTrace = fc
  .record({
    pages: fc.integer({ min: 1, max: 4096 }),
    steps: fc.array(
      fc.record({
        kind: fc.constantFrom('touch', 'madvise', 'status'),
        a: fc.nat(),
        b: fc.nat(),
        stride: fc.integer({ min: 1, max: 600 }),
        advice: fc.constantFrom('dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read', 'populate_write'),
        count: fc.integer({ min: 1, max: 4 }),
      }),
      { maxLength: 20 },
    ),
  })
  .map(({ pages, steps }) => {
    const ops: object[] = [{ op: 'mmap', region: 'r', addr: '0x100000000000', size: pages * PAGE }];
    steps.forEach((s, i) => {
      const off = s.a % pages;
      const len = 1 + (s.b % (pages - off));
      if (s.kind === 'status') ops.push({ op: 'status', label: `s${i}` });
      else if (s.kind === 'touch') ops.push({ op: 'touch', region: 'r', offset: off * PAGE, size: `${len * 4}KiB`, stride: s.stride * PAGE, access: i % 2 ? 'read' : 'write' });
      else {
        // count calls of `per` pages each, `per` pages apart, all inside the region
        const count = Math.min(s.count, len);
        const per = Math.floor(len / count);
        ops.push({ op: 'madvise', region: 'r', offset: `0x${(off * PAGE).toString(16)}`, size: per * PAGE, advice: s.advice, repeat: { count, step: per * PAGE } });
      }
    });
    ops.push({ op: 'munmap', region: 'r' });
    return { pages, text: ops.map((o) => JSON.stringify(o)).join('\n') };
  });

describe('parseTrace properties', () => {
  it('accepts every well-formed trace, keeps every call inside its region and encodes one command per call', () => {
    fc.assert(
      fc.property(validTrace, ({ pages, text }) => {
        const trace = parseTrace(text);
        let calls = 0;
        for (const op of trace.ops) {
          if (op.op === 'madvise' || op.op === 'munmap') {
            for (const c of traceCalls(op)) {
              expect(c.offset + c.size).toBeLessThanOrEqual(pages * PAGE);
              calls++;
            }
          } else if (op.op === 'touch') {
            const r = touchRange(op);
            expect(r.offset + r.size).toBeLessThanOrEqual(pages * PAGE);
            calls++;
          } else calls++;
        }
        expect(encodeTrace(trace).split('\n').filter((l) => l !== '')).toHaveLength(calls);
      }),
    );
  });

  it('answers any other input with a KmodelError naming a line, never another exception', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.constantFrom('4KiB', '2MiB', '0x1000', '0x100000000000', -4096, 1.5, null));
    const op = fc.record(
      {
        op: fc.constantFrom('mmap', 'touch', 'madvise', 'munmap', 'status', 'x'),
        region: fc.constantFrom('a', 'b', ''),
        size: value,
        offset: value,
        addr: value,
        stride: value,
        advice: fc.constantFrom('dontneed', 'free', 'bogus'),
        label: fc.constantFrom('l1', 'l2'),
        repeat: fc.record({ count: fc.integer({ min: -1, max: 3 }), step: value }),
      },
      { requiredKeys: ['op'] },
    );
    const line = fc.oneof(op.map((o) => JSON.stringify(o)), fc.string(), fc.json());
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        try {
          parseTrace(lines.join('\n'), 'f.jsonl');
        } catch (e) {
          expect(isKmodelError(e)).toBe(true);
          expect((e as Error).message).toMatch(/^E_TRACE_[A-Z_]+: f\.jsonl:\d+: /);
        }
      }),
      { numRuns: 500 },
    );
  });
});
