// SPDX-License-Identifier: Apache-2.0
/**
 * The simulated Bao itself behaves as remio-abi.md describes Bao: the other
 * tests are only as good as this double.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimBao } from '../sim/bao.ts';
import { testPlatform } from '../sim/platforms.ts';

const WIN0 = 0x0b000000; // vda, dm 0
const WIN_RNG = 0x0b002000; // hwrng, dm 1
const ASK = 2;

function fresh(seed = 1): { sim: SimBao; out: Uint32Array } {
  return { sim: new SimBao(testPlatform(), { seed }), out: new Uint32Array(8) };
}

test('ASK with nothing pending answers +1 and leaves out untouched', () => {
  const { sim, out } = fresh();
  out.fill(0xaaaaaaaa);
  assert.is(sim.remio(0, 0, ASK, 0, 0, 0, out), 1);
  assert.ok(out.every((w) => w === 0xaaaaaaaa));
});

test('ASK with a non-zero addr or value answers +1 even with a request pending', () => {
  const { sim, out } = fresh();
  sim.trap(0, WIN0 + 0x70, 4, false);
  assert.is(sim.remio(0, 4, ASK, 0, 0, 0, out), 1);
  assert.is(sim.remio(0, 0, ASK, 1, 0, 0, out), 1);
  assert.is(sim.remio(0, 0, ASK, 0, 1, 0, out), 1);
  assert.is(sim.remio(0, 0, ASK, 0, 0, 0, out), 0);
});

test('FIFO per DM, ids lowest free first, more-pending 0/1', () => {
  const { sim, out } = fresh();
  sim.trap(0, WIN0 + 0x70, 4, false);
  sim.trap(1, WIN0 + 0x74, 4, false);
  sim.trap(2, WIN_RNG + 0x70, 4, false);
  assert.is(sim.remio(0, 0, ASK, 0, 0, 0, out), 0);
  assert.equal([out[0], out[2], out[5], out[6], out[7]], [WIN0 + 0x70, 1, 4, 0, 1]);
  assert.is(sim.remio(0, 0, ASK, 0, 0, 0, out), 0);
  assert.equal([out[0], out[6], out[7]], [WIN0 + 0x74, 1, 0]);
  assert.is(sim.remio(0, 0, ASK, 0, 0, 0, out), 1);
  assert.is(sim.remio(0, 0, 1, 0, 0, 0, out), 0); // complete id 0
  const r = sim.trap(0, WIN0, 4, false);
  assert.is(r.id, 0, 'lowest free id reused');
  assert.is(sim.remio(1, 0, ASK, 0, 0, 0, out), 0);
  assert.is(out[6], 2);
});

test('bad completions: -1 for unknown, repeated or other-DM ids; -3 for bad dm/op; -1 for an unbound entry', () => {
  const { sim, out } = fresh();
  sim.trap(0, WIN0, 4, false);
  assert.is(sim.remio(0, 0, 1, 0, 0, 0, out), -1, 'not asked yet: PENDING, not PROCESSING');
  sim.remio(0, 0, ASK, 0, 0, 0, out);
  assert.is(sim.remio(1, 0, 1, 0, 0, 0, out), -1, 'another DM');
  assert.is(sim.remio(0, 0, 1, 0, 0, 3, out), -1, 'free id');
  assert.is(sim.remio(0, 0, 1, 0, 0, 99, out), -1, 'id out of the pool');
  assert.is(sim.remio(0, 0, 1, 0x76697274, 0, 0, out), 0);
  assert.is(sim.remio(0, 0, 1, 0, 0, 0, out), -1, 'completed twice');
  assert.is(sim.remio(5, 0, ASK, 0, 0, 0, out), -3);
  assert.is(sim.remio(-1, 0, ASK, 0, 0, 0, out), -3);
  assert.is(sim.remio(0, 0, 4, 0, 0, 0, out), -3);
  assert.is(sim.remio(3, 0, ASK, 0, 0, 0, out), -1, 'dm 3 is an unbound entry');
});

test('a narrow WRITE reports the whole register: garbage above the width', () => {
  const { sim, out } = fresh(42);
  let garbage = 0;
  for (let i = 0; i < 20; i++) {
    sim.trap(0, WIN0 + 0x100, 1, true, 0x5a);
    sim.remio(0, 0, ASK, 0, 0, 0, out);
    assert.is(out[3] & 0xff, 0x5a);
    if ((out[3] & ~0xff) !== 0 || out[4] !== 0) garbage++;
    sim.remio(0, 0, 0, 0, 0, out[6], out);
  }
  assert.ok(garbage > 15);
});

test('a READ completion goes into the register unmasked (and is flagged when not zero-extended)', () => {
  const { sim, out } = fresh();
  const r = sim.trap(0, WIN0, 2, false);
  sim.remio(0, 0, ASK, 0, 0, 0, out);
  sim.remio(0, 0, 1, 0x12345678, 0x9abc, out[6], out);
  assert.equal([r.regLo, r.regHi], [0x12345678, 0x9abc]);
  assert.is(sim.violations.length, 1);
  assert.not.ok(sim.isBlocked(0));
});

test('the vCPU is blocked until completion; interrupts merge; NOTIFY injects', () => {
  const { sim, out } = fresh();
  let irqs = 0;
  sim.onIrq(() => { irqs++; });
  sim.irqEnable(144);
  sim.trap(0, WIN0, 4, false);
  assert.throws(() => sim.trap(0, WIN0, 4, false), /blocked/);
  sim.trap(1, WIN0, 4, false);
  sim.run();
  assert.is(irqs, 1, 'two requests, one interrupt');
  assert.ok(sim.isBlocked(0) && sim.isBlocked(1));
  assert.throws(() => sim.load(2, WIN0, 4), /hangs/);
  assert.is(sim.remio(0, 0, 3, 0, 0, 0, out), 0);
  assert.ok(sim.takeFrontendIrq(112));
  assert.not.ok(sim.takeFrontendIrq(112));
});

test('an access to a window that starts where another ends is queued on the other device, as Bao does', () => {
  const p = testPlatform();
  p.devices[1].window.base = p.devices[0].window.base + p.devices[0].window.size;
  const sim = new SimBao(p, { seed: 1 });
  assert.is(sim.trap(0, p.devices[1].window.base, 4, false).dmId, p.devices[0].dmId);
  assert.is(sim.trap(1, p.devices[1].window.base + 4, 4, false).dmId, p.devices[1].dmId);
  assert.throws(() => sim.trap(2, p.devices[3].window.base + p.devices[3].window.size, 4, false), /no remio window/);
});

test('regions by name at their base; timers in virtual time', () => {
  const { sim } = fresh();
  assert.is(sim.region('shmem:vda').byteLength, 256 * 1024);
  assert.is(sim.regionBase('shmem:hvc0'), 0x60100000);
  assert.is(sim.region('disk0').byteLength, 1 << 20);
  assert.throws(() => sim.region('nope'), (e: unknown) => e instanceof RangeError);
  const fired: number[] = [];
  sim.setTimeout(() => fired.push(1), 0);
  const iv = sim.setInterval(() => fired.push(2), 10);
  sim.run();
  assert.equal(fired, [1]);
  sim.advance(25); // the interval fires at 10 and 20
  assert.equal(fired, [1, 2, 2]);
  sim.advance(10); // and at 30
  sim.clearTimer(iv);
  sim.advance(100);
  assert.equal(fired, [1, 2, 2, 2]);
});

test('remioBatch: FIFO order, WRITE values masked, ending status in record 0; +1 on empty; the bound asks no more', () => {
  const { sim } = fresh(7);
  const reqs = new Uint32Array(4 * 8);
  assert.is(sim.remioBatch(0, reqs, 4), 0);
  assert.is(reqs[7], 1, 'empty: +1');
  sim.trap(0, WIN0 + 0x70, 4, false);
  sim.trap(1, WIN0 + 0x50, 2, true, 0x1234);
  sim.trap(2, WIN0 + 0x64, 1, true, 0xab);
  assert.is(sim.remioBatch(0, reqs, 4), 3);
  assert.equal([...reqs.subarray(0, 7)], [WIN0 + 0x70, 0, 1, 0, 0, 4, 0]);
  assert.equal([...reqs.subarray(8, 15)], [WIN0 + 0x50, 0, 0, 0x1234, 0, 2, 1]);
  assert.equal([...reqs.subarray(16, 23)], [WIN0 + 0x64, 0, 0, 0xab, 0, 1, 2]);
  assert.is(reqs[7], 1, 'ended on +1');
  assert.is(sim.remioBatch(0, reqs, 4), 0, 'all PROCESSING: none pending');
  assert.is(sim.hypercalls.get('2:1'), 3);
  assert.is(sim.remioComplete(0, reqs, 3), 0);
  sim.trap(3, WIN_RNG + 0x70, 4, false);
  sim.trap(4, WIN_RNG + 0x74, 4, false);
  assert.is(sim.remioBatch(1, reqs, 1), 1);
  assert.is(reqs[7], 0, 'stopped at the bound');
  assert.is(sim.pendingCount(1), 1, 'no ASK past the bound');
});

test('remioComplete: echoes op and id, READ values as given, WRITE with 0; -1 per wrong completion, in its record', () => {
  const { sim } = fresh();
  const reqs = new Uint32Array(3 * 8);
  const a = sim.trap(0, WIN0 + 0x70, 4, false);
  const b = sim.trap(1, WIN0 + 0x50, 4, true, 5);
  assert.is(sim.remioBatch(0, reqs, 3), 2);
  reqs[3] = 0x76697274;
  assert.is(sim.remioComplete(0, reqs, 2), 0);
  assert.equal([a.state, a.completedOp, a.regLo, a.regHi], ['DONE', 1, 0x76697274, 0]);
  assert.equal([b.state, b.completedOp], ['DONE', 0]);
  assert.equal([reqs[7], reqs[15]], [0, 0]);
  assert.is(sim.remioComplete(0, reqs, 2), 2, 'already completed');
  assert.equal([reqs[7] | 0, reqs[15] | 0], [-1, -1]);
  assert.equal(sim.violations, []);
  assert.throws(() => sim.remioComplete(0, reqs, 4), /records/);
});

test('remioBatch: an ASK error is returned when no request was taken', () => {
  const { sim } = fresh();
  const reqs = new Uint32Array(8);
  assert.is(sim.remioBatch(99, reqs, 1), -3);
  assert.is(reqs[7] | 0, -3);
  assert.throws(() => sim.remioBatch(0, new Uint32Array(7), 1), /records/);
});

test.run();
