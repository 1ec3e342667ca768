import { describe, expect, it } from 'vitest';
import { BuddyAllocator } from '@kmodel/buddy';
import { fnv1a, runWorkload, WORKLOAD_MACHINES } from './support/workload.js';

// Traces recorded from the allocator before it was split into modules (one 1,650-line
// buddy.ts, commit b14bc48), re-recorded once since, when undoIsolatePageblock() started
// putting the pages it gives back at the tails of their lists as unset_migratetype_isolate()
// does: 20,000 seeded steps per machine, every result (pfn, null or error code) plus the final
// counters, /proc views and zone summaries. Any change to placement, fallback, pcp batching,
// accounting or error handling changes the hash.
const RECORDED = [
  { trace: '44bcaae6', claims: 333, steals: 0, unmapped: 75, failures: 632, free: 13879 },
  { trace: '17cba154', claims: 0, steals: 0, unmapped: 11, failures: 3918, free: 1489 },
  { trace: '81c06aec', claims: 266, steals: 0, unmapped: 61, failures: 1429, free: 11124 },
  { trace: '34eab9b0', claims: 214, steals: 0, unmapped: 36, failures: 3414, free: 3484 },
];

describe('seeded workload traces', () => {
  it.each(RECORDED.map((r, i) => [i, r] as const))('machine %i gives the recorded trace', (i, rec) => {
    const b = new BuddyAllocator(WORKLOAD_MACHINES[i]!());
    const trace = runWorkload(b, 1000 + i, 20000);
    const c = b.counters();
    expect({
      trace: fnv1a(trace),
      claims: c['buddy.claims'],
      steals: c['buddy.steals'],
      unmapped: c['buddy.unmapped_conversions'],
      failures: c['buddy.alloc_failures'],
      free: c.nr_free_pages,
    }).toEqual(rec);
  });

  it('tells apart allocators that behave differently', () => {
    const a = runWorkload(new BuddyAllocator(WORKLOAD_MACHINES[3]!()), 7, 2000);
    const b = runWorkload(new BuddyAllocator({ ...WORKLOAD_MACHINES[3]!(), pcp: false }), 7, 2000);
    expect(fnv1a(a)).not.toBe(fnv1a(b));
  });
});
