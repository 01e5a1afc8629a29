// SPDX-License-Identifier: Apache-2.0
/** createBackend on the shipped platform description: every device model probes and serves through the simulated Bao. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { type DiskRange, type Platform } from '../../src/config/platform.ts';
import { ConfigError } from '../../src/config/platform.ts';
import { createBackend } from '../../src/backend.ts';
import { SimBao } from '../sim/bao.ts';
import type { SimBlkDevice } from '../sim/blk-device.ts';
import { BlkDriver } from '../driver/blk.ts';
import { ConsoleDriver } from '../driver/console.ts';
import { RngDriver } from '../driver/rng.ts';
import { passthroughDevices } from '../sim/passthrough-devices.ts';

/** A simulated system of the shipped platform, with its passthrough disk pdisk0 behind the simulated host's MMIO. */
function shipped(): { p: Platform; sim: SimBao; pdisk0: SimBlkDevice } {
  const p = JSON.parse(JSON.stringify(platform)) as Platform;
  const sim = new SimBao(p);
  const pdisk0 = passthroughDevices(sim, p).get('pdisk0') as SimBlkDevice;
  return { p, sim, pdisk0 };
}

test('qemu-aarch64-virt: blk, console, rng and the read-only blk all serve; vdc and vdd are their ranges of pdisk0', () => {
  const { p, sim, pdisk0 } = shipped();
  const out: string[] = [];
  const backend = createBackend(sim, p, { log: (l) => out.push(l) });
  backend.pollAll();
  const dev = (n: string) => p.devices.find((d) => d.name === n)!;
  const vda = new BlkDriver(sim, dev('vda'));
  assert.is(vda.capacity, (64 << 20) / 512);
  const data = new Uint8Array(4096).map((_, i) => i & 0xff);
  assert.is(vda.write(1000, data).status, 0);
  assert.equal(Array.from(vda.read(1000, 8).data), Array.from(data));
  const vdb = new BlkDriver(sim, dev('vdb'));
  assert.ok(vdb.drv.has(5));
  assert.is(new RngDriver(sim, dev('hwrng')).read(32).length, 32);
  new ConsoleDriver(sim, dev('hvc0')).write(Uint8Array.of(0x6f, 0x6b, 0x0a));
  assert.ok(sim.output.includes('ok\n'), 'console output decoded to host.write');
  // the frontend disks on the passthrough disk: bytes land at each range's offset
  const vdc = new BlkDriver(sim, dev('vdc'));
  const vdd = new BlkDriver(sim, dev('vdd'));
  assert.is(vdc.capacity, (64 << 20) / 512);
  assert.is(vdd.capacity, (32 << 20) / 512);
  assert.is(vdc.write(8, data).status, 0);
  const other = data.map((x) => x ^ 0xff);
  assert.is(vdd.write(8, other).status, 0);
  assert.equal(Array.from(vdc.read(8, 8).data), Array.from(data));
  assert.equal(Array.from(vdd.read(8, 8).data), Array.from(other));
  const at = (name: string): number => (dev(name).backing as DiskRange).offset + 8 * 512;
  assert.equal(Array.from(pdisk0.disk.subarray(at('vdc'), at('vdc') + 4096)), Array.from(data));
  assert.equal(Array.from(pdisk0.disk.subarray(at('vdd'), at('vdd') + 4096)), Array.from(other));
  assert.equal(sim.violations, []);
  assert.equal(out.filter((l) => /threw|exception/.test(l)), []);
});

test('a bad description is refused before anything is built', () => {
  const p = JSON.parse(JSON.stringify(platform)) as Platform;
  p.devices[1].dmId = 0;
  assert.throws(() => createBackend(new SimBao(JSON.parse(JSON.stringify(platform)) as Platform), p), (e: unknown) => e instanceof ConfigError);
});

test('interrupt wiring: each passthrough device\'s and each DM\'s backend INTID is enabled and routed', () => {
  const { p, sim } = shipped();
  const enabled: number[] = [];
  const orig = sim.irqEnable.bind(sim);
  sim.irqEnable = (i: number) => { enabled.push(i); orig(i); };
  createBackend(sim, p, { log: () => {} });
  // the passthrough devices' first (each driver enables its own at DRIVER_OK), then each DM's
  assert.equal(enabled, [...(p.backend.passthrough ?? []).map((d) => d.intid), ...p.devices.map((d) => d.backendIntid)]);
});

test.run();
