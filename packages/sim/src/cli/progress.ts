import { SingleBar, Presets } from 'cli-progress';
import type { CliIo } from './io.js';

/** Progress of a run: operations done out of a total, for one policy. */
export type ProgressFn = (done: number, total: number, label: string) => void;

/**
 * A progress bar (cli-progress) on stderr when the CLI runs on a terminal; a no-op when
 * output is piped. Returns the callback and a function that removes the bar.
 */
export function progressBar(io: CliIo): { onProgress: ProgressFn | undefined; stop: () => void } {
  if (!io.interactive) return { onProgress: undefined, stop: () => {} };
  const bar = new SingleBar(
    { format: ' {label} [{bar}] {percentage}% | {value}/{total} ops', clearOnComplete: true, hideCursor: true, stream: process.stderr, fps: 10 },
    Presets.shades_classic,
  );
  let started = false;
  let current = '';
  return {
    onProgress(done, total, label) {
      if (!started || label !== current) {
        if (started) bar.stop();
        bar.start(total, done, { label });
        started = true;
        current = label;
      } else bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
