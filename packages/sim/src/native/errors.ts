/** Error codes of the native runner. */
export const NativeErrorCode = {
  /** The native runner needs Linux (`process.platform` is something else). */
  NotLinux: 'E_NOT_LINUX',
  /** No C compiler was found (`$CC`, `cc`, `gcc`, `clang`). */
  NoCompiler: 'E_NO_COMPILER',
  /** The C compiler failed on the runner's source. */
  Build: 'E_NATIVE_BUILD',
  /** A system call of the trace failed on the live kernel, or the runner died. */
  Run: 'E_NATIVE_RUN',
  /** The trace exceeds a limit of the runner (number of mappings). */
  Limit: 'E_NATIVE_LIMIT',
} as const;
export type NativeErrorCode = (typeof NativeErrorCode)[keyof typeof NativeErrorCode];
