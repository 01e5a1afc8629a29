// SPDX-License-Identifier: Apache-2.0
/** virtio-rng (virtio 1.2 section 5.4) through the simulated Bao and the driver model. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RngDriver } from '../driver/rng.ts';
import { makeSystem } from '../driver/system.ts';
import { SimBao } from '../sim/bao.ts';
import { testPlatform } from '../sim/platforms.ts';
import { createBackend } from '../../src/backend.ts';
import type { RngDevice } from '../../src/devices/rng.ts';

test('reads return entropy from the host source', () => {
  const s = makeSystem();
  const d = new RngDriver(s.sim, s.model('hwrng'));
  const a = d.read(64);
  const b = d.read(64);
  assert.is(a.length, 64);
  assert.ok(a.some((x) => x !== 0));
  assert.not.equal(Array.from(a), Array.from(b));
  assert.is(d.read(4096).length, 4096);
  const dev = s.backend.devices.get('hwrng')!.device as RngDevice;
  assert.is(dev.counters.bytes, 64 + 64 + 4096);
  assert.not.ok(s.logs.some((l) => l.includes('weak')), 'no warning with a hardware source');
});

test('a weak source is said once in the log', () => {
  const s = makeSystem({ sim: { entropyQuality: 'weak' } });
  const d = new RngDriver(s.sim, s.model('hwrng'));
  d.read(16);
  d.read(16);
  assert.is(s.logs.filter((l) => l.includes('weak')).length, 1);
});

test('a source that gives less is passed on as less, never padded', () => {
  const p = testPlatform();
  class Stingy extends SimBao {
    override entropy(buf: Uint8Array): number {
      const n = Math.min(8, buf.length);
      buf.fill(0x5a, 0, n);
      return n;
    }
  }
  const sim = new Stingy(p);
  createBackend(sim, p, { log: () => {} });
  const d = new RngDriver(sim, p.devices.find((x) => x.name === 'hwrng')!);
  const got = d.read(32);
  assert.is(got.length, 8);
  assert.ok(got.every((x) => x === 0x5a));
});

test.run();
