// SPDX-License-Identifier: Apache-2.0
/** GuestMemory: every address and length checked, including wrap-around; views alias the region. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GuestMemory, GuestMemoryError, joinAddress } from '../../src/virtio/memory.ts';

const BASE = 0x60000000;
const SIZE = 0x10000;

function mem(): GuestMemory {
  return new GuestMemory(BASE, new ArrayBuffer(SIZE), 'shmem:test');
}

test('ranges inside the region are accepted, to the last byte', () => {
  const m = mem();
  assert.is(m.check(BASE, SIZE), 0);
  assert.is(m.check(BASE + SIZE - 1, 1), SIZE - 1);
  assert.is(m.check(BASE + SIZE, 0), SIZE, 'empty range at the end');
  assert.is(m.check(BASE + 10, 0), 10);
});

test('ranges outside, across the edges, wrapping, negative or fractional are refused', () => {
  const m = mem();
  const bad: [number, number][] = [
    [BASE - 1, 1], [BASE - 1, 2], [BASE + SIZE, 1], [BASE + SIZE - 1, 2], [BASE, SIZE + 1],
    [0, 16], [0x40000000, 512], [2 ** 53, 1], [2 ** 64 - 16, 32], [joinAddress(0xfffffff0, 0xffffffff), 0x20],
    [BASE + 8, 0xffffffff], [BASE + 8, -1], [BASE + 0.5, 1], [BASE, 1.5], [NaN, 1], [BASE, NaN], [Infinity, 0],
  ];
  for (const [a, l] of bad) {
    assert.is(m.check(a, l), -1, `0x${a.toString(16)}+${l}`);
    assert.throws(() => m.bytes(a, l), (e: unknown) => e instanceof GuestMemoryError);
  }
});

test('views alias the region (zero copy) and accessors are little-endian', () => {
  const buf = new ArrayBuffer(SIZE);
  const m = new GuestMemory(BASE, buf);
  m.write32(BASE + 4, 0x11223344);
  assert.equal(Array.from(new Uint8Array(buf, 4, 4)), [0x44, 0x33, 0x22, 0x11]);
  const v = m.bytes(BASE + 4, 4);
  v[0] = 0x55;
  assert.is(m.read32(BASE + 4), 0x11223355);
  assert.is(v.buffer, buf);
  m.write16(BASE + 100, 0xbeef);
  assert.is(m.read16(BASE + 100), 0xbeef);
  assert.is(m.view(BASE + 100, 2).getUint16(0, true), 0xbeef);
  m.write8(BASE, 7);
  assert.is(m.read8(BASE), 7);
  assert.throws(() => m.read32(BASE + SIZE - 2), (e: unknown) => e instanceof GuestMemoryError);
});

test('a region smaller than its buffer ends where the description says', () => {
  const m = new GuestMemory(BASE, new ArrayBuffer(SIZE * 2), 'x', SIZE);
  assert.is(m.check(BASE + SIZE, 1), -1);
  assert.throws(() => new GuestMemory(BASE, new ArrayBuffer(16), 'x', 32), (e: unknown) => e instanceof RangeError);
  assert.throws(() => new GuestMemory(-1, new ArrayBuffer(16)), (e: unknown) => e instanceof RangeError);
});

test('joinAddress joins halves', () => {
  assert.is(joinAddress(0x1000, 0), 0x1000);
  assert.is(joinAddress(0, 1), 2 ** 32);
  assert.is(joinAddress(0xffffffff, 0x1fffff), 2 ** 53 - 1);
});

test.run();
