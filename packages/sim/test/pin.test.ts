import { formatTrace, parseTrace, pinUnplaced, replayTrace, ValidateErrorCode } from '@kmodel/sim';
import { describe, expect, it } from 'vitest';
import { randomTrace } from './support/random-trace.js';
import { thrown } from './support/thrown.js';

const SLOT = 1n << 39n;
const lines = (...ops: object[]) => ops.map((o) => JSON.stringify(o)).join('\n');
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Where the model maps the mmap ops of a trace, by line. */
function placements(text: string): Map<number, bigint> {
  const at = new Map<number, bigint>();
  replayTrace(parseTrace(text), { onMmap: (line, addr) => at.set(line, addr) });
  return at;
}

describe('formatTrace', () => {
  it('writes a trace that parses back to the same ops on the same lines', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const t = parseTrace(`# comment\n\n${randomTrace(seed)}`, 'r.jsonl');
      const again = parseTrace(formatTrace(t), 'r.jsonl');
      expect(again.ops).toEqual(t.ops);
    }
  });
});

describe('pinUnplaced', () => {
  it('leaves a trace whose mappings all have addr alone', () => {
    expect(pinUnplaced(parseTrace(lines({ op: 'status', label: 'a' }, { op: 'mmap', region: 'r', addr: '0x100000000000', size: '4KiB' })))).toBeUndefined();
  });

  it("moves the model's placements down by whole 512 GiB slots, past slots a fixed mapping of the trace uses", () => {
    const text = lines({ op: 'status', label: 'a' }, { op: 'mmap', region: 'r', size: '3MiB', align: '2MiB' }, { op: 'mmap', region: 's', size: '8KiB' });
    const own = placements(text);
    const first = pinUnplaced(parseTrace(text))!;
    expect(first.lines).toEqual([2, 3]);
    expect(first.shift).toBe(8n * SLOT);
    expect(first.trace.ops.filter((o) => o.op === 'mmap').map((o) => o.addr)).toEqual([own.get(2)! - 8n * SLOT, own.get(3)! - 8n * SLOT]);
    // A fixed mapping right where the 8-slot move would put the second one: the next slot down.
    const blocked = lines({ op: 'status', label: 'a' }, { op: 'mmap', region: 'f', addr: hex(own.get(3)! - 8n * SLOT), size: '4KiB' }, ...text.split('\n').slice(1).map((l) => JSON.parse(l) as object));
    const second = pinUnplaced(parseTrace(blocked))!;
    expect(second.shift).toBe(9n * SLOT);
  });

  it('gives up with E_VALIDATE_PLACEMENT when fixed mappings fill every slot it tries', () => {
    const own = placements(lines({ op: 'mmap', region: 's', size: '4KiB' })).get(1)!;
    const fixed = Array.from({ length: 32 }, (_, i) => ({ op: 'mmap', region: `f${i}`, addr: hex(own - BigInt(8 + i) * SLOT), size: '4KiB' }));
    const e = thrown(() => pinUnplaced(parseTrace(lines(...fixed, { op: 'mmap', region: 's', size: '4KiB' }), 'full.jsonl')));
    expect(e.code).toBe(ValidateErrorCode.Placement);
    expect(e.message).toContain('full.jsonl: found no place for its mappings without addr');
  });
});
