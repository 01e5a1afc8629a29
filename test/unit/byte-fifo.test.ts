// SPDX-License-Identifier: Apache-2.0
/**
 * ByteFifo (src/devices/byte-fifo.ts) against a plain array on seeded
 * operations: pushes of ranges and whole arrays, small (copied byte by
 * byte) and large (copied through views), across the ring's end; shift,
 * peek, skip and shiftTo at offsets; a full FIFO takes what fits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteFifo } from '../../src/devices/byte-fifo.ts';
import { Prng } from '../sim/prng.ts';

test('seeded operations: the same bytes out as a plain array, in order, never more than the capacity', () => {
  for (const seed of [1, 2, 3, 77, 4242]) {
    const r = new Prng(seed);
    const cap = 8 + r.below(64);
    const f = new ByteFifo(cap);
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      const op = r.below(5);
      const big = r.below(4) === 0;
      const len = big ? 17 + r.below(cap + 8) : r.below(17);
      if (op <= 1) {
        const src = new Uint8Array(len + 6);
        for (let i = 0; i < src.length; i++) src[i] = next++ & 0xff;
        const start = op === 0 ? 0 : r.below(4);
        const end = op === 0 ? src.length : Math.max(start, src.length - r.below(4));
        const took = op === 0 ? f.push(src) : f.push(src, start, end);
        const want = Math.min(end - start, cap - model.length);
        assert.is(took, want, `seed ${seed} step ${step}: push took`);
        for (let i = 0; i < took; i++) model.push(src[start + i]);
      } else if (op === 2) {
        const dst = new Uint8Array(len + 4).fill(0xee);
        const at = r.below(4);
        const n = f.shiftTo(dst, at, len);
        assert.is(n, Math.min(len, model.length), `seed ${seed} step ${step}: shiftTo moved`);
        assert.equal([...dst.subarray(at, at + n)], model.splice(0, n));
        assert.ok(dst.subarray(0, at).every((b) => b === 0xee) && dst.subarray(at + n).every((b) => b === 0xee), 'nothing outside the range written');
      } else if (op === 3) {
        const dst = new Uint8Array(len);
        const n = f.shift(dst);
        assert.equal([...dst.subarray(0, n)], model.splice(0, n));
      } else {
        const dst = new Uint8Array(len);
        const n = f.peek(dst);
        assert.equal([...dst.subarray(0, n)], model.slice(0, n));
        f.skip(n);
        model.splice(0, n);
      }
      assert.is(f.length, model.length);
      assert.is(f.free, cap - model.length);
    }
  }
});

test('shiftTo refuses a destination too small for what it would move, and moves nothing', () => {
  const f = new ByteFifo(16);
  f.push(new Uint8Array([1, 2, 3, 4]));
  assert.throws(() => f.shiftTo(new Uint8Array(3), 0, 4), RangeError);
  assert.throws(() => f.shiftTo(new Uint8Array(8), 6, 4), RangeError);
  assert.throws(() => f.shiftTo(new Uint8Array(8), -1, 2), RangeError);
  assert.is(f.length, 4);
  const dst = new Uint8Array(3);
  assert.is(f.shiftTo(dst, 1, 2), 2);
  assert.equal([...dst], [0, 1, 2]);
  assert.is(f.shiftTo(dst, 0, 0), 0);
  assert.is(f.push(new Uint8Array(4), 3, 1), 0, 'an empty range takes nothing');
  assert.is(f.push(new Uint8Array([9, 8, 7]), -2, 10), 3, 'a range past the array is clamped to it');
  const out = new Uint8Array(5);
  assert.is(f.shiftTo(out, 0, 5), 5);
  assert.equal([...out], [3, 4, 9, 8, 7]);
});

test.run();
