// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: the interrupt of the disk passed through to the backend
 * (QEMU virt transport 31, INTID 79) reaches JS through the test monitor
 * (forwarded with the HW bit) and the firmware (masked at the GIC before
 * its EOI), once per event, while the device still holds its
 * level-triggered line; InterruptACK and host.irqEnable end it. The
 * backend is test/e2e/targets/passthrough-irq.ts; the event is a
 * configuration change, made by resizing the image from QEMU's monitor.
 * Without the mask the line would interrupt the backend forever and the
 * run would never print its `after ack` line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, type SystemSession } from '../../qemu/system.ts';
import { buildFirmware } from '../../scripts/build.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let sys: SystemSession;
const disks = temporaryDisks(platform);
const dir = mkdtempSync(join(tmpdir(), 'baojs-pt-'));
const monitorSocket = join(dir, 'qemu-monitor.sock');

test.before(async () => {
  const fw = await buildFirmware({ entry: 'test/e2e/targets/passthrough-irq.ts', outDir: join(ROOT, 'build', 'test', 'passthrough-irq'), quiet: true });
  sys = await bootSystem({
    // a test firmware (its own entry point) runs under the test monitor only: a Bao image embeds the firmware it was built with
    baoImage: '',
    // this target serves the consoles without src/main.ts's console bridge: frontend 1 only
    timeoutMs: 540_000, readyTimeoutMs: 300_000, disks: disks.disks, firmwareElf: fw.elf, log: () => {}, firstFrontendOnly: true,
    logFile: process.env.BAOJS_SYSTEM_LOG, qemuArgs: ['-monitor', `unix:${monitorSocket},server,nowait`],
  });
});

test.after(async () => {
  if (sys) {
    sys.send('poweroff -f\n');
    await sys.close(10_000);
  }
  disks.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('a config change of the passthrough disk interrupts JS once while unacknowledged, and InterruptACK + irqEnable end it', async () => {
  assert.match(sys.output, 'PTIRQ armed: FEATURES_OK kept, Status 15');
  assert.not.match(sys.output, 'PTIRQ taken', 'no interrupt before the event');
  const c = createConnection(monitorSocket);
  await new Promise((resolve, reject) => { c.once('connect', resolve); c.once('error', reject); });
  c.write('block_resize pdisk0 2M\n');
  const taken = await sys.waitFor(/PTIRQ taken 1 intid (\d+) InterruptStatus (\d+)\r?\n/, 60_000);
  c.end();
  assert.is(Number(taken[1]), platform.backend.passthrough![0].intid);
  assert.ok(Number(taken[2]) & 2, `InterruptStatus has the configuration-change bit: ${taken[2]}`);
  assert.match((await sys.waitFor(/PTIRQ held \d+ ms: taken (\d+)\r?\n/, 60_000))[1], /^1$/, 'masked while the line stays high');
  const after = await sys.waitFor(/PTIRQ after ack: taken (\d+), InterruptStatus (\d+)\r?\n/, 60_000);
  assert.is(after[1], '1', 'no interrupt after InterruptACK and irqEnable');
  assert.is(after[2], '0');
});

test.run();
