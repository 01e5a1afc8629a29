// SPDX-License-Identifier: Apache-2.0
/**
 * Split virtqueue notification suppression (virtio 1.2 sections 2.7.7,
 * 2.7.10) in both directions, and never touching event fields that were
 * not negotiated.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem } from '../driver/system.ts';
import { RngDriver } from '../driver/rng.ts';
import { Feature } from '../../src/virtio/spec.ts';

const RNG_DM = 1;

function rng(eventIdx: boolean) {
  const s = makeSystem();
  const r = new RngDriver(s.sim, s.model('hwrng'), { accept: (b) => eventIdx || b !== Feature.RING_EVENT_IDX });
  return { s, r };
}

function submit(r: RngDriver, n = 8): void {
  const a = r.drv.pool.alloc(n);
  r.q.add([], [{ addr: a, len: n }]);
}

test('without EVENT_IDX: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses used notifications', () => {
  const { s, r } = rng(false);
  const before = s.sim.notifyCount(RNG_DM);
  r.q.setNoInterrupt(true);
  submit(r);
  r.q.forceKick();
  assert.is(s.sim.notifyCount(RNG_DM), before);
  r.q.setNoInterrupt(false);
  submit(r);
  r.q.forceKick();
  assert.is(s.sim.notifyCount(RNG_DM), before + 1);
});

test('without EVENT_IDX the device never writes avail_event nor reads used_event', () => {
  const { s, r } = rng(false);
  const m = r.drv.mem;
  const availEvent = r.q.usedAddr + 4 + 8 * r.q.num;
  m.w16(availEvent, 0xabcd);
  r.q.setUsedEvent(0x7777); // would suppress if it were (wrongly) used
  const before = s.sim.notifyCount(RNG_DM);
  submit(r);
  r.q.forceKick();
  assert.is(m.r16(availEvent), 0xabcd);
  assert.is(s.sim.notifyCount(RNG_DM), before + 1);
});

test('with EVENT_IDX: used_event decides the notification', () => {
  const { s, r } = rng(true);
  // the first used buffer after enabling always notifies (no previous signal to compare with)
  submit(r);
  r.q.forceKick();
  while (r.q.getUsed());
  const used = r.q.usedIdx;
  r.q.setUsedEvent(used + 5); // notify only once used idx passes used+5
  const before = s.sim.notifyCount(RNG_DM);
  for (let i = 0; i < 5; i++) {
    submit(r);
    r.q.forceKick();
  }
  assert.is(s.sim.notifyCount(RNG_DM), before, 'no notification before used_event');
  submit(r);
  r.q.forceKick();
  assert.is(s.sim.notifyCount(RNG_DM), before + 1, 'crossing used_event notifies');
});

test('with EVENT_IDX: the device publishes avail_event and the driver kicks only when needed', () => {
  const { s, r } = rng(true);
  const m = r.drv.mem;
  const availEvent = r.q.usedAddr + 4 + 8 * r.q.num;
  submit(r);
  assert.ok(r.q.kick(), 'first kick needed');
  const availIdx = m.r16(r.q.availAddr + 2);
  assert.is(m.r16(availEvent), availIdx, 'avail_event = next index the device wants to hear about');
  const kicks = s.sim.trapped;
  // two buffers added at once need only one kick
  submit(r);
  submit(r);
  assert.ok(r.q.kick());
  assert.ok(s.sim.trapped - kicks >= 1);
  // if the device had asked for a later index, no kick is needed
  m.w16(availEvent, (m.r16(r.q.availAddr + 2) + 10) & 0xffff);
  submit(r);
  assert.not.ok(r.q.kick());
});

test('indirect descriptors: used only when negotiated', () => {
  const s = makeSystem();
  const r = new RngDriver(s.sim, s.model('hwrng'), { accept: (b) => b !== Feature.INDIRECT_DESC });
  // hand-made indirect descriptor although the feature was refused
  const table = r.drv.pool.alloc(16, 16);
  const buf = r.drv.pool.alloc(8);
  r.q.writeDesc(table, 0, buf, 8, 2, 0);
  const head = r.q.reserve();
  r.q.writeDesc(r.q.descAddr, head, table, 16, 4, 0);
  r.q.publish(head);
  r.q.forceKick();
  assert.ok(r.drv.needsReset());
});

test('the used ring wraps past 65535 correctly', () => {
  const { r } = rng(true);
  for (let i = 0; i < 70000; i++) {
    const a = r.drv.pool.alloc(1);
    r.q.add([], [{ addr: a, len: 1 }]);
    r.q.kick();
    const u = r.q.getUsed();
    if (!u || u.len !== 1) throw new Error(`request ${i} failed`);
    r.drv.pool.release(a);
  }
  assert.is(r.q.usedIdx, (70000 + 0) & 0xffff);
});

test.run();
