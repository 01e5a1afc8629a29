// SPDX-License-Identifier: Apache-2.0
// Several frontends in what the description generates, without booting:
// platform.h gives the monitor VM_COUNT, a row per frontend and each
// device's frontend; the monitor's QEMU command line loads each frontend
// and fills its boot parameters (entry 0 = not started); each frontend's
// device tree holds its own devices and RAM only, and a fresh rng-seed
// when it is made for one boot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { platformHeader, monitorLayout } from '../../scripts/gen-platform.ts';
import { monitorQemuArgs } from '../../qemu/monitor/launch.ts';
import { frontendDts, frontendIdentityArgs, RNG_SEED_BYTES } from '../../qemu/frontend/dts.ts';
import { devicesOfFrontend } from '../../src/config/platform.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Raw (not ELF) stand-ins for a kernel and the firmware. */
const work = mkdtempSync(join(tmpdir(), 'baojs-frontends-test-'));
const K = join(work, 'k');
const FW = join(work, 'fw');
writeFileSync(K, Buffer.alloc(64));
writeFileSync(FW, Buffer.alloc(64));
test.after(() => rmSync(work, { recursive: true, force: true }));

const hex = (n: number): string => `0x${n.toString(16)}`;

test('platform.h: VM_COUNT, one PLAT_FRONTENDS row per frontend, each device row ends in its frontend index, PLAT_FRONTEND0_DEVICES', () => {
  const h = platformHeader(platform);
  assert.match(h, /^#define VM_COUNT 3$/m);
  assert.match(h, /^#define PLAT_FRONTEND_COUNT 2$/m);
  assert.match(h, `  { "linux", 0, ${hex(platform.frontend.ram.base)}UL, ${hex(platform.frontend.ram.size)}UL }, \\`);
  const l2 = platform.otherFrontends![0];
  assert.match(h, `  { "linux2", 2, ${hex(l2.ram.base)}UL, ${hex(l2.ram.size)}UL }, \\`);
  const devices = h.slice(h.indexOf('#define PLAT_DEVICES \\'), h.indexOf('#define PLAT_FRONTEND0_DEVICE_COUNT'));
  for (const d of platform.devices) {
    assert.match(devices, new RegExp(`\\{ "${d.name}", .*, ${d.frontend === 'linux2' ? 1 : 0} \\}, \\\\`), d.name);
  }
  assert.match(h, `#define PLAT_FRONTEND0_DEVICE_COUNT ${devicesOfFrontend(platform, 0).length}`);
  const first = h.slice(h.indexOf('#define PLAT_FRONTEND0_DEVICES \\'));
  assert.not.match(first.slice(0, first.indexOf('\n\n')), /"vdd"|"con2"|"net1"/);
});

test('the monitor run: each frontend image loaded, the boot parameters of VM 2 (linux2) after the backend\'s; a frontend not given has entry 0', async () => {
  const params = monitorLayout(platform).bootParams;
  const word = (args: string[], i: number): string | undefined =>
    args.find((a) => a.startsWith(`loader,addr=${hex(params + 8 * i)},`))?.replace(/.*data=(0x[0-9a-f]+).*/, '$1');
  const two = await monitorQemuArgs({
    frontend: { file: K, addr: 0x40200000, x0: 0x48000000 },
    otherFrontends: [{ file: K, addr: 0x70200000, x0: 0x78000000 }],
    backend: { file: FW, addr: 0x50000000 },
  });
  assert.ok(two.includes(`loader,file=${K},addr=0x70200000,force-raw=on`));
  assert.equal([0, 1, 2, 3, 4, 5].map((i) => word(two, i)), ['0x40200000', '0x48000000', '0x50000000', '0x0', '0x70200000', '0x78000000']);
  const one = await monitorQemuArgs({ frontend: { file: K, addr: 0x40200000 }, backend: { file: FW, addr: 0x50000000 } });
  assert.equal([4, 5].map((i) => word(one, i)), ['0x0', '0x0'], 'frontend 2 not started');
  assert.not.ok(one.some((a) => a.includes('0x70200000')));
});

test('each frontend\'s device tree: its RAM and its own devices only; its identity on the command line', () => {
  const d2 = frontendDts(platform, { frontend: 1, bootargs: `console=hvc0 ${frontendIdentityArgs(platform, 1)}` });
  assert.match(d2, `memory@${platform.otherFrontends![0].ram.base.toString(16)} {`);
  assert.not.match(d2, `memory@${platform.frontend.ram.base.toString(16)} {`);
  for (const d of platform.devices) {
    assert.is(d2.includes(`virtio_mmio@${d.window.base.toString(16)} {`), d.frontend === 'linux2', d.name);
  }
  assert.match(d2, 'bootargs = "console=hvc0 baojs.hostname=linux2 baojs.ip=10.0.0.2/24";');
  assert.is(frontendIdentityArgs(platform, 0), 'baojs.hostname=linux baojs.ip=10.0.0.1/24');
  assert.throws(() => frontendDts(platform, { frontend: 2 }), /2 frontend VMs/);
});

test('a device tree for one boot carries a new rng-seed of RNG_SEED_BYTES in /chosen; one for an image carries none', () => {
  const seed = (dts: string): string | undefined => /chosen \{[^}]*rng-seed = \[([0-9a-f ]+)\];/.exec(dts)?.[1];
  const a = seed(frontendDts(platform, { frontend: 1, freshRngSeed: true }));
  const b = seed(frontendDts(platform, { frontend: 1, freshRngSeed: true }));
  assert.ok(a !== undefined && b !== undefined, 'both have a seed');
  assert.is(a!.split(' ').length, RNG_SEED_BYTES);
  assert.is.not(a, b, 'each boot its own seed');
  assert.is(seed(frontendDts(platform, { frontend: 1 })), undefined);
});

test.run();
