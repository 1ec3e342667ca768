import { describe, expect, it } from 'vitest';
import { formatWalk, StockMachine, walkAddress, type MachineConfig } from '@kmodel/sim';

const config = (levels: 4 | 5): MachineConfig => ({ ram: 2 ** 30, cpus: 1, levels, profile: 'linux-6.18', costs: {}, cgroupVersion: 2, cgroups: [], seed: 1, policy: 'kernel' });

describe('walkAddress', () => {
  it('decodes a 4 KiB write, a zero-page read and a hole, level by level', () => {
    const m = new StockMachine(config(4));
    const p = m.spawn('w');
    p.apply({ op: 'mmap', region: 'r', addr: 0x7f0000000000n, size: 4 * 2 ** 20, align: 4096, prot: 'rw', thp: 'never' });
    p.apply({ op: 'touch', region: 'r', offset: 0x1000, size: 4096, stride: 4096, access: 'write' });
    p.apply({ op: 'touch', region: 'r', offset: 0x2000, size: 4096, stride: 4096, access: 'read' });

    const w = walkAddress(p.pageTable, 0x7f0000001abcn);
    expect(w.steps.map((s) => [s.table, s.index, s.kind])).toEqual([['pgd', 254, 'table'], ['pud', 0, 'table'], ['pmd', 0, 'table'], ['pte', 1, 'leaf']]);
    // Table pointers are _PAGE_TABLE (0x67): P RW US A D.
    expect(w.steps[0]!.bits).toEqual(['P', 'RW', 'US', 'A', 'D']);
    expect(w.steps[3]!.bits).toEqual(['P', 'RW', 'US', 'A', 'D', 'NX']);
    expect(w.steps[3]!.entry).toBe(`80000000${(w.steps[3]!.pfn * 4096 + 0x67).toString(16).padStart(8, '0')}`);
    expect(w.physical).toBe(`0x${(w.steps[3]!.pfn * 4096 + 0xabc).toString(16)}`);
    expect(w.pageSize).toBe(4096);

    // The shared zero page: read-only, special.
    const z = walkAddress(p.pageTable, 0x7f0000002000n);
    expect(z.steps[3]!.pfn).toBe(m.zeroPfn);
    expect(z.steps[3]!.bits).toEqual(['P', 'US', 'A', 'SPECIAL', 'NX']);

    // A hole: the walk stops at the none PTE.
    const h = walkAddress(p.pageTable, 0x7f0000003000n);
    expect(h.steps.at(-1)).toMatchObject({ table: 'pte', kind: 'none', pfn: -1, entry: '0000000000000000', bits: [] });
    expect(h.physical).toBeNull();
    expect(formatWalk(h)).toContain('  no translation');
  });

  it('stops at a 2 MiB leaf (PS) under MADV_HUGEPAGE, and walks five levels with LA57', () => {
    const m = new StockMachine(config(5));
    const p = m.spawn('w');
    p.apply({ op: 'mmap', region: 'r', addr: 0x200000000000n, size: 4 * 2 ** 20, align: 4096, prot: 'rw', thp: 'always' });
    p.apply({ op: 'touch', region: 'r', offset: 0, size: 4096, stride: 4096, access: 'write' });
    const w = walkAddress(p.pageTable, 0x200000012345n);
    expect(w.levels).toBe(5);
    expect(w.steps.map((s) => s.table)).toEqual(['pgd', 'p4d', 'pud', 'pmd']);
    expect(w.steps[3]!.kind).toBe('leaf');
    expect(w.steps[3]!.bits).toContain('PS');
    expect(w.pageSize).toBe(2 * 2 ** 20);
    expect(w.physical).toBe(`0x${(w.steps[3]!.pfn * 4096 + 0x12345).toString(16)}`);
    expect(formatWalk(w)).toContain('-> 2 MiB page at pfn');
  });

  it('rejects an address outside the user half', () => {
    const m = new StockMachine(config(4));
    expect(() => walkAddress(m.spawn('w').pageTable, 0x800000000000n)).toThrow(/E_BAD_ADDRESS: address .* is not a user address of 4-level paging/);
  });
});
