// SPDX-License-Identifier: Apache-2.0
/** virtio-blk through the simulated Bao and the driver model: bytes in equal bytes out, status bytes per virtio 1.2 section 5.2.6. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BLK_S, BLK_T, BlkDriver } from '../driver/blk.ts';
import { makeSystem } from '../driver/system.ts';
import { Prng } from '../sim/prng.ts';
import { Feature } from '../../src/virtio/spec.ts';
import { VQ_POP_DRAINED } from '../../src/host.ts';

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  new Prng(seed).fill(b);
  return b;
}

test('capacity is the backing size in 512-byte sectors', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  assert.is(d.capacity, (1024 * 1024) / 512);
  const ro = new BlkDriver(s.sim, s.model('vdb'));
  assert.is(ro.capacity, (64 * 1024) / 512);
  assert.equal(s.sim.violations, []);
});

test('write then read returns the same bytes (single buffers)', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  const data = pattern(4096, 7);
  const w = d.write(100, data);
  assert.is(w.status, BLK_S.OK);
  const r = d.read(100, 8);
  assert.is(r.status, BLK_S.OK);
  assert.is(r.usedLen, 4096 + 1);
  assert.equal(Array.from(r.data), Array.from(data));
  // the backing holds them at sector 100
  const disk = new Uint8Array(s.sim.region('disk0'), 100 * 512, 4096);
  assert.equal(Array.from(disk), Array.from(data));
  assert.equal(s.sim.violations, []);
});

test('many segments, indirect tables and odd split points give the same bytes', () => {
  for (const [indirect, seg] of [[false, 512], [true, 512], [true, 100], [false, 1000], [true, 4096]] as const) {
    const s = makeSystem();
    const d = new BlkDriver(s.sim, s.model('vda'), { indirect, segmentBytes: seg });
    const data = pattern(8192, seg);
    assert.is(d.write(3, data).status, BLK_S.OK, `write indirect=${indirect} seg=${seg}`);
    const r = d.read(3, 16);
    assert.is(r.status, BLK_S.OK);
    assert.equal(Array.from(r.data), Array.from(data), `indirect=${indirect} seg=${seg}`);
  }
});

test('the last sector works; one past the end is IOERR', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  const last = d.capacity - 1;
  assert.is(d.write(last, pattern(512, 1)).status, BLK_S.OK);
  assert.is(d.read(last, 1).status, BLK_S.OK);
  assert.is(d.read(last, 2).status, BLK_S.IOERR);
  assert.is(d.write(d.capacity, pattern(512, 1)).status, BLK_S.IOERR);
  assert.is(d.read(2 ** 52, 1).status, BLK_S.IOERR);
  assert.is(d.read(2 ** 63, 1).status, BLK_S.IOERR);
});

test('a data length that is not whole sectors is IOERR', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  assert.is(d.request(BLK_T.IN, 0, undefined, 100).status, BLK_S.IOERR);
  assert.is(d.request(BLK_T.OUT, 0, pattern(513, 2)).status, BLK_S.IOERR);
});

test('read-only device: RO offered, writes IOERR and nothing written, no DISCARD/WRITE_ZEROES', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vdb'));
  assert.ok(d.drv.has(5), 'VIRTIO_BLK_F_RO');
  assert.not.ok(d.drv.has(13));
  assert.not.ok(d.drv.has(14));
  const before = new Uint8Array(s.sim.region('disk1')).slice(0, 512);
  assert.is(d.write(0, pattern(512, 3)).status, BLK_S.IOERR);
  assert.equal(Array.from(new Uint8Array(s.sim.region('disk1')).slice(0, 512)), Array.from(before));
  assert.is(d.read(0, 1).status, BLK_S.OK);
  assert.is(d.ranges(BLK_T.DISCARD, [[0, 1, 0]]).status, BLK_S.UNSUPP);
});

test('flush is OK; GET_ID answers the id; unknown types are UNSUPP', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  assert.ok(d.drv.has(9), 'VIRTIO_BLK_F_FLUSH');
  assert.is(d.flush().status, BLK_S.OK);
  assert.equal(d.getId(), { status: BLK_S.OK, id: 'baojs-vda' });
  for (const t of [2, 3, 10, 14, 99, 0xffffffff]) assert.is(d.request(t, 0).status, BLK_S.UNSUPP, `type ${t}`);
});

test('write zeroes and discard zero the ranges; bad flags UNSUPP; out of range IOERR', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'));
  d.write(10, pattern(4096, 9));
  assert.is(d.ranges(BLK_T.WRITE_ZEROES, [[10, 2, 0], [14, 1, 1]]).status, BLK_S.OK);
  const r = d.read(10, 8).data;
  assert.ok(r.subarray(0, 1024).every((b) => b === 0));
  assert.ok(r.subarray(1024, 2048).some((b) => b !== 0));
  assert.ok(r.subarray(2048, 2560).every((b) => b === 0));
  assert.is(d.ranges(BLK_T.DISCARD, [[12, 2, 0]]).status, BLK_S.OK);
  assert.is(d.ranges(BLK_T.DISCARD, [[12, 2, 1]]).status, BLK_S.UNSUPP, 'unmap flag on discard');
  assert.is(d.ranges(BLK_T.WRITE_ZEROES, [[12, 2, 2]]).status, BLK_S.UNSUPP, 'unknown flag');
  assert.is(d.ranges(BLK_T.WRITE_ZEROES, [[d.capacity - 1, 2, 0]]).status, BLK_S.IOERR);
  assert.is(d.request(BLK_T.DISCARD, 0, new Uint8Array(8)).status, BLK_S.IOERR, 'partial segment');
});

test('DISCARD not negotiated is UNSUPP', () => {
  const s = makeSystem();
  const d = new BlkDriver(s.sim, s.model('vda'), { accept: (bit) => bit !== 13 });
  assert.is(d.ranges(BLK_T.DISCARD, [[0, 1, 0]]).status, BLK_S.UNSUPP);
  assert.is(d.ranges(BLK_T.WRITE_ZEROES, [[0, 1, 0]]).status, BLK_S.OK);
});

test('works with and without event idx and indirect descriptors', () => {
  for (const drop of [[], [Feature.RING_EVENT_IDX], [Feature.INDIRECT_DESC], [Feature.RING_EVENT_IDX, Feature.INDIRECT_DESC]]) {
    const s = makeSystem();
    const d = new BlkDriver(s.sim, s.model('vda'), { accept: (bit) => !(drop as number[]).includes(bit), indirect: true, segmentBytes: 1024 });
    for (let i = 0; i < 300; i++) {
      const data = pattern(2048, i);
      assert.is(d.write(i * 4, data).status, BLK_S.OK);
      assert.equal(Array.from(d.read(i * 4, 4).data), Array.from(data));
    }
    assert.equal(s.sim.violations, []);
  }
});

test('a kick is served without the empty pop after the last chain (VQ_POP_DRAINED), and the next request is still kicked and served', () => {
  for (const eventIdx of [true, false]) {
    const s = makeSystem();
    const d = new BlkDriver(s.sim, s.model('vda'), { accept: (bit) => eventIdx || bit !== Feature.RING_EVENT_IDX });
    const vq = s.sim.virtqueues;
    const pop = vq.pop.bind(vq);
    const answers: number[] = [];
    vq.pop = (h: number, max: number): number => {
      const n = pop(h, max);
      answers.push(n);
      return n;
    };
    for (let i = 0; i < 3; i++) assert.is(d.write(10 + i, pattern(512, i)).status, BLK_S.OK);
    answers.length = 0;
    // three requests in one kick: three pops, the last one reports the ring empty after its chain
    const reqs = [0, 1, 2].map((i) => d.add(BLK_T.IN, 10 + i, undefined, 512));
    assert.ok(d.q.kick());
    d.drv.handleInterrupt();
    assert.equal(answers, [1, 1, 1 + VQ_POP_DRAINED], `event idx ${eventIdx}`);
    for (const [i, p] of reqs.entries()) {
      const used = d.q.getUsed();
      assert.ok(used && used.id === p.head);
      const r = d.finish(p);
      assert.is(r.status, BLK_S.OK);
      assert.equal(Array.from(r.data), Array.from(pattern(512, i)));
    }
    // the driver is told to kick for the next one (avail_event published with event idx), and it is served
    const p = d.add(BLK_T.IN, 11, undefined, 512);
    assert.ok(d.q.kick(), `event idx ${eventIdx}: the next request needs a kick`);
    d.drv.handleInterrupt();
    assert.ok(d.q.getUsed());
    assert.equal(Array.from(d.finish(p).data), Array.from(pattern(512, 1)));
    assert.equal(s.sim.violations, []);
  }
});

test.run();
