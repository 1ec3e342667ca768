import { describe, expect, it } from 'vitest';
import { BuddyAllocator } from '@kmodel/buddy';
import { fnv1a, runWorkload, WORKLOAD_MACHINES } from './support/workload.js';

// Traces recorded from the allocator before it was split into modules (one 1,650-line
// buddy.ts, commit b14bc48): 20,000 seeded steps per machine, every result (pfn, null or error
// code) plus the final counters, /proc views and zone summaries. Any change to placement,
// fallback, pcp batching, accounting or error handling changes the hash.
const RECORDED = [
  { trace: 'ace768ea', claims: 317, steals: 0, unmapped: 75, failures: 684, free: 12638 },
  { trace: '9ad20581', claims: 0, steals: 0, unmapped: 15, failures: 3913, free: 1436 },
  { trace: '2747eead', claims: 227, steals: 0, unmapped: 57, failures: 1429, free: 11618 },
  { trace: '711af0f3', claims: 184, steals: 8, unmapped: 34, failures: 3387, free: 3299 },
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
