// SPDX-License-Identifier: Apache-2.0
// The bench's median and range of repeated runs and its stopping rule
// (bench/spread.ts), on fixed sequences of values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runUntilStable, spread } from '../../bench/spread.ts';

test('spread: median of odd and even counts, min, max; unsorted input left as is', () => {
  const v = [5, 1, 3];
  assert.equal(spread(v), { median: 3, min: 1, max: 5, runs: 3 });
  assert.equal(v, [5, 1, 3]);
  assert.equal(spread([4, 1, 2, 10]), { median: 3, min: 1, max: 10, runs: 4 });
  assert.throws(() => spread([]), RangeError);
});

/** A run function that returns `values` in order and counts its calls. */
function sequence(values: number[]): { run: () => Promise<number>; calls: () => number } {
  let i = 0;
  return { run: async () => values[i++], calls: () => i };
}

const rule = { min: 5, round: 2, max: 11, tolerance: 0.05, repeats: 1 };

test('runUntilStable: stops after the first round whose median is within 5 % of the one before', async () => {
  // medians: first 5 -> 100; after 7 -> 100 (within 5 %)
  const s = sequence([90, 100, 110, 100, 120, 100, 95, 1, 1, 1, 1]);
  const r = await runUntilStable(s.run, rule);
  assert.is(r.stable, true);
  assert.is(s.calls(), 7);
  assert.equal(r.values, [90, 100, 110, 100, 120, 100, 95]);
});

test('runUntilStable: keeps going while the median moves by more than 5 %', async () => {
  // medians: 5 runs [10,10,10,100,100] -> 10; 7 runs +[100,100] -> 100; 9 runs +[100,100] -> 100: stable at 9
  const s = sequence([10, 10, 10, 100, 100, 100, 100, 100, 100, 1, 1]);
  const r = await runUntilStable(s.run, rule);
  assert.is(r.stable, true);
  assert.is(r.values.length, 9);
});

test('runUntilStable: reports a median that never repeated once the maximum is reached', async () => {
  // alternating jumps keep the median moving by more than 5 % each round
  const s = sequence([1, 2, 3, 4, 5, 10, 20, 40, 80, 160, 320, 640]);
  const r = await runUntilStable(s.run, rule);
  assert.is(r.stable, false);
  assert.is(r.values.length, 11);
  assert.is(s.calls(), 11);
});

test('runUntilStable: with repeats 2, one round that hits the median by chance is not enough', async () => {
  // medians: 5 -> 10; 7 -> 10 (repeat 1); 9 -> 10 (repeat 2): stable at 9
  const s = sequence([10, 10, 10, 100, 100, 9, 10, 100, 100, 1, 1]);
  const r = await runUntilStable(s.run, { ...rule, repeats: 2 });
  assert.is(r.stable, true);
  assert.is(r.values.length, 9);
  // medians: 5 -> 30; 7 +[1,100] -> 30 (repeat 1); 9 +[1,1] -> 20 (reset); 11 +[1,1] -> 10 (reset): max hit
  const t = sequence([10, 20, 30, 40, 50, 1, 100, 1, 1, 1, 1]);
  const u = await runUntilStable(t.run, { ...rule, repeats: 2 });
  assert.is(u.stable, false);
  assert.is(u.values.length, 11);
});

test.run();
