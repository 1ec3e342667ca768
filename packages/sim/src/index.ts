export * from './trace/index.js';
export * from './native/index.js';
