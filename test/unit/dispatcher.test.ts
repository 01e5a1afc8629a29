// SPDX-License-Identifier: Apache-2.0
/**
 * The remio dispatcher against the simulated Bao, with plain I/O clients:
 * routing by absolute address, masking and zero-extension, completion
 * echoing op and id, QueueNotify completed before the work, NOTIFY
 * coalescing, the ASK loop's bounds and error statuses, exceptions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispatcher } from '../../src/dispatcher/dispatcher.ts';
import type { IoClient } from '../../src/dispatcher/client.ts';
import { RemioDirectWord, REMIO_DIRECT_WORDS, type Host } from '../../src/host.ts';
import { SimBao, type SimRequest } from '../sim/bao.ts';
import { testPlatform } from '../sim/platforms.ts';
import { makeSystem } from '../driver/system.ts';
import { RngDriver } from '../driver/rng.ts';

const WIN0 = 0x0b000000;
const WIN_RNG = 0x0b002000;

interface Access { op: 'r' | 'w'; addr: number; width: number; lo: number; hi: number }

/** A sim with a dispatcher over dm 0 and dm 1, clients recording what they see. */
function setup(options: { maxRequestsPerService?: number; host?: (sim: SimBao) => Host } = {}) {
  const sim = new SimBao(testPlatform(), { seed: 7 });
  const logs: string[] = [];
  const host = options.host ? options.host(sim) : sim;
  const disp = new Dispatcher(host, { log: (l) => logs.push(l), maxRequestsPerService: options.maxRequestsPerService });
  disp.addDeviceModel({ dmId: 0, name: 'vda', backendIntid: 144 });
  disp.addDeviceModel({ dmId: 1, name: 'hwrng', backendIntid: 146 });
  const seen: Access[] = [];
  const client = (readValue: [number, number]): IoClient => ({
    read(addr, width, hi) {
      seen.push({ op: 'r', addr, width, lo: 0, hi: 0 });
      hi[0] = readValue[1];
      return readValue[0];
    },
    write(addr, width, lo, hi) {
      seen.push({ op: 'w', addr, width, lo, hi });
    },
  });
  sim.onIrq((intid) => disp.serviceIrq(intid));
  sim.irqEnable(144);
  sim.irqEnable(146);
  return { sim, disp, logs, seen, client };
}

test('routes by absolute address; the rest of a window goes to the default client (reads 0, logged)', () => {
  const { sim, disp, logs, seen, client } = setup();
  disp.register(0, WIN0, 0x100, client([0x11223344, 0]));
  assert.is(sim.load(0, WIN0 + 0x10, 4).lo, 0x11223344);
  assert.equal(seen[0], { op: 'r', addr: WIN0 + 0x10, width: 4, lo: 0, hi: 0 });
  assert.equal(sim.load(0, WIN0 + 0x180, 4), { lo: 0, hi: 0 });
  sim.store(0, WIN0 + 0x180, 4, 5);
  assert.is(seen.length, 1);
  assert.ok(logs.some((l) => l.includes('default client') && l.includes('0xb000180')));
  assert.equal(sim.violations, []);
});

test('WRITE values are masked to the width; width 8 keeps both halves', () => {
  const { sim, disp, seen, client } = setup();
  disp.register(0, WIN0, 0x200, client([0, 0]));
  sim.store(0, WIN0, 1, 0xab);
  sim.store(0, WIN0, 2, 0xabcd);
  sim.store(0, WIN0, 4, 0xabcdef12);
  sim.store(0, WIN0, 8, 0x89abcdef, 0x01234567);
  assert.equal(seen.map((a) => [a.width, a.lo, a.hi]), [[1, 0xab, 0], [2, 0xabcd, 0], [4, 0xabcdef12, 0], [8, 0x89abcdef, 0x01234567]]);
});

test('READ values are zero-extended to the width before completion', () => {
  const { sim, disp, client } = setup();
  disp.register(0, WIN0, 0x200, client([0xfedcba98, 0x76543210]));
  assert.equal(sim.load(0, WIN0, 1), { lo: 0x98, hi: 0 });
  assert.equal(sim.load(0, WIN0, 2), { lo: 0xba98, hi: 0 });
  assert.equal(sim.load(0, WIN0, 4), { lo: 0xfedcba98, hi: 0 });
  assert.equal(sim.load(0, WIN0, 8), { lo: 0xfedcba98, hi: 0x76543210 });
  assert.equal(sim.violations, [], 'completion echoes op; nothing left un-extended');
  assert.is(sim.hypercalls.get('1:-1') ?? 0, 0);
  assert.is(sim.hypercalls.get('0:-1') ?? 0, 0);
});

test('completion is done before the deferred work (the QueueNotify fast path)', () => {
  const { sim, disp } = setup();
  const order: string[] = [];
  disp.register(0, WIN0, 0x200, {
    read: () => 0,
    write: () => { order.push(`write, vCPU blocked: ${sim.isBlocked(0)}`); return true; },
    afterComplete: () => order.push(`work, vCPU blocked: ${sim.isBlocked(0)}`),
  });
  sim.store(0, WIN0 + 0x50, 4, 0);
  assert.equal(order, ['write, vCPU blocked: true', 'work, vCPU blocked: false']);
});

test('several pending requests are served in FIFO order in one interrupt; counters', () => {
  const { sim, disp, seen, client } = setup();
  disp.register(0, WIN0, 0x200, client([1, 0]));
  const a = sim.trap(0, WIN0 + 4, 4, false);
  const b = sim.trap(1, WIN0 + 8, 4, true, 9);
  const c = sim.trap(2, WIN0 + 12, 2, false);
  sim.run();
  assert.equal([a.state, b.state, c.state], ['DONE', 'DONE', 'DONE']);
  assert.equal(seen.map((x) => x.addr - WIN0), [4, 8, 12]);
  const k = disp.counters(0);
  assert.equal([k.requests, k.reads, k.writes, k.errors, k.services], [3, 2, 1, 0, 1]);
});

test('NOTIFYs raised during a service are coalesced into one; outside a service sent at once', () => {
  const { sim, disp } = setup();
  const raise = disp.interruptFor(0);
  disp.register(0, WIN0, 0x200, { read: () => { raise(); raise(); return 0; }, write: () => {} });
  sim.load(0, WIN0, 4);
  assert.is(sim.notifyCount(0), 1);
  raise();
  assert.is(sim.notifyCount(0), 2);
  assert.is(disp.counters(0).notifies, 2);
});

test('a host with its own remio loop gets each DM\'s first range for direct calls; what it serves there is drained into the counters; an interrupt raised during its call waits for its NOTIFY', () => {
  const sim = new SimBao(testPlatform(), { seed: 7 });
  const logs: string[] = [];
  const direct: { dm: number; base: number; size: number; client: unknown; state: Uint32Array; fault: (e: unknown) => void }[] = [];
  let refuse = false;
  const host: Host = Object.assign(Object.create(sim) as SimBao, {
    remioServe: () => true,
    remioDirect(dm: number, base: number, size: number, client: unknown, state: Uint32Array, fault: (e: unknown) => void): boolean {
      if (refuse) throw new RangeError('no room');
      direct.push({ dm, base, size, client, state, fault });
      return true;
    },
  });
  const disp = new Dispatcher(host, { log: (l) => logs.push(l) });
  disp.addDeviceModel({ dmId: 0, name: 'vda', backendIntid: 144 });
  disp.addDeviceModel({ dmId: 1, name: 'hwrng', backendIntid: 146 });
  const raise = disp.interruptFor(0);
  const faults: unknown[] = [];
  const c0: IoClient = { read: () => { raise(); return 7; }, write: () => false, fault: (e) => { faults.push(e); } };
  disp.register(0, WIN0, 0x200, c0);
  disp.register(0, WIN0 + 0x1000, 0x200, { read: () => 0, write: () => {} });
  assert.is(direct.length, 1, 'the first range of a DM only');
  const d = direct[0];
  assert.equal([d.dm, d.base, d.size, d.client === c0, d.state.length], [0, WIN0, 0x200, true, REMIO_DIRECT_WORDS]);
  // the host's call: in service, the client raises the interrupt: no hypercall, the NOTIFY word instead
  d.state[RemioDirectWord.IN_SERVICE] = 1;
  assert.is((d.client as IoClient).read(WIN0 + 0x70, 4, new Uint32Array(2)), 7);
  d.state[RemioDirectWord.IN_SERVICE] = 0;
  assert.is(d.state[RemioDirectWord.NOTIFY], 1);
  assert.is(sim.notifyCount(0), 0);
  // the host sent it, and counted two reads, a write and the NOTIFY
  d.state[RemioDirectWord.NOTIFY] = 0;
  d.state[RemioDirectWord.REQUESTS] = 3;
  d.state[RemioDirectWord.READS] = 2;
  d.state[RemioDirectWord.WRITES] = 1;
  d.state[RemioDirectWord.NOTIFIES] = 1;
  const k = disp.counters(0);
  assert.equal([k.requests, k.reads, k.writes, k.notifies, k.services], [3, 2, 1, 1, 3]);
  assert.equal([...d.state], [0, 0, 0, 0, 0, 0], 'drained');
  assert.is(disp.counters(0).requests, 3, 'once');
  // outside a service the interrupt is a NOTIFY at once
  raise();
  assert.is(sim.notifyCount(0), 1);
  // an exception the host caught goes to the client's fault handler and is counted
  d.fault(new TypeError('boom'));
  assert.is(faults.length, 1);
  assert.ok(logs.some((l) => l.includes('TypeError: boom')));
  assert.is(disp.counters(0).errors, 1);
  // a host that refuses: logged, the range still routes through the batch handler
  refuse = true;
  disp.register(1, WIN_RNG, 0x200, { read: () => 0x99, write: () => {} });
  assert.ok(logs.some((l) => l.includes('dm 1 (hwrng)') && l.includes('no room')));
  // a dispatcher told not to use the host loop never asks
  refuse = false;
  const plain = new Dispatcher(host, { hostLoop: false, log: () => {} });
  plain.addDeviceModel({ dmId: 2, name: 'x', backendIntid: 150 });
  plain.register(2, WIN0 + 0x2000, 0x200, { read: () => 0, write: () => {} });
  assert.is(direct.length, 1);
});

test('the ASK loop is bounded: more requests than the bound are served from a timer', () => {
  const { sim, disp, client } = setup({ maxRequestsPerService: 2 });
  disp.register(0, WIN0, 0x200, client([0, 0]));
  const reqs = [0, 1, 2].map((v) => sim.trap(v, WIN0, 4, false));
  sim.run();
  assert.ok(reqs.every((r) => r.state === 'DONE'));
  assert.is(disp.counters(0).deferrals, 1);
  assert.is(disp.counters(0).services, 2);
});

test('a non-zero ASK status other than +1 is logged with its code and ends the loop', () => {
  let asks = 0;
  const { disp, logs } = setup({
    host: (sim) => {
      const h = Object.create(sim) as SimBao;
      h.remio = (dm, addr, op, lo, hi, id, out) => {
        if (op === 2) { asks++; return -3; }
        return sim.remio(dm, addr, op, lo, hi, id, out);
      };
      return h;
    },
  });
  assert.is(disp.service(0), 0);
  assert.is(asks, 1);
  assert.ok(logs.some((l) => l.includes('ASK failed with status -3')));
  assert.is(disp.counters(0).errors, 1);
});

test('`>= 0` is not success: +1 with stale out data is not a request', () => {
  const { sim, disp, seen, client } = setup();
  disp.register(0, WIN0, 0x200, client([0, 0]));
  sim.load(0, WIN0, 4); // leaves a request's data in the dispatcher's out array
  assert.is(disp.service(0), 0);
  assert.is(seen.length, 1);
});

test('a failed completion is logged with its code', () => {
  const { sim, disp, logs } = setup({
    host: (inner) => {
      const h = Object.create(inner) as SimBao;
      h.remio = (dm, addr, op, lo, hi, id, out) => (op === 0 || op === 1 ? -1 : inner.remio(dm, addr, op, lo, hi, id, out));
      return h;
    },
  });
  disp.register(0, WIN0, 0x200, { read: () => 0, write: () => {} });
  sim.trap(0, WIN0, 4, false);
  assert.is(disp.service(0), 1);
  assert.ok(logs.some((l) => l.includes('completion of request 0 (op 1) failed with status -1')), logs.join('|'));
  assert.is(disp.counters(0).errors, 1);
});

test('a request with a width other than 1, 2, 4, 8 never reaches a client: read 0, logged', () => {
  const { sim, disp, logs, seen, client } = setup({
    host: (inner) => {
      const h = Object.create(inner) as SimBao;
      h.remio = (dm, addr, op, lo, hi, id, out) => {
        const st = inner.remio(dm, addr, op, lo, hi, id, out);
        if (op === 2 && st === 0) out[5] = 3;
        return st;
      };
      return h;
    },
  });
  disp.register(0, WIN0, 0x200, client([0xffffffff, 0xffffffff]));
  const r = sim.trap(0, WIN0, 4, false);
  disp.service(0);
  assert.is(seen.length, 0);
  assert.equal([r.state, r.regLo, r.regHi], ['DONE', 0, 0]);
  assert.ok(logs.some((l) => l.includes('width 3')));
});

test('an exception in a client is caught: fault() called, read answers 0, other DMs keep serving', () => {
  const { sim, disp, logs, client } = setup();
  let faults = 0;
  disp.register(0, WIN0, 0x200, {
    read: () => { throw new TypeError('boom'); },
    write: () => { throw new Error('bang'); },
    fault: () => { faults++; },
  });
  disp.register(1, WIN_RNG, 0x200, client([0x1234, 0]));
  assert.equal(sim.load(0, WIN0, 4), { lo: 0, hi: 0 });
  sim.store(0, WIN0, 4, 1);
  assert.is(faults, 2);
  assert.ok(logs.some((l) => l.includes('TypeError: boom')));
  assert.is(sim.load(1, WIN_RNG, 4).lo, 0x1234);
  assert.is(disp.counters(0).errors, 2);
});

test('a batch: all requests are completed before the deferred work of a store runs', () => {
  const { sim, disp } = setup();
  const reqs: SimRequest[] = [];
  const order: string[] = [];
  disp.register(0, WIN0, 0x200, {
    read: () => { order.push('read'); return 0x1ff; },
    write: () => { order.push('write'); return true; },
    afterComplete: () => { order.push(`after ${reqs.map((r) => r.state).join(',')}`); },
  });
  reqs.push(sim.trap(0, WIN0 + 0x50, 4, true, 0));
  reqs.push(sim.trap(1, WIN0 + 0x60, 1, false));
  sim.run();
  assert.equal(order, ['write', 'read', 'after DONE,DONE']);
  assert.equal([reqs[1].regLo, reqs[1].regHi], [0xff, 0], 'zero-extended to the width');
  const k = disp.counters(0);
  assert.equal([k.requests, k.reads, k.writes, k.errors, k.services], [2, 1, 1, 0, 1]);
  assert.equal(sim.violations, []);
});

test('configuration errors: duplicate dm, shared INTID, more than 16 DMs, overlapping ranges', () => {
  const { disp, client } = setup();
  assert.throws(() => disp.addDeviceModel({ dmId: 0, name: 'x', backendIntid: 200 }), /twice/);
  assert.throws(() => disp.addDeviceModel({ dmId: 9, name: 'x', backendIntid: 144 }), /INTID/);
  assert.throws(() => disp.addDeviceModel({ dmId: 256, name: 'x', backendIntid: 201 }), /0\.\.255/);
  for (let i = 2; i < 16; i++) disp.addDeviceModel({ dmId: i, name: `d${i}`, backendIntid: 150 + i });
  assert.throws(() => disp.addDeviceModel({ dmId: 16, name: 'x', backendIntid: 199 }), /16/);
  disp.register(0, WIN0, 0x100, client([0, 0]));
  assert.throws(() => disp.register(0, WIN0 + 0xfc, 8, client([0, 0])), /overlaps/);
  assert.throws(() => disp.register(42, 0, 1, client([0, 0])), /no device model/);
  assert.not.ok(disp.serviceIrq(999));
});

test('through createBackend: every DM serves, no bad status, no violation', () => {
  const s = makeSystem();
  const rng = new RngDriver(s.sim, s.model('hwrng'));
  assert.is(rng.read(8).length, 8);
  for (const id of s.backend.dispatcher.dmIds()) assert.is(s.backend.dispatcher.counters(id).errors, 0);
  assert.equal([...s.sim.hypercalls.keys()].filter((k) => !k.endsWith(':0') && k !== '2:1'), []);
  assert.equal(s.sim.violations, []);
});

test('a host that offers the interrupt as a host function (remioRaiser) gives it to the devices of the DMs its loop serves', () => {
  const sim = new SimBao(testPlatform(), { seed: 7 });
  const asked: { dm: number; state: Uint32Array }[] = [];
  const hostRaise = (): void => {};
  const host: Host = Object.assign(Object.create(sim) as SimBao, {
    remioServe: () => true,
    remioRaiser(dm: number, state: Uint32Array): () => void {
      asked.push({ dm, state });
      return hostRaise;
    },
  });
  const disp = new Dispatcher(host, { log: () => {} });
  disp.addDeviceModel({ dmId: 0, name: 'vda', backendIntid: 144 });
  assert.is(disp.interruptFor(0), hostRaise);
  assert.equal(asked.map((a) => [a.dm, a.state.length]), [[0, REMIO_DIRECT_WORDS]]);
  // without the host loop: the dispatcher's own closure
  const plain = new Dispatcher(host, { hostLoop: false, log: () => {} });
  plain.addDeviceModel({ dmId: 1, name: 'x', backendIntid: 150 });
  assert.is.not(plain.interruptFor(1), hostRaise);
  assert.is(asked.length, 1);
});

test.run();
