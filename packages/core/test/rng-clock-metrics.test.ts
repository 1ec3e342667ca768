import { describe, expect, it } from 'vitest';
import { Counters, Rng, SimClock, TimeSeries, costModel, KmodelError } from '@kmodel/core';

describe('Rng', () => {
  it('is deterministic for a seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.int(0, 1000));
    expect(Array.from({ length: 5 }, () => b.int(0, 1000))).toEqual(xs);
    expect(new Rng(43).int(0, 2 ** 40)).not.toBe(new Rng(42).int(0, 2 ** 40));
  });
  it('stays in range', () => {
    const r = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(10, 20);
      expect(v).toBeGreaterThanOrEqual(10);
      expect(v).toBeLessThanOrEqual(20);
    }
  });
  it('rejects a bad range', () => {
    expect(() => new Rng(1).int(5, 1)).toThrow(KmodelError);
  });
});

describe('SimClock', () => {
  it('charges the measured defaults', () => {
    const c = new SimClock();
    c.charge('fault_read_zero', 3);
    c.charge('fault_read_zero_new_table');
    expect(c.now).toBe(3 * 500 + 1600);
  });
  it('takes overrides and rejects unknown costs', () => {
    expect(costModel({ tlb_ipi: 5 }).tlb_ipi).toBe(5);
    expect(() => costModel({ nope: 1 })).toThrow(/E_UNKNOWN_KEY/);
    expect(() => costModel({ tlb_ipi: -1 })).toThrow(/E_OUT_OF_RANGE/);
  });
});

describe('Counters and TimeSeries', () => {
  it('counts by slot and snapshots by name', () => {
    const c = new Counters(['tlb.hits', 'tlb.misses']);
    const hits = c.slot('tlb.hits');
    c.add(hits);
    c.add(hits, 2);
    expect(c.snapshot()).toEqual({ 'tlb.hits': 3, 'tlb.misses': 0 });
    expect(() => c.slot('tlb.nope')).toThrow(/E_UNKNOWN_KEY/);
  });
  it('keeps columns aligned and reports peaks', () => {
    const s = new TimeSeries();
    s.sample(0, { VmPTE: 4 });
    s.sample(10, { VmPTE: 8, RssAnon: 4 });
    s.sample(20, { RssAnon: 2 });
    expect(s.toJSON()).toEqual({ time_ns: [0, 10, 20], VmPTE: [4, 8, 8], RssAnon: [0, 4, 2] });
    expect(s.peak()).toEqual({ VmPTE: 8, RssAnon: 4 });
  });
});
