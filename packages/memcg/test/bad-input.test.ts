import { MiB, PAGE_SIZE, isKmodelError } from '@kmodel/core';
import type { ChargeKind } from '@kmodel/core';
import { MemcgTree, memparse, parseLimit, parseLimitText } from '@kmodel/memcg';
import { describe, expect, it } from 'vitest';

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(isKmodelError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
    return;
  }
  throw new Error(`expected a KmodelError ${code}, nothing was thrown`);
}

/** Everything observable about a tree: numbers and file texts of every cgroup, events, stalls. */
function observe(tree: MemcgTree): unknown {
  const files = tree.version === 'v2' ? ['memory.max', 'memory.high', 'memory.stat', 'memory.events'] : ['memory.limit_in_bytes', 'memory.stat', 'memory.oom_control'];
  return {
    paths: tree.paths(),
    snapshot: tree.snapshot(),
    texts: tree.paths().map((p) => files.map((f) => tree.read(p, f))),
    events: [...tree.events],
    stalls: tree.stalls(),
  };
}

describe('limit parsing', () => {
  it('memparse follows lib/cmdline.c: base 0 and one K/M/G/T/P/E suffix', () => {
    expect(memparse('64M')).toBe(64n * 1024n * 1024n);
    expect(memparse('64m')).toBe(64n << 20n);
    expect(memparse('0x1000')).toBe(4096n);
    expect(memparse('010')).toBe(8n);
    expect(memparse('1E')).toBe(1n << 60n);
    for (const bad of ['', '-5', '1.5M', '64MiB', '64 M', '08', 'abc', 'M']) expect(memparse(bad)).toBeNull();
  });

  it('limit files take the kernel syntax, round down to pages (as the live v1 files do)', () => {
    // Live (6.18, v1): "1000" reads back 0, "0x1000" 4096, " 64M" 67108864, "-1" unlimited;
    // "abc", "-5", "1.5M" and "64MiB" fail with EINVAL.
    expect(parseLimitText('1000', 'v1')).toBe(0);
    expect(parseLimitText('0x1000', 'v1')).toBe(4096);
    expect(parseLimitText(' 64M\n', 'v1')).toBe(64 * MiB);
    expect(parseLimitText('-1', 'v1')).toBe(Infinity);
    expect(parseLimitText('max', 'v2')).toBe(Infinity);
    expect(parseLimitText('9223372036854771712', 'v1')).toBe(Infinity);
    for (const bad of ['abc', '-5', '1.5M', '64MiB']) expectCode(() => parseLimitText(bad, 'v1'), 'E_BAD_LIMIT');
    expectCode(() => parseLimitText('max', 'v1'), 'E_BAD_LIMIT');
    expectCode(() => parseLimitText('-1', 'v2'), 'E_BAD_LIMIT');
    expect(parseLimitText('1P', 'v2')).toBe(2 ** 50);
    expectCode(() => parseLimitText('16P', 'v2'), 'E_BAD_LIMIT'); // beyond 2^53 bytes
  });

  it('options also take kmodel sizes and byte counts', () => {
    expect(parseLimit('64MiB', 'v2')).toBe(64 * MiB);
    expect(parseLimit('64M', 'v2')).toBe(64 * MiB);
    expect(parseLimit(64 * MiB + 100, 'v2')).toBe(64 * MiB);
    expect(parseLimit('max', 'v1')).toBe(Infinity);
    expect(parseLimit(Infinity, 'v2')).toBe(Infinity);
    for (const bad of [-1, -4096, 1.5, Number.NaN, '-64MiB', '1.5GiB', '64 MB', 'lots']) expectCode(() => parseLimit(bad, 'v2'), 'E_BAD_LIMIT');
  });
});

describe('bad input leaves the hierarchy unchanged', () => {
  function busyTree(version: 'v1' | 'v2'): MemcgTree {
    const tree = new MemcgTree({ version });
    tree.create('/a', { limits: version === 'v2' ? { 'memory.max': '16M', 'memory.high': '8M' } : { 'memory.limit_in_bytes': '16M' } });
    tree.create('/a/b');
    tree.attach(1, '/a/b');
    expect(tree.charge(1, 'pagetables', 100 * PAGE_SIZE)).toBe(true);
    expect(tree.charge(1, 'anon', 50 * PAGE_SIZE)).toBe(true);
    return tree;
  }

  it.each(['v1', 'v2'] as const)('%s: malformed and negative limits, unknown files and keys', (version) => {
    const tree = busyTree(version);
    const before = observe(tree);
    const limitFile = version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
    for (const bad of ['-1M', '-5', '12.5M', '64MiB', 'lots', '']) expectCode(() => tree.write('/a', limitFile, bad), 'E_BAD_LIMIT');
    expectCode(() => tree.write('/a', 'memory.maximum', '1M'), 'E_UNKNOWN_KEY');
    expectCode(() => tree.write('/a', version === 'v2' ? 'memory.limit_in_bytes' : 'memory.max', '1M'), 'E_UNKNOWN_KEY');
    expectCode(() => tree.read('/a', 'memory.swap.max'), 'E_UNKNOWN_KEY');
    expectCode(() => tree.write('/a', version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes', '0'), 'E_READ_ONLY');
    expectCode(() => tree.write('/', limitFile, '1M'), 'E_ROOT_LIMIT');
    expectCode(() => tree.write('/nope', limitFile, '1M'), 'E_NO_CGROUP');
    expectCode(() => tree.create('/a/c', { limits: { [limitFile]: '1M', 'memory.bogus': '1M' } }), 'E_UNKNOWN_KEY');
    expectCode(() => tree.create('/a/c', { limits: { [limitFile]: '-1MiB' } }), 'E_BAD_LIMIT');
    expectCode(() => tree.create('/a/c', { version: version === 'v2' ? 'v1' : 'v2' }), 'E_CGROUP_VERSION');
    expectCode(() => tree.create('/x/y'), 'E_NO_CGROUP');
    expectCode(() => tree.create('/a'), 'E_CGROUP_EXISTS');
    for (const bad of ['a', '/a/', '//a', '/a/../b', '/a b', '']) expectCode(() => tree.create(bad), 'E_BAD_CGROUP_PATH');
    expectCode(() => tree.remove('/a'), 'E_CGROUP_NOT_EMPTY');
    expectCode(() => tree.remove('/a/b'), 'E_CGROUP_NOT_EMPTY');
    expectCode(() => tree.charge(1, 'slab' as ChargeKind, PAGE_SIZE), 'E_BAD_CHARGE_KIND');
    expectCode(() => tree.charge(1, 'anon', 100), 'E_UNALIGNED');
    expectCode(() => tree.charge(1, 'anon', -PAGE_SIZE), 'E_NOT_INTEGER');
    expectCode(() => tree.uncharge(1, 'anon', 51 * PAGE_SIZE), 'E_UNCHARGE_UNDERFLOW');
    expectCode(() => tree.uncharge(2, 'anon', PAGE_SIZE), 'E_UNCHARGE_UNDERFLOW');
    if (version === 'v1') {
      expectCode(() => tree.write('/a', 'memory.oom_control', '2'), 'E_BAD_LIMIT');
      expectCode(() => tree.create('/a/c', { limits: { 'memory.oom_control': 'yes' } }), 'E_BAD_LIMIT');
    }
    expect(observe(tree)).toEqual(before);
    expect(tree.has('/a/c')).toBe(false);
  });

  it('v1: a limit below usage fails like EBUSY and keeps the old limit', () => {
    // Live: echo 32M > memory.limit_in_bytes with 64 MiB of unreclaimable page tables charged
    // gave "Device or resource busy" and the limit stayed 67108864.
    const tree = busyTree('v1');
    // mem_cgroup_resize_max() drains the stocks before it reclaims and gives up, so compare
    // against the drained state (the 14 pages left of the anon charge's batch).
    expect(tree.stockedBytes('/a')).toBe(14 * PAGE_SIZE);
    tree.drainStock('/a');
    const before = observe(tree);
    expectCode(() => tree.write('/a', 'memory.limit_in_bytes', '512K'), 'E_BUSY');
    expect(observe(tree)).toEqual(before);
    expect(tree.read('/a', 'memory.limit_in_bytes')).toBe(`${16 * MiB}\n`);
    // Exactly the usage is allowed (page_counter_set_max fails only when usage > max).
    tree.write('/a', 'memory.limit_in_bytes', String(150 * PAGE_SIZE));
    expect(tree.read('/a', 'memory.limit_in_bytes')).toBe(`${150 * PAGE_SIZE}\n`);
  });

  it('an attach whose charges do not fit is refused', () => {
    const tree = busyTree('v2');
    tree.create('/small', { limits: { 'memory.max': '256K' } });
    const before = observe(tree);
    expectCode(() => tree.attach(1, '/small'), 'E_ATTACH_NOMEM');
    expect(observe(tree)).toEqual(before);
    expect(tree.cgroupOf(1)).toBe('/a/b');
  });
});
