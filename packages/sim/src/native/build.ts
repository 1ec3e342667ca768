import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmodelError } from '@kmodel/core';
import { NativeErrorCode } from './errors.js';

/** Path of the runner's C source (`packages/sim/native/kmodel-runner.c`, beside `src/` and `dist/`). */
export const RUNNER_SOURCE = fileURLToPath(new URL('../../native/kmodel-runner.c', import.meta.url));

/** Flags the runner is compiled with; `-z now` binds every symbol before the first record. */
export const RUNNER_CFLAGS: readonly string[] = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Wl,-z,now'];

/** Options of {@link buildRunner}. */
export interface BuildOptions {
  /** Compiler to use; default `$CC`, else the first of `cc`, `gcc`, `clang` that runs. */
  readonly compiler?: string;
  /** Directory for the compiled runner; default `$KMODEL_CACHE_DIR` or `<tmpdir>/kmodel-native`. */
  readonly cacheDir?: string;
  /** Platform to check (default `process.platform`); for tests. */
  readonly platform?: NodeJS.Platform;
}

/** Throws `E_NOT_LINUX` unless `platform` is Linux. */
export function requireLinux(platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'linux') {
    throw new KmodelError(NativeErrorCode.NotLinux, `the native runner executes traces on a live Linux kernel, but this system is ${JSON.stringify(platform)}; replay the trace in the model only`, { platform });
  }
}

function runs(compiler: string): boolean {
  const r = spawnSync(compiler, ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/**
 * The C compiler to use: `compiler` if given, else `$CC`, else the first of `cc`, `gcc`,
 * `clang` that answers `--version`. Throws `E_NO_COMPILER` naming what was tried.
 */
export function findCompiler(compiler?: string): string {
  const env = process.env['CC'];
  const candidates = compiler !== undefined ? [compiler] : env !== undefined && env !== '' ? [env] : ['cc', 'gcc', 'clang'];
  for (const c of candidates) if (runs(c)) return c;
  throw new KmodelError(NativeErrorCode.NoCompiler, `no C compiler found (tried ${candidates.map((c) => JSON.stringify(c)).join(', ')}); install gcc or clang, or set CC, to run traces natively`, { tried: candidates });
}

/**
 * Compiles the native runner unless a binary for the same source, compiler and flags is
 * already cached, and returns its path. Throws `E_NOT_LINUX`, `E_NO_COMPILER` or
 * `E_NATIVE_BUILD` (with the compiler's messages).
 */
export function buildRunner(options: BuildOptions = {}): string {
  requireLinux(options.platform);
  const compiler = findCompiler(options.compiler);
  if (!existsSync(RUNNER_SOURCE)) {
    throw new KmodelError(NativeErrorCode.Build, `the native runner's source ${RUNNER_SOURCE} is missing from this installation of @kmodel/sim`, { path: RUNNER_SOURCE });
  }
  const source = readFileSync(RUNNER_SOURCE);
  const hash = createHash('sha256').update(source).update(compiler).update(RUNNER_CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = options.cacheDir ?? process.env['KMODEL_CACHE_DIR'] ?? join(tmpdir(), 'kmodel-native');
  const binary = join(dir, `kmodel-runner-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  // Compile to a private name, then rename: concurrent builds never see a half-written binary.
  const partial = `${binary}.${process.pid}.tmp`;
  const r = spawnSync(compiler, [...RUNNER_CFLAGS, '-o', partial, RUNNER_SOURCE], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    rmSync(partial, { force: true });
    const why = r.error?.message ?? r.stderr.trim();
    throw new KmodelError(NativeErrorCode.Build, `${compiler} failed to compile ${RUNNER_SOURCE}: ${why}`, { compiler, stderr: r.stderr });
  }
  chmodSync(partial, 0o755);
  renameSync(partial, binary);
  return binary;
}
