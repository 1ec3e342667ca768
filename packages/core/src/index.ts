/**
 * @packageDocumentation
 * The shared vocabulary of kmodel: page numbers and sizes, errors with stable codes, a
 * seeded RNG, the simulated clock and its cost model, metric names and counters, and the
 * contracts (interfaces) through which the model layers talk to each other.
 */
export * from './errors.js';
export * from './units.js';
export * from './size.js';
export * from './rng.js';
export * from './clock.js';
export * from './metrics.js';
export * from './contracts/entry.js';
export * from './contracts/page-allocator.js';
export * from './contracts/page-table.js';
export * from './contracts/tlb.js';
export * from './contracts/direct-map.js';
export * from './contracts/charger.js';
export * from './contracts/reclaim.js';
