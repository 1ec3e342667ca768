import { GiB, MiB, PAGE_SIZE, SimClock } from '@kmodel/core';
import { MAX_RECLAIM_RETRIES, MemcgTree } from '@kmodel/memcg';
import type { OomKillEvent } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

const LIMIT = 64 * MiB;
const LIMIT_PAGES = LIMIT / PAGE_SIZE; // 16384

describe('a 64 MiB cgroup against a process reading one byte per 2 MiB', () => {
  it('v2: OOM-kills it once page tables alone fill memory.max, with anon RSS 0', () => {
    const clock = new SimClock();
    const tree = new MemcgTree({ version: 'v2', clock });
    tree.create('/attack', { limits: { 'memory.max': '64MiB' } });
    const host = new FakeProcesses(tree);
    host.spawn(1, '/attack');

    expect(host.readEvery2MiB(1, 64 * GiB)).toBe(false);

    // 1 PUD + 32 PMD + 16351 PTE tables = 16384 pages = the limit; the 16352nd PTE table fails.
    const read = 16351 * 2 * MiB;
    expect(host.killed).toEqual([1]);
    expect(tree.events).toHaveLength(1);
    const kill = tree.events[0] as OomKillEvent;
    expect(kill).toMatchObject({
      type: 'oom_kill',
      cgroup: '/attack',
      task_memcg: '/attack',
      mm: 1,
      trigger_mm: 1,
      rss_pages: 0,
      VmRSS: 0,
      pgtables_bytes: LIMIT,
      VmPTE: 65536,
      points: LIMIT_PAGES,
      totalpages: LIMIT_PAGES,
    });
    expect(read).toBe(32702 * MiB); // ~31.9 GiB of address space read
    const m = tree.metrics('/attack');
    expect(m['memory.events.oom']).toBe(1);
    expect(m['memory.events.oom_kill']).toBe(1);
    // A max event per attempt at the exact size: the first, the one after drain_all_stock() and
    // MAX_RECLAIM_RETRIES more before the kill (18); after killing itself the task still makes
    // one attempt and MAX_RECLAIM_RETRIES retries (17) before it gives up as a dying task.
    expect(m['memory.events.max']).toBe(18 + 1 + MAX_RECLAIM_RETRIES);
    expect(m['memory.peak']).toBe(LIMIT);
    // The victim's memory is gone from memory.stat; its page tables went back through the
    // stock one page at a time, which drains above 64 pages: 16384 = 252 * 65 + 4 stay stocked.
    expect(m['memory.stat.pagetables']).toBe(0);
    expect(m['memory.current']).toBe(4 * PAGE_SIZE);
    expect(tree.stockedBytes('/attack')).toBe(4 * PAGE_SIZE);
    expect(tree.read('/attack', 'memory.events')).toBe('low 0\nhigh 0\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n');
  });

  it('v1: matches the live kernel run (Linux 6.18, memory.limit_in_bytes=64M)', () => {
    // Live run on the reference machine (cgroup v1 memory controller, 2026-11-23): a C program
    // exec'd into the cgroup mapped 64 GiB MAP_NORESERVE at 0x100000000000 and read one byte
    // per 2 MiB. Before the loop the cgroup held 10 page-table pages (VmPTE 40 kB), 25 anon and
    // 2 file pages (memory.stat rss 102400, cache 8192) and 4 other kmem pages. The kernel
    // OOM-killed it faulting at offset 0x7f6c00000 (32620 MiB) with "pgtables:65412kB",
    // pgtables_bytes 66981888, "memory: usage 65536kB, limit 65536kB" and
    // "kmem: usage 65428kB"; memory.oom_control then said oom_kill 1.
    const tree = new MemcgTree({ version: 'v1' });
    tree.create('/kmtest', { limits: { 'memory.limit_in_bytes': '64M' } });
    const host = new FakeProcesses(tree);
    host.spawn(7, '/kmtest');
    expect(host.charge(7, 'pagetables', 10 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(7, 'anon', 25 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(7, 'file', 2 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(7, 'kernel', 4 * PAGE_SIZE)).toBe(true);

    let atOom: Record<string, string> = {};
    const oomKill = host.oomKill.bind(host);
    host.oomKill = (mm) => {
      atOom = {
        usage: tree.read('/kmtest', 'memory.usage_in_bytes'),
        kmem: tree.read('/kmtest', 'memory.kmem.usage_in_bytes'),
      };
      oomKill(mm);
    };

    expect(host.readEvery2MiB(7, 64 * GiB)).toBe(false);
    expect(host.procs.size).toBe(0);
    const kill = tree.events[0] as OomKillEvent;
    expect(kill.pgtables_bytes).toBe(66981888);
    expect(kill.VmPTE).toBe(65412);
    expect(atOom).toEqual({ usage: '67108864\n', kmem: '66998272\n' });
    // The faulting read: 16310 PTE tables of the region were in place, i.e. offset 32620 MiB.
    const regionTables = 66981888 / PAGE_SIZE - 10;
    expect(regionTables).toBe(16310 + 32 + 1);
    expect(tree.read('/kmtest', 'memory.oom_control')).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    // The usage meets the limit on a batch boundary, so failcnt counts only the attempts around
    // the OOM: 19 before it and 17 after (see stock.test.ts, measured on the live kernel).
    expect(tree.read('/kmtest', 'memory.failcnt')).toBe('36\n');
    expect(tree.read('/kmtest', 'memory.max_usage_in_bytes')).toBe('67108864\n');
  });

  it('v1 with the OOM killer disabled: the task stalls, and resumes when the limit grows', () => {
    // Live run, same program with memory.oom_control=1: the task sat in state D in
    // mem_cgroup_oom_synchronize with under_oom 1; echo 96M > memory.limit_in_bytes let it run
    // on until VmPTE had grown by 32768 kB, where it stalled again.
    const clock = new SimClock();
    const tree = new MemcgTree({ version: 'v1', clock });
    tree.create('/kmtest', { limits: { 'memory.limit_in_bytes': '64M', 'memory.oom_control': 1 } });
    const host = new FakeProcesses(tree);
    host.spawn(3, '/kmtest');

    expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
    expect(host.killed).toEqual([]);
    expect(tree.isStalled(3)).toBe(true);
    expect(tree.stalls()).toEqual([{ mm: 3, cgroup: '/kmtest', since_ns: 0 }]);
    expect(tree.events).toEqual([{ type: 'oom_stall', time_ns: 0, cgroup: '/kmtest', mm: 3 }]);
    expect(tree.read('/kmtest', 'memory.oom_control')).toBe('oom_kill_disable 1\nunder_oom 1\noom_kill 0\n');
    expect(tree.read('/kmtest', 'memory.usage_in_bytes')).toBe(`${LIMIT}\n`);
    const pt1 = host.procs.get(3)!.pgtablesBytes;
    expect(pt1).toBe(LIMIT);

    // Retrying the fault while nothing changed stalls again, without a second stall event.
    expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
    expect(tree.events).toHaveLength(1);

    tree.write('/kmtest', 'memory.limit_in_bytes', '96M');
    expect(tree.isStalled(3)).toBe(false);
    expect(tree.read('/kmtest', 'memory.oom_control')).toBe('oom_kill_disable 1\nunder_oom 0\noom_kill 0\n');
    expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
    expect(tree.isStalled(3)).toBe(true);
    expect(host.procs.get(3)!.pgtablesBytes - pt1).toBe(32768 * 1024);

    // Re-enabling the OOM killer wakes the task; its next fault kills it.
    tree.write('/kmtest', 'memory.oom_control', '0');
    expect(tree.isStalled(3)).toBe(false);
    expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
    expect(host.killed).toEqual([3]);
    expect(tree.read('/kmtest', 'memory.oom_control')).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  });

  it('many processes, each under a per-process page-table threshold, still hit the cgroup limit', () => {
    const PER_PROCESS_THRESHOLD = 8 * MiB; // what a per-process VmPTE cap would allow
    const tree = new MemcgTree({ version: 'v2' });
    tree.create('/jobs', { limits: { 'memory.max': '64M' } });
    const host = new FakeProcesses(tree);
    const results: boolean[] = [];
    for (let mm = 1; mm <= 20; mm++) {
      host.spawn(mm, '/jobs');
      // 3 GiB each: 1 PUD + 3 PMD + 1536 PTE tables = 1540 pages = 6160 KiB.
      results.push(host.readEvery2MiB(mm, 3 * GiB));
    }
    const maxPt = Math.max(...[...host.procs.values()].map((p) => p.pgtablesBytes));
    expect(maxPt).toBe(1540 * PAGE_SIZE);
    expect(maxPt).toBeLessThan(PER_PROCESS_THRESHOLD);
    // Ten processes fit (15400 pages); the eleventh pushes past 16384 and the OOM killer kills
    // the tenth: all full ones tie on badness and a later task wins a tie in oom_evaluate_task.
    // The tenth's page tables are still charged at the next decision (lateTableFree, as on the
    // live kernel), so the ninth dies too; then the eleventh fits.
    const kills = tree.events.filter((e): e is OomKillEvent => e.type === 'oom_kill');
    expect(kills[0]).toMatchObject({ mm: 10, trigger_mm: 11, pgtables_bytes: 1540 * PAGE_SIZE, rss_pages: 0 });
    expect(kills[1]).toMatchObject({ mm: 9, trigger_mm: 11, pgtables_bytes: 1540 * PAGE_SIZE });
    expect(kills.map((k) => k.mm)).toEqual([10, 9, 12, 11, 14, 13, 16, 15, 18, 17]);
    expect([...host.procs.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 19, 20]);
    expect(tree.metrics('/jobs')['memory.events.oom_kill']).toBe(kills.length);
    expect(tree.metrics('/jobs')['memory.peak']).toBe(64 * MiB);
    expect(results.every((r) => r)).toBe(true);
    expect(host.procs.size + kills.length).toBe(20);
    expect(tree.metrics('/jobs')['memory.current']).toBeLessThanOrEqual(64 * MiB);
  });

  it('an OOM victim\'s page tables are freed late: the next decision kills again (live 6.18, v1)', () => {
    // Live runs (twice, same result): in a 64M cgroup, A read 16 GiB (VmPTE 32880 kB) and C 12 GiB
    // (24668 kB), both then sleeping; B read one byte per 2 MiB of 64 GiB. The kernel killed A
    // (pgtables:32880kB), then at once C (pgtables:24668kB) although A's tables would have made
    // room, then B itself at pgtables:65412kB. With A's 40 MiB of anonymous memory instead of
    // page tables, B ran on to the limit and only A and B were killed.
    const run = (lateTableFree: boolean) => {
      const tree = new MemcgTree({ version: 'v1', policy: { lateTableFree } });
      tree.create('/kmtest2', { limits: { 'memory.limit_in_bytes': '64M' } });
      const host = new FakeProcesses(tree);
      host.spawn(1, '/kmtest2'); // A
      host.spawn(2, '/kmtest2'); // C
      host.spawn(3, '/kmtest2'); // B
      expect(host.readEvery2MiB(1, 16 * GiB)).toBe(true);
      expect(host.readEvery2MiB(2, 12 * GiB)).toBe(true);
      expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
      return tree.events.map((e) => (e.type === 'oom_kill' ? [e.mm, e.VmPTE] : e.type));
    };
    // A = 1 PUD + 16 PMD + 8192 PTE tables, C = 1 + 12 + 6144, B ends with the whole limit.
    expect(run(true)).toEqual([[1, 8209 * 4], [2, 6157 * 4], [3, 65536]]);
    // Freeing at once would have spared C: B reaches 10227 pages > C's 6157 and kills itself.
    expect(run(false)).toEqual([[1, 8209 * 4], [3, 10227 * 4]]);
  });

  it('anonymous memory of a victim is uncharged at once', () => {
    const tree = new MemcgTree({ version: 'v1' });
    tree.create('/kmtest2', { limits: { 'memory.limit_in_bytes': '64M' } });
    const host = new FakeProcesses(tree);
    host.spawn(1, '/kmtest2');
    host.spawn(3, '/kmtest2');
    expect(host.charge(1, 'anon', 40 * MiB)).toBe(true);
    expect(host.readEvery2MiB(3, 64 * GiB)).toBe(false);
    expect(tree.events.map((e) => (e.type === 'oom_kill' ? e.mm : e.type))).toEqual([1, 3]);
    expect((tree.events[1] as OomKillEvent).VmPTE).toBe(65536);
  });

  it('is deterministic: the same run gives identical events and files', () => {
    const run = () => {
      const clock = new SimClock();
      const tree = new MemcgTree({ version: 'v2', clock });
      tree.create('/jobs', { limits: { 'memory.max': '32M', 'memory.high': '24M' } });
      const host = new FakeProcesses(tree);
      for (let mm = 1; mm <= 6; mm++) {
        host.spawn(mm, '/jobs', mm * 10);
        host.readEvery2MiB(mm, 5 * GiB);
      }
      return JSON.stringify({ events: tree.events, stat: tree.read('/jobs', 'memory.stat'), ev: tree.read('/jobs', 'memory.events'), now: clock.now });
    };
    const a = run();
    expect(a).toContain('oom_kill');
    expect(run()).toBe(a);
  });
});
