import { MiB, PAGE_SIZE } from '@kmodel/core';
import type { Reclaimer } from '@kmodel/core';
import { MemcgTree } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';

/** A reclaimer that drops file pages of the tasks directly in the asked cgroup, and logs the calls. */
function fileReclaimer(getTree: () => MemcgTree, log: string[]): Reclaimer {
  return {
    reclaim(cgroup, bytes) {
      log.push(cgroup ?? '<machine>');
      const tree = getTree();
      let freed = 0;
      for (const mm of tree.tasksIn(cgroup ?? '/')) {
        const n = Math.min(tree.chargedBy(mm, 'file'), bytes - freed);
        if (n > 0) {
          tree.uncharge(mm, 'file', n);
          freed += n;
        }
      }
      return freed;
    },
  };
}

describe('reclaim before OOM, with memory.min and memory.low', () => {
  function setup() {
    const log: string[] = [];
    let tree!: MemcgTree;
    tree = new MemcgTree({ version: 'v2', reclaimer: fileReclaimer(() => tree, log) });
    tree.create('/p', { limits: { 'memory.max': '16M' } });
    tree.create('/p/min', { limits: { 'memory.min': '8M' } });
    tree.create('/p/low', { limits: { 'memory.low': '8M' } });
    tree.create('/p/none');
    tree.attach(1, '/p/min');
    tree.attach(2, '/p/low');
    tree.attach(3, '/p/none');
    tree.attach(4, '/p/none');
    expect(tree.charge(1, 'file', 4 * MiB)).toBe(true);
    expect(tree.charge(2, 'file', 4 * MiB)).toBe(true);
    expect(tree.charge(3, 'file', 2 * MiB)).toBe(true);
    expect(tree.charge(4, 'anon', 6 * MiB)).toBe(true);
    return { tree, log };
  }

  it('reclaims unprotected cgroups first and avoids OOM', () => {
    const { tree, log } = setup();
    expect(tree.charge(4, 'anon', MiB)).toBe(true);
    expect(log).toEqual(['/p', '/p/none']);
    expect(tree.chargedBy(3, 'file')).toBe(MiB);
    expect(tree.metrics('/p')).toMatchObject({ 'memory.current': 16 * MiB, 'memory.events.max': 1, 'memory.events.low': 0, 'memory.events.oom': 0 });
  });

  it('breaks into memory.low only when nothing else frees anything, counting a low event; never below memory.min', () => {
    const { tree, log } = setup();
    expect(tree.charge(4, 'anon', 2 * MiB)).toBe(true); // /p/none's 2 MiB of file go first
    log.length = 0;
    expect(tree.charge(4, 'anon', MiB)).toBe(true);
    expect(log).toEqual(['/p', '/p/none', '/p', '/p/low']);
    expect(tree.chargedBy(2, 'file')).toBe(3 * MiB);
    expect(tree.chargedBy(1, 'file')).toBe(4 * MiB);
    expect(tree.read('/p/low', 'memory.events')).toBe('low 1\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\nsock_throttled 0\n');
    expect(tree.metrics('/p')['memory.events.low']).toBe(1);
  });

  it('protection is bounded by the parent: a grandchild of the reclaim root gets at most its parent\'s', () => {
    const log: string[] = [];
    let tree!: MemcgTree;
    tree = new MemcgTree({ version: 'v2', reclaimer: fileReclaimer(() => tree, log) });
    tree.create('/r', { limits: { 'memory.max': '4M' } });
    tree.create('/r/mid');
    tree.create('/r/mid/leaf', { limits: { 'memory.min': '4M' } });
    tree.attach(1, '/r/mid/leaf');
    expect(tree.charge(1, 'file', 4 * MiB)).toBe(true);
    // /r/mid has no protection, so the leaf's memory.min does not shield it.
    expect(tree.charge(1, 'anon', PAGE_SIZE)).toBe(true);
    // try_to_free_mem_cgroup_pages() aims at max(nr_pages, SWAP_CLUSTER_MAX) = 32 pages.
    expect(tree.chargedBy(1, 'file')).toBe(4 * MiB - 32 * PAGE_SIZE);
    expect(log).toEqual(['/r', '/r/mid', '/r/mid/leaf']);
  });
});
