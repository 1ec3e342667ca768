import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
/** The real binary, as `pnpm kmodel` runs it (the test run happens after `pnpm build`). */
export const CLI = join(ROOT, 'packages/sim/dist/cli.js');
/** Scenario and trace files of the tests. */
export const FIX = join(ROOT, 'packages/sim/test/fixtures');

/** What a run of the binary gave. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Throws unless the CLI has been built. */
export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (pnpm build; pnpm test does it)`);
}

/** Runs `kmodel ...args` from the repository root (stdout and stderr piped). */
export function kmodel(...args: string[]): Promise<Result> {
  return run(process.execPath, [CLI, ...args]);
}

/** Runs a command and collects its exit code and output. */
export function run(file: string, args: string[]): Promise<Result> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
