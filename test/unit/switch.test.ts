// SPDX-License-Identifier: Apache-2.0
/**
 * The learning Ethernet switch (src/net/switch.ts) with recording ports
 * and a clock the test moves: learning, moves, ageing, flooding and never
 * back to the ingress port, the per-port flood bucket, egress drops counted
 * at the slow port, port isolation, the MAC table's bounds, bad frames.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EthernetSwitch, formatMac, isGroupMac, macAt, parseMac, type SwitchOptions, type SwitchPort } from '../../src/net/switch.ts';

/** A port that records what it gets; `room` frames, then it refuses. */
class RecPort implements SwitchPort {
  readonly got: Uint8Array[] = [];
  flushes = 0;
  constructor(readonly name: string, public room = Infinity) {}
  deliver(frame: Uint8Array, len: number): boolean {
    if (this.got.length >= this.room) return false;
    this.got.push(frame.slice(0, len));
    return true;
  }
  flush(): void {
    this.flushes++;
  }
}

class Clock {
  ns = 1e9;
  nowNs(): number {
    return this.ns;
  }
  ms(n: number): void {
    this.ns += n * 1e6;
  }
}

const MAC = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04'];

function frame(dst: string, src: string, tag = 0, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  const put = (m: string, o: number) => m.split(':').forEach((h, i) => { f[o + i] = parseInt(h, 16); });
  put(dst, 0);
  put(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f[14] = tag & 0xff;
  f[15] = tag >>> 8;
  return f;
}

function rig(n: number, options: SwitchOptions = {}, isolated: boolean[] = []): { sw: EthernetSwitch; clock: Clock; ports: RecPort[] } {
  const clock = new Clock();
  const sw = new EthernetSwitch(clock, options);
  const ports: RecPort[] = [];
  for (let i = 0; i < n; i++) {
    const p = new RecPort(`p${i}`);
    assert.is(sw.attach(p, { isolated: isolated[i] ?? false }), i);
    ports.push(p);
  }
  return { sw, clock, ports };
}

const counts = (ports: RecPort[]) => ports.map((p) => p.got.length);

test('MAC helpers: parse, format, group bit, from frame bytes', () => {
  assert.is(parseMac('52:54:00:AB:cd:0f'), 0x525400abcd0f);
  assert.is(formatMac(0x525400abcd0f), '52:54:00:ab:cd:0f');
  assert.is(parseMac('52:54:00:ab:cd'), -1);
  assert.is(parseMac('52-54-00-ab-cd-0f'), -1);
  assert.is(parseMac('gg:54:00:ab:cd:0f'), -1);
  assert.ok(isGroupMac(parseMac('ff:ff:ff:ff:ff:ff')));
  assert.ok(isGroupMac(parseMac('01:00:5e:00:00:01')));
  assert.ok(isGroupMac(parseMac('33:33:00:00:00:01')));
  assert.not.ok(isGroupMac(parseMac('02:00:00:00:00:01')));
  assert.is(macAt(frame(MAC[1], MAC[0]), 6), parseMac(MAC[0]));
});

test('unknown unicast floods to every other port; the answer is learned and goes to one port only', () => {
  const { sw, ports } = rig(3);
  assert.is(sw.forward(0, frame(MAC[1], MAC[0]), 60), 2, 'flooded to ports 1 and 2');
  assert.equal(counts(ports), [0, 1, 1], 'never back to the ingress port');
  assert.is(sw.lookup(parseMac(MAC[0])), 0, 'source learned');
  assert.is(sw.forward(1, frame(MAC[0], MAC[1], 7), 60), 1);
  assert.equal(counts(ports), [1, 1, 1], 'to the learned port only');
  assert.is(ports[0].got[0][14], 7);
  sw.forward(0, frame(MAC[1], MAC[0], 8), 60);
  assert.equal(counts(ports), [1, 2, 1], 'port 2 sees nothing once both are learned');
  assert.is(sw.counters(0).floods, 1);
  assert.is(sw.counters(1).floods, 0);
  assert.equal([sw.counters(0).rxFrames, sw.counters(1).txFrames, sw.counters(1).txBytes], [2, 2, 120]);
});

test('broadcast and multicast flood to every other port; flush reaches each port given frames once', () => {
  const { sw, ports } = rig(4);
  sw.forward(2, frame('ff:ff:ff:ff:ff:ff', MAC[2]), 60);
  sw.forward(2, frame('01:00:5e:00:00:fb', MAC[2]), 60);
  assert.equal(counts(ports), [2, 2, 0, 2]);
  sw.flush();
  assert.equal(ports.map((p) => p.flushes), [1, 1, 0, 1]);
  sw.flush();
  assert.equal(ports.map((p) => p.flushes), [1, 1, 0, 1], 'nothing new: no flush');
  assert.is(sw.counters(2).floods, 2);
});

test('a destination learned on the ingress port is dropped there; a station that moves is followed', () => {
  const { sw, ports } = rig(3);
  sw.forward(0, frame(MAC[2], MAC[0]), 60);
  sw.forward(0, frame(MAC[0], MAC[3]), 60); // MAC[3] learned on 0, destination MAC[0] on 0 too
  assert.is(sw.counters(0).dropSameSegment, 1);
  assert.equal(counts(ports), [0, 1, 1]);
  sw.forward(1, frame(MAC[2], MAC[0]), 60); // MAC[0] now sends from port 1 (MAC[2] unknown: flooded)
  assert.is(sw.lookup(parseMac(MAC[0])), 1);
  assert.equal(counts(ports), [1, 1, 2]);
  sw.forward(2, frame(MAC[0], MAC[2]), 60);
  assert.equal(counts(ports), [1, 2, 2], 'to port 1, where MAC[0] moved');
  assert.is(sw.counters(1).learned, 1);
});

test('ageing: an entry unseen for the ageing time is forgotten, one refreshed is kept', () => {
  const { sw, clock, ports } = rig(3, { ageingMs: 1000 });
  sw.forward(0, frame(MAC[1], MAC[0]), 60);
  sw.forward(1, frame(MAC[0], MAC[1]), 60);
  clock.ms(900);
  sw.forward(1, frame(MAC[0], MAC[1]), 60); // refreshes MAC[1]; MAC[0] is 900 ms old
  assert.equal(counts(ports), [2, 1, 1]);
  clock.ms(200); // MAC[0]: 1100 ms, MAC[1]: 200 ms
  assert.is(sw.lookup(parseMac(MAC[0])), -1, 'aged out');
  assert.is(sw.lookup(parseMac(MAC[1])), 1, 'refreshed');
  sw.forward(1, frame(MAC[0], MAC[1]), 60);
  assert.equal(counts(ports), [3, 1, 2], 'unknown again: flooded');
  clock.ms(5000);
  assert.is(sw.sweep(), 1, 'MAC[1] swept (MAC[0] went at its lookup and came back with no frame)');
  assert.is(sw.macCount, 0);
});

test('the flood bucket: burst at once, then the rate; unicast between learned ports is not limited', () => {
  const { sw, clock, ports } = rig(3, { floodRate: 100, floodBurst: 10 });
  sw.forward(0, frame(MAC[1], MAC[0]), 60);
  sw.forward(1, frame(MAC[0], MAC[1]), 60);
  for (let i = 0; i < 50; i++) sw.forward(2, frame('ff:ff:ff:ff:ff:ff', MAC[2], i), 60);
  assert.is(sw.counters(2).floods, 10);
  assert.is(sw.counters(2).dropFloodLimit, 40);
  for (let i = 0; i < 200; i++) {
    sw.forward(0, frame(MAC[1], MAC[0], i), 60);
    sw.forward(1, frame(MAC[0], MAC[1], i), 60);
  }
  assert.is(ports[0].got.length, 1 + 10 + 200, 'every unicast frame arrived');
  assert.is(ports[1].got.length, 1 + 10 + 200);
  assert.is(sw.counters(0).dropFloodLimit + sw.counters(1).dropFloodLimit, 0);
  clock.ms(50); // 5 tokens
  for (let i = 0; i < 20; i++) sw.forward(2, frame('ff:ff:ff:ff:ff:ff', MAC[2], i), 60);
  assert.is(sw.counters(2).floods, 15);
  clock.ms(10_000); // capped at the burst
  for (let i = 0; i < 20; i++) sw.forward(2, frame('ff:ff:ff:ff:ff:ff', MAC[2], i), 60);
  assert.is(sw.counters(2).floods, 25);
  assert.is(sw.counters(2).dropFloodLimit, 40 + 15 + 10);
});

test('a slow port drops only its own frames, counted at that port', () => {
  const { sw, ports } = rig(3);
  ports[2].room = 3;
  for (let i = 0; i < 10; i++) sw.forward(0, frame('ff:ff:ff:ff:ff:ff', MAC[0], i), 60);
  assert.equal(counts(ports), [0, 10, 3]);
  assert.is(sw.counters(2).dropEgress, 7);
  assert.is(sw.counters(1).dropEgress, 0);
  assert.is(sw.counters(0).floods, 10);
});

test('isolation: isolated ports reach only non-isolated ones, by flood and by unicast', () => {
  // ports 0 and 1 isolated (two frontends), port 2 not (the uplink)
  const { sw, ports } = rig(3, {}, [true, true, false]);
  sw.forward(0, frame('ff:ff:ff:ff:ff:ff', MAC[0]), 60);
  assert.equal(counts(ports), [0, 0, 1], 'the broadcast reaches the uplink only');
  sw.forward(1, frame('ff:ff:ff:ff:ff:ff', MAC[1]), 60);
  assert.equal(counts(ports), [0, 0, 2]);
  sw.forward(0, frame(MAC[1], MAC[0]), 60);
  assert.equal(counts(ports), [0, 0, 2], 'unicast between isolated ports: dropped');
  assert.is(sw.counters(0).dropPolicy, 1);
  sw.forward(2, frame('ff:ff:ff:ff:ff:ff', MAC[2]), 60);
  assert.equal(counts(ports), [1, 1, 2], 'the uplink reaches both');
  sw.forward(2, frame(MAC[0], MAC[2]), 60);
  sw.forward(0, frame(MAC[2], MAC[0]), 60);
  assert.equal(counts(ports), [2, 1, 3]);
});

test('the MAC table: a port spraying sources replaces its own oldest entries, others keep theirs', () => {
  const { sw, clock, ports } = rig(3, { maxMacs: 16, maxMacsPerPort: 4 });
  sw.forward(0, frame(MAC[1], MAC[0]), 60);
  sw.forward(1, frame(MAC[0], MAC[1]), 60);
  for (let i = 0; i < 1000; i++) {
    clock.ms(1);
    const src = `02:aa:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    sw.forward(2, frame(MAC[0], src), 60);
  }
  assert.ok(sw.macCount <= 2 + 4, `${sw.macCount} entries`);
  assert.is(sw.lookup(parseMac(MAC[0])), 0);
  assert.is(sw.lookup(parseMac(MAC[1])), 1);
  assert.is(sw.lookup(parseMac('02:aa:00:00:03:e7')), 2, 'the newest of the sprayer is kept');
  assert.is(sw.lookup(parseMac('02:aa:00:00:00:00')), -1, 'its oldest replaced');
  assert.is(ports[0].got.length, 1 + 1000);
});

test('the MAC table full of live entries: a new address is not learned, its frames still flood', () => {
  const { sw, ports } = rig(3, { maxMacs: 2, maxMacsPerPort: 2 });
  sw.forward(0, frame(MAC[1], MAC[0]), 60);
  sw.forward(1, frame(MAC[0], MAC[1]), 60);
  sw.forward(2, frame(MAC[0], MAC[2]), 60);
  assert.is(sw.macCount, 2);
  assert.is(sw.lookup(parseMac(MAC[2])), -1);
  sw.forward(0, frame(MAC[2], MAC[0]), 60);
  assert.equal(counts(ports), [2, 2, 2], 'flooded to ports 1 and 2');
});

test('bad frames: shorter than a header, multicast or zero source; dropped and counted, nothing learned', () => {
  const { sw, ports } = rig(2);
  assert.is(sw.forward(0, frame(MAC[1], MAC[0]), 13), 0);
  assert.is(sw.forward(0, frame(MAC[1], 'ff:ff:ff:ff:ff:ff'), 60), 0);
  assert.is(sw.forward(0, frame(MAC[1], '00:00:00:00:00:00'), 60), 0);
  assert.is(sw.forward(0, frame(MAC[1], MAC[0]), 61), 0, 'len beyond the buffer');
  assert.equal([sw.counters(0).dropRunt, sw.counters(0).dropBadSource], [2, 2]);
  assert.is(sw.macCount, 0);
  assert.equal(counts(ports), [0, 0]);
  assert.throws(() => sw.forward(5, frame(MAC[1], MAC[0]), 60), /no port 5/);
});

test('options are checked; ports beyond maxPorts are refused', () => {
  const clock = new Clock();
  assert.throws(() => new EthernetSwitch(clock, { floodRate: 0 }), /floodRate/);
  assert.throws(() => new EthernetSwitch(clock, { maxMacs: 1.5 }), /maxMacs/);
  const sw = new EthernetSwitch(clock, { maxPorts: 1 });
  sw.attach(new RecPort('a'));
  assert.throws(() => sw.attach(new RecPort('b')), /1 ports attached, no room for b/);
});

test.run();
