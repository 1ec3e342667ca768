import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, isKmodelError } from '@kmodel/core';
import { parseScenario, parseTrace, replayTrace, runScenario, statusRecords, type MetricsBlock } from '@kmodel/sim';
import { BitmapAllocator } from '../src/bitmap-allocator.js';

const scenario = parseScenario(`
name: custom-allocator
seed: 5
machine: { ram: 1GiB }
cgroups: [{ path: /box, memory_max: 128MiB }]
processes: [{ name: reader, cgroup: /box }, { name: churn, cgroup: /box }]
workloads:
  - { type: zero-page-attack, processes: [reader], size: 8GiB }
  - { type: allocator-churn, processes: [churn], arenas: 2, arena_size: 256MiB, rounds: 3, touch_per_round: 16MiB }
`);

const num = (b: MetricsBlock, k: string) => b[k] as number;

describe('BitmapAllocator', () => {
  it('hands out aligned blocks first-fit and refuses what it does not have', () => {
    const a = new BitmapAllocator(1024);
    expect(a.allocPages(GFP_KERNEL, 9)).toBe(0);
    expect(a.allocPages(GFP_KERNEL, 0)).toBe(512);
    expect(a.allocPages(GFP_KERNEL, 9)).toBeNull(); // 511 pages left, not 512 aligned
    a.freePages(0, 9);
    expect(a.nrFreePages()).toBe(1023);
    expect(a.allocPages(GFP_KERNEL, 9)).toBe(0);
    expect(() => a.freePages(513, 0)).toThrow(/E_DOUBLE_FREE/);
    expect(() => a.allocPages(GFP_KERNEL, 11)).toThrow(/E_BAD_ORDER/);
  });
});

describe('the stock machine on a user-written PageAllocator', () => {
  const stock = runScenario(scenario).runs[0]!;
  const allocator = new BitmapAllocator(scenario.machine.ram / 4096);
  const mine = runScenario(scenario, { parts: { allocator } }).runs[0]!;

  it('reports the same page tables, RSS and charges as on the buddy allocator', () => {
    for (const k of ['nr_ptes', 'nr_pmds', 'nr_puds', 'PageTables', 'VmRSS', 'RssAnon', 'pgfault']) expect(num(mine.final, k), k).toBe(num(stock.final, k));
    // 8 GiB read once per 2 MiB: 4096 PTE tables in the reader.
    expect((mine.final['processes'] as Record<string, Record<string, number>>)['reader']).toMatchObject({ nr_ptes: 4096, RssAnon: 0 });
    expect((mine.final['cgroups'] as Record<string, Record<string, number>>)['/box']!['memory.current']).toBe(
      (stock.final['cgroups'] as Record<string, Record<string, number>>)['/box']!['memory.current'],
    );
  });

  it('every page it gave out is a page table, an anonymous page or a zero page', () => {
    expect(allocator.allocs).toBeGreaterThan(4096);
    const used = allocator.managedPages() - allocator.nrFreePages();
    const tables = num(mine.final, 'PageTables') / 4;
    const anon = num(mine.final, 'RssAnon') / 4;
    expect(used).toBe(tables + anon + 1 + 512); // + the zero page and the huge zero page
    expect(num(mine.final, 'MemFree')).toBe(allocator.nrFreePages() * 4);
  });

  it('replays a trace on it', () => {
    const trace = parseTrace('{"op":"status","label":"a"}\n{"op":"mmap","region":"r","addr":"0x200000000000","size":"1GiB"}\n{"op":"touch","region":"r","stride":"2MiB"}\n{"op":"status","label":"b"}\n');
    const recs = replayTrace(trace, { parts: { allocator: new BitmapAllocator(65536) } });
    expect(statusRecords(recs).map((r) => [r.label, r.VmPTE])).toEqual([['a', 0], ['b', 2048 + 8]]);
  });

  it('runs out like a real allocator: a machine too small for the zero pages fails to boot', () => {
    try {
      runScenario(scenario, { parts: { allocator: new BitmapAllocator(256) } });
      expect.unreachable();
    } catch (e) {
      expect(isKmodelError(e, 'E_MACHINE_BOOT')).toBe(true);
    }
  });
});
