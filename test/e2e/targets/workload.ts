// SPDX-License-Identifier: Apache-2.0
/**
 * A deterministic JS workload run both on the firmware (compute.ts) and on
 * Node (firmware.test.ts), whose results must be equal: SHA-256 of a
 * generated buffer, JSON round trips, typed arrays and DataView, and a
 * promise chain driven by timers, property reads and writes across
 * changes of object layout (shapes.ts), operators on numbers of mixed
 * kinds (numbers.ts), and the instructions that depend on which opcode of
 * a group ran (opcodes.ts).
 */

import { numberCases } from './numbers.ts';
import { opcodeCases } from './opcodes.ts';
import { shapeCases } from './shapes.ts';

/** `n` bytes from xorshift32 seeded with `seed`. */
export function generate(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 (FIPS 180-4) of `data`, as lowercase hex. */
export function sha256(data: Uint8Array): string {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const padded = new Uint8Array(((data.length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(data.length / 0x20000000), false);
  view.setUint32(padded.length - 4, (data.length << 3) >>> 0, false);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i, false);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  let hex = '';
  for (const x of h) hex += x.toString(16).padStart(8, '0');
  return hex;
}

/** Runs the workload; `sleep` is the platform's timer. */
export async function workload(sleep: (ms: number) => Promise<void>): Promise<Record<string, unknown>> {
  const data = generate(32 * 1024, 0xbada55);
  const digest = sha256(data);

  const doc = { name: 'baojs', list: [] as Array<{ i: number; s: string; f: number; nested: { ok: boolean } }> };
  for (let i = 0; i < 500; i++) doc.list.push({ i, s: `item-${i}-\u00e9\u4e2d`, f: i / 7, nested: { ok: i % 3 === 0 } });
  const text = JSON.stringify(doc);
  const back = JSON.parse(text) as typeof doc;
  const jsonRoundTrip = JSON.stringify(back) === text;

  const f64 = new Float64Array(1000);
  for (let i = 0; i < f64.length; i++) f64[i] = Math.sin(i) * 1e6;
  let sum = 0;
  for (const v of f64) sum += v;
  const dv = new DataView(new ArrayBuffer(16));
  dv.setFloat64(0, Math.PI, true);
  dv.setBigUint64(8, 0x0123456789abcdefn, false);
  const dvBytes = Array.from(new Uint8Array(dv.buffer)).map((b) => b.toString(16).padStart(2, '0')).join('');

  const order: string[] = [];
  const chain = async (name: string, ms: number): Promise<void> => {
    await sleep(ms);
    order.push(name);
  };
  await Promise.all([chain('c', 30), chain('a', 5), chain('b', 15)]);
  const sorted = [3, 1, 2].sort((x, y) => x - y);
  const re = /(\d+)-(\w+)/.exec('id 42-baojs')?.slice(1);
  const map = new Map<string, number>([['x', 1], ['y', 2]]);
  // float arithmetic whose results are integral (the firmware's QuickJS returns those as ints:
  // runtime/patches): the same values, -0 kept, with the int operations after them
  const addrs = new Float64Array([0xd0000000 + 0x1000, 0xd0000000, 2 ** 31 + 0.5, -0.5, 0.5, 2 ** 40]);
  const base = addrs[1];
  const off = addrs[0] - base;
  let acc = addrs[2];
  acc += addrs[3];
  const floats = [
    off, off >>> 0 === off, off | 1, off < 0x2000, (addrs[0] - base) * 2 - 1,
    acc, acc - 2 ** 31, Object.is(addrs[3] * 0, -0), Object.is(addrs[4] - addrs[4], 0), Object.is(addrs[3] + 0.5, 0),
    addrs[5] - addrs[5] + 7, (addrs[5] * addrs[4]) | 0, String(addrs[2] - 0.5), 1 / (addrs[3] * 0),
  ];

  return {
    sha256: digest,
    bytes: data.length,
    jsonLength: text.length,
    jsonRoundTrip,
    f64Sum: sum.toFixed(6),
    dataView: dvBytes,
    promiseOrder: order.join(''),
    sorted,
    regexp: re,
    mapSize: map.size,
    utf8: encodeURIComponent('é中'),
    floats: floats.map(String),
    shapes: shapeCases(),
    numbers: numberCases(),
    opcodes: opcodeCases(),
  };
}
