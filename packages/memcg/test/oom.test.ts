import { MiB, PAGE_SIZE } from '@kmodel/core';
import { MemcgTree, OOM_SCORE_ADJ_MIN, oomBadness } from '@kmodel/memcg';
import type { OomKillEvent } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

describe('oomBadness (mm/oom_kill.c oom_badness)', () => {
  it('counts RSS, swap entries and page-table pages', () => {
    expect(oomBadness({ rssPages: 100, swapents: 7, pgtablesBytes: 40 * PAGE_SIZE + 100, oomScoreAdj: 0 }, 16384)).toBe(147);
  });

  it('adds oom_score_adj in units of totalpages / 1000, dividing first', () => {
    expect(oomBadness({ rssPages: 100, swapents: 0, pgtablesBytes: 0, oomScoreAdj: 500 }, 16384)).toBe(100 + 500 * 16);
    expect(oomBadness({ rssPages: 100, swapents: 0, pgtablesBytes: 0, oomScoreAdj: -50 }, 16384)).toBe(100 - 50 * 16);
    // Below 1000 pages the adjustment vanishes (totalpages / 1000 = 0).
    expect(oomBadness({ rssPages: 100, swapents: 0, pgtablesBytes: 0, oomScoreAdj: 1000 }, 999)).toBe(100);
  });

  it('exempts OOM_SCORE_ADJ_MIN', () => {
    expect(oomBadness({ rssPages: 1e6, swapents: 0, pgtablesBytes: 0, oomScoreAdj: OOM_SCORE_ADJ_MIN }, 16384)).toBeNull();
  });
});

describe('victim selection inside the cgroup', () => {
  function setup() {
    const tree = new MemcgTree({ version: 'v2' });
    tree.create('/job', { limits: { 'memory.max': '64M' } });
    tree.create('/job/x');
    tree.create('/other');
    const host = new FakeProcesses(tree);
    return { tree, host };
  }

  it('kills the task with the highest RSS + page tables, which need not be the one charging', () => {
    const { tree, host } = setup();
    host.spawn(1, '/job');
    host.spawn(2, '/job/x');
    host.spawn(3, '/job');
    host.spawn(9, '/other');
    expect(host.charge(1, 'anon', 3000 * PAGE_SIZE)).toBe(true);
    // Task 2 has less RSS but more page tables: 2000 + 1500 = 3500 points.
    expect(host.charge(2, 'anon', 2000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(2, 'pagetables', 1500 * PAGE_SIZE)).toBe(true);
    // Task 9 is outside the cgroup and huge: never a candidate.
    expect(host.charge(9, 'anon', 100000 * PAGE_SIZE)).toBe(true);
    // Task 3 fills the rest; then task 1 asks for one more page and task 3, the largest, dies.
    expect(host.charge(3, 'anon', (16384 - 6500) * PAGE_SIZE)).toBe(true);
    expect(host.charge(1, 'anon', PAGE_SIZE)).toBe(true);
    expect(tree.events).toHaveLength(1);
    const kill = tree.events[0] as OomKillEvent;
    expect(kill).toMatchObject({ mm: 3, trigger_mm: 1, points: 9884, task_memcg: '/job', cgroup: '/job' });
    expect(tree.metrics('/job')['memory.current']).toBe(6501 * PAGE_SIZE);
  });

  it('page tables decide between equal RSS; oom_score_adj can override; -1000 is exempt', () => {
    const { tree, host } = setup();
    host.spawn(1, '/job');
    host.spawn(2, '/job/x', OOM_SCORE_ADJ_MIN);
    host.spawn(3, '/job');
    host.spawn(4, '/job', 300);
    expect(host.charge(1, 'anon', 4000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(1, 'pagetables', 100 * PAGE_SIZE)).toBe(true);
    expect(host.charge(2, 'anon', 8000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(3, 'anon', 4000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(3, 'pagetables', 200 * PAGE_SIZE)).toBe(true);
    // 4 is small but adj 300 adds 300 * 16 = 4800 points.
    expect(host.charge(4, 'anon', 10 * PAGE_SIZE)).toBe(true);
    // Usage 16310 pages; 3 charges 80 more: over the limit until 4 is gone.
    expect(host.charge(3, 'anon', 80 * PAGE_SIZE)).toBe(true);
    const kills = tree.events.filter((e): e is OomKillEvent => e.type === 'oom_kill');
    expect(kills.map((k) => [k.mm, k.points])).toEqual([[4, 10 + 4800]]);

    // Next OOM: 3 (4280 points) beats 1 (4100); 2 is never chosen despite 8000 pages.
    expect(host.charge(1, 'anon', 200 * PAGE_SIZE)).toBe(true);
    const kills2 = tree.events.filter((e): e is OomKillEvent => e.type === 'oom_kill');
    expect(kills2.map((k) => k.mm)).toEqual([4, 3]);
    expect(kills2[1]).toMatchObject({ trigger_mm: 1, rss_pages: 4080, pgtables_bytes: 200 * PAGE_SIZE, VmPTE: 800, VmRSS: 16320, points: 4280 });
  });

  it('with only exempt tasks the charge fails and an oom_no_victim event is recorded', () => {
    const { tree, host } = setup();
    host.spawn(1, '/job', OOM_SCORE_ADJ_MIN);
    expect(host.charge(1, 'anon', 64 * MiB)).toBe(true);
    expect(host.charge(1, 'pagetables', PAGE_SIZE)).toBe(false);
    expect(tree.events).toEqual([{ type: 'oom_no_victim', time_ns: 0, cgroup: '/job', trigger_mm: 1 }]);
    expect(tree.metrics('/job')).toMatchObject({ 'memory.events.oom': 1, 'memory.events.oom_kill': 0, 'memory.current': 64 * MiB });
  });

  it('a killed task cannot charge again and is released by exit()', () => {
    const { tree, host } = setup();
    host.spawn(1, '/job');
    expect(host.charge(1, 'anon', 64 * MiB)).toBe(true);
    expect(host.charge(1, 'anon', PAGE_SIZE)).toBe(false);
    expect(tree.isKilled(1)).toBe(true);
    expect(tree.charge(1, 'anon', PAGE_SIZE)).toBe(false);
    tree.uncharge(1, 'anon', PAGE_SIZE); // late uncharges of a torn-down task are ignored
    tree.exit(1);
    expect(tree.isKilled(1)).toBe(false);
    expect(tree.tasksIn('/job')).toEqual([]);
  });

  it('pages a victim still shares stay charged to it until they are freed', () => {
    const { tree, host } = setup();
    host.spawn(1, '/job');
    host.spawn(2, '/job');
    expect(host.charge(1, 'anon', 40 * MiB)).toBe(true);
    expect(host.charge(2, 'anon', 16 * MiB)).toBe(true);
    // Teardown of task 1 frees all but 4 MiB, which a forked child still maps.
    host.oomKill = (mm) => {
      tree.uncharge(mm, 'anon', tree.chargedBy(mm, 'anon') - 4 * MiB);
      host.procs.delete(mm);
      host.killed.push(mm);
    };
    expect(host.charge(2, 'anon', 16 * MiB)).toBe(true);
    expect(host.killed).toEqual([1]);
    expect(tree.metrics('/job')['memory.current']).toBe(36 * MiB);
    expect(tree.tasksIn('/job')).toEqual([1, 2]);
    expect(() => tree.remove('/job')).toThrow(/E_CGROUP_NOT_EMPTY/);
    // The child frees them later: the charge goes, and so does the dead task.
    tree.uncharge(1, 'anon', 4 * MiB);
    expect(tree.metrics('/job')['memory.current']).toBe(32 * MiB);
    expect(tree.tasksIn('/job')).toEqual([2]);
    expect(tree.charge(1, 'anon', PAGE_SIZE)).toBe(false);
  });

  it('an OOM host that frees nothing cannot make the killer loop: each task dies once, then the charge fails', () => {
    const { tree, host } = setup();
    host.oomKill = (mm) => {
      host.procs.delete(mm);
      host.killed.push(mm);
    };
    host.spawn(1, '/job');
    host.spawn(2, '/job');
    expect(host.charge(1, 'anon', 32 * MiB)).toBe(true);
    expect(host.charge(2, 'anon', 32 * MiB)).toBe(true);
    expect(host.charge(2, 'anon', PAGE_SIZE)).toBe(false);
    expect(host.killed).toEqual([2]);
    tree.create('/job/y');
    host.spawn(3, '/job/y');
    expect(host.charge(3, 'anon', PAGE_SIZE)).toBe(false);
    expect(host.killed).toEqual([2, 1, 3]);
    expect(tree.events.map((e) => e.type)).toEqual(['oom_kill', 'oom_kill', 'oom_kill']);
  });

  it('memory.oom.group (v2): the whole group of the victim dies, except exempt tasks', () => {
    const { tree, host } = setup();
    tree.create('/job/g', { limits: { 'memory.oom.group': true } });
    host.spawn(1, '/job/g');
    host.spawn(2, '/job/g');
    host.spawn(3, '/job/g', OOM_SCORE_ADJ_MIN);
    host.spawn(4, '/job/x');
    expect(host.charge(1, 'pagetables', 9000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(2, 'anon', 1000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(3, 'anon', 1000 * PAGE_SIZE)).toBe(true);
    expect(host.charge(4, 'anon', 5384 * PAGE_SIZE)).toBe(true);
    expect(tree.read('/job/g', 'memory.oom.group')).toBe('1\n');
    expect(host.charge(4, 'anon', PAGE_SIZE)).toBe(true);
    const kills = tree.events.filter((e): e is OomKillEvent => e.type === 'oom_kill');
    expect(kills.map((k) => [k.mm, k.task_memcg])).toEqual([[1, '/job/g'], [2, '/job/g']]);
    expect(tree.read('/job/g', 'memory.events')).toBe('low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\noom_group_kill 1\nsock_throttled 0\n');
    expect(tree.metrics('/job')['memory.events.oom_kill']).toBe(2);
    expect(tree.tasksIn('/job/g')).toEqual([3]);
    expect(() => tree.write('/job/g', 'memory.oom.group', '2')).toThrow(/E_BAD_LIMIT/);
  });
});
