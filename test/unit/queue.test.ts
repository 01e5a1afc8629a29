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
import { DescFlag, Feature } from '../../src/virtio/spec.ts';
import { DataPlaneWord } from '../../src/host.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';

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

// ---- Boundaries of every check in SplitQueue, on a bare queue over a small region ----

const RBASE = 0x7000_0000;

/** A queue of `num` over a region of `size` bytes, rings where the test puts them. */
function bare(size: number, num: number, at: { desc: number; avail: number; used: number }, opts: { indirect?: boolean; eventIdx?: boolean; numMax?: number } = {}) {
  const buf = new ArrayBuffer(size);
  const mem = new GuestMemory(RBASE, buf, 'bare');
  const dv = new DataView(buf);
  const q = new SplitQueue(0, opts.numMax ?? 256);
  q.num = num;
  q.descAddr = RBASE + at.desc;
  q.driverAddr = RBASE + at.avail;
  q.deviceAddr = RBASE + at.used;
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next: number): void => {
    const p = table + 16 * i;
    dv.setUint32(p, addr % 2 ** 32, true);
    dv.setUint32(p + 4, Math.floor(addr / 2 ** 32), true);
    dv.setUint32(p + 8, len, true);
    dv.setUint16(p + 12, flags, true);
    dv.setUint16(p + 14, next, true);
  };
  /** Puts `head` in the avail ring at index `idx` and sets avail idx to idx + 1. */
  const offer = (idx: number, head: number): void => {
    dv.setUint16(at.avail + 4 + 2 * (idx & (num - 1)), head, true);
    dv.setUint16(at.avail + 2, (idx + 1) & 0xffff, true);
  };
  const enable = () => q.enable(mem, opts.eventIdx ?? false, opts.indirect ?? false);
  return { q, mem, dv, desc, offer, enable };
}

/** pop() must throw a QueueError whose message matches `re` (not any other exception). */
function refuses(f: () => unknown, re: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, QueueError, `a QueueError, not ${String(e)}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`no QueueError (${re})`);
}

const NUM = 8;
/** descriptor table, avail ring, used ring back to back, the used ring ending at the region's last byte */
const TIGHT = { desc: 0, avail: 16 * NUM, used: 16 * NUM + 8 + 2 * NUM }; // avail (6 + 2n) padded to 4
const TIGHT_SIZE = TIGHT.used + 6 + 8 * NUM;

test('enable: each ring may end at the region\'s last byte, and is refused one byte further', () => {
  const layouts = [
    { name: 'used ring', at: TIGHT, size: TIGHT_SIZE, re: /used ring/ },
    { name: 'available ring', at: { desc: 0, avail: 256 - 6 - 2 * NUM, used: 16 * NUM }, size: 256, re: /available ring/ },
    { name: 'descriptor table', at: { desc: 256 - 16 * NUM, avail: 0, used: 24 }, size: 256, re: /descriptor table/ },
  ];
  for (const l of layouts) {
    bare(l.size, NUM, l.at).enable();
    refuses(() => bare(l.size - 1, NUM, l.at).enable(), l.re);
  }
});

test('enable: Queue Size 1 and QueueNumMax are accepted; 0, QueueNumMax + 1, non-powers of 2 refused', () => {
  for (const n of [1, 2, 256]) bare(16 * 1024, n, { desc: 0, avail: 4096, used: 8192 }).enable();
  for (const n of [0, 3, 257, 512, 65536]) refuses(() => bare(16 * 1024, n, { desc: 0, avail: 4096, used: 8192 }).enable(), /QueueNum/);
});

test('pop: next = Queue Size - 1 is followed; next = Queue Size is refused (descriptor table at the region\'s end)', () => {
  const at = { desc: 256 - 16 * NUM, avail: 0, used: 32 };
  const ok = bare(256, NUM, at);
  ok.enable();
  ok.desc(at.desc, 0, RBASE + 200, 4, DescFlag.NEXT, NUM - 1);
  ok.desc(at.desc, NUM - 1, RBASE + 204, 1, DescFlag.WRITE, 0);
  ok.offer(0, 0);
  const c = new DescriptorChain();
  assert.ok(ok.q.pop(c));
  assert.is(c.count, 2);
  assert.is(c.addr[1], RBASE + 204);
  const bad = bare(256, NUM, at);
  bad.enable();
  bad.desc(at.desc, 0, RBASE + 200, 4, DescFlag.NEXT, NUM);
  bad.offer(0, 0);
  refuses(() => bad.q.pop(new DescriptorChain()), /next index 8 >= 8/);
});

test('pop: head = Queue Size - 1 is served, head = Queue Size refused', () => {
  const at = { desc: 256 - 16 * NUM, avail: 0, used: 32 };
  const t = bare(256, NUM, at);
  t.enable();
  t.desc(at.desc, NUM - 1, RBASE + 200, 1, DescFlag.WRITE, 0);
  t.offer(0, NUM - 1);
  const c = new DescriptorChain();
  assert.ok(t.q.pop(c));
  assert.is(c.head, NUM - 1);
  t.offer(1, NUM);
  refuses(() => t.q.pop(c), /head index 8 >= Queue Size 8/);
});

test('pop: a chain of exactly Queue Size descriptors is served, a loop refused', () => {
  const t = bare(4096, NUM, { desc: 0, avail: 1024, used: 2048 });
  t.enable();
  for (let i = 0; i < NUM; i++) t.desc(0, i, RBASE + 3000 + i, 1, DescFlag.WRITE | (i < NUM - 1 ? DescFlag.NEXT : 0), i + 1);
  t.offer(0, 0);
  const c = new DescriptorChain();
  assert.ok(t.q.pop(c));
  assert.is(c.count, NUM);
  t.desc(0, NUM - 1, RBASE + 3000, 1, DescFlag.WRITE | DescFlag.NEXT, 0);
  t.offer(1, 0);
  refuses(() => t.q.pop(c), /longer than Queue Size/);
});

test('avail index: wraps from 65535 to 0 (lastAvailIdx too), and a jump past Queue Size across the wrap is refused', () => {
  const t = bare(4096, NUM, { desc: 0, avail: 1024, used: 2048 });
  t.enable();
  t.desc(0, 0, RBASE + 3000, 1, DescFlag.WRITE, 0);
  t.q.importState(Object.assign(new Uint32Array(64), { [DataPlaneWord.Q_LAST_AVAIL]: 65535, [DataPlaneWord.Q_USED_IDX]: 65535 }));
  t.offer(65535, 0); // avail idx becomes 0
  t.offer(0, 0); // and 1
  assert.is(t.q.availableCount(), 2);
  const c = new DescriptorChain();
  assert.ok(t.q.pop(c));
  assert.is(t.q.lastAvailIdx, 0);
  assert.ok(t.q.pop(c));
  assert.is(t.q.lastAvailIdx, 1);
  assert.not.ok(t.q.pop(c));
  t.q.push(0, 1);
  assert.is(t.q.usedIdx, 0);
  assert.is(t.dv.getUint16(2048 + 2, true), 0);
  // from 65530, an avail idx of NUM + 1 past it (across the wrap) is too far
  t.q.importState(Object.assign(new Uint32Array(64), { [DataPlaneWord.Q_LAST_AVAIL]: 65530 }));
  t.dv.setUint16(1024 + 2, (65530 + NUM + 1) & 0xffff, true);
  refuses(() => t.q.availableCount(), /ahead of 65530/);
  refuses(() => t.q.pop(c), /ahead of 65530/);
  t.dv.setUint16(1024 + 2, (65530 + NUM) & 0xffff, true);
  assert.is(t.q.availableCount(), NUM);
});

test('indirect tables: ending at the region\'s last byte is served; longer, nested, with NEXT, over QueueNumMax or not negotiated is refused', () => {
  const size = 4096;
  const mk = (indirect = true, numMax = 256) => {
    const t = bare(size, Math.min(NUM, numMax), { desc: 0, avail: 1024, used: 2048 }, { indirect, numMax });
    t.enable();
    return t;
  };
  const tableAt = size - 16 * 3;
  const fill = (t: ReturnType<typeof mk>) => {
    t.desc(tableAt, 0, RBASE + 3000, 16, DescFlag.NEXT, 1);
    t.desc(tableAt, 1, RBASE + 3100, 512, DescFlag.WRITE | DescFlag.NEXT, 2);
    t.desc(tableAt, 2, RBASE + 3700, 1, DescFlag.WRITE, 0);
  };
  const c = new DescriptorChain();
  let t = mk();
  fill(t);
  t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0);
  t.offer(0, 0);
  assert.ok(t.q.pop(c));
  assert.is(c.count, 3);
  const cases: [string, (t: ReturnType<typeof mk>) => void, RegExp, boolean?, number?][] = [
    ['16 bytes too long', (t) => t.desc(0, 0, RBASE + tableAt, 64, DescFlag.INDIRECT, 0), /outside/],
    ['one byte into the region\'s end', (t) => t.desc(0, 0, RBASE + tableAt + 1, 48, DescFlag.INDIRECT, 0), /outside/],
    ['a length not a multiple of 16', (t) => t.desc(0, 0, RBASE + tableAt, 47, DescFlag.INDIRECT, 0), /multiple of 16/],
    ['a length of 0', (t) => t.desc(0, 0, RBASE + tableAt, 0, DescFlag.INDIRECT, 0), /multiple of 16/],
    ['nested', (t) => { t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0); t.desc(tableAt, 1, RBASE + tableAt, 48, DescFlag.INDIRECT, 0); }, /inside an indirect table/],
    ['with NEXT', (t) => t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT | DescFlag.NEXT, 1), /with NEXT/],
    ['next = its length', (t) => { t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0); t.desc(tableAt, 1, RBASE + 3100, 512, DescFlag.WRITE | DescFlag.NEXT, 3); }, /next index 3 >= 3/],
    ['a loop', (t) => { t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0); t.desc(tableAt, 2, RBASE + 3700, 1, DescFlag.WRITE | DescFlag.NEXT, 1); }, /its indirect table/],
    ['over QueueNumMax', (t) => t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0), /exceeds 2/, true, 2],
    ['not negotiated', (t) => t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0), /without VIRTIO_F_INDIRECT_DESC/, false],
  ];
  for (const [name, set, re, indirect, numMax] of cases) {
    t = mk(indirect ?? true, numMax ?? 256);
    fill(t);
    set(t);
    t.offer(0, 0);
    try {
      refuses(() => t.q.pop(c), re);
    } catch (e) {
      (e as Error).message = `${name}: ${(e as Error).message}`;
      throw e;
    }
  }
  // exactly QueueNumMax entries is allowed
  t = bare(size, 2, { desc: 0, avail: 1024, used: 2048 }, { indirect: true, numMax: 3 });
  t.enable();
  fill(t);
  t.desc(0, 0, RBASE + tableAt, 48, DescFlag.INDIRECT, 0);
  t.offer(0, 0);
  assert.ok(t.q.pop(c));
});

test('used ring and event fields at the region\'s end: push writes the last element, avail_event its last two bytes', () => {
  const t = bare(TIGHT_SIZE, NUM, TIGHT, { eventIdx: true });
  t.enable();
  t.desc(0, 0, RBASE + TIGHT.used - 8, 1, DescFlag.WRITE, 0);
  const c = new DescriptorChain();
  t.q.importState(Object.assign(new Uint32Array(64), { [DataPlaneWord.Q_LAST_AVAIL]: NUM - 1, [DataPlaneWord.Q_USED_IDX]: NUM - 1 }));
  t.offer(NUM - 1, 0);
  assert.ok(t.q.pop(c));
  t.q.push(0, 1);
  assert.is(t.dv.getUint32(TIGHT.used + 4 + 8 * (NUM - 1), true), 0);
  assert.is(t.dv.getUint32(TIGHT.used + 4 + 8 * (NUM - 1) + 4, true), 1);
  assert.not.ok(t.q.pop(c));
  assert.is(t.dv.getUint16(TIGHT_SIZE - 2, true), NUM, 'avail_event in the last two bytes');
  t.dv.setUint16(TIGHT.avail + 4 + 2 * NUM, NUM - 1, true); // used_event
  assert.ok(t.q.needsNotification());
});

test.run();
