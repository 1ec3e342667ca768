/** The native runner: executes a trace on the live Linux kernel and reads its status records. */
export * from './errors.js';
export { buildRunner, findCompiler, requireLinux, RUNNER_CFLAGS, RUNNER_SOURCE, type BuildOptions } from './build.js';
export { encodeTrace, RUNNER_MAX_MAPPINGS } from './protocol.js';
export { kernelNoiseDuring, runNative, type KernelNoise, type NativeRunOptions } from './run.js';
export { kernelEnvironment, RELEVANT_CONFIG, type KernelEnvironment } from './environment.js';
export { recordNative, type RecordOptions } from './record.js';
