// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-vsock (virtio 1.2 section 5.10) through the simulated Bao and the
 * driver model: connection life cycle both ways, credit accounting, the RST
 * paths, a frontend that never reads or posts no buffers, malformed packets
 * (seeded), and the example services (echo, key-value store).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem, type System } from '../driver/system.ts';
import { GuestStream, VsockDriver, encodeHeader, type VsockPacket } from '../driver/vsock.ts';
import { Prng } from '../sim/prng.ts';
import { replayHint, scaled, seedOverride } from '../sim/fuzz.ts';
import type { VsockDevice } from '../../src/devices/vsock.ts';
import type { VsockConnection } from '../../src/devices/vsock-socket.ts';
import { VMADDR_CID_HOST, VsockOp, VsockShutdown, VsockType } from '../../src/devices/vsock-spec.ts';
import { ECHO_PORT, serveEcho } from '../../src/services/echo.ts';
import { KV_PORT, kvAnswer, serveKv } from '../../src/services/kv.ts';
import { validatePlatform } from '../../src/config/platform.ts';
import { testPlatform } from '../sim/platforms.ts';

function setup(opts: { rxBuffers?: number } = {}): { s: System; d: VsockDriver; dev: VsockDevice } {
  const s = makeSystem({ platform: { vsock: true } });
  serveEcho(s.backend.vsock);
  serveKv(s.backend.vsock);
  const d = new VsockDriver(s.sim, s.model('vsock0'), { rxBuffers: opts.rxBuffers });
  const dev = s.backend.devices.get('vsock0')!.device as VsockDevice;
  return { s, d, dev };
}

/** Delivers every received packet to the streams; returns the packets no stream took. */
function pump(d: VsockDriver, streams: GuestStream[], hold = false): VsockPacket[] {
  const rest: VsockPacket[] = [];
  for (const p of d.receive()) if (!streams.some((st) => st.take(p, hold))) rest.push(p);
  return rest;
}

function pattern(n: number, seed: number): Uint8Array {
  const r = new Prng(seed);
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = r.below(256);
  return a;
}

/** Echoes `data` through one stream; returns what came back. */
function echo(d: VsockDriver, st: GuestStream, data: Uint8Array, chunk = 4096): Uint8Array {
  let sent = 0;
  for (let rounds = 0; st.received.length < data.length; rounds++) {
    if (rounds > 100000) throw new Error(`stuck after ${st.received.length} of ${data.length} bytes`);
    if (sent < data.length) sent += st.write(data.subarray(sent), chunk);
    const before = st.fwdCnt;
    pump(d, [st]);
    if (st.fwdCnt !== before) st.creditUpdate();
  }
  return Uint8Array.from(st.received);
}

test('probe: device ID 19, the guest CID from the platform, VIRTIO_VSOCK_F_STREAM offered', () => {
  const { d } = setup();
  assert.is(d.cid, 3);
  assert.ok(d.drv.has(0), 'F_STREAM');
  assert.not.ok(d.drv.has(1), 'no SEQPACKET');
});

test('a connection to a port nobody listens on is answered RST', () => {
  const { d, dev } = setup();
  d.send({ srcPort: 1000, dstPort: 4242, op: VsockOp.REQUEST });
  const got = d.receive();
  assert.is(got.length, 1);
  assert.is(got[0].op, VsockOp.RST);
  assert.equal([got[0].srcCid, got[0].dstCid, got[0].srcPort, got[0].dstPort], [VMADDR_CID_HOST, 3, 4242, 1000]);
  assert.is(dev.counters.refused, 1);
});

test('echo: 1 MiB comes back byte for byte, within the credit the guest advertises', () => {
  const { d, dev } = setup();
  const st = new GuestStream(d, 1024, ECHO_PORT, 64 * 1024);
  st.connect();
  pump(d, [st]);
  assert.is(st.state, 'connected');
  assert.is(st.peerBufAlloc, 16 * 1024, 'the device advertises its receive buffer');
  const data = pattern(1 << 20, 1);
  const back = echo(d, st, data);
  assert.equal(back, data);
  assert.is(dev.counters.bytesIn, 1 << 20);
  assert.is(dev.counters.bytesOut, 1 << 20);
  assert.is(dev.counters.creditViolations, 0);
});

test('the device never sends beyond the guest\'s credit; a CREDIT_UPDATE lets more through', () => {
  const { d } = setup();
  const st = new GuestStream(d, 1025, ECHO_PORT, 6000);
  st.connect();
  pump(d, [st]);
  const data = pattern(12 * 1024, 2);
  st.write(data); // the echo service's 16 KiB buffer takes it all
  pump(d, [st], true); // the guest application does not read
  assert.is(st.received.length, 6000, 'exactly buf_alloc bytes while nothing is consumed');
  pump(d, [st], true);
  assert.is(st.received.length, 6000);
  st.fwdCnt = 6000;
  st.creditUpdate();
  pump(d, [st], true);
  assert.is(st.received.length, 12000, 'buf_alloc more after the update');
  st.fwdCnt = 12000;
  st.creditUpdate();
  pump(d, [st]);
  assert.is(st.received.length, data.length);
  assert.equal(Uint8Array.from(st.received), data);
});

test('a frontend that never reads stops itself; the backend stays bounded and serves another connection', () => {
  const { d, dev } = setup();
  const lazy = new GuestStream(d, 2000, ECHO_PORT, 4096);
  lazy.connect();
  pump(d, [lazy], true);
  let sent = 0;
  for (let i = 0; i < 50; i++) {
    sent += lazy.write(pattern(4096, 100 + i));
    pump(d, [lazy], true);
  }
  // echo holds one receive and one send buffer (16 KiB each), the guest 4 KiB: then credit is 0
  assert.ok(sent <= 4096 + 2 * 16 * 1024, `${sent} bytes accepted`);
  assert.is(lazy.credit, 0);
  assert.is(lazy.received.length, 4096);
  const other = new GuestStream(d, 2001, ECHO_PORT);
  other.connect();
  pump(d, [lazy, other], true);
  const data = pattern(100 * 1024, 3);
  assert.equal(echo(d, other, data), data);
  assert.is(dev.counters.creditViolations, 0);
});

test('a service that stopped for want of room resumes when the frontend reads again (no stall)', () => {
  const { d } = setup();
  const st = new GuestStream(d, 2100, ECHO_PORT, 4096);
  st.connect();
  pump(d, [st], true);
  const data = pattern(48 * 1024, 11);
  let sent = 0;
  // fill everything: the guest holds what it receives, echo's send and receive buffers fill up
  for (let i = 0; i < 20; i++) {
    sent += st.write(data.subarray(sent));
    pump(d, [st], true);
  }
  assert.ok(sent < data.length, 'the writer was held back');
  for (let i = 0; i < 200 && st.received.length < data.length; i++) {
    st.fwdCnt = st.received.length;
    st.creditUpdate();
    sent += st.write(data.subarray(sent));
    pump(d, [st], true);
  }
  assert.equal(Uint8Array.from(st.received), data);
});

test('credit that arrives with the frontend\'s data, not a CREDIT_UPDATE, lets held-back bytes through (no stall)', () => {
  const { d } = setup();
  const st = new GuestStream(d, 2200, ECHO_PORT, 4096);
  st.connect();
  pump(d, [st], true);
  // 4 KiB reach the guest (its buf_alloc), echo's 16 KiB send buffer fills with the rest
  const data = pattern(4096 + 16 * 1024, 21);
  let sent = 0;
  for (let i = 0; i < 10 && sent < data.length; i++) {
    sent += st.write(data.subarray(sent));
    pump(d, [st], true);
  }
  assert.is(sent, data.length);
  assert.is(st.received.length, 4096);
  // the guest consumes its 4 KiB and sends one more byte: that packet carries fwd_cnt = 4096,
  // the only news of the credit; echo, its send buffer full, writes nothing that would wake the connection
  st.fwdCnt = 4096;
  assert.is(st.write(Uint8Array.of(7)), 1);
  pump(d, [st], true);
  assert.is(st.received.length, 8192, 'another buf_alloc of echoed bytes');
  assert.equal(Uint8Array.from(st.received), data.subarray(0, 8192));
});

test('data beyond the device\'s credit resets that connection only', () => {
  const { d, dev, s } = setup();
  const bad = new GuestStream(d, 3000, ECHO_PORT);
  const good = new GuestStream(d, 3001, ECHO_PORT);
  bad.connect();
  good.connect();
  pump(d, [bad, good], true);
  // ignore the credit: 64 KiB at once into a 16 KiB buffer (the echo service reads only while it can write back)
  bad.peerBufAlloc = 1 << 30;
  bad.write(pattern(64 * 1024, 4), 32 * 1024);
  pump(d, [bad, good]);
  assert.ok(bad.resetSeen, 'RST');
  assert.ok(dev.counters.creditViolations >= 1);
  assert.ok(s.logs.some((l) => /beyond the credit/.test(l)), s.logs.join('\n'));
  const data = pattern(64 * 1024, 5);
  assert.equal(echo(d, good, data), data);
});

test('the backend connects to a frontend port, writes, and sees the frontend\'s RST', () => {
  const { s, d } = setup();
  const events: string[] = [];
  const c: VsockConnection = s.backend.vsock.connect(3, 9000);
  c.onConnect = () => events.push('connect');
  c.onClose = (why) => events.push(`close ${why}`);
  const req = d.receive();
  assert.is(req.length, 1);
  assert.is(req[0].op, VsockOp.REQUEST);
  assert.is(req[0].dstPort, 9000);
  const st = new GuestStream(d, 9000, req[0].srcPort, 8192);
  d.send({ srcPort: 9000, dstPort: req[0].srcPort, op: VsockOp.RESPONSE, bufAlloc: 8192 });
  assert.equal(events, ['connect']);
  const data = pattern(64 * 1024, 6);
  let written = 0;
  c.onWritable = () => { written += c.write(data.subarray(written)); };
  written = c.write(data);
  assert.is(written, 8192 + 16384, 'the guest\'s credit is sent at once, the send buffer holds 16 KiB more');
  for (let i = 0; i < 100 && st.received.length < data.length; i++) {
    pump(d, [st]);
    st.creditUpdate(); // the guest application consumed it all
  }
  assert.is(written, data.length, 'onWritable let the service write the rest');
  assert.equal(Uint8Array.from(st.received), data);
  d.send({ srcPort: 9000, dstPort: req[0].srcPort, op: VsockOp.RST });
  assert.equal(events, ['connect', 'close reset by peer']);
  assert.throws(() => s.backend.vsock.connect(77, 1), /no vsock device has guest CID 77/);
});

test('a refused backend connection ends with onClose("refused")', () => {
  const { s, d } = setup();
  const c = s.backend.vsock.connect(3, 9001);
  let why = '';
  c.onClose = (w) => { why = w; };
  const req = d.receive()[0];
  d.send({ srcPort: 9001, dstPort: req.srcPort, op: VsockOp.RST });
  assert.is(why, 'refused');
  assert.is(c.state, 'closed');
});

test('close: queued bytes first, then SHUTDOWN(RCV|SEND); the frontend\'s RST ends it', () => {
  const { s, d } = setup();
  let server: VsockConnection | null = null;
  s.backend.vsock.listen(6000, (c) => { server = c; });
  const st = new GuestStream(d, 4000, 6000);
  st.connect();
  pump(d, [st]);
  const events: string[] = [];
  server!.onClose = (w) => events.push(w);
  server!.write(new Uint8Array([1, 2, 3]));
  server!.close();
  pump(d, [st]);
  assert.equal(st.received, [1, 2, 3]);
  assert.is(st.peerShutdown, VsockShutdown.RCV | VsockShutdown.SEND);
  assert.is(server!.state, 'closing');
  d.send({ srcPort: 4000, dstPort: 6000, op: VsockOp.RST });
  assert.equal(events, ['closed']);
});

test('the frontend shuts both directions: the device answers RST and the service sees the end', () => {
  const { s, d, dev } = setup();
  let server: VsockConnection | null = null;
  s.backend.vsock.listen(6001, (c) => { server = c; });
  const st = new GuestStream(d, 4001, 6001);
  st.connect();
  pump(d, [st]);
  const events: string[] = [];
  server!.onEnd = () => events.push('end');
  server!.onClose = (w) => events.push(`close ${w}`);
  st.write(new Uint8Array([9, 8, 7]));
  st.shutdown(VsockShutdown.RCV | VsockShutdown.SEND);
  pump(d, [st]);
  assert.ok(st.resetSeen);
  assert.equal(events, ['end', 'close closed']);
  const buf = new Uint8Array(8);
  assert.is(server!.read(buf), 3, 'what arrived before the end stays readable');
  assert.is(dev.connectionCount, 0);
});

test('a device reset ends every connection ("device reset"); the listener serves the next driver', () => {
  const { s, d, dev } = setup();
  const st = new GuestStream(d, 5000, ECHO_PORT);
  st.connect();
  pump(d, [st]);
  let why = '';
  s.backend.vsock.listen(6002, (c) => { c.onClose = (w) => { why = w; }; });
  const st2 = new GuestStream(d, 5001, 6002);
  st2.connect();
  pump(d, [st, st2]);
  assert.is(dev.connectionCount, 2);
  d.drv.reset();
  assert.is(dev.connectionCount, 0);
  assert.is(why, 'device reset');
  const d2 = new VsockDriver(s.sim, s.model('vsock0'));
  const st3 = new GuestStream(d2, 5002, ECHO_PORT);
  st3.connect();
  pump(d2, [st3]);
  const data = pattern(10000, 7);
  assert.equal(echo(d2, st3, data), data);
});

test('64 connections at once each echo their own bytes; the 65th is refused', () => {
  const { d, dev } = setup();
  const streams: GuestStream[] = [];
  for (let i = 0; i < 64; i++) {
    const st = new GuestStream(d, 10000 + i, ECHO_PORT);
    st.connect();
    streams.push(st);
    pump(d, streams);
  }
  assert.ok(streams.every((st) => st.state === 'connected'));
  const extra = new GuestStream(d, 20000, ECHO_PORT);
  extra.connect();
  pump(d, [...streams, extra]);
  assert.ok(extra.resetSeen, 'the 65th connection is refused');
  const datas = streams.map((_, i) => pattern(8192 + i, 1000 + i));
  const sent = streams.map(() => 0);
  for (let round = 0; round < 1000 && streams.some((st, i) => st.received.length < datas[i].length); round++) {
    streams.forEach((st, i) => { if (sent[i] < datas[i].length) sent[i] += st.write(datas[i].subarray(sent[i]), 1500); });
    const before = streams.map((st) => st.fwdCnt);
    pump(d, streams);
    streams.forEach((st, i) => { if (st.fwdCnt !== before[i]) st.creditUpdate(); });
  }
  streams.forEach((st, i) => assert.equal(Uint8Array.from(st.received), datas[i], `connection ${i}`));
  assert.is(dev.connectionCount, 64);
});

test('malformed packets are dropped and counted; wrong addresses too; the device keeps serving', () => {
  const { d, dev, s } = setup();
  d.sendRaw([new Uint8Array(10)]);
  assert.is(dev.counters.malformed, 1, 'shorter than the header');
  d.sendRaw([encodeHeader({ srcCid: 3, srcPort: 1, dstPort: ECHO_PORT, op: VsockOp.RW, len: 100 }), new Uint8Array(20)]);
  assert.is(dev.counters.malformed, 2, 'len beyond the payload');
  d.send({ srcCid: 4, srcPort: 1, dstPort: ECHO_PORT, op: VsockOp.REQUEST });
  d.send({ dstCid: 7, srcPort: 1, dstPort: ECHO_PORT, op: VsockOp.REQUEST });
  assert.is(dev.counters.badAddress, 2, 'spoofed src_cid, another dst_cid');
  assert.is(d.receive().length, 0, 'no answer to a misaddressed packet');
  d.send({ srcPort: 1, dstPort: ECHO_PORT, op: VsockOp.REQUEST, type: VsockType.SEQPACKET });
  d.send({ srcPort: 2, dstPort: ECHO_PORT, op: VsockOp.RW, payload: new Uint8Array(5) });
  d.send({ srcPort: 3, dstPort: ECHO_PORT, op: 99 });
  d.send({ srcPort: 4, dstPort: ECHO_PORT, op: VsockOp.RST });
  const answers = d.receive();
  assert.equal(answers.map((p) => [p.op, p.dstPort]), [[VsockOp.RST, 1], [VsockOp.RST, 2], [VsockOp.RST, 3]], 'RST for each but the RST');
  assert.not.ok(d.drv.needsReset());
  assert.ok(s.logs.some((l) => /shorter than the 44-byte header/.test(l)));
  const st = new GuestStream(d, 7000, ECHO_PORT);
  st.connect();
  pump(d, [st]);
  const data = pattern(30000, 8);
  assert.equal(echo(d, st, data), data);
});

test('with no receive buffers posted, owed RSTs wait in a bounded queue and the overflow is counted', () => {
  const { d, dev } = setup({ rxBuffers: 0 });
  for (let i = 0; i < 100; i++) d.send({ srcPort: 100 + i, dstPort: 4242, op: VsockOp.REQUEST });
  assert.is(dev.counters.refused, 100);
  assert.is(dev.counters.dropped, 100 - 64);
  for (let i = 0; i < 32; i++) d.postRx();
  d.rx.kick();
  const got = [...d.receive(), ...d.receive(), ...d.receive()];
  assert.is(got.length, 64);
  assert.equal(got.map((p) => p.dstPort), Array.from({ length: 64 }, (_, i) => 100 + i), 'oldest first');
});

const FUZZ_ROUNDS = scaled(400);
test(`fuzz: ${FUZZ_ROUNDS} seeded random packets between echo traffic never fail the device nor corrupt a stream`, () => {
  const seed = seedOverride() ?? 0xc0ffee;
  const r = new Prng(seed);
  const { d, dev } = setup();
  const st = new GuestStream(d, 8000, ECHO_PORT);
  st.connect();
  pump(d, [st]);
  const data = pattern(200 * 1024, 9);
  let sent = 0;
  const ops = [VsockOp.INVALID, VsockOp.REQUEST, VsockOp.RESPONSE, VsockOp.RST, VsockOp.SHUTDOWN, VsockOp.RW, VsockOp.CREDIT_UPDATE, VsockOp.CREDIT_REQUEST, 8, 0xffff];
  try {
    for (let i = 0; i < FUZZ_ROUNDS; i++) {
      const kind = r.below(4);
      // never the echo stream's own ports: the fuzz must not be able to end it legitimately
      let srcPort = r.below(4) === 0 ? r.below(0x100000000) : 8001 + r.below(8);
      if (srcPort === 8000) srcPort = 8001;
      const dstPort = r.below(3) === 0 ? ECHO_PORT : r.below(3) === 0 ? KV_PORT : r.below(0x100000000);
      const payload = pattern(r.below(3) === 0 ? 0 : r.below(6000), i);
      if (kind === 0) d.sendRaw([pattern(r.below(60), i)]);
      else if (kind === 1) d.sendRaw([encodeHeader({ srcCid: r.below(2) ? 3 : r.below(10), dstCid: r.below(4) ? 2 : r.below(10), srcPort, dstPort, op: ops[r.below(ops.length)], len: r.below(2) ? payload.length : r.below(70000), type: r.below(5) ? 1 : r.below(4), flags: r.below(4), bufAlloc: r.below(1 << 20), fwdCnt: r.below(1 << 20) }), payload]);
      else d.send({ srcPort, dstPort, op: ops[r.below(ops.length)], payload, flags: r.below(4), bufAlloc: r.below(1 << 18), fwdCnt: r.below(1 << 18) });
      if (sent < data.length) sent += st.write(data.subarray(sent), 1 + r.below(8192));
      const before = st.fwdCnt;
      pump(d, [st]);
      if (st.fwdCnt !== before) st.creditUpdate();
      assert.not.ok(d.drv.needsReset(), `round ${i}`);
      assert.ok(dev.connectionCount <= 64);
    }
    assert.equal(echo(d, st, data.subarray(0)).subarray(0, data.length), data);
    console.log(`vsock-fuzz: ${JSON.stringify({ packets: FUZZ_ROUNDS, malformed: dev.counters.malformed, badAddress: dev.counters.badAddress, resets: dev.counters.resets, connections: dev.counters.connections })}`);
  } catch (e) {
    throw new Error(`vsock fuzz failed: ${e instanceof Error ? e.message : String(e)}; ${replayHint(seed)}`);
  }
});

test('key-value store: SET, GET, DEL and COUNT over a stream; bad commands get ERR', () => {
  const store = new Map<string, string>();
  assert.is(kvAnswer(store, 'SET a hello world'), 'OK');
  assert.is(kvAnswer(store, 'GET a'), 'VALUE hello world');
  assert.is(kvAnswer(store, 'GET b'), 'NONE');
  assert.is(kvAnswer(store, 'COUNT'), 'COUNT 1');
  assert.is(kvAnswer(store, 'DEL a'), 'OK');
  assert.is(kvAnswer(store, 'DEL a'), 'NONE');
  assert.is(kvAnswer(store, 'FLY away'), 'ERR unknown command');
  const { d } = setup();
  const st = new GuestStream(d, 8100, KV_PORT);
  st.connect();
  pump(d, [st]);
  const text = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
  st.write(text('SET k1 v1\nSET k2 some value\nGET k1\nGET k2\nDEL k1\nGET k1\nCOUNT\n'));
  pump(d, [st]);
  assert.is(String.fromCharCode(...st.received), 'OK\nOK\nVALUE v1\nVALUE some value\nOK\nNONE\nCOUNT 1\n');
  st.received.length = 0;
  st.write(text('GET ' + 'x'.repeat(2000)));
  pump(d, [st]);
  assert.match(String.fromCharCode(...st.received), /^ERR line too long\n$/);
  assert.is(st.peerShutdown, VsockShutdown.RCV | VsockShutdown.SEND, 'then the service closes');
});

/** A deep copy of plain data (QuickJS has no structuredClone). */
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('the platform description: a vsock device needs a guest CID of its own; other kinds have none', () => {
  const base = testPlatform({ vsock: true });
  const withDevice = (patch: object, extra: object[] = []): void => {
    const p = clone(base);
    Object.assign(p.devices[p.devices.length - 1], patch);
    p.devices.push(...(extra as typeof p.devices));
    validatePlatform(p);
  };
  assert.throws(() => withDevice({ guestCid: undefined }), /devices\[4\]\.guestCid: a vsock device needs a guest CID/);
  assert.throws(() => withDevice({ guestCid: 2 }), /guestCid/);
  assert.throws(() => withDevice({ guestCid: 0xffffffff }), /guestCid/);
  const p = clone(base);
  (p.devices[0] as { guestCid?: number }).guestCid = 9;
  assert.throws(() => validatePlatform(p), /devices\[0\]\.guestCid: a blk device has no guest CID/);
  const second = { ...clone(base.devices[4]), name: 'vsock1', bindKey: 5, dmId: 6, backendIntid: 149, frontendIntid: 117, window: { base: 0x0b005000, size: 0x200 }, shmem: { id: 5, base: 0x60600000, size: 0x100000 } };
  assert.throws(() => withDevice({}, [second]), /devices\[5\]\.guestCid: shared with devices\[4\]/);
  withDevice({}, [{ ...second, guestCid: 4 }]);
});

test.run();
