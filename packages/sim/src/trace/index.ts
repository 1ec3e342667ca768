/**
 * Trace format v1: types, a parser with line-numbered errors, and helpers that resolve
 * `repeat` and "rest of the region".
 */
export * from './types.js';
export * from './errors.js';
export { parseTrace, traceCalls, touchRange, traceLabels } from './parse.js';
export { formatTrace } from './format.js';
