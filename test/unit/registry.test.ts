// SPDX-License-Identifier: Apache-2.0
/**
 * The device registry (src/devices/registry.ts): each kind's device reports
 * the registry's virtio device id through DeviceID, a kind's own fields are
 * refused on the other kinds, and an unknown kind is refused naming the
 * known ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem } from '../driver/system.ts';
import { VirtioMmioDriver } from '../driver/virtio.ts';
import { testPlatform } from '../sim/platforms.ts';
import { validatePlatform, type Platform } from '../../src/config/platform.ts';
import { DEVICE_KINDS } from '../../src/devices/registry.ts';
import { MmioReg } from '../../src/virtio/spec.ts';

test('every kind of the test platform reads back its registry device id through DeviceID', () => {
  const s = makeSystem({ platform: { vsock: true, gpio: true, net: true } });
  const kinds = new Set(s.platform.devices.map((d) => d.kind));
  assert.equal([...kinds].sort(), Object.keys(DEVICE_KINDS).sort(), 'the test platform has every kind');
  for (const model of s.platform.devices) {
    const drv = new VirtioMmioDriver(s.sim, model);
    assert.is(drv.readl(MmioReg.DeviceID), DEVICE_KINDS[model.kind].deviceId, model.name);
    assert.is(s.backend.devices.get(model.name)!.device.deviceId, DEVICE_KINDS[model.kind].deviceId);
  }
});

function refusedWith(mutate: (p: Platform) => void, re: RegExp): void {
  const p = JSON.parse(JSON.stringify(testPlatform({ gpio: true }))) as Platform;
  mutate(p);
  assert.throws(() => validatePlatform(p), re);
}

test('a kind\'s own fields are refused on other kinds', () => {
  const gpio = (p: Platform) => p.devices.find((d) => d.kind === 'gpio')!;
  refusedWith((p) => { gpio(p).backing = 'disk0'; }, /devices\[4\]\.backing: a gpio device has no backing store/);
  refusedWith((p) => { gpio(p).readOnly = true; }, /devices\[4\]\.readOnly: a gpio device has no read-only setting/);
  refusedWith((p) => { gpio(p).guestCid = 3; }, /devices\[4\]\.guestCid: a gpio device has no guest CID/);
});

test('an unknown kind is refused, naming the known kinds', () => {
  refusedWith((p) => { (p.devices[1] as { kind: string }).kind = 'toaster'; }, /devices\[1\]\.kind: unknown device kind: toaster \(known: blk, console, rng, vsock, net, gpio\)/);
  refusedWith((p) => { (p.devices[1] as { kind: string }).kind = 'toString'; }, /devices\[1\]\.kind: unknown device kind: toString/);
});

test.run();
