// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-gpio (virtio 1.2 section 5.19) through the simulated Bao and the
 * driver model: every request type as Linux's gpio-virtio sends it, both
 * directions of a line, and every malformed request answered with
 * VIRTIO_GPIO_STATUS_ERR (or used length 0 when there is no room for it)
 * while the device keeps serving.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GpioDriver } from '../driver/gpio.ts';
import { RngDriver } from '../driver/rng.ts';
import { makeSystem, type System } from '../driver/system.ts';
import { DEFAULT_GPIO_LINES, GpioDevice, GpioDirection, GpioMsg, GpioStatus } from '../../src/devices/gpio.ts';
import { DescFlag, MmioReg } from '../../src/virtio/spec.ts';

const OK = GpioStatus.OK;
const ERR = GpioStatus.ERR;

function setup(): { s: System; d: GpioDriver; dev: GpioDevice } {
  const s = makeSystem({ platform: { gpio: true } });
  const d = new GpioDriver(s.sim, s.model('gpio0'));
  return { s, d, dev: s.backend.devices.get('gpio0')!.device as GpioDevice };
}

test('probe: device ID 41, ngpio and gpio_names_size in the config space, no VIRTIO_GPIO_F_IRQ, one queue', () => {
  const { d } = setup();
  assert.is(d.drv.readl(MmioReg.DeviceID), 41);
  assert.is(d.ngpio, 8);
  const namesSize = DEFAULT_GPIO_LINES.reduce((n, l) => n + l.name.length + 1, 0);
  assert.is(d.namesSize, namesSize);
  assert.is(d.drv.deviceFeatures()[0] & 1, 0, 'VIRTIO_GPIO_F_IRQ not offered');
  d.drv.writel(MmioReg.QueueSel, 1);
  assert.is(d.drv.readl(MmioReg.QueueNumMax), 0, 'no eventq');
});

test('GET_NAMES: one NUL-terminated name per line, used length 1 + gpio_names_size', () => {
  const { d } = setup();
  const r = d.names();
  assert.is(r.status, OK);
  assert.is(r.len, 1 + d.namesSize);
  assert.equal(r.names, ['led0', 'led1', 'led2', 'led3', 'button0', 'button1', 'button2', 'button3']);
});

test('GET_DIRECTION / SET_DIRECTION: the start directions, then what the driver set', () => {
  const { d, dev } = setup();
  const dirs = Array.from({ length: 8 }, (_, i) => d.request(GpioMsg.GET_DIRECTION, i));
  assert.ok(dirs.every((r) => r.status === OK && r.len === 2));
  assert.equal(dirs.map((r) => r.value), [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.equal(d.request(GpioMsg.SET_DIRECTION, 4, GpioDirection.OUT), { status: OK, value: 0, len: 2 });
  assert.is(d.request(GpioMsg.GET_DIRECTION, 4).value, GpioDirection.OUT);
  assert.equal(d.request(GpioMsg.SET_DIRECTION, 0, GpioDirection.NONE), { status: OK, value: 0, len: 2 });
  assert.is(d.request(GpioMsg.GET_DIRECTION, 0).value, GpioDirection.NONE);
  assert.is(dev.line(4).direction, GpioDirection.OUT);
});

test('an output line reads back what the driver set (Linux: SET_VALUE, then SET_DIRECTION OUT)', () => {
  const { d, dev } = setup();
  assert.is(d.request(GpioMsg.GET_VALUE, 2).value, 0);
  assert.is(d.request(GpioMsg.SET_VALUE, 2, 1).status, OK);
  assert.equal(d.request(GpioMsg.GET_VALUE, 2), { status: OK, value: 1, len: 2 });
  assert.is(dev.line(2).output, 1, 'the backend sees the level');
  assert.is(d.request(GpioMsg.SET_VALUE, 2, 0).status, OK);
  assert.is(d.request(GpioMsg.GET_VALUE, 2).value, 0);
  // an input line turned output drives the latched value, not its input level
  assert.is(d.request(GpioMsg.SET_VALUE, 4, 0).status, OK);
  assert.is(d.request(GpioMsg.GET_VALUE, 4).value, 1, 'still an input: reads the level');
  assert.is(d.request(GpioMsg.SET_DIRECTION, 4, GpioDirection.OUT).status, OK);
  assert.is(d.request(GpioMsg.GET_VALUE, 4).value, 0);
});

test('an input line reads the level the backend sets with setInput', () => {
  const { d, dev } = setup();
  assert.equal([4, 5, 6, 7].map((i) => d.request(GpioMsg.GET_VALUE, i).value), [1, 0, 1, 0]);
  dev.setInput(5, 1);
  dev.setInput(4, 0);
  assert.equal([4, 5].map((i) => d.request(GpioMsg.GET_VALUE, i).value), [0, 1]);
  assert.throws(() => dev.setInput(8, 1), RangeError);
  assert.throws(() => dev.setInput(0, 2), RangeError);
});

test('bad gpio numbers, unknown types and bad values: VIRTIO_GPIO_STATUS_ERR, state unchanged', () => {
  const { s, d, dev } = setup();
  for (const gpio of [8, 0xffff]) {
    for (const t of [GpioMsg.GET_DIRECTION, GpioMsg.SET_DIRECTION, GpioMsg.GET_VALUE, GpioMsg.SET_VALUE]) {
      assert.equal(d.request(t, gpio, 1), { status: ERR, value: 0, len: 2 }, `type ${t} gpio ${gpio}`);
    }
  }
  for (const t of [0, 6, 0xffff]) assert.equal(d.request(t, 0), { status: ERR, value: 0, len: 2 }, `type ${t}`);
  assert.is(d.request(GpioMsg.SET_VALUE, 1, 2).status, ERR);
  assert.is(d.request(GpioMsg.SET_VALUE, 1, 0x80000001).status, ERR);
  assert.is(d.request(GpioMsg.SET_DIRECTION, 1, 3).status, ERR);
  assert.equal(dev.line(1), { direction: GpioDirection.OUT, output: 0, input: 0 });
  assert.is(dev.counters.errors, 8 + 3 + 3);
  assert.ok(s.logs.some((l) => /gpio0: .*gpio 8 >= ngpio 8/.test(l)), s.logs.join('\n'));
  assert.ok(s.logs.some((l) => /unknown type 6/.test(l)));
  assert.is(d.request(GpioMsg.GET_VALUE, 4).value, 1, 'still serving');
  assert.not.ok(d.drv.needsReset());
});

test('bad lengths: ERR where a status byte fits, used length 0 where none does', () => {
  const { d, dev } = setup();
  const get = GpioDriver.encode(GpioMsg.GET_VALUE, 4, 0);
  assert.equal(d.raw([get.subarray(0, 7)], [2]).bytes[0], ERR, 'short request');
  assert.equal(d.raw([new Uint8Array([...get, 0])], [2]).bytes[0], ERR, 'long request');
  assert.equal(d.raw([], [2]).bytes[0], ERR, 'no request');
  const one = d.raw([get], [1]);
  assert.equal([one.len, one.bytes[0]], [1, ERR], 'a one-byte response holds the status');
  assert.is(d.raw([get], [0]).len, 0, 'no writable byte: nothing written');
  const names = d.raw([GpioDriver.encode(GpioMsg.GET_NAMES, 0, 0)], [d.namesSize]);
  assert.equal([names.len, names.bytes[0], names.bytes[2]], [2, ERR, 0xee], 'a names buffer one byte short');
  // the driver may split a request over buffers (2.7.4): served the same
  const split = d.raw([get.subarray(0, 3), get.subarray(3)], [1, 1]);
  assert.equal([split.len, split.bytes[0], split.bytes[1]], [2, OK, 1]);
  assert.is(dev.counters.errors, 6);
  assert.not.ok(d.drv.needsReset());
});

test('buffers outside the shared region: used length 0, logged; the next request is served', () => {
  const { s, d, dev } = setup();
  const far = { addr: 0x1000, len: 8 };
  assert.is(d.raw([], [], { out: [far], in: [] }).len, 0);
  assert.is(d.raw([GpioDriver.encode(GpioMsg.GET_VALUE, 4, 0)], [], { in: [{ addr: 0x1000, len: 2 }] }).len, 0);
  assert.is(dev.counters.errors, 2);
  assert.ok(s.logs.some((l) => /gpio0: request dropped: guest range 0x1000\+\d is outside/.test(l)), s.logs.join('\n'));
  assert.equal(d.request(GpioMsg.GET_VALUE, 4), { status: OK, value: 1, len: 2 });
});

test('a malformed chain sets DEVICE_NEEDS_RESET on gpio0 only; a reset brings back the start state, inputs kept', () => {
  const { s, d, dev } = setup();
  assert.is(d.request(GpioMsg.SET_VALUE, 0, 1).status, OK);
  dev.setInput(5, 1);
  const loop = d.q.reserve();
  d.q.writeDesc(d.q.descAddr, loop, d.drv.pool.alloc(8), 8, DescFlag.NEXT, loop);
  d.q.publish(loop);
  d.q.forceKick();
  assert.ok(d.drv.needsReset());
  assert.ok(new RngDriver(s.sim, s.model('hwrng')).read(16).length === 16, 'other devices serve on');
  const again = new GpioDriver(s.sim, s.model('gpio0'));
  assert.is(again.request(GpioMsg.GET_VALUE, 0).value, 0, 'output latch back to 0');
  assert.is(again.request(GpioMsg.GET_VALUE, 5).value, 1, 'input level kept');
});

test('a device built with its own lines', () => {
  const dev = new GpioDevice('g', { lines: [{ name: 'a', direction: GpioDirection.OUT }, { name: '' }, { name: 'ü' }] });
  const cfg = new DataView(dev.config.buffer);
  assert.is(cfg.getUint16(0, true), 3);
  assert.is(cfg.getUint32(4, true), 2 + 1 + 3);
  assert.throws(() => new GpioDevice('g', { lines: [] }), RangeError);
  assert.throws(() => new GpioDevice('g', { lines: [{ name: 'a\0b' }] }), RangeError);
  assert.throws(() => new GpioDevice('g', { lines: [{ name: 'a', input: 3 }] }), RangeError);
});

test.run();
