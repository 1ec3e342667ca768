import { isKmodelError, KmodelError } from '@kmodel/core';
import { parseTrace, traceCalls, touchRange, traceLabels, TraceErrorCode, type TraceOp } from '@kmodel/sim';
import { describe, expect, it } from 'vitest';

const lines = (...ops: object[]) => ops.map((o) => JSON.stringify(o)).join('\n');

function failure(text: string): KmodelError {
  try {
    parseTrace(text, 't.jsonl');
  } catch (e) {
    if (e instanceof KmodelError) return e;
    throw e;
  }
  throw new Error('expected parseTrace to throw');
}

describe('parseTrace', () => {
  it('parses the example of the format reference with defaults applied', () => {
    const text = [
      '# comment',
      '{"op":"status","label":"baseline"}',
      '{"op":"mmap","region":"heap","addr":"0x100000000000","size":"16GiB"}',
      '',
      '{"op":"touch","region":"heap","stride":"2MiB","access":"read"}',
      '{"op":"status","label":"after-touch"}',
      '{"op":"madvise","region":"heap","advice":"dontneed"}',
      '{"op":"status","label":"after-dontneed"}',
    ].join('\n');
    const t = parseTrace(text, 'ex.jsonl');
    expect(t.source).toBe('ex.jsonl');
    expect(t.ops.map((o) => [o.op, o.line])).toEqual([
      ['status', 2],
      ['mmap', 3],
      ['touch', 5],
      ['status', 6],
      ['madvise', 7],
      ['status', 8],
    ]);
    expect(t.ops[1]).toEqual({ op: 'mmap', line: 3, region: 'heap', addr: 0x100000000000n, size: 16 * 2 ** 30, align: 4096, prot: 'rw', thp: 'default' });
    expect(t.ops[2]).toEqual({ op: 'touch', line: 5, region: 'heap', offset: 0, stride: 2 ** 21, access: 'read', regionSize: 16 * 2 ** 30 });
    expect(touchRange(t.ops[2] as TraceOp & { op: 'touch' })).toEqual({ offset: 0, size: 16 * 2 ** 30 });
    expect(traceLabels(t)).toEqual(['baseline', 'after-touch', 'after-dontneed']);
  });

  it('keeps addresses above 2^53 exact as bigint', () => {
    const t = parseTrace(lines({ op: 'mmap', region: 'a', addr: '0x7fffffe00001000', size: 4096 }));
    expect((t.ops[0] as { addr?: bigint }).addr).toBe(0x7fffffe00001000n);
  });

  it('accepts sizes as integers, hex strings and binary units, and CRLF line ends', () => {
    const t = parseTrace('{"op":"mmap","region":"a","size":"0x400000"}\r\n{"op":"madvise","region":"a","offset":8192,"size":"1MiB","advice":"free"}\r\n');
    expect(t.ops[0]).toMatchObject({ size: 4 * 2 ** 20 });
    expect(t.ops[1]).toMatchObject({ offset: 8192, size: 2 ** 20, advice: 'free', line: 2 });
  });

  it('expands repeat into separate calls and resolves the rest of the region', () => {
    const t = parseTrace(lines({ op: 'mmap', region: 'a', size: '8MiB' }, { op: 'madvise', region: 'a', offset: '1MiB', size: '4KiB', advice: 'dontneed', repeat: { count: 3, step: '2MiB' } }, { op: 'munmap', region: 'a', offset: '6MiB' }));
    expect(traceCalls(t.ops[1] as TraceOp & { op: 'madvise' })).toEqual([
      { offset: 2 ** 20, size: 4096 },
      { offset: 3 * 2 ** 20, size: 4096 },
      { offset: 5 * 2 ** 20, size: 4096 },
    ]);
    expect(traceCalls(t.ops[2] as TraceOp & { op: 'munmap' })).toEqual([{ offset: 6 * 2 ** 20, size: 2 * 2 ** 20 }]);
  });

  it('frees a region name after the whole region is unmapped, also piece by piece', () => {
    const t = parseTrace(
      lines(
        { op: 'mmap', region: 'a', size: '4MiB' },
        { op: 'munmap', region: 'a', size: '2MiB' },
        { op: 'munmap', region: 'a', offset: '2MiB' },
        { op: 'mmap', region: 'a', size: '2MiB', thp: 'always', prot: 'r' },
      ),
    );
    expect(t.ops[3]).toMatchObject({ op: 'mmap', size: 2 ** 21, thp: 'always', prot: 'r', line: 4 });
  });

  it('names line, field and expectation for a schema error', () => {
    const e = failure(lines({ op: 'status', label: 'x' }, { op: 'mmap', region: 'a', size: '3MB' }));
    expect(e.code).toBe(TraceErrorCode.Schema);
    expect(e.message).toContain('t.jsonl:2');
    expect(e.message).toContain('field "size"');
    expect(e.message).toContain('"3MB"');
    expect(e.message).toContain('binary unit');
    expect(e.details).toMatchObject({ line: 2, path: 'size', source: 't.jsonl' });
  });

  it.each([
    [{ op: 'mmap', region: 'a' }, 'missing required field "size"'],
    [{ op: 'mmap', region: 'a', size: 4096, prot: 'rwx' }, 'field "prot"'],
    [{ op: 'mmap', region: 'a', size: 4096, colour: 'red' }, 'unknown field "colour"'],
    [{ op: 'mmap', region: 'a', size: 0 }, 'expected a positive size'],
    [{ op: 'mmap', region: 'a', size: 4096, addr: 4096 }, 'field "addr": expected an address'],
    [{ op: 'mmap', region: 'a', size: 4096, addr: '0xzz' }, 'field "addr"'],
    [{ op: 'jump' }, 'field "op": expected one of mmap, touch, madvise, munmap, status, got "jump"'],
    [{ op: 'status' }, 'missing required field "label"'],
    [{ op: 'mmap', region: '', size: 4096 }, 'field "region"'],
    [{ op: 'mmap', region: 'a', size: -4096 }, 'field "size"'],
    [{ op: 'mmap', region: 'a', size: 1.5 }, 'field "size"'],
  ])('rejects %j', (op, expected) => {
    const e = failure(lines(op));
    expect(e.code).toBe(TraceErrorCode.Schema);
    expect(e.message).toContain('t.jsonl:1');
    expect(e.message).toContain(expected);
  });

  it('reports a bad repeat field by its path', () => {
    const e = failure(lines({ op: 'mmap', region: 'a', size: '4MiB' }, { op: 'munmap', region: 'a', repeat: { count: 0, step: 4096 } }));
    expect(e.code).toBe(TraceErrorCode.Schema);
    expect(e.details).toMatchObject({ line: 2, path: 'repeat.count' });
  });

  it('rejects a line that is not JSON or not an object', () => {
    expect(failure('{"op": "status", ').code).toBe(TraceErrorCode.Syntax);
    const e = failure('\n[1,2]');
    expect(e.code).toBe(TraceErrorCode.Syntax);
    expect(e.details).toMatchObject({ line: 2 });
  });

  it.each([
    [[{ op: 'touch', region: 'nope' }], TraceErrorCode.UnknownRegion, 1],
    [[{ op: 'status', label: 'x' }, { op: 'status', label: 'x' }], TraceErrorCode.DuplicateLabel, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'mmap', region: 'a', size: 8192 }], TraceErrorCode.RegionInUse, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'munmap', region: 'a', size: 4096 }, { op: 'mmap', region: 'a', size: 8192 }], TraceErrorCode.RegionInUse, 3],
    [[{ op: 'mmap', region: 'a', size: 6000 }], TraceErrorCode.Unaligned, 1],
    [[{ op: 'mmap', region: 'a', size: 8192, align: '12KiB' }], TraceErrorCode.Unaligned, 1],
    [[{ op: 'mmap', region: 'a', size: 8192, addr: '0x100000000800' }], TraceErrorCode.Unaligned, 1],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'touch', region: 'a', offset: 100 }], TraceErrorCode.Unaligned, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'touch', region: 'a', stride: 64 }], TraceErrorCode.Unaligned, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'madvise', region: 'a', advice: 'free', repeat: { count: 2, step: 10 } }], TraceErrorCode.Unaligned, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'touch', region: 'a', offset: 8192 }], TraceErrorCode.OutOfRegion, 2],
    [[{ op: 'mmap', region: 'a', size: 8192 }, { op: 'touch', region: 'a', offset: 4096, size: 8192 }], TraceErrorCode.OutOfRegion, 2],
    [[{ op: 'mmap', region: 'a', size: '4MiB' }, { op: 'munmap', region: 'a', size: '2MiB', repeat: { count: 3, step: '2MiB' } }], TraceErrorCode.OutOfRegion, 2],
    [[{ op: 'mmap', region: 'a', size: '4MiB' }, { op: 'munmap', region: 'a', size: '4KiB' }, { op: 'touch', region: 'a' }], TraceErrorCode.Unmapped, 3],
    [[{ op: 'mmap', region: 'a', size: '4MiB' }, { op: 'munmap', region: 'a', offset: '1MiB', size: '4KiB' }, { op: 'madvise', region: 'a', advice: 'dontneed' }], TraceErrorCode.Unmapped, 3],
    [[{ op: 'mmap', region: 'a', size: '4MiB', prot: 'r' }, { op: 'touch', region: 'a', access: 'write' }], TraceErrorCode.Protection, 2],
    [[{ op: 'mmap', region: 'a', size: '4MiB', prot: 'none' }, { op: 'touch', region: 'a' }], TraceErrorCode.Protection, 2],
    [[{ op: 'mmap', region: 'a', size: '4MiB', prot: 'r' }, { op: 'madvise', region: 'a', advice: 'populate_write' }], TraceErrorCode.Protection, 2],
    [[{ op: 'mmap', region: 'a', addr: '0x100000000000', size: '4MiB' }, { op: 'mmap', region: 'b', addr: '0x1000003ff000', size: '4MiB' }], TraceErrorCode.Overlap, 2],
    [
      [
        { op: 'mmap', region: 'a', addr: '0x100000000000', size: '4MiB' },
        { op: 'munmap', region: 'a', offset: '1MiB', size: '2MiB' },
        { op: 'mmap', region: 'b', addr: '0x100000200000', size: '1MiB' },
        { op: 'munmap', region: 'a', offset: '2MiB', size: '4KiB' },
      ],
      TraceErrorCode.Overlap,
      4,
    ],
  ])('rejects the sequence %j with %s on line %d', (ops, code, line) => {
    const e = failure(lines(...ops));
    expect(e.code).toBe(code);
    expect(e.details['line']).toBe(line);
    expect(e.message).toContain(`t.jsonl:${line}:`);
    expect(isKmodelError(e)).toBe(true);
  });

  it('allows a fixed mapping in the hole another region left', () => {
    const t = parseTrace(
      lines(
        { op: 'mmap', region: 'a', addr: '0x100000000000', size: '4MiB' },
        { op: 'munmap', region: 'a', offset: '2MiB', size: '1MiB' },
        { op: 'mmap', region: 'b', addr: '0x100000200000', size: '1MiB' },
        { op: 'touch', region: 'a', size: '2MiB', access: 'write' },
      ),
    );
    expect(t.ops).toHaveLength(4);
  });

  it('allows a munmap over a hole of its region that no other region fills', () => {
    const t = parseTrace(
      lines(
        { op: 'mmap', region: 'a', addr: '0x100000000000', size: '4MiB' },
        { op: 'munmap', region: 'a', offset: '1MiB', size: '2MiB' },
        { op: 'mmap', region: 'b', addr: '0x100000200000', size: '1MiB' },
        { op: 'munmap', region: 'a', offset: '1MiB', size: '1MiB' },
        { op: 'munmap', region: 'a', offset: '3MiB', size: '1MiB' },
      ),
    );
    expect(t.ops).toHaveLength(5);
  });
});
