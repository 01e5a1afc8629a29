// SPDX-License-Identifier: Apache-2.0
/**
 * The virtio-blk driver (src/drivers/virtio-blk.ts) on the virtio-mmio
 * driver module (src/drivers/virtio-mmio.ts) against a simulated
 * passthrough virtio-blk device (test/sim/blk-device.ts), whose rings are
 * walked by the project's device-side SplitQueue: probe and negotiation,
 * bytes through the driver, requests completed out of order, back-pressure,
 * device errors, a device that breaks the used ring or needs a reset.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlkFeature } from '../../src/devices/blk.ts';
import { BlkStatus, BlkType } from '../../src/devices/blk-request.ts';
import { VirtioBlkDriver, type HostPlacedAnswer } from '../../src/drivers/virtio-blk.ts';
import { SharedDisk } from '../../src/devices/disk.ts';
import { DiskBroken, DiskPlaneWord, DiskReqWord, DISK_EVENT_HOST, DISK_EVENT_WORDS, DISK_REQ_WORDS, DriverQueueWord, type Host } from '../../src/host.ts';
import { DmaArena, type DriverQueue } from '../../src/drivers/virtio-mmio.ts';
import { DeviceStatus, Feature } from '../../src/virtio/spec.ts';
import { SimBao } from '../sim/bao.ts';
import { SimBlkDevice, type SimBlkOptions } from '../sim/blk-device.ts';
import { fuzzSeeds, withSeed } from '../sim/fuzz.ts';
import { testPlatform } from '../sim/platforms.ts';
import { Prng } from '../sim/prng.ts';

const KiB = 1024;
/** the passthrough device's window and interrupt in the backend */
const WINDOW = 0x0a000000;
const INTID = 79;
/** data buffers: vda's shared region, where a frontend's buffers would be */
const DATA = 'shmem:vda';
/** what the simulated device offers without VIRTIO_F_INDIRECT_DESC */
const DIRECT_ONLY = [Feature.VERSION_1, Feature.RING_EVENT_IDX, BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.FLUSH, BlkFeature.CONFIG_WCE];

interface Rig {
  sim: SimBao;
  dev: SimBlkDevice;
  drv: VirtioBlkDriver;
  logs: string[];
  /** guest-physical address of byte `off` of the data region */
  addr(off: number): number;
  /** the data region's bytes at `off` */
  bytes(off: number, len: number): Uint8Array;
}

interface RigOptions extends Partial<SimBlkOptions> {
  queueSize?: number;
}

function makeDevice(o: RigOptions = {}): { sim: SimBao; dev: SimBlkDevice; logs: string[] } {
  const sim = new SimBao(testPlatform({ dmaSize: 256 * KiB }));
  const dev = new SimBlkDevice(sim, { base: WINDOW, intid: INTID, dma: 'dma0', capacity: 512 * KiB, ...o });
  return { sim, dev, logs: [] };
}

function open(sim: SimBao, logs: string[], queueSize?: number): VirtioBlkDriver {
  return VirtioBlkDriver.open(sim, { name: 'pdisk', base: WINDOW, intid: INTID, dma: 'dma0', queueSize, log: (m) => logs.push(m) });
}

function rig(o: RigOptions = {}): Rig {
  const { sim, dev, logs } = makeDevice(o);
  const drv = open(sim, logs, o.queueSize);
  sim.onIrq((intid) => {
    if (intid === INTID) drv.onInterrupt();
  });
  const base = sim.regionBase(DATA);
  return { sim, dev, drv, logs, addr: (off) => base + off, bytes: (off, len) => sim.memoryAt(base + off, len) };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  new Prng(seed).fill(b);
  return b;
}

/** Submits one request whose data are `lens` consecutive buffers from data offset `off`; records its statuses. */
function submit(r: Rig, type: number, sector: number, off: number, lens: number[], statuses: number[]): boolean {
  const addrs = new Float64Array(lens.length);
  let at = off;
  lens.forEach((l, i) => {
    addrs[i] = r.addr(at);
    at += l;
  });
  return r.drv.submit(type, sector, addrs, new Uint32Array(lens), lens.length, (s) => statuses.push(s));
}

/** Lets the device complete everything pending and the backend take the interrupt. */
function settle(r: Rig): void {
  r.dev.complete();
  r.sim.run();
}

test('probe and negotiation: VERSION_1 and the blk features wanted, never DISCARD; config read; writeback set; DRIVER_OK', () => {
  const r = rig({
    features: [Feature.VERSION_1, Feature.RING_EVENT_IDX, BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.FLUSH,
      BlkFeature.CONFIG_WCE, BlkFeature.DISCARD, BlkFeature.WRITE_ZEROES, BlkFeature.MQ],
    segMax: 7, sizeMax: 8192, blkSize: 4096, capacity: 768 * KiB, queueSize: 64,
  });
  const f = r.dev.driverFeatures;
  const has = (bit: number) => ((f[bit >> 5] >>> (bit & 31)) & 1) === 1;
  for (const bit of [Feature.VERSION_1, Feature.RING_EVENT_IDX, BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.FLUSH, BlkFeature.CONFIG_WCE]) {
    assert.ok(has(bit), `feature ${bit} accepted`);
  }
  for (const bit of [BlkFeature.DISCARD, BlkFeature.WRITE_ZEROES, BlkFeature.MQ]) assert.not.ok(has(bit), `feature ${bit} declined`);
  assert.is(r.drv.capacity, 768 * KiB);
  assert.is(r.drv.blockSize, 4096);
  assert.is(r.drv.maxSegments, 7);
  assert.is(r.drv.maxSegmentBytes, 8192);
  assert.is(r.drv.readOnly, false);
  assert.is(r.drv.flush, true);
  assert.is(r.dev.writeback, 1, 'the driver set the writeback cache mode');
  assert.is(r.drv.writeback, true);
  const ok = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK;
  assert.is(r.dev.deviceStatus, ok);
  assert.is(r.drv.transport.queues[0].num, 64);
  assert.equal(r.dev.violations, []);
});

test('without SEG_MAX the queue bounds the segments; without CONFIG_WCE a FLUSH device is writeback; without FLUSH write-through', () => {
  const a = rig({ features: [Feature.VERSION_1, BlkFeature.FLUSH], queueSize: 16 });
  assert.is(a.drv.maxSegments, 14, 'Queue Size 16 less header and status');
  assert.is(a.drv.maxSegmentBytes, 0xffffffff);
  assert.is(a.drv.writeback, true, '5.2.5: writeback iff FLUSH negotiated');
  assert.is(a.dev.writeback, 0, 'writeback not written without CONFIG_WCE');
  const b = rig({ features: [Feature.VERSION_1, BlkFeature.CONFIG_WCE] });
  assert.is(b.drv.flush, false);
  assert.is(b.drv.writeback, false);
  assert.is(b.dev.writeback, 0);
  assert.throws(() => submit(b, BlkType.FLUSH, 0, 0, [], []), /FLUSH without VIRTIO_BLK_F_FLUSH/);
});

test('probe refuses a legacy (Version 1) device, naming the field', () => {
  const { sim, logs } = makeDevice({ version: 1 });
  assert.throws(() => open(sim, logs), /Version 1 \(legacy virtio-mmio\)/);
});

test('probe refuses a device that is not a block device, and one without VERSION_1', () => {
  const a = makeDevice({ deviceId: 4 });
  assert.throws(() => open(a.sim, a.logs), /DeviceID 4 is not a block device/);
  const b = makeDevice({ features: [BlkFeature.FLUSH] });
  assert.throws(() => open(b.sim, b.logs), /does not offer VIRTIO_F_VERSION_1/);
  assert.is(b.dev.deviceStatus & DeviceStatus.FAILED, DeviceStatus.FAILED);
});

test('FEATURES_OK refused: open throws and the driver sets FAILED', () => {
  const { sim, dev, logs } = makeDevice({ refuseFeaturesOk: true });
  assert.throws(() => open(sim, logs), /refused FEATURES_OK/);
  assert.is(dev.deviceStatus, DeviceStatus.FAILED);
});

test('reset: Status is polled until it reads 0, within a bound', () => {
  const { sim, dev, logs } = makeDevice({ resetLatency: 50 });
  open(sim, logs);
  // a second driver over a live device (a warm restart): the reset takes 50 reads
  const before = dev.statusReads;
  open(sim, logs);
  assert.ok(dev.statusReads - before > 50, 'polled through the reset');
  assert.is(dev.deviceStatus & DeviceStatus.DRIVER_OK, DeviceStatus.DRIVER_OK);
  const stuck = makeDevice({ resetLatency: 1e9 });
  open(stuck.sim, stuck.logs);
  assert.throws(() => open(stuck.sim, stuck.logs), /Status still 0x0000000f after a reset/);
});

test('config reads retry while ConfigGeneration changes, and give up when it never settles', () => {
  const a = makeDevice({ capacity: 640 * KiB });
  a.dev.tearConfigReads(5);
  const drv = open(a.sim, a.logs);
  assert.is(drv.capacity, 640 * KiB);
  const b = makeDevice();
  b.dev.tearConfigReads(1000);
  assert.throws(() => open(b.sim, b.logs), /ConfigGeneration changed/);
});

test('read-only device: RO negotiated, OUT refused before the device sees it, IN served', () => {
  const r = rig({ readOnly: true });
  assert.is(r.drv.readOnly, true);
  r.dev.disk.set(pattern(1024, 9), 4096);
  assert.throws(() => submit(r, BlkType.OUT, 8, 0, [1024], []), /read-only/);
  assert.is(r.dev.notifies, 0);
  const st: number[] = [];
  assert.ok(submit(r, BlkType.IN, 8, 0, [1024], st));
  settle(r);
  assert.equal(st, [BlkStatus.OK]);
  assert.equal(Array.from(r.bytes(0, 1024)), Array.from(pattern(1024, 9)));
});

test('bytes written through the driver read back through it (several segments, with and without event idx)', () => {
  for (const eventIdx of [true, false]) {
    const r = rig(eventIdx ? {} : { features: [Feature.VERSION_1, BlkFeature.FLUSH, BlkFeature.SEG_MAX, BlkFeature.SIZE_MAX] });
    const data = pattern(6 * 512, eventIdx ? 1 : 2);
    r.bytes(0, data.length).set(data);
    const st: number[] = [];
    assert.ok(submit(r, BlkType.OUT, 100, 0, [512, 2048, 512], st));
    settle(r);
    assert.equal(st, [BlkStatus.OK]);
    assert.equal(Array.from(r.dev.disk.subarray(100 * 512, 106 * 512)), Array.from(data), 'on the disk at sector 100');
    r.bytes(8192, data.length).fill(0);
    assert.ok(submit(r, BlkType.IN, 100, 8192, [1024, 1536, 512], st));
    settle(r);
    assert.equal(st, [BlkStatus.OK, BlkStatus.OK]);
    assert.equal(Array.from(r.bytes(8192, data.length)), Array.from(data), `read back (event idx ${eventIdx})`);
    assert.is(r.drv.inFlight, 0);
    assert.equal(r.drv.counters, { requests: 2, completions: 2, errors: 0, kicks: 2, interrupts: 2 });
    assert.equal(r.dev.violations, []);
  }
});

test('the last sector works; a range past the capacity or a bad shape is refused before the device sees it', () => {
  const r = rig();
  const last = r.drv.capacity / 512 - 1;
  const st: number[] = [];
  assert.ok(submit(r, BlkType.OUT, last, 0, [512], st));
  assert.throws(() => submit(r, BlkType.OUT, last, 0, [1024], st), /past the capacity/);
  assert.throws(() => submit(r, BlkType.IN, 0, 0, [100], st), /multiple of 512/);
  assert.throws(() => submit(r, BlkType.IN, 0, 0, [], st), /multiple of 512/);
  assert.throws(() => submit(r, BlkType.IN, 0, 0, [131072], st), /data buffer 0/);
  assert.throws(() => submit(r, 11, 0, 0, [512], st), /type 11/);
  assert.throws(() => submit(r, BlkType.IN, 0, 0, new Array(40).fill(512), st), /data buffers/);
  settle(r);
  assert.equal(st, [BlkStatus.OK]);
  assert.is(r.dev.ops.length, 1);
});

test('many requests in flight, completed in a seeded random order: each reported once with its status, data intact', () => {
  for (const seed of fuzzSeeds(0xb1c0, 6)) {
    withSeed(seed, () => {
      // indirect tables (one descriptor per request: 16 slots fill first) or direct chains (32 descriptors fill first)
      const indirect = (seed & 1) === 1;
      console.log(`blk-driver: out-of-order round, seed 0x${seed.toString(16)}, ${indirect ? 'indirect' : 'direct'} descriptors`);
      const prng = new Prng(seed);
      const r = rig({ randomOrderSeed: seed, queueSize: indirect ? 16 : 32, capacity: 512 * KiB, features: indirect ? undefined : DIRECT_ONLY });
      const initial = pattern(r.drv.capacity, seed ^ 0x5a5a);
      r.dev.disk.set(initial);
      // request i owns sectors [8 i, 8 i + 8) and data slot i % 32 (8 KiB) while in flight
      const total = 120;
      const AREA = 8;
      for (let i = 0; i < 8; i++) r.dev.ioerrSectors.add(prng.below(total * AREA));
      const freeSlots = Array.from({ length: 32 }, (_, i) => i);
      const expected: number[] = [];
      const writes: { sector: number; data: Uint8Array }[] = [];
      const got: number[][] = Array.from({ length: total }, () => []);
      const completedOrder: number[] = [];
      let next = 0;
      let full = 0;
      for (let round = 0; completedOrder.length < total; round++) {
        assert.ok(round < 10 * total, `${completedOrder.length} of ${total} completed after ${round} rounds`);
        while (next < total && freeSlots.length > 0) {
          const id = next;
          const segs = prng.range(1, 4);
          const lens = Array.from({ length: segs }, () => 512 * prng.range(1, 2));
          const bytes = lens.reduce((x, y) => x + y, 0);
          const sector = id * AREA + prng.below(AREA - bytes / 512 + 1);
          const write = prng.chance(0.5);
          const slot = freeSlots[freeSlots.length - 1];
          const data = pattern(bytes, seed + id);
          if (write) r.bytes(slot * 8192, bytes).set(data);
          const addrs = new Float64Array(segs);
          for (let k = 0, at = slot * 8192; k < segs; at += lens[k], k++) addrs[k] = r.addr(at);
          const ok = r.drv.submit(write ? BlkType.OUT : BlkType.IN, sector, addrs, new Uint32Array(lens), segs, (status) => {
            got[id].push(status);
            completedOrder.push(id);
            if (status === BlkStatus.OK && !write) {
              assert.equal(Array.from(r.bytes(slot * 8192, bytes)), Array.from(initial.subarray(sector * 512, sector * 512 + bytes)), `read ${id}`);
            }
            freeSlots.push(slot);
          });
          if (!ok) {
            assert.not.ok(r.drv.hasRoom(segs));
            full++;
            break;
          }
          freeSlots.pop();
          let bad = false;
          for (let s = sector; s < sector + bytes / 512; s++) if (r.dev.ioerrSectors.has(s)) bad = true;
          expected[id] = bad ? BlkStatus.IOERR : BlkStatus.OK;
          if (write && !bad) writes.push({ sector, data });
          next++;
        }
        // the device completes a few, in its own order, between submissions
        r.dev.complete(prng.range(1, 6));
        r.sim.run();
      }
      assert.equal(got, expected.map((s) => [s]), 'every request reported once with its status');
      assert.not.equal(completedOrder, Array.from({ length: total }, (_, i) => i), 'completions came out of order');
      assert.ok(full > 0, 'the queue filled up at least once');
      assert.ok(expected.includes(BlkStatus.IOERR), 'some requests hit a bad sector');
      const disk = initial.slice();
      for (const w of writes) disk.set(w.data, w.sector * 512);
      assert.ok(r.dev.disk.every((v, i) => v === disk[i]), 'the disk holds exactly the writes that succeeded');
      assert.is(r.drv.inFlight, 0);
      assert.is(r.drv.counters.completions, total);
      assert.is(r.drv.counters.errors, expected.filter((s) => s !== BlkStatus.OK).length);
      assert.equal(r.dev.violations, []);
    });
  }
});

test('queue-full back-pressure (direct chains): submit answers false and changes nothing; room returns after a completion', () => {
  const r = rig({ queueSize: 8, features: DIRECT_ONLY });
  const st: number[] = [];
  assert.ok(submit(r, BlkType.OUT, 0, 0, [512], st));
  assert.ok(submit(r, BlkType.OUT, 1, 512, [512], st));
  assert.not.ok(r.drv.hasRoom(1), '2 descriptors left of 8');
  const kicks = r.dev.notifies;
  assert.not.ok(submit(r, BlkType.OUT, 2, 1024, [512], st));
  assert.is(r.drv.counters.requests, 2);
  assert.is(r.drv.inFlight, 2);
  assert.is(r.dev.notifies, kicks, 'no QueueNotify for a refused request');
  r.dev.complete(1);
  r.sim.run();
  assert.equal(st, [BlkStatus.OK]);
  assert.ok(r.drv.hasRoom(1));
  assert.ok(submit(r, BlkType.OUT, 2, 1024, [512], st));
  settle(r);
  assert.equal(st, [0, 0, 0]);
  assert.equal(r.dev.violations, []);
});

test('with indirect tables a request takes one descriptor: Queue Size requests in flight, then back-pressure', () => {
  const r = rig({ queueSize: 8 });
  const st: number[] = [];
  r.bytes(0, 8 * 4096).set(pattern(8 * 4096, 5));
  for (let i = 0; i < 8; i++) assert.ok(submit(r, BlkType.OUT, 8 * i, 4096 * i, [512, 1024, 2048], st), `request ${i}`);
  assert.not.ok(r.drv.hasRoom(3));
  assert.not.ok(submit(r, BlkType.OUT, 64, 0, [512], st));
  assert.is(r.dev.pendingCount, 8);
  settle(r);
  assert.equal(st, new Array(8).fill(BlkStatus.OK));
  assert.ok(submit(r, BlkType.IN, 56, 65536, [3584], st));
  settle(r);
  assert.equal(Array.from(r.bytes(65536, 3584)), Array.from(pattern(8 * 4096, 5).subarray(7 * 4096, 7 * 4096 + 3584)));
  assert.equal(r.dev.violations, []);
});

test('plugged submissions are published with one QueueNotify', () => {
  const r = rig();
  const st: number[] = [];
  r.drv.plug();
  for (let i = 0; i < 5; i++) assert.ok(submit(r, BlkType.IN, i, i * 512, [512], st));
  assert.is(r.dev.notifies, 0);
  r.drv.unplug();
  assert.is(r.dev.notifies, 1);
  assert.is(r.dev.pendingCount, 5);
  settle(r);
  assert.equal(st, [0, 0, 0, 0, 0]);
});

test('an injected IOERR reaches the request that hit the bad sector only', () => {
  const r = rig();
  r.dev.ioerrSectors.add(21);
  const a: number[] = [];
  const b: number[] = [];
  assert.ok(submit(r, BlkType.OUT, 16, 0, [4096], a));
  assert.ok(submit(r, BlkType.OUT, 24, 4096, [4096], b));
  settle(r);
  assert.equal(a, [BlkStatus.IOERR]);
  assert.equal(b, [BlkStatus.OK]);
  assert.is(r.drv.counters.errors, 1);
  assert.is(r.drv.failed, false, 'an I/O error is not a broken device');
});

test('FLUSH passes through to the device, after the writes before it', () => {
  const r = rig();
  const st: number[] = [];
  assert.ok(submit(r, BlkType.OUT, 0, 0, [512], st));
  settle(r);
  assert.ok(submit(r, BlkType.FLUSH, 0, 0, [], st));
  settle(r);
  assert.equal(st, [BlkStatus.OK, BlkStatus.OK]);
  assert.equal(r.dev.ops.map((o) => [o.type, o.dirty]), [[BlkType.OUT, 0], [BlkType.FLUSH, 1]]);
  assert.throws(() => submit(r, BlkType.FLUSH, 0, 0, [512], st), /FLUSH with data/);
});

test('GET_ID returns the device id string', () => {
  const r = rig();
  const st: number[] = [];
  assert.ok(submit(r, BlkType.GET_ID, 0, 0, [20], st));
  settle(r);
  assert.equal(st, [BlkStatus.OK]);
  assert.is(String.fromCharCode(...r.bytes(0, 6)), 'simblk');
});

test('a used id the driver never gave: the driver gives up, fails every request in flight, nothing thrown out of onInterrupt', () => {
  for (const bogus of ['never a head', 'already completed', 'too many']) {
    const r = rig({ queueSize: 16, features: DIRECT_ONLY });
    const st: number[][] = [[], [], []];
    // heads 0, 3 and 6 (three descriptors each)
    assert.ok(submit(r, BlkType.OUT, 0, 0, [512], st[0]));
    assert.ok(submit(r, BlkType.OUT, 1, 512, [512], st[1]));
    assert.ok(submit(r, BlkType.IN, 2, 1024, [512], st[2]));
    r.dev.complete(1);
    r.sim.run();
    assert.equal(st[0], [BlkStatus.OK]);
    if (bogus === 'never a head') r.dev.injectUsed(1);
    else if (bogus === 'already completed') r.dev.injectUsed(0);
    else for (let i = 0; i < 3; i++) r.dev.injectUsed(3);
    r.sim.run();
    assert.ok(r.drv.failed, bogus);
    assert.equal(st, [[BlkStatus.OK], [BlkStatus.IOERR], [BlkStatus.IOERR]], bogus);
    assert.is(r.drv.inFlight, 0);
    const why = bogus === 'too many' ? /giving up on the device: queue 0: used.idx 4 is 3 entries past 1 with 2 chains in flight/
      : new RegExp(`giving up on the device: queue 0: used entry 1 names descriptor ${bogus === 'never a head' ? 1 : 0}, not the head`);
    assert.ok(r.logs.some((l) => why.test(l)), r.logs.join('\n'));
    assert.is(r.dev.deviceStatus, DeviceStatus.FAILED, 'reset (the device stops using the rings), then FAILED');
    // later requests fail too, from a timer rather than inside submit
    const later: number[] = [];
    assert.ok(submit(r, BlkType.IN, 3, 0, [512], later));
    assert.equal(later, []);
    r.sim.run();
    assert.equal(later, [BlkStatus.IOERR]);
  }
});

test('DEVICE_NEEDS_RESET fails every request in flight once, with one log line', () => {
  const r = rig();
  const st: number[][] = Array.from({ length: 6 }, () => []);
  for (let i = 0; i < 6; i++) assert.ok(submit(r, BlkType.IN, i, i * 512, [512], st[i]));
  r.dev.complete(2);
  r.dev.setNeedsReset();
  r.sim.run();
  assert.equal(st.map((s) => s.length), [1, 1, 1, 1, 1, 1], 'each reported once');
  assert.equal(st.slice(0, 2), [[BlkStatus.OK], [BlkStatus.OK]], 'those the device completed first are OK');
  assert.equal(st.slice(2), [[1], [1], [1], [1]]);
  assert.ok(r.drv.failed);
  assert.is(r.logs.filter((l) => /DEVICE_NEEDS_RESET/.test(l)).length, 1, r.logs.join('\n'));
  // another interrupt afterwards changes nothing
  r.dev.setNeedsReset();
  r.sim.run();
  assert.equal(st.map((s) => s.length), [1, 1, 1, 1, 1, 1]);
  assert.is(r.drv.counters.completions, 6);
});

test('the used length reported is bounded by the chain\'s device-writable bytes', () => {
  const r = rig();
  const q = r.drv.transport.queues[0];
  const inner = q.onUsed!;
  const lens: number[] = [];
  q.onUsed = (token, len) => {
    lens.push(len);
    inner(token, len);
  };
  const st: number[] = [];
  assert.ok(submit(r, BlkType.IN, 0, 0, [1024], st));
  settle(r);
  assert.ok(submit(r, BlkType.IN, 0, 0, [1024], st));
  r.dev.injectUsed(0, 1e6);
  r.sim.run();
  assert.equal(lens, [1025, 1025]);
  assert.equal(st, [BlkStatus.OK, BlkStatus.IOERR], 'a status byte the device never wrote is IOERR');
  assert.ok(r.logs.some((l) => /status byte 255 \(never written\)/.test(l)));
});

test('a completion callback that throws does not stop the others', () => {
  const r = rig();
  const st: number[] = [];
  r.drv.submit(BlkType.IN, 0, new Float64Array([r.addr(0)]), new Uint32Array([512]), 1, () => {
    throw new Error('caller bug');
  });
  assert.ok(submit(r, BlkType.IN, 1, 512, [512], st));
  settle(r);
  assert.equal(st, [BlkStatus.OK]);
  assert.ok(r.logs.some((l) => /caller bug/.test(l)));
  assert.is(r.drv.failed, false);
});

test('two drivers share one DMA arena; a region too small is refused naming it', () => {
  const sim = new SimBao(testPlatform({ dmaSize: 64 * KiB }));
  new SimBlkDevice(sim, { base: WINDOW, intid: INTID, dma: 'dma0', capacity: 64 * KiB });
  new SimBlkDevice(sim, { base: WINDOW + 0x1000, intid: INTID + 1, dma: 'dma0', capacity: 64 * KiB });
  const arena = new DmaArena(sim, 'dma0');
  const a = VirtioBlkDriver.open(sim, { name: 'a', base: WINDOW, intid: INTID, dma: arena, queueSize: 16 });
  const used = arena.used;
  const b = VirtioBlkDriver.open(sim, { name: 'b', base: WINDOW + 0x1000, intid: INTID + 1, dma: arena, queueSize: 16 });
  assert.ok(arena.used > used);
  assert.ok(b.transport.queues[0].descAddr > a.transport.queues[0].descAddr);
  const small = new SimBao(testPlatform({ dmaSize: 4 * KiB }));
  new SimBlkDevice(small, { base: WINDOW, intid: INTID, dma: 'dma0', capacity: 64 * KiB });
  assert.throws(() => VirtioBlkDriver.open(small, { name: 'c', base: WINDOW, intid: INTID, dma: 'dma0', queueSize: 256 }), /DMA region dma0/);
});

test('a configuration change that is not a reset: the new capacity is logged, the driver keeps serving', () => {
  const r = rig({ capacity: 512 * KiB });
  r.dev.resize(1024 * KiB);
  r.sim.run();
  assert.ok(r.logs.some((l) => /capacity changed from 524288 to 1048576 bytes/.test(l)), r.logs.join('\n'));
  assert.is(r.drv.capacity, 512 * KiB);
  assert.is(r.drv.failed, false);
  const st: number[] = [];
  assert.ok(submit(r, BlkType.IN, 0, 0, [512], st));
  settle(r);
  assert.equal(st, [BlkStatus.OK]);
});

test('a data buffer address that is not a non-negative integer below 2^53 is refused', () => {
  const r = rig();
  for (const a of [-512, 0.5, NaN, 2 ** 53]) {
    assert.throws(() => r.drv.submit(BlkType.IN, 0, new Float64Array([a]), new Uint32Array([512]), 1, () => {}), /data buffer 0 at address/);
  }
  assert.is(r.drv.inFlight, 0);
});

/** A rig whose host offers a disk plane: the arrays the driver shares are captured, the C side is played by the test. */
function planeRig(): Rig & { queue: DriverQueue; plane: { st: Uint32Array; reqs: Uint32Array; events: Uint32Array; tokens: Float64Array }; answers: HostPlacedAnswer[]; placeHost(h: number, feHead: number, off: number, sector: number): void } {
  const { sim, dev, logs } = makeDevice();
  let plane: { st: Uint32Array; reqs: Uint32Array; events: Uint32Array; tokens: Float64Array } | null = null;
  (sim as unknown as { diskPlane: Host['diskPlane'] }).diskPlane = (st, _q, _dma, _next, _cc, _wb, tokens, reqs, events) => {
    plane = { st, reqs, events, tokens };
    return 0;
  };
  const drv = open(sim, logs);
  sim.onIrq((intid) => {
    if (intid === INTID) drv.onInterrupt();
  });
  assert.ok(plane, 'the driver offered its queue to the host');
  const p = plane as unknown as { st: Uint32Array; reqs: Uint32Array; events: Uint32Array; tokens: Float64Array };
  assert.is(p.st[DiskPlaneWord.CTRL], 1);
  assert.is(drv.planeHandle, 0);
  const answers: HostPlacedAnswer[] = [];
  drv.onHostAnswer = (a) => answers.push({ ...a });
  const base = sim.regionBase(DATA);
  const dmaBase = sim.regionBase('dma0');
  const queue = (drv as unknown as { queue: DriverQueue }).queue;
  return {
    sim, dev, drv, logs, queue, plane: p, answers, addr: (off) => base + off, bytes: (off, len) => sim.memoryAt(base + off, len),
    // what runtime/diskplane.c does for a 4 KiB read of the frontend's head `feHead` into data offset `off`
    placeHost(h, feHead, off, sector) {
      assert.is(queue.st[DriverQueueWord.FREE_HEAD], h, 'the head the plane takes is the free head');
      const hdr = dmaBase + p.st[DiskPlaneWord.HEADERS] + 16 * h;
      const view = new DataView(sim.region('dma0'));
      view.setUint32(hdr - dmaBase, BlkType.IN, true);
      view.setUint32(hdr - dmaBase + 8, sector, true);
      const status = dmaBase + p.st[DiskPlaneWord.STATUSES] + h;
      queue.add([hdr, base + off, status], [16, 4096, 1], 1, 3, -h - 1);
      const w = DISK_REQ_WORDS * h;
      p.reqs.set([3 + 1, feHead, 4097, 0x100 + feHead, 7, BlkType.IN], w);
      queue.kick();
    },
  };
}

test('disk plane: a request the host placed and TypeScript reaps reaches onHostAnswer with its frontend fields; the data moved', () => {
  const r = planeRig();
  r.dev.disk.set(pattern(4096, 9), 8 * 512);
  r.placeHost(0, 5, 0, 8);
  settle(r);
  assert.is(r.answers.length, 1);
  assert.equal(r.answers[0], { reapedByHost: false, dm: 3, feHead: 5, written: 4097, statusOff: 0x105, generation: 7, type: BlkType.IN, status: BlkStatus.OK });
  assert.equal(Array.from(r.bytes(0, 4096)), Array.from(r.dev.disk.subarray(8 * 512, 8 * 512 + 4096)), 'the device read into the frontend buffer');
  assert.is(r.plane.reqs[DiskReqWord.DM], 0, 'the record is freed');
  assert.is(r.drv.inFlight, 0);
});

test('disk plane: events left by the host are delivered in order, TypeScript chains to their requests, the host\'s to onHostAnswer (a bad status byte answered IOERR, logged)', () => {
  const r = planeRig();
  // a chain TypeScript placed that the host reaped: slot 0 of the driver (its own request)
  const statuses: number[] = [];
  assert.ok(submit(r, BlkType.IN, 0, 0, [512], statuses));
  r.dev.complete();
  // the host reaps the used ring with DriverQueue's algorithm and leaves what is JS's as events
  const ev = r.plane.events;
  let n = 0;
  r.queue.reap((token, len) => {
    ev.set([token, len], DISK_EVENT_WORDS * n++);
  });
  assert.is(n, 1);
  ev.set([DISK_EVENT_HOST, 1, 3, 9, 1, 0x200, 4, BlkType.OUT, 0x77], DISK_EVENT_WORDS);
  r.plane.st[DiskPlaneWord.EVENTS] = 2;
  r.plane.st[DiskPlaneWord.ISR] = 1;
  r.drv.onInterrupt();
  assert.equal(statuses, [BlkStatus.OK]);
  assert.equal(r.answers, [{ reapedByHost: true, dm: 3, feHead: 9, written: 1, statusOff: 0x200, generation: 4, type: BlkType.OUT, status: BlkStatus.IOERR }]);
  assert.ok(r.logs.some((l) => /status byte 119/.test(l)), r.logs.join('\n'));
  assert.is(r.plane.st[DiskPlaneWord.EVENTS], 0);
  assert.is(r.plane.st[DiskPlaneWord.ISR], 0);
});

test('disk plane: giving up on the device turns the plane off and answers its requests in flight IOERR; a broken ring the host found makes the driver give up', () => {
  const r = planeRig();
  r.placeHost(0, 2, 0, 0);
  r.drv.transport.fail('test');
  assert.is(r.plane.st[DiskPlaneWord.CTRL], 0);
  assert.equal(r.answers.map((a) => [a.feHead, a.status]), [[2, BlkStatus.IOERR]]);
  const r2 = planeRig();
  r2.plane.st[DiskPlaneWord.BROKEN] = DiskBroken.USED_ID;
  r2.plane.st[DiskPlaneWord.BROKEN_IDX] = 3;
  r2.plane.st[DiskPlaneWord.BROKEN_ARG] = 99;
  r2.drv.onInterrupt();
  assert.ok(r2.drv.failed);
  assert.ok(r2.logs.some((l) => /used entry 3 names descriptor 99/.test(l)), r2.logs.join('\n'));
});

test('disk plane: SharedDisk holds the plane back while requests wait for room', () => {
  const r = planeRig();
  const statuses: number[] = [];
  r.drv.setBacklog(true);
  assert.is(r.plane.st[DiskPlaneWord.BACKLOG], 1);
  r.drv.setBacklog(false);
  assert.is(r.plane.st[DiskPlaneWord.BACKLOG], 0);
  // the SharedDisk side: a full queue makes a backlog, completions end it
  const shared = new SharedDisk(r.drv, 'pdisk');
  const n = r.drv.inFlight;
  const lens = new Uint32Array([512]);
  const addrs = new Float64Array([r.addr(0)]);
  let i = 0;
  while (r.plane.st[DiskPlaneWord.BACKLOG] === 0 && i < 1000) {
    shared.io(BlkType.IN, 0, addrs, lens, 1, (s) => statuses.push(s));
    i++;
  }
  assert.ok(i < 1000 && r.drv.inFlight > n, 'the queue filled up and requests waited');
  for (let k = 0; k < 100 && r.drv.inFlight > n; k++) {
    shared.interruptBegins();
    settle(r);
    shared.completed();
  }
  assert.is(r.plane.st[DiskPlaneWord.BACKLOG], 0);
  assert.is(statuses.length, i);
});

test.run();
