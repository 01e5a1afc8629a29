// SPDX-License-Identifier: Apache-2.0
/**
 * Arithmetic, comparison and bitwise operators on every pair of a set of
 * numbers, each operand once as an int and once as a float64 (read from a
 * Float64Array), run on the firmware and on Node by the shared workload:
 * the firmware's QuickJS has fast paths for operands of mixed kinds
 * (runtime/patches/quickjs-bare-metal.patch). The edge values are those
 * where ToInt32, -0, NaN, the infinities and 2^31, 2^32, 2^53, 2^63
 * behave differently; each value is also stored into and read back from
 * an element of every kind of typed array (the firmware's QuickJS has a
 * fast path for those too). Returns the number of rows and a hash of them
 * all, with the first rows in full.
 */

const VALUES = [
  0, -0, 1, -1, 7, 0.5, -0.5, 1.5, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 5, -(2 ** 32) - 3, 2 ** 53, 2 ** 53 + 2,
  -(2 ** 53), 2 ** 63, 2 ** 64 + 4096, 1e21, -1e21, NaN, Infinity, -Infinity, 0xd0001000, 3000000000.75, -3000000000.25,
  31, 32, 33, -33, 1 / 3, 4294967295, 4294967296.5,
];

const show = (x: number | boolean): string => (Object.is(x, -0) ? '-0' : String(x));

/** One row: every operator on (x, y). */
function row(x: number, y: number): string {
  let s = x;
  s += y;
  return [x + y, x - y, x * y, x < y, x <= y, x > y, x >= y, x === y, x !== y, x & y, x | y, x ^ y, x << y, x >> y, x >>> y, s]
    .map(show).join(',');
}

/** Each value stored into an element of each kind of typed array and of an Array, and read back. */
function elementRows(values: ArrayLike<number>): string[] {
  const arrays = [new Uint8Array(4), new Int8Array(4), new Uint16Array(4), new Int16Array(4), new Int32Array(4), new Uint32Array(4),
    new Float32Array(4), new Float64Array(4), new Uint8ClampedArray(4)];
  const plain: number[] = [0, 0, 0, 0];
  const rows: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const got: number[] = [];
    for (const a of arrays) {
      a[i & 3] = v;
      a[4] = v; // out of bounds: ignored
      got.push(a[i & 3], a[4] ?? -1);
    }
    plain[i & 3] = v;
    got.push(plain[i & 3]);
    rows.push(got.map(show).join(','));
  }
  return rows;
}

/** The rows' count, their hash (31-multiplier over the joined text) and the first four. */
export function numberCases(): { rows: number; hash: number; first: string[] } {
  const floats = new Float64Array(VALUES);
  const rows: string[] = [...elementRows(VALUES), ...elementRows(floats)];
  for (let i = 0; i < VALUES.length; i++) {
    for (let j = 0; j < VALUES.length; j++) {
      const a = floats[i];
      const b = floats[j];
      const ai = VALUES[i];
      const bi = VALUES[j];
      rows.push(row(a, b), row(ai, b), row(a, bi), row(ai, bi));
    }
  }
  const text = rows.join('\n');
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return { rows: rows.length, hash: h, first: rows.slice(0, 4) };
}
