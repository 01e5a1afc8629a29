// SPDX-License-Identifier: Apache-2.0
/**
 * The Internet checksum's sum in C (runtime/inetsum.h, Host.inetSum in the
 * firmware) against the TypeScript reference (`sumOf` in
 * src/net/offload.ts) on seeded buffers: every length from 0 to 300 and
 * random lengths up to 64 KiB, at every alignment, random bytes and the
 * carries' worst case (all 0xff). Built with ASan and UBSan.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foldChecksum, foldSum, sumOf } from '../../src/net/offload.ts';
import { fuzzSeeds } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';
import { buildHarness } from './build-harness.ts';

const exe = buildHarness('inetsum_harness', []);

test('inet_sum equals the TypeScript sum on seeded buffers of every length and alignment', () => {
  const cases: { align: number; bytes: Uint8Array }[] = [];
  for (const seed of fuzzSeeds(0x1e75, 400)) {
    const r = new Prng(seed);
    const len = cases.length < 301 ? cases.length : r.below(4) === 0 ? r.below(65536) : r.below(2000);
    const bytes = new Uint8Array(len);
    if (r.below(10) === 0) bytes.fill(0xff);
    else r.fill(bytes);
    cases.push({ align: r.below(8), bytes });
  }
  const input: Buffer[] = [Buffer.from(new Uint32Array([cases.length]).buffer)];
  for (const c of cases) input.push(Buffer.from(new Uint32Array([c.align, c.bytes.length]).buffer), Buffer.from(c.bytes));
  const out = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 24, timeout: 120_000 });
  assert.is(out.status, 0, out.stderr?.toString());
  assert.is(out.stdout.length, 8 * cases.length);
  cases.forEach((c, i) => {
    const want = foldSum(sumOf(c.bytes, 0, c.bytes.length));
    const got = out.stdout.readUInt32LE(8 * i);
    // 0 and 0xffff are the same ones' complement number (both fold to a checksum of 0xffff or 0)
    assert.is(foldChecksum(got), foldChecksum(want), `case ${i}: ${c.bytes.length} bytes at alignment ${c.align}`);
    assert.is(got, want === 0xffff && got === 0 ? 0 : want, `case ${i}: the folded sum`);
    assert.is(out.stdout.readUInt32LE(8 * i + 4), got, `case ${i}: misaligned in a larger buffer`);
  });
});

test.run();
