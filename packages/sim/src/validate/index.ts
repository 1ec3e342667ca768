/** Comparison of native (live kernel) and model status records, and its reports. */
export * from './recording.js';
export * from './deltas.js';
export * from './compare.js';
export { MODEL_THP, validateTrace, type RecordSource, type ValidateOptions, type ValidationResult } from './validate.js';
export { pinUnplaced, type PinnedTrace } from './pin.js';
export { describeFirstDifference, renderValidation, renderValidationSummary, validationJson } from './render.js';
export { loadValidationCase, loadValidationSuite, type ValidationCase } from './suite.js';
