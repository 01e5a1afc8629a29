// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-net (virtio 1.2 section 5.1) through the simulated Bao, three
 * driver models on the switch: negotiation and config values, frames both
 * ways byte for byte, learning and ageing seen from the frontends,
 * broadcast, a flooding frontend held to its bucket while the others
 * exchange every frame, mergeable receive buffers, frames waiting for
 * buffers and the queue's bound, malformed transmit and receive chains,
 * resets in the middle of traffic, and seeded fuzzing of chains.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem, type System } from '../driver/system.ts';
import { BROADCAST, NetDriver, OFFLOAD_FEATURES, ethFrame, noOffloads, type NetDriverOptions } from '../driver/net.ts';
import { GsoType } from '../../src/devices/net-spec.ts';
import { parseTcp, tcpFrame, tcpLayout, type TcpFrameOptions } from '../sim/packets.ts';
import { Prng } from '../sim/prng.ts';
import { fuzzSeeds, withSeed } from '../sim/fuzz.ts';
import { testMac, testPlatform } from '../sim/platforms.ts';
import type { NetDevice } from '../../src/devices/net.ts';
import { NetFeature, NetHdr, NetHdrFlag, NetStatus } from '../../src/devices/net-spec.ts';
import { validatePlatform, type Platform } from '../../src/config/platform.ts';
import type { SwitchOptions } from '../../src/net/switch.ts';
import { DeviceId, Feature, MmioReg } from '../../src/virtio/spec.ts';

const M = [testMac(0), testMac(1), testMac(2)];
/** A second station behind net1 (e.g. a macvlan in frontend 2): an address the switch only learns. */
const X = '02:00:00:00:0b:01';

interface Rig {
  s: System;
  d: NetDriver[];
  dev: NetDevice[];
}

/**
 * A system with net0..net2 and a driver on each (options per driver; null:
 * no driver yet); `hostQueues` false: SplitQueue walks the rings itself
 * instead of the simulated host's C virtqueue.
 */
function rig(opts: (NetDriverOptions | null)[] = [{}, {}, {}], sw: SwitchOptions = {}, netMtu?: number, hostQueues = true, netOffloads?: boolean): Rig {
  const s = makeSystem({ platform: { net: true, netMtu, netOffloads }, backend: { netSwitch: sw }, sim: { hostQueues } });
  const d: NetDriver[] = [];
  const dev: NetDevice[] = [];
  for (let i = 0; i < 3; i++) {
    dev.push(s.backend.devices.get(`net${i}`)!.device as NetDevice);
    const o = opts[i];
    if (o) d[i] = new NetDriver(s.sim, s.model(`net${i}`), { vcpu: i, ...o });
  }
  return { s, d, dev };
}

function payload(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  new Prng(seed).fill(a);
  return a;
}

test('negotiation: device ID 1, MAC/STATUS/MTU/MRG_RXBUF and the checksum and TSO offloads offered, no UFO or control queue, config read back; offloads: false offers none', () => {
  const { s, d } = rig([{}, null, null], {}, 9000);
  const drv = d[0].drv;
  assert.is(drv.readl(MmioReg.DeviceID), DeviceId.NET);
  for (const bit of [NetFeature.MAC, NetFeature.STATUS, NetFeature.MTU, NetFeature.MRG_RXBUF, Feature.VERSION_1, ...OFFLOAD_FEATURES]) assert.ok(drv.has(bit), `bit ${bit}`);
  const offered = drv.deviceFeatures();
  for (const bit of [NetFeature.GUEST_UFO, NetFeature.HOST_UFO, NetFeature.CTRL_VQ, NetFeature.MQ]) {
    assert.is((offered[bit >> 5] >>> (bit & 31)) & 1, 0, `bit ${bit} not offered`);
  }
  const off = rig([{}, null, null], {}, undefined, true, false).d[0].drv.deviceFeatures();
  for (const bit of OFFLOAD_FEATURES) assert.is((off[bit >> 5] >>> (bit & 31)) & 1, 0, `bit ${bit} not offered with offloads: false`);
  assert.is(d[0].mac, M[0]);
  assert.is(d[0].status, NetStatus.LINK_UP);
  assert.is(d[0].mtu, 9000);
  assert.ok(d[0].mrg);
  assert.ok((drv.status() & 4) !== 0, 'DRIVER_OK');
  assert.is(s.platform.devices.filter((x) => x.kind === 'net').length, 3);
});

test('two frontends exchange frames byte for byte both ways through the switch (1 and several buffers)', () => {
  const { d, dev } = rig();
  const sent01: Uint8Array[] = [];
  const sent10: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const a = ethFrame(M[1], M[0], payload(46 + ((i * 97) % 1455), i));
    const b = ethFrame(M[0], M[1], payload(46 + ((i * 131) % 1455), 1000 + i));
    assert.is(d[0].send(a, i % 2 ? Infinity : 100), 0, 'transmit chains come back with length 0');
    assert.is(d[1].send(b), 0);
    sent01.push(a);
    sent10.push(b);
  }
  assert.equal(d[1].frames(), sent01);
  assert.equal(d[0].frames(), sent10);
  assert.is(dev[0].counters.txFrames, 40);
  assert.is(dev[1].counters.rxFrames, 40);
  assert.is(dev[1].counters.rxBytes, sent01.reduce((n, f) => n + f.length, 0));
  assert.is(dev[0].counters.errors + dev[1].counters.errors, 0);
});

test('learning: the first frame to an unknown MAC floods, after the answer a third port sees nothing', () => {
  const { s, d } = rig();
  d[0].send(ethFrame(X, M[0], payload(50, 1)));
  assert.is(d[1].frames().length, 1);
  assert.is(d[2].frames().length, 1, 'unknown unicast flooded');
  d[1].send(ethFrame(M[0], X, payload(50, 2)));
  assert.is(d[0].frames().length, 1);
  for (let i = 0; i < 20; i++) {
    d[0].send(ethFrame(X, M[0], payload(60, i)));
    d[1].send(ethFrame(M[0], X, payload(60, i)));
  }
  assert.is(d[1].frames().length, 20);
  assert.is(d[0].frames().length, 20);
  assert.is(d[2].frames().length, 0, 'net2 sees none of the unicast');
  const sw = s.backend.netSwitch;
  assert.is(sw.counters(0).floods, 1);
  assert.is(sw.counters(1).floods, 0);
  assert.is(sw.counters(2).txFrames, 1);
});

test('ageing: after 300 s of silence (sim clock) unicast floods again; a refreshed entry is kept', () => {
  const { s, d } = rig();
  const Y = '02:00:00:00:0a:01'; // a second station behind net0
  d[0].send(ethFrame(X, Y, payload(50, 1)));
  d[1].send(ethFrame(Y, X, payload(50, 2)));
  d[2].frames();
  s.sim.advance(200_000);
  d[1].send(ethFrame(Y, X, payload(50, 3))); // refreshes X
  s.sim.advance(150_000); // Y: 350 s, X: 150 s
  d[0].send(ethFrame(X, Y, payload(50, 4)));
  assert.is(d[2].frames().length, 0, 'X still learned');
  d[1].send(ethFrame(Y, X, payload(50, 5)));
  assert.is(d[2].frames().length, 0, 'Y relearned by its last frame');
  s.sim.advance(301_000);
  d[1].send(ethFrame(Y, X, payload(50, 6)));
  assert.is(d[2].frames().length, 1, 'aged out: flooded');
  assert.is(d[0].frames().length, 4);
  // a port's own address never ages: after 301 s more, still net0's only
  s.sim.advance(301_000);
  d[1].send(ethFrame(M[0], X, payload(50, 7)));
  assert.is(d[2].frames().length, 0, 'M[0] is net0\'s own address: not flooded');
  assert.is(d[0].frames().length, 1);
});

test('a frontend\'s own MAC is a static entry: frames to it reach its port only, also while its device is reset (refused there, never flooded); from another port it is dropped', () => {
  const { s, d, dev } = rig();
  const sw = s.backend.netSwitch;
  // never learned: net1 has not sent yet, still only net1 gets it
  const f = ethFrame(M[1], M[0], payload(80, 1));
  d[0].send(f);
  assert.equal(d[1].frames(), [f]);
  assert.is(d[2].frames().length, 0);
  assert.is(sw.counters(0).floods, 0);
  // net1's device is reset: its learned entries are forgotten, its frames refused at its port
  d[1].drv.reset();
  for (let i = 0; i < 3; i++) d[0].send(ethFrame(M[1], M[0], payload(60, 2 + i)));
  assert.is(dev[1].counters.rxNotReady, 3, 'refused by net1 while down');
  assert.is(sw.counters(1).dropEgress, 3);
  assert.is(d[2].frames().length, 0, 'net2 saw none of net1\'s frames while net1 was down');
  // net2 sending from net0's address: dropped, net0's entry stays net0's
  const before = sw.counters(2).dropBadSource;
  d[2].send(ethFrame(BROADCAST, M[0], payload(60, 9)));
  d[2].send(ethFrame(M[1], M[0], payload(60, 10)));
  assert.is(sw.counters(2).dropBadSource, before + 2);
  assert.is(d[0].frames().length, 0, 'the spoofed broadcast went nowhere');
  assert.is(sw.lookup(parseInt(M[0].split(':').join(''), 16)), 0);
  // the switch refuses a second port with an address taken
  assert.throws(() => sw.attach({ name: 'dup', deliver: () => true }, { mac: parseInt(M[2].split(':').join(''), 16) }), /net2's already/);
  assert.throws(() => sw.attach({ name: 'group', deliver: () => true }, { mac: 0x010000000001 }), /not a unicast MAC/);
});

test('broadcast reaches every other frontend, never its sender', () => {
  const { d } = rig();
  const b = ethFrame(BROADCAST, M[2], payload(28, 9), 0x0806);
  d[2].send(b);
  assert.equal(d[0].frames(), [b]);
  assert.equal(d[1].frames(), [b]);
  assert.equal(d[2].frames(), []);
});

test('a frontend flooding broadcasts is held to its bucket while the other two exchange every frame', () => {
  const { s, d, dev } = rig([{}, {}, {}], { floodRate: 100, floodBurst: 8 });
  d[0].send(ethFrame(M[1], M[0], payload(50, 1)));
  d[1].send(ethFrame(M[0], M[1], payload(50, 2)));
  d[0].frames();
  d[1].frames();
  const want01: Uint8Array[] = [];
  const want10: Uint8Array[] = [];
  const got0: Uint8Array[] = [];
  const got1: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    d[2].send(ethFrame(BROADCAST, M[2], payload(1000, i)));
    d[2].send(ethFrame(BROADCAST, M[2], payload(1000, i + 7)));
    const a = ethFrame(M[1], M[0], payload(64 + (i % 1400), 5000 + i));
    const b = ethFrame(M[0], M[1], payload(64 + ((i * 7) % 1400), 9000 + i));
    d[0].send(a);
    d[1].send(b);
    want01.push(a);
    want10.push(b);
    if (i % 4 === 0) s.sim.advance(10); // one token per 10 ms at 100/s
    for (const f of d[0].frames()) if (f[0] !== 0xff) got0.push(f);
    for (const f of d[1].frames()) if (f[0] !== 0xff) got1.push(f);
  }
  assert.equal(got1, want01, 'every frame net0 → net1, in order');
  assert.equal(got0, want10, 'every frame net1 → net0, in order');
  const c = s.backend.netSwitch.counters(2);
  assert.is(c.floods + c.dropFloodLimit, 600);
  assert.ok(c.floods <= 8 + 75 + 1 && c.floods >= 8 + 74, `floods ${c.floods}: the burst and one per 10 ms`);
  assert.is(dev[0].counters.rxQueueFull + dev[1].counters.rxQueueFull, 0);
});

test('mergeable receive buffers: a 1514-byte frame into 256-byte buffers takes 6, num_buffers 6, bytes right', () => {
  const { s, d, dev } = rig([{}, { rxBufBytes: 256 }, null]);
  const f = ethFrame(M[1], M[0], payload(1500, 42));
  const notifies = s.sim.notifyCount(8);
  d[0].send(f);
  assert.is(s.sim.notifyCount(8) - notifies, 1, 'one used buffer notification for the frame');
  const r = d[1].receive();
  assert.is(r.length, 1);
  assert.is(r[0].numBuffers, Math.ceil((NetHdr.SIZE + 1514) / 256));
  assert.is(r[0].numBuffers, 6);
  assert.equal(r[0].frame, f);
  assert.equal([r[0].flags, r[0].gsoType], [0, 0]);
  const small = ethFrame(M[1], M[0], payload(100, 43));
  d[0].send(small);
  const r2 = d[1].receive();
  assert.is(r2[0].numBuffers, 1);
  assert.equal(r2[0].frame, small);
  assert.is(dev[1].rxHeldChains, 0);
});

test('mergeable: a frame bigger than the posted buffers waits for more, then arrives whole', () => {
  const { d, dev } = rig([{}, { rxBufBytes: 256, rxBuffers: 2 }, null]);
  const f = ethFrame(M[1], M[0], payload(1000, 7));
  d[0].send(f);
  assert.equal(d[1].frames(false), []);
  assert.is(dev[1].rxQueuedFrames, 1);
  assert.is(dev[1].rxHeldChains, 2);
  d[1].post(1);
  assert.equal(d[1].frames(false), [], 'still 768 bytes of 1026');
  d[1].post(2);
  const r = d[1].receive();
  assert.is(r.length, 1);
  assert.is(r[0].numBuffers, 5);
  assert.equal(r[0].frame, f);
  assert.is(dev[1].rxQueuedFrames, 0);
});

test('mergeable: a frame that can never fit (every descriptor held) is dropped, the next one delivered', () => {
  const { d, dev } = rig([{}, { rxBufBytes: 128, queueSize: 4 }, null]);
  d[0].send(ethFrame(M[1], M[0], payload(1000, 1)));
  const ok = ethFrame(M[1], M[0], payload(200, 2));
  d[0].send(ok);
  assert.equal(d[1].frames(), [ok]);
  assert.is(dev[1].counters.rxTooBig, 1);
});

test('mergeable: a driver posting a held head again gets no more than Queue Size chains held', () => {
  const { d, dev } = rig([{}, { rxBufBytes: 128, queueSize: 8, rxBuffers: 1 }, {}]);
  const head = 0; // the one buffer posted
  for (let i = 0; i < 7; i++) d[1].rx.publish(head);
  d[1].rx.forceKick();
  d[0].send(ethFrame(M[1], M[0], payload(1500, 1)));
  assert.is(dev[1].rxHeldChains, 8);
  assert.is(dev[1].counters.rxTooBig, 1, '8 × 128 bytes never hold 1526');
  for (let i = 0; i < 8; i++) d[1].rx.publish(head);
  d[1].rx.forceKick();
  d[0].send(ethFrame(M[1], M[0], payload(1500, 2)));
  assert.is(dev[1].rxHeldChains, 8, 'still 8: the device pops no more than Queue Size');
  assert.is(dev[1].counters.rxTooBig, 2);
  assert.not.ok(d[1].drv.needsReset());
  const f = ethFrame(M[2], M[0], payload(100, 3));
  d[0].send(f);
  assert.equal(d[2].frames().slice(-1), [f], 'the other ports keep forwarding');
});

test('without MRG_RXBUF: a frame needs one chain; a chain too small drops the frame and serves the next', () => {
  const { d, dev } = rig([{}, { accept: (b) => b !== NetFeature.MRG_RXBUF, rxBufBytes: 300 }, null]);
  assert.not.ok(d[1].mrg);
  const big = ethFrame(M[1], M[0], payload(1000, 1));
  const small = ethFrame(M[1], M[0], payload(200, 2));
  d[0].send(big);
  d[0].send(small);
  const r = d[1].receive();
  assert.is(r.length, 1);
  assert.equal(r[0].frame, small);
  assert.is(r[0].numBuffers, 1, 'num_buffers is 1 without MRG_RXBUF (5.1.6.4)');
  assert.is(dev[1].counters.rxTooBig, 1);
  assert.is(d[1].emptyUsed, 0, 'the chain was kept for the next frame');
});

test('no receive buffers: frames wait, then arrive in order with one notification when buffers come', () => {
  // without event idx every used buffer notification the device asks for is one the transport sends
  const { s, d, dev } = rig([{}, { rxBuffers: 0, accept: (b) => b !== Feature.RING_EVENT_IDX }, null]);
  const t1 = s.backend.devices.get('net1')!.transport;
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const f = ethFrame(M[1], M[0], payload(60 + i * 50, i));
    d[0].send(f);
    sent.push(f);
  }
  assert.is(dev[1].rxQueuedFrames, 20);
  const before = t1.counters.usedNotifications;
  d[1].post(32);
  assert.is(t1.counters.usedNotifications - before, 1, 'one notification for the burst of 20 frames');
  assert.equal(d[1].frames(), sent);
  assert.is(dev[1].rxQueuedFrames, 0);
});

test('the receive queue is bounded: beyond 256 frames drops are counted at that port only, others keep forwarding', () => {
  const { s, d, dev } = rig([{}, { rxBuffers: 0 }, {}]);
  d[1].send(ethFrame(M[0], M[1], payload(50, 0))); // learn M[1]
  d[0].frames();
  d[2].frames();
  for (let i = 0; i < 300; i++) d[0].send(ethFrame(M[1], M[0], payload(60, i)));
  assert.is(dev[1].rxQueuedFrames, 256);
  assert.is(dev[1].counters.rxQueueFull, 44);
  assert.is(s.backend.netSwitch.counters(1).dropEgress, 44);
  const f = ethFrame(M[2], M[0], payload(80, 1));
  d[0].send(f);
  assert.equal(d[2].frames().slice(-1), [f], 'net0 → net2 still forwarded');
  d[2].send(ethFrame(M[0], M[2], payload(80, 2)));
  assert.is(d[0].frames().length, 1);
  d[1].post(256);
  const got = d[1].frames();
  assert.is(got.length, 256);
  assert.equal(got[255], ethFrame(M[1], M[0], payload(60, 255)), 'the first 256 kept, in order');
});

test('the byte bound: big frames stop at 512 KiB', () => {
  const { d, dev } = rig([{}, { rxBuffers: 0 }, null], {}, 9000);
  d[1].send(ethFrame(M[0], M[1], payload(50, 0)));
  for (let i = 0; i < 100; i++) d[0].send(ethFrame(M[1], M[0], payload(9000, i)));
  assert.is(dev[1].rxQueuedFrames, Math.floor((512 * 1024) / 9014));
  assert.is(dev[1].counters.rxQueueFull, 100 - Math.floor((512 * 1024) / 9014));
});

test('malformed transmit chains are dropped, counted, logged and returned with length 0; good ones still pass', () => {
  const { s, d, dev } = rig([{ accept: noOffloads }, {}, {}]);
  d[1].send(ethFrame(M[0], M[1], payload(50, 0)));
  d[0].frames();
  d[2].frames();
  const good = ethFrame(M[1], M[0], payload(100, 1));
  const hdr = new Uint8Array(NetHdr.SIZE);
  const c = dev[0].counters;
  assert.is(d[0].sendRaw([new Uint8Array(11)]), 0, 'shorter than the header');
  assert.is(d[0].sendRaw([hdr]), 0, 'header, no frame');
  assert.is(d[0].sendRaw([hdr, good.subarray(0, 13)]), 0, 'runt frame');
  assert.is(d[0].sendRaw([hdr, good], [64]), 0, 'a device-writable buffer');
  const outside = s.model('net1').shmem.base + 4096; // net1's region, not net0's
  assert.is(d[0].sendRaw([hdr], [], [{ addr: outside, len: good.length }]), 0, 'a buffer outside the shared region');
  assert.is(d[0].send(ethFrame(M[1], M[0], payload(1501, 2))), 0, 'oversize untagged');
  const needsCsum = hdr.slice();
  needsCsum[NetHdr.flags] = NetHdrFlag.NEEDS_CSUM;
  assert.is(d[0].sendRaw([needsCsum, good]), 0, 'NEEDS_CSUM without CSUM');
  const gso = hdr.slice();
  gso[NetHdr.gso_type] = 1;
  assert.is(d[0].sendRaw([gso, good]), 0, 'a gso_type without HOST_TSO4');
  assert.equal([c.txBadChain, c.txBadLength, c.txBadHeader], [3, 3, 2]);
  assert.is(c.txFrames, 0);
  assert.equal(d[1].frames(), [], 'none reached the switch');
  assert.is(s.backend.netSwitch.counters(0).rxFrames, 0);
  // tagged frames may carry 4 bytes more
  const tagged = ethFrame(M[1], M[0], payload(1504, 3), 0x8100);
  assert.is(tagged.length, 1518);
  d[0].send(tagged);
  d[0].send(good);
  assert.equal(d[1].frames(), [tagged, good]);
  assert.not.ok(d[0].drv.needsReset());
  assert.ok(s.logs.some((l) => /net0: dropped a transmit chain: it has device-writable buffers/.test(l)), s.logs.join('\n'));
  assert.ok(s.logs.some((l) => /net0: dropped a transmit chain: it carries an untagged frame of 1515 bytes/.test(l)));
});

test('malformed receive chains (readable buffers, shorter than the header, outside the region) are returned with length 0', () => {
  const { s, d, dev } = rig([{}, { rxBuffers: 0 }, null]);
  d[1].postRawRx([64], [2000]);
  d[1].postRawRx([], [8]);
  d[1].postRawRx([], [], [{ addr: s.model('net0').shmem.base, len: 2000 }]);
  d[1].post(1);
  const f = ethFrame(M[1], M[0], payload(500, 1));
  d[0].send(f);
  const r = d[1].receive();
  assert.equal(r.map((x) => x.frame), [f]);
  assert.is(d[1].emptyUsed, 3);
  assert.is(dev[1].counters.rxBadChain, 3);
  assert.not.ok(d[1].drv.needsReset());
});

test('reset in the middle of traffic: queued frames and held chains dropped, the port refuses while down, a new driver gets only new frames', () => {
  const { s, d, dev } = rig([{}, { rxBufBytes: 256, rxBuffers: 2 }, {}]);
  d[1].send(ethFrame(M[0], M[1], payload(50, 0)));
  for (let i = 0; i < 5; i++) d[0].send(ethFrame(M[1], M[0], payload(1400, i)));
  assert.is(dev[1].rxQueuedFrames, 5);
  assert.is(dev[1].rxHeldChains, 2);
  d[1].drv.reset();
  assert.is(dev[1].counters.rxResetDropped, 5);
  assert.is(dev[1].rxHeldChains, 0);
  d[0].send(ethFrame(M[1], M[0], payload(100, 9)));
  assert.is(dev[1].counters.rxNotReady, 1, 'refused while the driver is down');
  assert.is(s.backend.netSwitch.lookup(parseInt(M[1].split(':').join(''), 16)), -1, 'the switch forgot the port');
  const again = new NetDriver(s.sim, s.model('net1'), { vcpu: 1 });
  const f = ethFrame(M[1], M[0], payload(1400, 10));
  d[0].send(f);
  assert.equal(again.frames(), [f], 'no stale frame, no stale head');
  again.send(ethFrame(M[0], M[1], payload(60, 11)));
  assert.is(d[0].frames().length, 2, 'the flood after the reset and the answer');
  // the sender resets between bursts; its peer keeps going
  d[0].drv.reset();
  const d0 = new NetDriver(s.sim, s.model('net0'), { vcpu: 0 });
  const g = ethFrame(M[1], M[0], payload(700, 12));
  d0.send(g);
  assert.equal(again.frames(), [g]);
  assert.is(d[2].frames().length, 0, 'every frame was for a frontend\'s own address: net2 saw none, also while net1 was down');
  assert.not.ok(again.drv.needsReset() || d0.drv.needsReset() || d[2].drv.needsReset());
});

test('a receive queue reset (VIRTIO_F_RING_RESET) drops the held chains; the re-enabled queue gets no stale head', () => {
  const { d, dev } = rig([{}, { rxBufBytes: 256, rxBuffers: 2 }, null]);
  d[0].send(ethFrame(M[1], M[0], payload(1400, 1)));
  assert.is(dev[1].rxHeldChains, 2);
  const drv = d[1].drv;
  assert.ok(drv.has(Feature.RING_RESET));
  drv.writel(MmioReg.QueueSel, 0);
  drv.writel(MmioReg.QueueReset, 1);
  assert.is(drv.readl(MmioReg.QueueReset), 1);
  // set the queue up again on fresh rings (Linux's virtqueue_resize path)
  d[1].rx.release();
  const rx = drv.setupQueue(0, 8);
  const bufs: number[] = [];
  for (let i = 0; i < 8; i++) {
    const a = drv.pool.alloc(256, 16);
    bufs.push(a);
    rx.add([], [{ addr: a, len: 256 }]);
  }
  rx.kick();
  const used: { id: number; len: number }[] = [];
  drv.handleInterrupt();
  for (let u = rx.getUsed(); u; u = rx.getUsed()) used.push(u);
  assert.is(used.length, 6, 'the waiting frame, in six of the new buffers');
  assert.ok(used.every((u) => u.id < 8), 'heads of the new ring only');
  assert.is(drv.mem.r16(bufs[used[0].id] + NetHdr.num_buffers), 6);
  assert.is(dev[1].rxHeldChains, 0);
});

test('seeded fuzzing (both ring walkers): random chains on one port never throw out of the device; the other two forward every frame', () => {
  const seeds = fuzzSeeds(0x5e7, 12);
  const total = { txBadChain: 0, txBadLength: 0, txBadHeader: 0, rxBadChain: 0, rxTooBig: 0, rxFrames: 0 };
  for (const seed of seeds) {
    withSeed(seed, () => {
      const r = new Prng(seed);
      // odd seeds: the rings walked by SplitQueue itself; even: by the host's C virtqueue (simulated)
      const { s, d, dev } = rig([{}, {}, { rxBuffers: 0, accept: (b) => b !== NetFeature.MRG_RXBUF || r.chance(0.5) }], {}, undefined, (seed & 1) === 0);
      const base2 = s.model('net2').shmem.base;
      const want: Uint8Array[] = [];
      const got: Uint8Array[] = [];
      for (let round = 0; round < 60; round++) {
        // net2: a random transmit chain
        const parts: Uint8Array[] = [];
        for (let k = r.range(0, 4); k > 0; k--) {
          const p = new Uint8Array(r.pick([0, 1, 11, 12, 13, 14, 26, 60, 1514, 1526, 1530, 3000]));
          r.fill(p);
          if (p.length >= 14 && r.chance(0.5)) p.set([0, 0, 0, 0, 0, 0, 0, 0], 0); // a clean header
          parts.push(p);
        }
        const inLens = r.chance(0.2) ? [r.range(0, 100)] : [];
        const extra = r.chance(0.15) ? [{ addr: r.pick([base2 - 64, base2 + (1 << 20) - 8, 0x40000000, 2 ** 40]), len: r.range(0, 128) }] : [];
        if (parts.length + inLens.length + extra.length === 0) parts.push(new Uint8Array(0));
        assert.is(d[2].sendRaw(parts, inLens, extra), 0);
        // net2: random receive chains
        if (r.chance(0.5)) {
          d[2].postRawRx(r.chance(0.2) ? [r.range(1, 40)] : [], [r.range(0, 2000)], r.chance(0.1) ? [{ addr: base2 + (1 << 20) - 16, len: 64 }] : []);
          d[2].rx.kick();
        }
        d[2].receive(false);
        // net0 ↔ net1: good traffic, which must all arrive
        const a = ethFrame(r.chance(0.1) ? BROADCAST : M[1], M[0], payload(r.range(46, 1500), round));
        d[0].send(a);
        want.push(a);
        for (const f of d[1].frames()) got.push(f);
        d[1].send(ethFrame(M[0], M[1], payload(60, round)));
        d[0].frames();
      }
      const fromNet0 = got.filter((f) => f[6] === 0x52 && f[11] === 0x01);
      assert.equal(fromNet0, want, 'every frame of net0 reached net1, in order');
      for (let i = 0; i < 3; i++) assert.not.ok(d[i].drv.needsReset(), `net${i} needs no reset`);
      assert.is(dev[0].counters.errors + dev[1].counters.errors, 0);
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += dev[2].counters[k];
    });
  }
  if (seeds.length > 1) {
    for (const [k, v] of Object.entries(total)) assert.ok(v > 0, `the fuzzed chains exercised ${k}: ${JSON.stringify(total)}`);
  }
});

test('seeded register chaos on one port (resets, queue toggles, kicks, config writes) mid-traffic: the others forward every frame, the port comes back', () => {
  const OFFS = [MmioReg.Status, MmioReg.QueueSel, MmioReg.QueueNum, MmioReg.QueueReady, MmioReg.QueueNotify, MmioReg.QueueReset,
    MmioReg.QueueDescLow, MmioReg.QueueDriverLow, MmioReg.QueueDeviceLow, MmioReg.DriverFeatures, MmioReg.DriverFeaturesSel,
    MmioReg.InterruptACK, MmioReg.Config, MmioReg.Config + 4, MmioReg.Config + 8];
  for (const seed of fuzzSeeds(0xc4a05, 6)) {
    withSeed(seed, () => {
      const r = new Prng(seed);
      const { s, d } = rig();
      const w2 = s.model('net2');
      const want: Uint8Array[] = [];
      const got: Uint8Array[] = [];
      for (let i = 0; i < 200; i++) {
        if (r.chance(0.5)) {
          const off = r.pick(OFFS);
          if (r.chance(0.3)) s.sim.load(2, w2.window.base + off, 4);
          else s.sim.store(2, w2.window.base + off, 4, r.chance(0.5) ? r.below(16) : r.pick([w2.shmem.base, w2.shmem.base + 0x1000, r.u32()]));
        }
        const f = ethFrame(r.chance(0.2) ? BROADCAST : M[1], M[0], payload(r.range(46, 1500), seed + i));
        d[0].send(f);
        want.push(f);
        for (const x of d[1].frames()) if (x[11] === 0x01) got.push(x);
        if (r.chance(0.3)) {
          d[1].send(ethFrame(M[2], M[1], payload(60, i))); // towards the port in chaos
          d[0].frames();
        }
      }
      assert.equal(got, want, 'net0 → net1: every frame, in order');
      assert.not.ok(d[0].drv.needsReset() || d[1].drv.needsReset());
      assert.not.ok(s.logs.some((l) => /threw|exception/.test(l)), s.logs.filter((l) => /threw|exception/.test(l)).join('\n'));
      const t2 = s.backend.devices.get('net2')!.transport.counters;
      assert.ok(t2.resets > 0 && t2.writes > 50, `the chaos reached net2: ${JSON.stringify(t2)}`);
      const again = new NetDriver(s.sim, w2, { vcpu: 2 });
      const g = ethFrame(M[2], M[0], payload(300, 1));
      d[0].send(g);
      assert.equal(again.frames().filter((x) => x[11] === 0x01), [g], 'net2 re-probed serves again');
    });
  }
});

test('platform checks: a net device needs a unicast MAC unique among net devices, an MTU in range; others have none', () => {
  const refused = (mutate: (p: Platform) => void, re: RegExp) => {
    const p = JSON.parse(JSON.stringify(testPlatform({ net: true }))) as Platform;
    mutate(p);
    assert.throws(() => validatePlatform(p), re);
  };
  const net = (p: Platform, i: number) => p.devices.find((x) => x.name === `net${i}`)!;
  const at = (p: Platform, i: number) => p.devices.indexOf(net(p, i));
  refused((p) => { delete net(p, 0).mac; }, /devices\[4\]\.mac: a net device needs a MAC/);
  refused((p) => { net(p, 0).mac = '52:54:00:00:01'; }, /\.mac: a net device needs a MAC written xx:xx:xx:xx:xx:xx/);
  refused((p) => { net(p, 0).mac = '01:00:5e:00:00:01'; }, /\.mac: 01:00:5e:00:00:01 is not a unicast address/);
  refused((p) => { net(p, 0).mac = '00:00:00:00:00:00'; }, /is not a unicast address/);
  refused((p) => { net(p, 2).mac = '52:54:00:00:00:01'; }, new RegExp(`devices\\[6\\]\\.mac: shared with devices\\[4\\]`));
  refused((p) => { net(p, 1).mtu = 67; }, /devices\[5\]\.mtu: must be an integer from 68 to 65535/);
  refused((p) => { net(p, 1).mtu = 65536; }, /\.mtu: must be an integer/);
  refused((p) => { p.devices[0].mac = '52:54:00:00:00:09'; }, /devices\[0\]\.mac: a blk device has no MAC address/);
  refused((p) => { p.devices[0].isolated = true; }, /devices\[0\]\.isolated: a blk device has no port isolation/);
  assert.is(at(testPlatform({ net: true }) as Platform, 0), 4);
});


/** The header a Linux driver writes for a frame built with `o`: partial checksum, GSO of `mss` when given. */
function offloadHeader(o: TcpFrameOptions, mss = 0): { flags: number; gsoType: number; gsoSize: number; csumStart: number; csumOffset: number; hdrLen: number } {
  const { l4, hdrLen } = tcpLayout(o);
  return { flags: NetHdrFlag.NEEDS_CSUM, gsoType: mss ? (o.v6 ? GsoType.TCPV6 : GsoType.TCPV4) : 0, gsoSize: mss, csumStart: l4, csumOffset: 16, hdrLen: mss ? hdrLen : 0 };
}

test('offloads: a TSO frame reaches a GUEST_TSO frontend whole with its header, a frontend without offloads as verified segments; a partial checksum is completed only for the port that needs it', () => {
  const { s, d, dev } = rig([{}, {}, { accept: noOffloads }]);
  // learn net1 and net2
  d[1].send(ethFrame(M[0], M[1], payload(50, 0)));
  d[2].send(ethFrame(M[0], M[2], payload(50, 0)));
  d[0].frames();
  for (const v6 of [false, true]) {
    for (const to of [1, 2]) {
      const o: TcpFrameOptions = { dst: M[to], src: M[0], v6 };
      const mss = 1500 - (tcpLayout(o).hdrLen - tcpLayout(o).l3);
      const data = payload(30000, to + (v6 ? 10 : 0));
      const f = tcpFrame(o, data, true);
      assert.is(d[0].send(f, 4096, offloadHeader(o, mss)), 0);
      const got = d[to].receive();
      if (to === 1) {
        assert.is(got.length, 1, 'one GSO frame');
        const r = got[0];
        assert.equal(r.frame, f, 'bytes as sent, checksum partial');
        assert.equal([r.flags, r.gsoType, r.gsoSize, r.csumStart, r.csumOffset, r.hdrLen], [NetHdrFlag.NEEDS_CSUM, v6 ? GsoType.TCPV6 : GsoType.TCPV4, mss, tcpLayout(o).l4, 16, tcpLayout(o).hdrLen]);
        assert.ok(r.numBuffers > 1, 'merged over several 1526-byte buffers');
      } else {
        assert.is(got.length, Math.ceil(data.length / mss), 'segments');
        const joined: number[] = [];
        for (const r of got) {
          assert.equal([r.flags, r.gsoType], [0, 0]);
          const p = parseTcp(r.frame);
          assert.ok(p.ipOk && p.tcpOk && p.lengthOk);
          assert.ok(r.frame.length <= 1514);
          joined.push(...p.payload);
        }
        assert.equal(new Uint8Array(joined), data);
      }
    }
  }
  // a partial checksum without GSO, flooded (net2 sent nothing yet from this MAC: unknown unicast floods to both)
  const o: TcpFrameOptions = { dst: '52:54:00:99:99:99', src: M[0] };
  const f = tcpFrame(o, payload(999, 5), true);
  d[0].send(f, Infinity, offloadHeader(o));
  const r1 = d[1].receive();
  const r2 = d[2].receive();
  assert.equal(r1.map((r) => [r.frame, r.flags, r.csumStart, r.csumOffset]), [[f, NetHdrFlag.NEEDS_CSUM, 34, 16]], 'net1 takes it partial');
  assert.is(r2.length, 1);
  assert.is(r2[0].flags, 0);
  assert.ok(parseTcp(r2[0].frame).tcpOk, 'net2 gets it completed');
  assert.not.ok(parseTcp(r1[0].frame).tcpOk, 'net1\'s copy untouched by the completion');
  assert.equal(r2[0].frame.subarray(0, 50), f.subarray(0, 50));
  // a frame whose offload the sender did not negotiate: dropped at net2
  const c2 = dev[2].counters;
  assert.is(d[2].send(tcpFrame({ dst: M[0], src: M[2] }, payload(10, 1), true), Infinity, offloadHeader({ dst: M[0], src: M[2] })), 0);
  assert.is(c2.txBadHeader, 1);
  assert.equal(d[0].frames(), []);
  assert.ok(s.logs.some((l) => /net2: dropped a transmit chain: it asks for a checksum offload not negotiated/.test(l)), s.logs.join('\n'));
  // a malformed GSO header: dropped and counted, the next frame passes
  const bad = tcpFrame({ dst: M[1], src: M[0] }, payload(5000, 3), true);
  assert.is(d[0].send(bad, Infinity, { ...offloadHeader({ dst: M[1], src: M[0] }, 1460), csumOffset: 6 }), 0);
  assert.is(dev[0].counters.txBadHeader, 1);
  assert.equal(d[1].frames(), []);
  assert.ok(s.logs.some((l) => /net0: dropped a transmit chain: it is a GSO frame whose checksum/.test(l)));
  const small = ethFrame(M[1], M[0], payload(60, 4));
  d[0].send(small);
  assert.equal(d[1].frames(), [small]);
});

test('offloads: GSO frames into a GUEST_TSO frontend without MRG_RXBUF need big buffers; into small ones they are dropped and counted', () => {
  const { d, dev } = rig([{}, { accept: (b) => b !== NetFeature.MRG_RXBUF, rxBufBytes: 12 + 65550, rxBuffers: 4 }, { accept: (b) => b !== NetFeature.MRG_RXBUF }]);
  d[1].send(ethFrame(M[0], M[1], payload(50, 0)));
  d[2].send(ethFrame(M[0], M[2], payload(50, 0)));
  d[0].frames();
  const o1: TcpFrameOptions = { dst: M[1], src: M[0] };
  const f1 = tcpFrame(o1, payload(60000, 1), true);
  d[0].send(f1, 8192, offloadHeader(o1, 1448));
  const got = d[1].receive();
  assert.is(got.length, 1);
  assert.equal(got[0].frame, f1);
  assert.is(got[0].gsoSize, 1448);
  const o2: TcpFrameOptions = { dst: M[2], src: M[0] };
  d[0].send(tcpFrame(o2, payload(60000, 2), true), 8192, offloadHeader(o2, 1448));
  assert.equal(d[2].frames(), []);
  assert.is(dev[2].counters.rxTooBig, 1);
});
test.run();
