export * from './trace/index.js';
