// SPDX-License-Identifier: Apache-2.0
/**
 * End to end: Linux's own gpio-virtio driver in the frontend drives the
 * backend's virtio-gpio device gpio0 (src/devices/gpio.ts, the example of
 * docs/writing-a-device.md) through the Remote I/O path of the test
 * monitor. The frontend side is test/e2e/frontend/gpioctl.c (the GPIO
 * character device; the kernel has no /sys/class/gpio, see
 * qemu/frontend/kernel.config). The device's lines: led0..led3 outputs,
 * button0..button3 inputs reading 1, 0, 1, 0 (DEFAULT_GPIO_LINES).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { temporaryDisks } from '../../qemu/disks.ts';
import { bootSystem, CONSOLE_ESCAPE, type SystemSession } from '../../qemu/system.ts';
import { platform } from '../../platforms/qemu-aarch64-virt.ts';
import { DEFAULT_GPIO_LINES, GpioDirection } from '../../src/devices/gpio.ts';

let sys: SystemSession;
/** images of the passthrough disks in a temporary directory: a test never touches the user's */
const disks = temporaryDisks(platform);
/** the gpiochip character device of gpio0, e.g. /dev/gpiochip0 */
let chip = '';
const gpio0 = platform.devices.find((d) => d.kind === 'gpio')!;

test.before(async () => {
  // every system's frontend carries gpioctl (qemu/frontend/tool.ts)
  sys = await bootSystem({ timeoutMs: 540_000, disks: disks.disks, log: () => {}, logFile: process.env.BAOJS_SYSTEM_LOG });
});

test.after(async () => {
  if (sys) {
    sys.send('poweroff -f\n');
    await sys.close(10_000);
  }
  disks.remove();
});

test('Linux binds gpio-virtio to gpio0: a gpiochip with its lines, names and directions', async () => {
  const bound = await sys.check('for d in /sys/bus/virtio/devices/*; do echo "$(basename $d) $(cat $d/device) $(basename $(readlink $d/driver))"; done');
  const m = /^(virtio\d+) 0x0029 gpio_virtio$/m.exec(bound);
  assert.ok(m, bound);
  const infos = await sys.check('for c in /dev/gpiochip*; do echo "path $c"; gpioctl info $c; done');
  // the chip whose label is the virtio device's name (Linux: gc.label = dev_name(dev))
  const block = infos.split(/^path /m).find((b) => new RegExp(`^gpioctl: chip \\S+ label ${m[1]} lines`, 'm').test(b));
  assert.ok(block, infos);
  chip = block.split('\n')[0].trim();
  assert.match(block, new RegExp(`^gpioctl: chip gpiochip\\d+ label ${m[1]} lines ${DEFAULT_GPIO_LINES.length}$`, 'm'));
  const lines = [...block.matchAll(/^gpioctl: line (\d+) name (\S+) direction (in|out)$/gm)].map((l) => [Number(l[1]), l[2], l[3]]);
  assert.equal(lines, DEFAULT_GPIO_LINES.map((l, i) => [i, l.name, l.direction === GpioDirection.OUT ? 'out' : 'in']));
});

test('an output line Linux sets reads back through the device', async () => {
  assert.ok(chip, 'the chip was found');
  assert.match(await sys.check(`gpioctl set ${chip} 1 1`), /^gpioctl: set 1 value 1 read back 1$/m);
  assert.match(await sys.check(`gpioctl set ${chip} 1 0`), /^gpioctl: set 1 value 0 read back 0$/m);
  assert.match(await sys.check(`gpioctl set ${chip} 3 1`), /^gpioctl: set 3 value 1 read back 1$/m);
});

test('input lines read the levels the backend gives them', async () => {
  assert.ok(chip, 'the chip was found');
  const out = await sys.check(`for l in 4 5 6 7; do gpioctl get ${chip} $l; done`);
  const values = [...out.matchAll(/^gpioctl: get (\d+) value (\d)$/gm)].map((v) => [Number(v[1]), Number(v[2])]);
  assert.equal(values, [4, 5, 6, 7].map((i) => [i, DEFAULT_GPIO_LINES[i].input]));
});

test("the backend's counters show gpio0's requests and no error", async () => {
  const from = sys.output.length;
  sys.send(`${CONSOLE_ESCAPE}s`);
  await sys.waitFor(/baojs: stats heap: used \d+ KiB/, 30_000);
  const text = sys.output.slice(from);
  const m = new RegExp(`baojs: stats ${gpio0.name} \\(gpio, dm ${gpio0.dmId}\\): requests (\\d+) .*device: chains (\\d+), errors (\\d+)`).exec(text);
  assert.ok(m, text);
  // probe (GET_NAMES, one GET_DIRECTION per line) and the requests of the tests above
  assert.ok(Number(m[2]) >= 1 + 8 + 6 + 4, m[0]);
  assert.is(Number(m[3]), 0, m[0]);
});

test.run();
