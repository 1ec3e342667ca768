import { BuddyAllocator } from '@kmodel/buddy';
import { GFP_PGTABLE_USER } from '@kmodel/core';
const b = new BuddyAllocator({ pcp: false });
for (let r = 0; r < 4; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 5_000_000; i++) { const p = b.allocPages(GFP_PGTABLE_USER, 0)!; b.freePages(p, 0); }
  console.log((5e6 / Number(process.hrtime.bigint() - t0) * 1e3).toFixed(2), 'M/s', b.counters()['buddy.claims']);
}
console.log(b.buddyinfo());
