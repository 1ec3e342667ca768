import { MiB, PAGE_SIZE } from '@kmodel/core';
import { MemcgTree } from '@kmodel/memcg';
import type { OomKillEvent } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';
import { FakeProcesses } from './fake-processes.js';

function charged(version: 'v1' | 'v2') {
  const tree = new MemcgTree({ version });
  tree.create('/a', { limits: version === 'v2' ? { 'memory.max': '64M' } : { 'memory.limit_in_bytes': '64M' } });
  tree.create('/a/b');
  const host = new FakeProcesses(tree);
  host.spawn(1, '/a/b');
  host.spawn(2, '/a');
  expect(host.charge(1, 'pagetables', 300 * PAGE_SIZE)).toBe(true);
  expect(host.charge(1, 'anon', 200 * PAGE_SIZE)).toBe(true);
  expect(host.charge(1, 'kernel', 10 * PAGE_SIZE)).toBe(true);
  expect(host.charge(2, 'file', 100 * PAGE_SIZE)).toBe(true);
  expect(host.charge(2, 'sec_pagetables', 5 * PAGE_SIZE)).toBe(true);
  return { tree, host };
}

describe('cgroup v1 versus v2', () => {
  it('v2 memory.current and v1 memory.usage_in_bytes both include page tables; only v1 has a kmem counter', () => {
    const v2 = charged('v2').tree;
    const v1 = charged('v1').tree;
    // 615 pages charged; the two small charges took a 64-page batch each, whose rest (54 pages
    // for /a/b, 59 for /a) waits in the CPU's stock and counts in the page counters.
    expect(v2.read('/a', 'memory.current')).toBe(`${728 * PAGE_SIZE}\n`);
    expect(v1.read('/a', 'memory.usage_in_bytes')).toBe(`${728 * PAGE_SIZE}\n`);
    expect(v1.stockedBytes('/a')).toBe(113 * PAGE_SIZE);
    expect(v1.stockedBytes('/a/b')).toBe(54 * PAGE_SIZE);
    expect(v1.read('/a', 'memory.kmem.usage_in_bytes')).toBe(`${315 * PAGE_SIZE}\n`);
    expect(v1.read('/a/b', 'memory.kmem.usage_in_bytes')).toBe(`${310 * PAGE_SIZE}\n`);
    expect(() => v2.read('/a', 'memory.kmem.usage_in_bytes')).toThrow(/E_UNKNOWN_KEY.*a cgroup v1 file/);
    expect(() => v1.read('/a', 'memory.current')).toThrow(/E_UNKNOWN_KEY.*a cgroup v2 file/);
    // v2 memory.stat has pagetables (and counts them in kernel); v1 memory.stat has no such key.
    expect(v2.read('/a', 'memory.stat')).toContain(`\nkernel ${315 * PAGE_SIZE}\nkernel_stack 0\npagetables ${300 * PAGE_SIZE}\nsec_pagetables ${5 * PAGE_SIZE}\n`);
    expect(v1.read('/a', 'memory.stat')).not.toContain('pagetables');
  });

  it('the numbers for status records use the metric names of each version', () => {
    expect(charged('v2').tree.metrics('/a')).toEqual({
      'memory.current': 728 * PAGE_SIZE,
      'memory.max': 64 * MiB,
      'memory.high': Infinity,
      'memory.low': 0,
      'memory.min': 0,
      'memory.peak': 728 * PAGE_SIZE,
      'memory.stat.anon': 200 * PAGE_SIZE,
      'memory.stat.file': 100 * PAGE_SIZE,
      'memory.stat.kernel': 315 * PAGE_SIZE,
      'memory.stat.pagetables': 300 * PAGE_SIZE,
      'memory.stat.sec_pagetables': 5 * PAGE_SIZE,
      'memory.events.low': 0,
      'memory.events.high': 0,
      'memory.events.max': 0,
      'memory.events.oom': 0,
      'memory.events.oom_kill': 0,
      'memcg.throttled_ns': 0,
    });
    expect(charged('v1').tree.metrics('/a/b')).toEqual({
      'memory.usage_in_bytes': 564 * PAGE_SIZE,
      'memory.max_usage_in_bytes': 564 * PAGE_SIZE,
      'memory.limit_in_bytes': Infinity,
      'memory.failcnt': 0,
      'memory.kmem.usage_in_bytes': 310 * PAGE_SIZE,
      'memory.stat.anon': 200 * PAGE_SIZE,
      'memory.stat.file': 0,
      'memory.stat.kernel': 310 * PAGE_SIZE,
      'memory.stat.pagetables': 300 * PAGE_SIZE,
      'memory.stat.sec_pagetables': 0,
      'memory.oom_control.under_oom': 0,
      'memory.oom_control.oom_kill': 0,
    });
  });

  it('a limit below usage: v2 reclaims then OOM-kills until it fits, v1 refuses with EBUSY', () => {
    const { tree: v2, host } = charged('v2');
    v2.write('/a', 'memory.max', '2M'); // 512 pages; task 1 holds 510, task 2 holds 105
    expect(host.killed).toEqual([1]);
    expect(v2.read('/a', 'memory.max')).toBe(`${2 * MiB}\n`);
    // The write drained the stocks; task 1's 310 kernel pages went back one by one through the
    // stock, which drains above 64: 310 = 4 * 65 + 50 stay stocked.
    expect(v2.read('/a', 'memory.current')).toBe(`${155 * PAGE_SIZE}\n`);
    expect(v2.stockedBytes('/a')).toBe(50 * PAGE_SIZE);
    expect(v2.events[0]).toMatchObject({ type: 'oom_kill', mm: 1, trigger_mm: null, cgroup: '/a', task_memcg: '/a/b' });
    expect(v2.read('/a', 'memory.events')).toBe('low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n');

    const { tree: v1 } = charged('v1');
    expect(() => v1.write('/a', 'memory.limit_in_bytes', '2M')).toThrow(/E_BUSY/);
    expect(v1.read('/a', 'memory.limit_in_bytes')).toBe(`${64 * MiB}\n`);
  });

  it('events: v2 propagates up the hierarchy (not to the root), v1 stays in the cgroup', () => {
    for (const version of ['v1', 'v2'] as const) {
      const tree = new MemcgTree({ version });
      tree.create('/a');
      tree.create('/a/b', { limits: version === 'v2' ? { 'memory.max': '1M' } : { 'memory.limit_in_bytes': '1M' } });
      const host = new FakeProcesses(tree);
      host.spawn(1, '/a/b');
      expect(host.readEvery2MiB(1, 1024 * MiB)).toBe(false);
      expect((tree.events[0] as OomKillEvent).pgtables_bytes).toBe(MiB);
      if (version === 'v2') {
        // 18 attempts before the kill, 17 after it (see stock.test.ts).
        expect(tree.read('/a', 'memory.events')).toBe('low 0\nhigh 0\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n');
        expect(tree.read('/a', 'memory.events.local')).toBe('low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n');
        expect(tree.read('/a/b', 'memory.events.local')).toBe('low 0\nhigh 0\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n');
        expect(tree.metrics('/')['memory.events.oom_kill']).toBe(0);
      } else {
        expect(tree.read('/a/b', 'memory.oom_control')).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
        expect(tree.read('/a', 'memory.oom_control')).toBe('oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
        expect(tree.read('/a/b', 'memory.failcnt')).toBe('36\n');
        expect(tree.read('/a', 'memory.failcnt')).toBe('0\n');
      }
    }
  });

  it('limits read back in each version\'s format', () => {
    const v2 = new MemcgTree({ version: 'v2' });
    v2.create('/x');
    expect(v2.read('/x', 'memory.max')).toBe('max\n');
    v2.write('/x', 'memory.max', '1G');
    expect(v2.read('/x', 'memory.max')).toBe('1073741824\n');
    v2.write('/x', 'memory.low', 'max');
    expect(v2.read('/x', 'memory.low')).toBe('max\n');

    const v1 = new MemcgTree({ version: 'v1' });
    v1.create('/x');
    expect(v1.read('/x', 'memory.limit_in_bytes')).toBe('9223372036854771712\n');
    v1.write('/x', 'memory.limit_in_bytes', '1G');
    v1.write('/x', 'memory.limit_in_bytes', '-1');
    expect(v1.read('/x', 'memory.limit_in_bytes')).toBe('9223372036854771712\n');
    // Live 6.18: the deprecated kmem limit accepts a write and stays unlimited.
    v1.write('/x', 'memory.kmem.limit_in_bytes', '1M');
    expect(v1.read('/x', 'memory.kmem.limit_in_bytes')).toBe('9223372036854771712\n');
    expect(v1.read('/x', 'memory.use_hierarchy')).toBe('1\n');
  });

  it('create with parents: true makes missing ancestors; undefined settings are skipped', () => {
    const tree = new MemcgTree({ version: 'v2' });
    expect(() => tree.create('/a/b/c')).toThrow(/E_NO_CGROUP/);
    expect(tree.paths()).toEqual(['/']);
    tree.create('/a/b/c', { parents: true, limits: { 'memory.max': '64MiB', 'memory.high': undefined } });
    expect(tree.paths()).toEqual(['/', '/a', '/a/b', '/a/b/c']);
    expect(tree.read('/a/b/c', 'memory.max')).toBe(`${64 * MiB}\n`);
    expect(tree.read('/a/b/c', 'memory.high')).toBe('max\n');
    expect(tree.read('/a/b', 'memory.max')).toBe('max\n');
    // A bad setting creates nothing, not even the parents.
    expect(() => tree.create('/x/y', { parents: true, limits: { 'memory.max': '-1' } })).toThrow(/E_BAD_LIMIT/);
    expect(tree.has('/x')).toBe(false);
  });
});
