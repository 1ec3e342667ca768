import { GiB, MiB, PAGE_SIZE } from '@kmodel/core';
import type { OomHost } from '@kmodel/core';
import { MemcgTree } from '@kmodel/memcg';
import type { OomKillEvent } from '@kmodel/memcg';
import { expect, it } from 'vitest';

it('the README snippet prints what it says', () => {
  const tree = new MemcgTree({ version: 'v2' });
  tree.create('/attack', { limits: { 'memory.max': '64MiB' } });
  tree.attach(1, '/attack');
  let pgtables = 0;
  const host: OomHost = {
    oomStats: () => ({ rssPages: 0, pgtablesBytes: pgtables, swapents: 0, oomScoreAdj: 0 }),
    oomKill: (mm) => tree.uncharge(mm, 'pagetables', pgtables),
  };
  tree.setOomHost(host);
  let read = 0;
  for (;;) {
    const tables = (read === 0 ? 1 : 0) + (read % GiB === 0 ? 1 : 0) + 1;
    if (!tree.charge(1, 'pagetables', tables * PAGE_SIZE)) break;
    pgtables += tables * PAGE_SIZE;
    read += 2 * MiB;
  }
  expect(read / GiB).toBe(31.935546875);
  expect(tree.events[0]).toMatchObject({ type: 'oom_kill', mm: 1, rss_pages: 0, VmPTE: 65536 } satisfies Partial<OomKillEvent>);
  expect(tree.read('/attack', 'memory.events')).toBe('low 0\nhigh 0\nmax 35\noom 1\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n');
});
