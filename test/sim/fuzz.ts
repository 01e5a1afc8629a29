// SPDX-License-Identifier: Apache-2.0
/**
 * Volume and seeds of the seeded fuzz tests, from the environment:
 *
 * - `BAOJS_FUZZ_SCALE` (default 1): every fuzz volume (rounds, accesses,
 *   queues) is multiplied by it; `npm run fuzz` runs the suites with a
 *   large scale. Fractions are allowed (at least one round always runs).
 * - `BAOJS_FUZZ_SEED`: replays one round. Every round of every fuzz loop
 *   runs from its own seed, printed when the round fails; with the variable
 *   set, each loop runs that one seed instead of its rounds.
 *
 * Inside QuickJS (the engine suites) there is no environment: scale 1, no
 * override. Pure JS.
 */

/** A variable of the process environment, or undefined where there is none (QuickJS). */
function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p && p.env ? p.env[name] : undefined;
}

/**
 * The volume multiplier: BAOJS_FUZZ_SCALE, or 1.
 * @throws Error if the variable is set to anything but a positive number
 */
export function fuzzScale(): number {
  const v = env('BAOJS_FUZZ_SCALE');
  if (v === undefined || v === '') return 1;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`BAOJS_FUZZ_SCALE=${v}: expected a positive number`);
  return n;
}

/** `base` rounds scaled by {@link fuzzScale}, at least 1. */
export function scaled(base: number): number {
  return Math.max(1, Math.round(base * fuzzScale()));
}

/**
 * The seed BAOJS_FUZZ_SEED names (decimal or 0x hex), or undefined.
 * @throws Error if the variable is set to anything but an unsigned 32-bit integer
 */
export function seedOverride(): number | undefined {
  const v = env('BAOJS_FUZZ_SEED');
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`BAOJS_FUZZ_SEED=${v}: expected an unsigned 32-bit integer`);
  return n;
}

/** The seed of round `i` of a loop whose own seed is `base` (a 32-bit mix, never 0). */
export function roundSeed(base: number, i: number): number {
  let x = (Math.imul(base ^ 0x85ebca6b, 0x9e3779b1) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  return (x >>> 0) || 1;
}

/**
 * The seeds a fuzz loop runs: `rounds` (scaled) seeds derived from `base`,
 * or the one seed of BAOJS_FUZZ_SEED.
 */
export function fuzzSeeds(base: number, rounds: number): number[] {
  const only = seedOverride();
  if (only !== undefined) return [only];
  const n = scaled(rounds);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = roundSeed(base, i);
  return out;
}

/** How to replay `seed`, for failure messages. */
export function replayHint(seed: number): string {
  return `seed 0x${seed.toString(16)} (replay: BAOJS_FUZZ_SEED=0x${seed.toString(16)})`;
}

/**
 * Runs `fn(seed)`; an exception it throws gets the seed and how to replay it
 * in front of its message (assertion errors keep their details).
 */
export function withSeed<T>(seed: number, fn: (seed: number) => T): T {
  try {
    return fn(seed);
  } catch (e) {
    if (e instanceof Error) {
      e.message = `${replayHint(seed)}: ${e.message}`;
      throw e;
    }
    throw new Error(`${replayHint(seed)}: ${String(e)}`);
  }
}
