/**
 * memory.high throttling, after mem_cgroup_handle_over_high() and calculate_high_delay()
 * in mm/memcontrol.c. A task that charged pages while its cgroup (or an ancestor) was above
 * memory.high reclaims, and if reclaim cannot bring usage down, sleeps for a penalty that
 * grows with the square of the relative overage. memory.high never OOM-kills.
 */

/** MEMCG_CHARGE_BATCH: pages charged to the page counters at a time (the rest waits in the per-CPU stock), and the memory.high debt above which a charge settles it at once. */
export const MEMCG_CHARGE_BATCH = 64;
/** MAX_RECLAIM_RETRIES (mm/internal.h). */
export const MAX_RECLAIM_RETRIES = 16;
/** SWAP_CLUSTER_MAX: pages reclaimed per retry of the over-high handler. */
export const SWAP_CLUSTER_MAX = 32;
export const MEMCG_DELAY_PRECISION_SHIFT = 20n;
export const MEMCG_DELAY_SCALING_SHIFT = 14n;
/** CONFIG_HZ of the reference machine (Linux 6.18 x86-64 here: CONFIG_HZ=250). */
export const DEFAULT_HZ = 250;

/**
 * calculate_overage(): how far `usage` is above `high`, as a fixed-point fraction of `high`
 * with {@link MEMCG_DELAY_PRECISION_SHIFT} bits. 0 when not above.
 */
export function calculateOverage(usagePages: number, highPages: number): bigint {
  if (usagePages <= highPages) return 0n;
  const high = BigInt(Math.max(highPages, 1));
  return ((BigInt(usagePages) - BigInt(highPages)) << MEMCG_DELAY_PRECISION_SHIFT) / high;
}

/**
 * The penalty policy: jiffies to sleep for `nrPages` charged while the largest overage on the
 * path to the root is `maxOverage` ({@link calculateOverage} units). The handler clamps the
 * result to 2 s (MEMCG_MAX_HIGH_DELAY_JIFFIES) and skips penalties of at most HZ/100.
 */
export type HighDelayPolicy = (maxOverage: bigint, nrPages: number, hz: number) => number;

/**
 * calculate_high_delay(): overage² · HZ >> (20 + 14), scaled by nrPages / MEMCG_CHARGE_BATCH.
 * With HZ = 1000 and memory.high = 100M this gives the kernel comment's table: 6 ms at 101M,
 * 102 ms at 104M, 1081 ms at 113M.
 */
export const calculateHighDelay: HighDelayPolicy = (maxOverage, nrPages, hz) => {
  if (maxOverage === 0n) return 0;
  let penalty = maxOverage * maxOverage * BigInt(hz);
  penalty >>= MEMCG_DELAY_PRECISION_SHIFT;
  penalty >>= MEMCG_DELAY_SCALING_SHIFT;
  const jiffies = (penalty * BigInt(nrPages)) / BigInt(MEMCG_CHARGE_BATCH);
  return jiffies > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(jiffies);
};
