/** A half-open range [start, end) of bytes or pages. */
export type Range = [start: number, end: number];

/** Removes [s, e) from a sorted list of disjoint ranges. */
export function subtractRange(ranges: readonly Range[], s: number, e: number): Range[] {
  const out: Range[] = [];
  for (const [a, b] of ranges) {
    if (b <= s || a >= e) out.push([a, b]);
    else {
      if (a < s) out.push([a, s]);
      if (b > e) out.push([e, b]);
    }
  }
  return out;
}
