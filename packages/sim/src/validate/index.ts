/** Comparison of native (live kernel) and model status records. */
export * from './recording.js';
export * from './deltas.js';
