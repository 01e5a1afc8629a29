// SPDX-License-Identifier: Apache-2.0
/**
 * The firmware's watchdog on the target: the baojs firmware built with a
 * test entry whose virtio-rng device runs away on request
 * (test/e2e/targets/watchdog.ts, budget 100 ms), under the remio test
 * monitor, driven by the monitor's bare-metal frontend in mode 4
 * (qemu/monitor/test/guest/frontend.c, fe_watchdog): a runaway register
 * read (answered 0), a runaway register write (completed), a runaway queue
 * handler (DEVICE_NEEDS_RESET and a configuration change) and a
 * runaway timer of no device; each time another device keeps serving and
 * the device serves again after the driver's reset. The run is under
 * `-icount shift=0`: guest time counts instructions, so the 100 ms budget
 * stops only the runaways, whatever the host's load.
 */
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildFirmware } from '../../scripts/build.ts';
import { runQemu } from '../../qemu/qemu.ts';
import { ensureTestGuests, PLATFORM } from '../../qemu/monitor/build.ts';
import { monitorQemuArgs } from '../../qemu/monitor/launch.ts';
import { prepareDisks, temporaryDisks } from '../../qemu/disks.ts';
import { loadPlatform } from '../../scripts/gen-platform.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('runaway device code is stopped by the watchdog; the frontend continues, the device gets DEVICE_NEEDS_RESET, the others serve', async () => {
  const { elf } = await buildFirmware({
    platform: PLATFORM, entry: 'test/e2e/targets/watchdog.ts', outDir: join(ROOT, 'build', 'test', 'watchdog'), quiet: true,
  });
  const guests = await ensureTestGuests();
  // the firmware drives the platform's passthrough disk: give it one (a temporary image)
  const tmp = temporaryDisks(await loadPlatform(PLATFORM));
  const args = await monitorQemuArgs({
    frontend: { file: guests.frontend, x0: 4 }, backend: { file: elf }, extra: ['-icount', 'shift=0'],
    disks: prepareDisks(await loadPlatform(PLATFORM), tmp.disks),
  });
  let r;
  try {
    r = await runQemu({ args, timeoutMs: 180_000 });
  } finally {
    tmp.remove();
  }
  const out = r.output;
  assert.not.ok(r.timedOut, `QEMU hit its time limit:\n${out.slice(-4000)}`);
  assert.match(out, /watchdog test backend ready, budget 100 ms/);
  const checks = [...out.matchAll(/^(?:\w+: )?(ok|not ok) - (watchdog: .*|virtio-rng: .*)$/gm)];
  const failed = checks.filter((c) => c[1] !== 'ok').map((c) => c[2]);
  assert.equal(failed, [], out.slice(-4000));
  // 1 + 3 runaways × (1 + 4 after) + 2 for the queue + 2 whole requests + 2 for the timer
  assert.is(checks.filter((c) => c[2].startsWith('watchdog:')).length, 22, out.slice(-4000));
  const summary = /frontend: (\d+) passed, (\d+) failed/.exec(out);
  assert.ok(summary, `no summary:\n${out.slice(-4000)}`);
  assert.is(summary[2], '0');
  // the four stops, each reported by the firmware
  const stops = out.match(/baojs: watchdog: a call into JS \(callback\) ran longer than 100 ms and was stopped/g) ?? [];
  assert.is(stops.length, 4, out.slice(-4000));
  // the read and the write were left open by their stopped calls and completed by the host
  const completed = out.match(/baojs: watchdog: 1 remio request left open by the stopped call completed/g) ?? [];
  assert.is(completed.length, 2, out.slice(-4000));
  // one line naming the device and the watchdog per failed device (read, write, queue handler; not the timer)
  const failedLines = out.match(/hwrng: DEVICE_NEEDS_RESET: stopped by the watchdog/g) ?? [];
  assert.is(failedLines.length, 3, out.slice(-4000));
});

test.run();
