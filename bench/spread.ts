// SPDX-License-Identifier: Apache-2.0
/**
 * Median and range of repeated measurements, and the stopping rule of the
 * reference runs in `npm run bench`: QEMU's own virtio-blk-device completes
 * requests on host threads, so its guest-time figures move with host load;
 * it is reported as the median and range of enough runs that the median
 * repeats.
 */

/** Median, minimum and maximum of a set of runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** number of runs */
  runs: number;
}

/**
 * The median (mean of the middle two for an even count), minimum and
 * maximum of `values`. Throws RangeError on an empty array.
 */
export function spread(values: readonly number[]): Spread {
  if (!values.length) throw new RangeError('spread of no values');
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], runs: v.length };
}

/**
 * How many runs: at least `min`, then `round` more at a time, at most
 * `max`; the median must repeat within `tolerance` (0.05 = 5 %) after
 * `repeats` successive rounds (one bimodal round can hit the median before
 * it by chance; two rarely do).
 */
export interface StopRule {
  min: number;
  round: number;
  max: number;
  tolerance: number;
  repeats: number;
}

/**
 * Runs `run` until the median of all runs so far has been within
 * `rule.tolerance` of the median before the latest round for
 * `rule.repeats` successive rounds (after at least `rule.min` runs), or
 * `rule.max` runs are done. Returns every value in run order and whether
 * the median repeated (`stable: false` means the maximum was hit first).
 */
export async function runUntilStable(run: () => Promise<number>, rule: StopRule): Promise<{ values: number[]; stable: boolean }> {
  const values: number[] = [];
  while (values.length < rule.min) values.push(await run());
  let before = spread(values).median;
  let repeated = 0;
  while (values.length < rule.max) {
    for (let i = 0; i < rule.round && values.length < rule.max; i++) values.push(await run());
    const now = spread(values).median;
    repeated = Math.abs(now - before) <= rule.tolerance * Math.abs(before) ? repeated + 1 : 0;
    if (repeated >= rule.repeats) return { values, stable: true };
    before = now;
  }
  return { values, stable: false };
}
