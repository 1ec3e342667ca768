import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/kmodel.js';
import { parseTrace, replayTrace, statusRecords, formatReplay, type OomKillRecord } from '@kmodel/sim';

const trace = parseTrace(
  [
    '{"op":"status","label":"start"}',
    '{"op":"mmap","region":"heap","addr":"0x100000000000","size":"4GiB"}',
    '{"op":"touch","region":"heap","stride":"2MiB","access":"write"}',
    '{"op":"status","label":"written"}',
    '{"op":"madvise","region":"heap","advice":"dontneed"}',
    '{"op":"status","label":"dontneed"}',
    '{"op":"touch","region":"heap","stride":"2MiB","access":"read"}',
    '{"op":"status","label":"read"}',
  ].join('\n'),
  'replay.jsonl',
);

describe('replayTrace', () => {
  it('linux-6.18 frees the PTE tables a whole-range DONTNEED empties; linux-6.13 does not', () => {
    const v618 = statusRecords(replayTrace(trace));
    const v613 = statusRecords(replayTrace(trace, { profile: 'linux-6.13' }));
    // 2048 PTE tables + 4 PMD tables + 1 PUD table; 2048 written pages.
    expect(v618.map((r) => [r.label, r.VmPTE, r.RssAnon])).toEqual([['start', 0, 0], ['written', 8212, 8192], ['dontneed', 20, 0], ['read', 8212, 0]]);
    expect(v613.map((r) => [r.label, r.VmPTE, r.RssAnon])).toEqual([['start', 0, 0], ['written', 8212, 8192], ['dontneed', 8212, 0], ['read', 8212, 0]]);
    expect(v618[1]).toMatchObject({ nr_ptes: 2048, nr_pmds: 4, nr_puds: 1, pgtables_bytes: 8212 * 1024, PageTables: 8216 });
    // After the reads every table holds one zero-page entry: neither empty nor zero-only.
    expect(v618[3]!['reclaimable_pt_bytes']).toBe(0);
    expect(v613[2]!['reclaimable_pt_bytes']).toBe(2048 * 4096); // empty after DONTNEED
  });

  it('in a v2 cgroup: records carry memory.* fields and an OOM kill ends the replay', () => {
    const recs = replayTrace(trace, { memoryMax: 4 * 2 ** 20 });
    expect(recs).toHaveLength(2);
    // The top-level table (one page) charged a 64-page batch; 63 wait in the per-CPU stock.
    expect(recs[0]).toMatchObject({ label: 'start', 'memory.current': 64 * 4096, 'memory.max': 4 * 2 ** 20, 'memory.events.oom_kill': 0 });
    const kill = recs[1] as OomKillRecord;
    expect(kill).toMatchObject({ event: 'oom_kill', after: 'start', cgroup: '/kmodel-replay' });
    // Each 2 MiB write costs a page and a PTE table: the 4 MiB limit holds about 500 of each.
    expect(kill.rss_pages).toBeGreaterThan(480);
    expect(kill.VmRSS).toBe(kill.rss_pages * 4);
    expect(kill.VmRSS + kill.VmPTE + 4).toBeLessThanOrEqual(4096);
    expect(formatReplay(recs)).toMatch(/OOM kill after "start" in \/kmodel-replay: VmRSS \d+ kB, VmPTE \d+ kB/);
  });

  it('in a v1 cgroup with the OOM killer disabled, the task stalls at the limit', () => {
    const recs = replayTrace(trace, { cgroupV1Limit: 4 * 2 ** 20, oomKillDisable: true });
    expect(recs).toHaveLength(2);
    expect(recs[0]).toMatchObject({ label: 'start', 'memory.limit_in_bytes': 4 * 2 ** 20, 'memory.oom_control.under_oom': 0 });
    const stall = recs[1]!;
    expect(stall).toMatchObject({ event: 'oom_stall', after: 'start', cgroup: '/kmodel-replay' });
    if (!('event' in stall)) throw new Error('expected an event record');
    // Nothing was freed: the stalled task keeps its pages and tables, just under the limit.
    expect(stall.VmRSS + stall.VmPTE + 4).toBeLessThanOrEqual(4096);
    expect(stall.VmRSS + stall.VmPTE + 4).toBeGreaterThan(4096 - 12);
    expect(formatReplay(recs)).toContain('OOM stall (OOM killer disabled) after "start"');
  });

  it('in a v1 cgroup: page tables count in memory.kmem.usage_in_bytes', () => {
    const recs = statusRecords(replayTrace(trace, { cgroupV1Limit: 2 ** 30 }));
    // 4102 pages charged; the page counter moves in 64-page batches (the per-CPU stock): 65 of them.
    expect(recs[1]).toMatchObject({ 'memory.usage_in_bytes': 65 * 64 * 4096, 'memory.kmem.usage_in_bytes': (8212 + 4) * 1024, 'memory.failcnt': 0 });
    expect((8212 + 4 + 8192) / 4).toBe(4102);
  });

  it("the 2 TiB attack holds the seeds' 4 GiB of PTE tables and 8 MiB of PMD tables", () => {
    const file = join(ROOT, 'examples/scenarios/attack-2tib.jsonl');
    const [base, after] = statusRecords(replayTrace(parseTrace(readFileSync(file, 'utf8'), file)));
    expect(base).toMatchObject({ VmPTE: 0, PageTables: 4 });
    expect(after).toMatchObject({ nr_ptes: 1_048_576, nr_pmds: 2048, nr_puds: 4, RssAnon: 0 });
    expect(after!['nr_ptes'] as number * 4096).toBe(4 * 2 ** 30);
    expect(after!['nr_pmds'] as number * 4096).toBe(8 * 2 ** 20);
    expect(after!.VmPTE).toBe(4 * 2 ** 20 + 8 * 1024 + 16);
  });
});
