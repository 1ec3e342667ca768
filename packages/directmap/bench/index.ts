/**
 * Host-side speed of the direct-map model (not simulated time). Figures are noisy on a
 * shared machine; nothing here asserts a timing.
 */
import { DirectMap } from '@kmodel/directmap';

const PUD = 512 * 512;

function rate(name: string, ops: number, fn: () => void): void {
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(52)} ${(ops / (ns / 1e9)).toFixed(0).padStart(12)} ops/s  (${(ns / 1e6).toFixed(1)} ms)`);
}

let dm!: DirectMap;
rate('boot 1 TiB direct map (1 GiB leaves)', 1, () => {
  dm = new DirectMap({ ram: [{ start: 0, end: 1024 * PUD }] });
});
rate('boot 64 GiB without gbpages (32768 2 MiB leaves)', 1, () => {
  new DirectMap({ ram: [{ start: 0, end: 64 * PUD }], gbpages: false });
});
const N = 200_000;
rate(`remove ${N} single pages (set_direct_map_invalid + flush)`, N, () => {
  for (let i = 0; i < N; i++) dm.removeRange(PUD + i * 3, 1);
});
rate(`restore ${N} single pages`, N, () => {
  for (let i = 0; i < N; i++) dm.restoreRange(PUD + i * 3, 1);
});
const B = 50_000;
rate(`remove ${B} pageblocks (freetype conversion)`, B, () => {
  for (let i = 0; i < B; i++) dm.removeRange(100 * PUD + i * 512, 512);
});
rate(`restore ${B} pageblocks`, B, () => {
  for (let i = 0; i < B; i++) dm.restoreRange(100 * PUD + i * 512, 512);
});
rate('kernelPagePresent x 1e6', 1e6, () => {
  let n = 0;
  for (let i = 0; i < 1e6; i++) if (dm.kernelPagePresent(PUD + i)) n++;
  if (n < 0) console.log(n);
});
console.log(dm.metrics());
const m = process.memoryUsage();
console.log(`host memory: rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`);
