import type { ChargeContext, ChargeKind, Charger, MmId } from '@kmodel/core';

/**
 * A `Charger` decorator that remembers which task is charging (the kernel's `current` during
 * direct reclaim). Give it to the address spaces in place of the inner charger and pass it as
 * `charge` in the reclaim context: reclaim entered from a charge then knows whose fault is in
 * progress and leaves the tables of that fault alone.
 */
export class ChargeTracker implements Charger, ChargeContext {
  mm: MmId | null = null;
  kind: ChargeKind | null = null;

  constructor(private readonly inner: Charger) {}

  charge(mm: MmId, kind: ChargeKind, bytes: number): boolean {
    const prevMm = this.mm;
    const prevKind = this.kind;
    this.mm = mm;
    this.kind = kind;
    try {
      return this.inner.charge(mm, kind, bytes);
    } finally {
      this.mm = prevMm;
      this.kind = prevKind;
    }
  }

  uncharge(mm: MmId, kind: ChargeKind, bytes: number): void {
    this.inner.uncharge(mm, kind, bytes);
  }
}

const installed = new WeakMap<object, ChargeContext>();

/**
 * Tracks the charging task of a charger that the address spaces already hold (a machine built
 * without a {@link ChargeTracker}): wraps `charger.charge` on that object in place, once.
 * Returns the context to read during reclaim.
 */
export function trackChargesInPlace(charger: Charger): ChargeContext {
  const known = installed.get(charger);
  if (known) return known;
  const ctx: { mm: MmId | null; kind: ChargeKind | null } = { mm: null, kind: null };
  const inner = charger.charge.bind(charger);
  charger.charge = (mm: MmId, kind: ChargeKind, bytes: number): boolean => {
    const prevMm = ctx.mm;
    const prevKind = ctx.kind;
    ctx.mm = mm;
    ctx.kind = kind;
    try {
      return inner(mm, kind, bytes);
    } finally {
      ctx.mm = prevMm;
      ctx.kind = prevKind;
    }
  };
  installed.set(charger, ctx);
  return ctx;
}
