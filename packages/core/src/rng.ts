import prand from 'pure-rand';
import { CoreErrorCode, fail, show } from './errors.js';

/**
 * A seeded, deterministic random number generator (xoroshiro128+ from pure-rand).
 * The same seed gives the same sequence on every machine, which is what makes
 * kmodel's results reproducible. It mutates in place to stay allocation-free.
 */
export class Rng {
  private readonly gen: prand.RandomGenerator;
  /** The seed this generator started from. */
  readonly seed: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) fail(CoreErrorCode.NotAnInteger, `seed must be a safe integer, got ${show(seed)}`, { value: seed });
    this.seed = seed;
    this.gen = prand.xoroshiro128plus((seed | 0) ^ (Math.floor(seed / 2 ** 32) | 0));
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    return prand.unsafeUniformIntDistribution(0, 0xffffffff, this.gen);
  }

  /** A uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
      fail(CoreErrorCode.OutOfRange, `bad range [${show(min)}, ${show(max)}]: expected integers with min <= max`, { min, max });
    }
    if (max - min <= 0xffffffff) return min + prand.unsafeUniformIntDistribution(0, max - min, this.gen);
    // Wider ranges: combine two draws (exact below 2^53).
    const hi = prand.unsafeUniformIntDistribution(0, Math.floor((max - min) / 2 ** 32), this.gen);
    const lo = this.nextU32();
    return Math.min(max, min + hi * 2 ** 32 + lo);
  }

  /** A uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An independent generator derived from this one (for a sub-component that needs its own stream). */
  fork(): Rng {
    return new Rng(this.nextU32() * 2 ** 20 + (this.nextU32() & 0xfffff));
  }
}
