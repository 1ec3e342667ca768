import { PAGE_SIZE } from '@kmodel/core';
import { MEMORY_STAT_V1_KEYS, MEMORY_STAT_V2_KEYS, MemcgTree } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';

function parse(text: string): [string, string][] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      expect(line).toMatch(/^[a-z_]+ \d+$/);
      const [k, v] = line.split(' ');
      return [k!, v!];
    });
}

describe('memory.stat text', () => {
  const v2 = new MemcgTree({ version: 'v2' });
  v2.create('/a');
  v2.attach(1, '/a');
  v2.charge(1, 'anon', 3 * PAGE_SIZE);
  v2.charge(1, 'file', 2 * PAGE_SIZE);
  v2.charge(1, 'pagetables', 5 * PAGE_SIZE);
  v2.charge(1, 'kernel', PAGE_SIZE);

  it('v2: "key value" lines in the kernel order, bytes, zeros for what is not modelled', () => {
    const lines = parse(v2.read('/a', 'memory.stat'));
    expect(lines.map(([k]) => k)).toEqual([...MEMORY_STAT_V2_KEYS]);
    expect(lines.slice(0, 6)).toEqual([
      ['anon', '12288'],
      ['file', '8192'],
      ['kernel', '24576'],
      ['kernel_stack', '0'],
      ['pagetables', '20480'],
      ['sec_pagetables', '0'],
    ]);
    const byKey = Object.fromEntries(lines);
    expect(byKey).toMatchObject({ inactive_anon: '12288', active_anon: '0', inactive_file: '8192', slab: '0', pgfault: '0' });
    // slab follows slab_unreclaimable, as memcg_stat_format() prints it.
    const keys = lines.map(([k]) => k);
    expect(keys.indexOf('slab')).toBe(keys.indexOf('slab_unreclaimable') + 1);
  });

  it('v1: local keys, hierarchical limits, then total_* keys', () => {
    const v1 = new MemcgTree({ version: 'v1' });
    v1.create('/p', { limits: { 'memory.limit_in_bytes': '64M' } });
    v1.create('/p/c');
    v1.attach(1, '/p/c');
    v1.attach(2, '/p');
    v1.charge(1, 'anon', 25 * PAGE_SIZE);
    v1.charge(2, 'file', 2 * PAGE_SIZE);
    v1.charge(1, 'pagetables', 10 * PAGE_SIZE);
    const lines = parse(v1.read('/p', 'memory.stat'));
    expect(lines).toHaveLength(2 * MEMORY_STAT_V1_KEYS.length + 2);
    const byKey = Object.fromEntries(lines);
    expect(byKey).toMatchObject({
      cache: '8192',
      rss: '0',
      hierarchical_memory_limit: '67108864',
      hierarchical_memsw_limit: '9223372036854771712',
      total_cache: '8192',
      total_rss: '102400',
      total_inactive_anon: '102400',
    });
    expect(Object.fromEntries(parse(v1.read('/p/c', 'memory.stat')))).toMatchObject({ rss: '102400', hierarchical_memory_limit: '67108864' });
    expect(lines[0]).toEqual(['cache', '8192']);
    expect(lines[MEMORY_STAT_V1_KEYS.length]![0]).toBe('hierarchical_memory_limit');
    expect(lines[MEMORY_STAT_V1_KEYS.length + 2]![0]).toBe('total_cache');
  });
});
