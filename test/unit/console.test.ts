// SPDX-License-Identifier: Apache-2.0
/** virtio-console (virtio 1.2 section 5.3) both ways through the simulated Bao and the driver model. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConsoleDriver } from '../driver/console.ts';
import { makeSystem } from '../driver/system.ts';
import { ConsoleDevice } from '../../src/devices/console.ts';
import { utf8Encode, Utf8Decoder } from '../../src/devices/utf8.ts';
import { MmioReg } from '../../src/virtio/spec.ts';
import { ConsolePortCtrl, ConsolePortWord, QueueWord, type Host } from '../../src/host.ts';

function consoleOf(s: ReturnType<typeof makeSystem>): ConsoleDevice {
  return s.backend.devices.get('hvc0')!.device as ConsoleDevice;
}

function text(bytes: ArrayLike<number>): string {
  return new Utf8Decoder().decode(Uint8Array.from(bytes as number[]));
}

test('transmit: the driver\'s bytes reach the host stream, used length 0', () => {
  const s = makeSystem();
  const d = new ConsoleDriver(s.sim, s.model('hvc0'));
  assert.is(d.write(utf8Encode('hello, ')), 0);
  d.write(utf8Encode('wörld ☃ 😀\n'));
  assert.is(text(s.consoleOut.get('hvc0')!), 'hello, wörld ☃ 😀\n');
  assert.equal(s.sim.violations, []);
});

test('receive: input reaches the driver, split over its buffers', () => {
  const s = makeSystem();
  const d = new ConsoleDriver(s.sim, s.model('hvc0'), { rxBufBytes: 16 });
  const msg = 'the quick brown fox jumps over the lazy dog, twice: the quick brown fox';
  assert.is(consoleOf(s).input(msg), msg.length);
  assert.is(text(d.receive()), msg);
  assert.ok(s.sim.notifyCount(2) >= 1, 'NOTIFY sent for dm 2');
  consoleOf(s).input(utf8Encode('more ☃'));
  assert.is(text(d.receive()), 'more ☃');
});

test('input before the driver is ready, or without buffers, waits in the FIFO', () => {
  const s = makeSystem();
  const dev = consoleOf(s);
  dev.input('early ');
  const d = new ConsoleDriver(s.sim, s.model('hvc0'), { rxBuffers: 0 });
  dev.input('bird');
  assert.is(dev.pendingInput, 10);
  assert.is(d.receive().length, 0);
  // posting buffers and kicking receiveq delivers the FIFO
  const a = d.drv.pool.alloc(64);
  d.rx.add([], [{ addr: a, len: 64 }]);
  d.rx.kick();
  const u = d.rx.getUsed()!;
  assert.is(u.len, 10);
  assert.is(text(d.drv.mem.read(a, u.len)), 'early bird');
  assert.is(dev.pendingInput, 0);
});

test('input with buffers posted: what fits goes straight into them, the rest waits in the FIFO, all in order', () => {
  const s = makeSystem();
  const dev = consoleOf(s);
  const d = new ConsoleDriver(s.sim, s.model('hvc0'), { rxBuffers: 2, rxBufBytes: 16 });
  const msg = Uint8Array.from({ length: 100 }, (_, i) => 0x21 + i);
  // from a range of a larger array, as the UART's read buffer is passed
  const src = new Uint8Array(120);
  src.set(msg, 7);
  assert.is(dev.input(src, 7, 107), 100);
  assert.is(dev.pendingInput, 100 - 32);
  assert.is(dev.counters.rxBytes, 32);
  // more input while bytes wait: behind them
  assert.is(dev.input('XY'), 2);
  assert.is(dev.pendingInput, 100 - 32 + 2);
  // receive() re-posts a buffer per used one and kicks: the FIFO drains 32 bytes at a time
  const got: number[] = [];
  for (let i = 0; i < 8 && got.length < 102; i++) got.push(...d.receive());
  assert.equal(got, [...msg, 0x58, 0x59]);
  assert.is(dev.pendingInput, 0);
  // a character typed with the FIFO empty and a buffer free: no FIFO on the way
  assert.is(dev.input('z'), 1);
  assert.is(dev.pendingInput, 0);
  assert.is(text(d.receive()), 'z');
  assert.is(dev.counters.rxDropped, 0);
  assert.equal(s.sim.violations, []);
});

test('input into a receive buffer outside the shared region: counted and skipped, the byte goes to the next buffer', () => {
  const s = makeSystem();
  const dev = consoleOf(s);
  const d = new ConsoleDriver(s.sim, s.model('hvc0'), { rxBuffers: 0 });
  const a = d.drv.pool.alloc(16);
  d.rx.add([], [{ addr: 0x10, len: 16 }]);
  d.rx.add([], [{ addr: a, len: 16 }]);
  d.rx.kick();
  assert.is(dev.input('q'), 1);
  d.drv.handleInterrupt();
  const bad = d.rx.getUsed()!;
  assert.is(bad.len, 0);
  const good = d.rx.getUsed()!;
  assert.is(good.len, 1);
  assert.is(text(d.drv.mem.read(a, 1)), 'q');
  assert.is(dev.counters.errors, 2, 'the bad buffer and its empty chain');
});

test('a full FIFO drops and counts', () => {
  const s = makeSystem({ backend: {} });
  const dev = consoleOf(s);
  const big = new Uint8Array(20000).fill(0x41);
  assert.is(dev.input(big), 16384);
  assert.is(dev.counters.rxDropped, 20000 - 16384);
});

test('console size in config; setSize bumps ConfigGeneration and raises a config interrupt', () => {
  const s = makeSystem();
  const d = new ConsoleDriver(s.sim, s.model('hvc0'));
  assert.equal(d.size(), { cols: 80, rows: 25 });
  const gen = d.drv.readl(MmioReg.ConfigGeneration);
  consoleOf(s).setSize(132, 43);
  assert.equal(d.size(), { cols: 132, rows: 43 });
  assert.is(d.drv.readl(MmioReg.ConfigGeneration), gen + 1);
  assert.is(d.drv.handleInterrupt() & 2, 2);
});

test('emergency write outputs one byte', () => {
  const s = makeSystem();
  const d = new ConsoleDriver(s.sim, s.model('hvc0'));
  d.drv.writeConfig(8, 4, 0x21);
  assert.is(text(s.consoleOut.get('hvc0')!), '!');
  // other config bytes are read-only
  d.drv.writeConfig(0, 2, 1);
  assert.equal(d.size(), { cols: 80, rows: 25 });
});

test('default output: decoded as UTF-8 to host.write, characters split across buffers', () => {
  const s = makeSystem({ backend: { consoleOutput: undefined } });
  const d = new ConsoleDriver(s.sim, s.model('hvc0'));
  const bytes = utf8Encode('a☃b😀c');
  for (const b of bytes) d.write(Uint8Array.of(b));
  assert.ok(s.sim.output.includes('a☃b😀c'), s.sim.output);
});

test('UTF-8 helpers: round trip and malformed input', () => {
  const samples = ['', 'ascii', 'é', '€', '😀', 'mixed é€😀 text', '\u0000\u007f\u0080\u07ff\u0800\uffff'];
  for (const t of samples) assert.is(new Utf8Decoder().decode(utf8Encode(t)), t);
  assert.is(new Utf8Decoder().decode(Uint8Array.of(0xff, 0x41)), '\ufffdA');
  assert.is(new Utf8Decoder().decode(Uint8Array.of(0xc0, 0x80)), '\ufffd\ufffd', 'overlong');
  assert.is(new Utf8Decoder().decode(Uint8Array.of(0xe2, 0x41)), '\ufffdA', 'truncated');
  assert.is(new Utf8Decoder().decode(Uint8Array.of(0xed, 0xa0, 0x80)), '\ufffd', 'surrogate');
  const dec = new Utf8Decoder();
  assert.is(dec.decode(Uint8Array.of(0xf0, 0x9f)) + dec.decode(Uint8Array.of(0x98, 0x80)), '😀');
  assert.is(dec.decode(Uint8Array.of(0xe2)) + dec.flush(), '\ufffd');
  assert.equal(Array.from(utf8Encode('\ud800x')), [0xef, 0xbf, 0xbd, 0x78], 'lone surrogate');
});

test('the host\'s console plane is armed only while the console is live, bridged and its transmitq host-served; its counts join the counters', () => {
  const s = makeSystem();
  const served = s.backend.devices.get('hvc0')!;
  const dev = served.device as ConsoleDevice;
  let st: Uint32Array | null = null;
  let rxq: Uint32Array | null = null;
  let txq: Uint32Array | null = null;
  let dm = -1;
  const host = { consolePort: (dmId: number, state: Uint32Array, rx: Uint32Array, tx: Uint32Array) => { dm = dmId; st = state; rxq = rx; txq = tx; return true; } } as unknown as Host;
  assert.ok(dev.useHostPlane(host, served.model.dmId, served.transport.queues));
  assert.not.ok(dev.useHostPlane(host, served.model.dmId, served.transport.queues), 'once');
  assert.is(dm, served.model.dmId);
  assert.is(rxq, served.transport.queues[0].hostState, 'receiveq\'s host state words');
  assert.is(txq, served.transport.queues[1].hostState, 'transmitq\'s host state words');
  const ctrl = (): number => st![ConsolePortWord.CTRL];
  const both = ConsolePortCtrl.TX | ConsolePortCtrl.RX;
  assert.is(ctrl(), 0, 'off before DRIVER_OK');
  const d = new ConsoleDriver(s.sim, s.model('hvc0'), { rxBuffers: 1, rxBufBytes: 4 });
  assert.is(ctrl(), both, 'on once live');
  dev.setBridged(false);
  assert.is(ctrl(), 0, 'off while another console is bridged');
  dev.setBridged(true);
  assert.is(ctrl(), both);
  // input that finds no buffer waits in the FIFO: typed bytes must not overtake it
  dev.input('0123456789');
  assert.ok(dev.pendingInput > 0);
  assert.is(ctrl(), ConsolePortCtrl.TX, 'RX off while input waits');
  while (dev.pendingInput > 0) d.receive();
  assert.is(ctrl(), both, 'RX on again once the FIFO drained');
  // what the plane served is counted once
  const before = { ...dev.counters };
  st![ConsolePortWord.N_TX_CHAINS] += 3;
  st![ConsolePortWord.N_TX_BYTES_LO] += 10;
  st![ConsolePortWord.N_RX_CHAINS] += 2;
  st![ConsolePortWord.N_RX_BYTES_LO] += 5;
  assert.is(dev.counters.chains, before.chains + 5);
  assert.is(dev.counters.txBytes, before.txBytes + 10);
  assert.is(dev.counters.rxBytes, before.rxBytes + 5);
  assert.is(dev.counters.chains, before.chains + 5, 'not twice');
  // a transmitq the driver turns off has no layout for the host (it hands any kick to the device, which ignores it)
  assert.ok(txq![QueueWord.NUM] > 0);
  d.drv.writel(MmioReg.QueueSel, 1);
  d.drv.writel(MmioReg.QueueReady, 0);
  assert.is(txq![QueueWord.NUM], 0);
  d.drv.reset();
  assert.is(ctrl(), 0, 'off after a device reset');
});

test.run();
