// SPDX-License-Identifier: Apache-2.0
/**
 * The switch's uplink: the virtio-net driver (src/drivers/virtio-net.ts)
 * and its switch port (src/net/uplink.ts), wired by the backend for a
 * `virtio-net` passthrough device, against a simulated network card
 * (test/sim/net-device.ts) whose rings are walked by the project's
 * device-side SplitQueue, with frontends' virtio-net devices (net0..net2,
 * driven by the driver model) on the same switch: negotiation, frames byte
 * for byte both ways, receive buffers posted again under sustained
 * traffic, transmit pool exhaustion, link changes, a broken card.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NetFeature, NetHdrFlag } from '../../src/devices/net-spec.ts';
import { GsoType } from '../../src/devices/net-spec.ts';
import { parseTcp, tcpFrame, tcpLayout, type TcpFrameOptions } from '../sim/packets.ts';
import type { VirtioNetDriver } from '../../src/drivers/virtio-net.ts';
import { DeviceStatus, Feature } from '../../src/virtio/spec.ts';
import { NetDriver, ethFrame, BROADCAST } from '../driver/net.ts';
import { makeSystem, type System } from '../driver/system.ts';
import { SimNetDevice, type SimNetOptions } from '../sim/net-device.ts';
import { testMac, UPLINK_BASE, UPLINK_INTID } from '../sim/platforms.ts';
import { Prng } from '../sim/prng.ts';
import type { SimOptions } from '../sim/bao.ts';

const M = [testMac(0), testMac(1), testMac(2)];
/** a host on the wire behind the uplink */
const HOST = '52:55:0a:00:02:02';

interface Rig {
  s: System;
  nic: SimNetDevice;
  /** the backend's driver of the card (undefined if it was not driven) */
  drv: VirtioNetDriver | undefined;
  /** frontend drivers of net0..net2 */
  d: NetDriver[];
}

function rig(nic: Partial<SimNetOptions> = {}, frontends = 3, sim: SimOptions = {}): Rig {
  let card: SimNetDevice | undefined;
  const s = makeSystem({
    platform: { net: true, uplink: true },
    sim,
    beforeBackend: (sim) => {
      card = new SimNetDevice(sim, { base: UPLINK_BASE, intid: UPLINK_INTID, dma: 'dma:uplink0', ...nic });
    },
  });
  const d: NetDriver[] = [];
  for (let i = 0; i < frontends; i++) d.push(new NetDriver(s.sim, s.model(`net${i}`), { vcpu: i }));
  return { s, nic: card!, drv: s.backend.uplinks.get('uplink0')?.driver, d };
}

function payload(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  new Prng(seed).fill(a);
  return a;
}

/** Frames from the wire: placed by the card, taken by the backend on its interrupt. */
function fromWire(r: Rig, frames: Uint8Array[]): number {
  const n = r.nic.receive(frames);
  r.s.sim.run();
  return n;
}

const has = (f: Uint32Array, bit: number): boolean => ((f[bit >> 5] >>> (bit & 31)) & 1) === 1;

test('negotiation: VERSION_1, MAC, STATUS, EVENT_IDX accepted; MRG_RXBUF, offloads, CTRL_VQ declined; MAC read; every receive buffer posted', () => {
  const r = rig({ mac: '52:54:00:ab:cd:ef' });
  const f = r.nic.driverFeatures;
  for (const bit of [Feature.VERSION_1, NetFeature.MAC, NetFeature.STATUS, Feature.RING_EVENT_IDX]) assert.ok(has(f, bit), `bit ${bit} accepted`);
  for (const bit of [NetFeature.MRG_RXBUF, NetFeature.CSUM, NetFeature.GUEST_CSUM, NetFeature.HOST_TSO4, NetFeature.GUEST_TSO4, NetFeature.CTRL_VQ]) {
    assert.not.ok(has(f, bit), `bit ${bit} declined`);
  }
  const drv = r.drv!;
  assert.is(drv.mac, '52:54:00:ab:cd:ef');
  assert.is(drv.mtu, 1500);
  assert.is(drv.linkUp, true);
  assert.is(drv.bufferBytes, 2048);
  assert.is(drv.rxBuffers, 256);
  assert.is(r.nic.rxPosted, 256, 'the card holds every receive buffer');
  assert.is(r.nic.notifies[0], 1, 'one receiveq notification, after DRIVER_OK');
  assert.is(r.nic.deviceStatus, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK);
  assert.ok(r.s.logs.some((l) => /^uplink0: MAC 52:54:00:ab:cd:ef, MTU 1500, link up, 256 receive and 256 transmit buffers of 2048 bytes, switch port 0$/.test(l)), r.s.logs.join('\n'));
  assert.is(r.s.backend.netSwitch.portCount, 4);
  assert.equal(r.nic.violations, []);
});

test('MTU offered: read, and the buffers grow to hold a tagged frame of it; without MAC the driver says so', () => {
  const r = rig({ mtu: 9000, features: [Feature.VERSION_1, NetFeature.MTU, NetFeature.STATUS], queueNumMax: 64 }, 0);
  const drv = r.drv!;
  assert.is(drv.mtu, 9000);
  assert.is(drv.bufferBytes, Math.ceil((12 + 18 + 9000) / 64) * 64);
  assert.is(drv.mac, '');
  assert.is(drv.rxBuffers, 64, 'QueueNumMax bounds the queue');
  assert.ok(r.s.logs.some((l) => l.startsWith('uplink0: MAC not given, MTU 9000')));
});

test('a card that is not a network device is not driven; the backend still serves the frontends', () => {
  const r = rig({ deviceId: 2 }, 2);
  assert.is(r.drv, undefined);
  assert.ok(r.s.logs.some((l) => /^uplink0: no uplink: .*DeviceID 2 is not a network device/.test(l)), r.s.logs.join('\n'));
  r.d[0].send(ethFrame(M[1], M[0], payload(60, 1)));
  assert.is(r.d[1].frames().length, 1);
});

test('frames byte for byte: frontend → wire (flooded, then unicast once learned), wire → frontend; one transmit notification per burst', () => {
  const r = rig();
  const drv = r.drv!;
  const out: Uint8Array[] = [];
  for (let i = 0; i < 30; i++) {
    const f = ethFrame(HOST, M[0], payload(46 + ((i * 211) % 1455), i));
    out.push(f);
    r.d[0].send(f);
  }
  assert.equal(r.nic.sent, out, 'the card transmitted every frame as sent, header zero');
  assert.is(r.nic.notifies[1], 30, 'one notification per frontend transmit burst (each send is one here)');
  assert.is(r.d[1].frames().length, 30, 'unknown unicast also flooded to the other frontends');
  assert.is(r.d[2].frames().length, 30);
  const back: Uint8Array[] = [];
  for (let i = 0; i < 30; i++) back.push(ethFrame(M[0], HOST, payload(60 + ((i * 97) % 1440), 500 + i)));
  assert.is(fromWire(r, back), 30);
  assert.equal(r.d[0].frames(), back, 'net0 received every frame from the wire, byte for byte');
  assert.is(r.d[1].frames().length, 0, 'unicast to a learned MAC: not flooded');
  assert.is(r.d[2].frames().length, 0);
  // HOST is learned on the uplink now: frames to it go there only
  r.nic.sent.length = 0;
  const f = ethFrame(HOST, M[1], payload(100, 9));
  r.d[1].send(f);
  assert.equal(r.nic.sent, [f]);
  assert.is(r.d[0].frames().length + r.d[2].frames().length, 0);
  const c = drv.counters;
  assert.is(c.txFrames, 31);
  assert.is(c.rxFrames, 30);
  assert.is(c.rxBytes, back.reduce((n, x) => n + x.length, 0));
  assert.is(c.txNoBuffer + c.txDown + c.txBadLength + c.rxRunt + c.rxBadHeader, 0);
  const sw = r.s.backend.netSwitch.counters(r.s.backend.uplinks.get('uplink0')!.id);
  assert.is(sw.rxFrames, 30);
  assert.is(sw.txFrames, 31);
  assert.is(r.s.backend.uplinks.get('uplink0')!.statsLine(),
    `uplink0: uplink link up; wire rx 30 frames ${c.rxBytes} bytes, tx 31 frames ${c.txBytes} bytes; dropped rx runt 0 bad header 0, tx no buffer 0 bad length 0 down 0; ` +
    `interrupts ${c.interrupts}, kicks ${c.kicks}; switch port 0: in 30 (floods 0, flood limit 0), out 31, egress drops 0`);
  assert.ok(c.interrupts > 0 && c.kicks > 0, `interrupts ${c.interrupts}, kicks ${c.kicks}`);
  assert.equal(r.nic.violations, []);
});

test('a host that acknowledges the card in its interrupt handler (host.passthroughIsr): frames from the wire in many separate interrupts, the line never masked, no irqEnable', () => {
  const r = rig({}, 3, { passthroughIsr: true });
  const drv = r.drv!;
  // the card's address learned on the uplink, frontend 0's on net0
  r.d[0].send(ethFrame(HOST, M[0], payload(60, 1)));
  const sim = r.s.sim;
  let enables = 0;
  const irqEnable = sim.irqEnable.bind(sim);
  sim.irqEnable = (intid: number) => { enables++; irqEnable(intid); };
  const got: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const f = ethFrame(M[0], HOST, payload(58 + i, 100 + i)); // 58 bytes and up: runts of TCP's SYN-ACK size too
    assert.is(fromWire(r, [f]), 1, `frame ${i} placed`);
    got.push(f);
  }
  assert.equal(r.d[0].frames(), got, 'every frame of every interrupt reached net0, in order');
  assert.ok(sim.hostAckedIrqs >= 40, `interrupts acknowledged by the host: ${sim.hostAckedIrqs}`);
  assert.is(sim.hostAckedIrqs, sim.passthroughIrqs, 'every interrupt of the card acknowledged by the host');
  assert.is(enables, 0, 'the driver never unmasked the line: it was never masked');
  assert.ok(drv.counters.interrupts >= 40);
});

test('a broadcast from the wire reaches every frontend; one from a frontend reaches the wire', () => {
  const r = rig();
  const b = ethFrame(BROADCAST, HOST, payload(28, 3), 0x0806);
  fromWire(r, [b]);
  for (let i = 0; i < 3; i++) assert.equal(r.d[i].frames(), [b], `net${i}`);
  const c = ethFrame(BROADCAST, M[2], payload(28, 4), 0x0806);
  r.d[2].send(c);
  assert.equal(r.nic.sent, [c]);
});

test('sustained traffic from the wire: 6000 frames in bursts of 200, every receive buffer posted again, one receiveq notification per burst', () => {
  const r = rig({}, 1);
  const drv = r.drv!;
  // net0 makes itself known (else frames to it are flooded, within the uplink's flood bucket)
  r.d[0].send(ethFrame(BROADCAST, M[0], payload(28, 1), 0x0806));
  assert.is(r.nic.sent.length, 1);
  const kicks0 = r.nic.notifies[0];
  r.s.sim.run();
  const irqs0 = drv.counters.interrupts;
  let got = 0;
  let bytes = 0;
  let sentBytes = 0;
  for (let burst = 0; burst < 30; burst++) {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const f = ethFrame(M[0], HOST, payload(46 + ((burst * 200 + i) % 1400), burst * 200 + i));
      frames.push(f);
      sentBytes += f.length;
    }
    assert.is(fromWire(r, frames), 200, `burst ${burst}: every frame found a buffer`);
    assert.is(r.nic.rxPosted, 256, `burst ${burst}: the driver posted every buffer again`);
    const rx = r.d[0].frames();
    assert.equal(rx, frames, `burst ${burst} byte for byte, in order`);
    got += rx.length;
    bytes += rx.reduce((n, x) => n + x.length, 0);
  }
  assert.is(got, 6000);
  assert.is(bytes, sentBytes);
  assert.is(r.nic.rxNoBuffer, 0);
  assert.is(drv.counters.rxFrames, 6000);
  assert.ok(r.nic.notifies[0] - kicks0 <= 30, `receiveq notifications ${r.nic.notifies[0] - kicks0} for 30 bursts`);
  assert.ok(drv.counters.interrupts - irqs0 <= 30, `${drv.counters.interrupts - irqs0} interrupts for 30 bursts`);
});

test('transmit pool exhausted: frames dropped and counted (switch dropEgress too), the frontends unaffected; buffers return on completion', () => {
  const r = rig({ holdTx: true, queueNumMax: 16 });
  const drv = r.drv!;
  fromWire(r, [ethFrame(M[0], HOST, payload(60, 1))]); // HOST learned on the uplink
  r.d[0].frames();
  assert.is(drv.txBuffers, 16);
  for (let i = 0; i < 40; i++) r.d[0].send(ethFrame(HOST, M[0], payload(60, 100 + i)));
  assert.is(r.nic.sent.length, 16, 'the card took the 16 buffers of the pool');
  assert.is(r.nic.txHeld, 16);
  assert.is(drv.counters.txFrames, 16);
  assert.is(drv.counters.txNoBuffer, 24);
  assert.is(drv.txFreeBuffers, 0);
  const port = r.s.backend.uplinks.get('uplink0')!.id;
  assert.is(r.s.backend.netSwitch.counters(port).dropEgress, 24);
  // the frontends still talk to each other
  r.d[1].frames();
  r.d[0].send(ethFrame(M[1], M[0], payload(60, 7)));
  assert.is(r.d[1].frames().length, 1);
  // the card completes: the interrupt returns the buffers, sending works again
  r.nic.completeTx();
  r.s.sim.run();
  assert.is(drv.txFreeBuffers, 16);
  const f = ethFrame(HOST, M[0], payload(200, 8));
  r.d[0].send(f);
  assert.equal(r.nic.sent[16], f);
  // completions reaped by send itself when no interrupt came yet
  r.nic.sent.length = 0;
  for (let i = 0; i < 15; i++) r.d[0].send(ethFrame(HOST, M[0], payload(60, 200 + i)));
  assert.is(drv.txFreeBuffers, 0);
  r.nic.completeTx(4);
  const g = ethFrame(HOST, M[0], payload(80, 9));
  r.d[0].send(g);
  assert.equal(r.nic.sent[15], g, 'send reaped the completed buffers');
  assert.is(drv.counters.txNoBuffer, 24, 'the frame net0 → net1 (net1\'s own address) never went to the card');
  assert.equal(r.nic.violations, []);
});

test('frames the driver refuses to send or pass on: oversize, runt from the wire, a header with offloads', () => {
  const r = rig({}, 1);
  const drv = r.drv!;
  assert.is(drv.send(new Uint8Array(1515), 1515), false, '1515 bytes untagged is past mtu + 14');
  assert.is(drv.send(new Uint8Array(10), 10), false);
  const tagged = new Uint8Array(1518);
  tagged.set([0x81, 0x00], 12);
  tagged[6] = 2;
  assert.is(drv.send(tagged, 1518), true, '1518 bytes with an 802.1Q tag');
  drv.flush();
  assert.is(drv.counters.txBadLength, 2);
  assert.is(r.nic.sent.length, 1);
  fromWire(r, [new Uint8Array(10)]);
  assert.is(drv.counters.rxRunt, 1);
  assert.is(r.nic.rxPosted, 256, 'the runt buffer was posted again');
  assert.is(r.d[0].frames().length, 0);
});

test('link down: frames to the wire dropped and counted; link up again: sent', () => {
  const r = rig({}, 1);
  const drv = r.drv!;
  r.nic.setLink(false);
  r.s.sim.run();
  assert.is(drv.linkUp, false);
  r.d[0].send(ethFrame(HOST, M[0], payload(60, 1)));
  assert.is(r.nic.sent.length, 0);
  assert.is(drv.counters.txDown, 1);
  r.nic.setLink(true);
  r.s.sim.run();
  assert.is(drv.linkUp, true);
  r.d[0].send(ethFrame(HOST, M[0], payload(60, 2)));
  assert.is(r.nic.sent.length, 1);
  assert.ok(r.s.logs.some((l) => l === 'uplink0: link down'));
});

test('a broken used ring: the driver gives up (one log line, FAILED), never throws; frames dropped; the frontends keep forwarding', () => {
  const r = rig();
  const drv = r.drv!;
  r.nic.injectUsed(0, 999);
  r.s.sim.run();
  assert.ok(drv.failed);
  assert.match(drv.transport.failure, /names descriptor 999/);
  assert.is(r.nic.deviceStatus & DeviceStatus.FAILED, DeviceStatus.FAILED);
  assert.is(r.s.logs.filter((l) => l.includes('giving up on the device')).length, 1);
  r.d[0].send(ethFrame(HOST, M[0], payload(60, 1)));
  assert.is(drv.counters.txDown, 1);
  assert.is(r.nic.sent.length, 0);
  r.d[1].frames();
  r.d[0].send(ethFrame(M[1], M[0], payload(60, 2)));
  assert.is(r.d[1].frames().length, 1);
  assert.is(fromWire(r, [ethFrame(M[0], HOST, payload(60, 3))]), 0, 'a reset card takes no frames');
  assert.is(r.s.logs.filter((l) => l.includes('giving up on the device')).length, 1, 'logged once');
});

test('DEVICE_NEEDS_RESET and a broken transmit used ring: given up, no throw', () => {
  const a = rig({}, 0);
  a.nic.setNeedsReset();
  a.s.sim.run();
  assert.ok(a.drv!.failed);
  assert.match(a.drv!.transport.failure, /DEVICE_NEEDS_RESET/);
  const b = rig({ holdTx: true }, 1);
  b.d[0].send(ethFrame(HOST, M[0], payload(60, 1)));
  b.nic.injectUsed(1, 5);
  b.s.sim.run();
  assert.ok(b.drv!.failed);
  assert.is(b.drv!.txFreeBuffers, 256, 'the chain in flight came back to the pool');
});

test('offloads: a frontend\'s TSO frame goes out on the wire as MTU segments with complete checksums, a partial checksum completed; the frontend still gets them whole', () => {
  const r = rig();
  fromWire(r, [ethFrame(M[0], HOST, payload(60, 1))]); // HOST learned on the uplink
  r.d[0].frames();
  r.nic.sent.length = 0;
  const o: TcpFrameOptions = { dst: HOST, src: M[0], v6: true };
  const { l4, hdrLen, l3 } = tcpLayout(o);
  const mss = 1500 - (hdrLen - l3);
  const data = payload(50000, 7);
  r.d[0].send(tcpFrame(o, data, true), 2048, { flags: NetHdrFlag.NEEDS_CSUM, gsoType: GsoType.TCPV6, gsoSize: mss, csumStart: l4, csumOffset: 16, hdrLen });
  assert.is(r.nic.sent.length, Math.ceil(data.length / mss));
  const joined: number[] = [];
  for (const f of r.nic.sent) {
    const p = parseTcp(f);
    assert.ok(p.ipOk && p.tcpOk && p.lengthOk && f.length <= 1514);
    joined.push(...p.payload);
  }
  assert.equal(new Uint8Array(joined), data);
  r.nic.sent.length = 0;
  const o4: TcpFrameOptions = { dst: HOST, src: M[0] };
  const f4 = tcpFrame(o4, payload(700, 8), true);
  r.d[0].send(f4, Infinity, { flags: NetHdrFlag.NEEDS_CSUM, csumStart: tcpLayout(o4).l4, csumOffset: 16 });
  assert.is(r.nic.sent.length, 1);
  assert.ok(parseTcp(r.nic.sent[0]).tcpOk);
  assert.equal(r.nic.sent[0], tcpFrame(o4, payload(700, 8), false), 'the frame as the frontend would have completed it');
});

test.run();
