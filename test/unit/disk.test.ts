// SPDX-License-Identifier: Apache-2.0
/**
 * Frontend disks on ranges of a physical disk (src/devices/disk.ts) served
 * by BlkDevice over its asynchronous path, through the simulated Bao and
 * the driver model, on a simulated disk (test/sim/fake-disk.ts) that
 * completes in a seeded random order, fails chosen sectors, and keeps a
 * volatile cache that a simulated power cut loses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DeviceModel } from '../../src/config/platform.ts';
import { RamBacking } from '../../src/devices/backing.ts';
import { SharedDisk } from '../../src/devices/disk.ts';
import type { Host } from '../../src/host.ts';
import { BLK_S, BLK_T, BlkDriver, type PendingBlkRequest } from '../driver/blk.ts';
import { makeSystem, type System } from '../driver/system.ts';
import { FakeDisk, type FakeDiskOptions } from '../sim/fake-disk.ts';
import { Prng } from '../sim/prng.ts';

const KiB = 1024;
/** where the two frontend disks sit on the physical disk, bytes */
const VDA_BASE = 64 * KiB;
const VDA_SIZE = 256 * KiB;
const VDB_BASE = VDA_BASE + VDA_SIZE;
const VDB_SIZE = 128 * KiB;

interface Rig {
  s: System;
  disk: FakeDisk;
  shared: SharedDisk;
}

/** A system whose vda and vdb (writable here) are ranges of one fake disk. */
function rig(opts: Partial<FakeDiskOptions> = {}): Rig {
  let disk: FakeDisk | null = null;
  let shared: SharedDisk | null = null;
  let host: Host | null = null;
  const dma = (addr: number, len: number): Uint8Array => {
    // the disk reaches the frontends' shared regions by guest-physical address
    for (const name of ['vda', 'vdb']) {
      const m = s.model(name);
      if (addr >= m.shmem.base && addr + len <= m.shmem.base + m.shmem.size) return new Uint8Array(host!.region(`shmem:${name}`), addr - m.shmem.base, len);
    }
    throw new Error(`DMA outside the shared regions: 0x${addr.toString(16)}+${len}`);
  };
  const s: System = makeSystem({
    backend: {
      blockBacking: (model: DeviceModel, h: Host) => {
        host = h;
        if (!disk) {
          disk = new FakeDisk({ capacity: 1024 * KiB, ...opts }, dma);
          shared = new SharedDisk(disk, 'pdisk0');
        }
        if (model.name === 'vda') return shared!.range(VDA_BASE, VDA_SIZE, false, 'baojs-vda');
        if (model.name === 'vdb') return shared!.range(VDB_BASE, VDB_SIZE, false, 'baojs-vdb');
        return new RamBacking(h.region(model.backing as string));
      },
    },
  });
  return { s, disk: disk!, shared: shared! };
}

type Pending = PendingBlkRequest;

/** Puts one request on the queue without waiting for it (kick separately); 512-byte aligned buffers. */
function add(d: BlkDriver, type: number, sector: number, out?: Uint8Array, inLen = 0, seg = 4096): Pending {
  return d.add(type, sector, out, inLen, seg, 512);
}

/** Takes every used element: [head, status, data bytes], frees the buffers. */
function reap(d: BlkDriver, pending: Map<number, Pending>): { p: Pending; status: number; len: number; data: Uint8Array }[] {
  d.drv.handleInterrupt();
  const out = [];
  for (let u = d.q.getUsed(); u; u = d.q.getUsed()) {
    const p = pending.get(u.id);
    if (!p) throw new Error(`used id ${u.id} was not in flight`);
    pending.delete(u.id);
    const r = d.finish(p);
    out.push({ p, status: r.status, len: u.len, data: r.data });
  }
  return out;
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  new Prng(seed).fill(b);
  return b;
}

/** Completes everything in flight (random order), in bursts as the disk's interrupt would, until the device has nothing left. */
function drain(r: Rig, rng: Prng): void {
  for (let guard = 0; guard < 10000 && r.disk.inFlight.length > 0; guard++) {
    r.shared.interruptBegins();
    r.disk.completeRandom(rng, 1 + rng.below(3));
    r.shared.completed();
  }
}

test('capacity and features: a range is its own disk; CONFIG_WCE and FLUSH offered, DISCARD not', () => {
  const r = rig();
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  assert.is(d.capacity, VDA_SIZE / 512);
  assert.ok(d.drv.has(9), 'FLUSH');
  assert.ok(d.drv.has(11), 'CONFIG_WCE');
  assert.not.ok(d.drv.has(13), 'no DISCARD');
  assert.not.ok(d.drv.has(14), 'no WRITE_ZEROES');
  assert.is(d.drv.readConfig(32, 1), 1, 'writeback after FLUSH was negotiated');
});

test('requests in flight at once, completed in a random order: every answer once, bytes land at the range offset and read back', () => {
  const seed = 0x5eed01;
  const rng = new Prng(seed);
  const r = rig({ queueDepth: 3, maxSegments: 2, maxSegmentBytes: 1024 });
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  const pending = new Map<number, Pending>();
  const written = new Map<number, Uint8Array>();
  // 24 writes of 8 KiB to distinct places, all queued before any completes
  for (let i = 0; i < 24; i++) {
    const sector = i * 20 + (i % 3);
    const data = pattern(8192, seed + i);
    written.set(sector, data);
    const p = add(d, BLK_T.OUT, sector, data);
    pending.set(p.head, p);
  }
  d.q.kick();
  assert.ok(r.shared.waiting > 0, 'some requests waited for room in the disk queue');
  const answered: number[] = [];
  const completionOrder: number[] = [];
  for (let guard = 0; guard < 1000 && pending.size > 0; guard++) {
    r.disk.completeRandom(rng, 1 + rng.below(2));
    r.shared.completed();
    for (const a of reap(d, pending)) {
      assert.is(a.status, BLK_S.OK, `seed ${seed}: write at ${a.p.sector}`);
      assert.is(a.len, 1);
      answered.push(a.p.head);
      completionOrder.push(a.p.sector);
    }
  }
  assert.is(answered.length, 24, `seed ${seed}: every write answered`);
  assert.is(new Set(answered).size, 24, 'each once');
  assert.equal(r.disk.violations, [], 'the disk saw only requests it allows (segments, sizes)');
  assert.not.equal(completionOrder, [...completionOrder].sort((a, b) => a - b), 'answered out of submission order');
  for (const [sector, data] of written) {
    assert.equal(Array.from(r.disk.current.subarray(VDA_BASE + sector * 512, VDA_BASE + sector * 512 + 8192)), Array.from(data), `on the disk at range offset, sector ${sector}`);
  }
  // read them back concurrently
  for (const [sector] of written) {
    const p = add(d, BLK_T.IN, sector, undefined, 8192, 2048);
    pending.set(p.head, p);
  }
  d.q.kick();
  const seen = new Set<number>();
  for (let guard = 0; guard < 1000 && pending.size > 0; guard++) {
    drain(r, rng);
    for (const a of reap(d, pending)) {
      assert.is(a.status, BLK_S.OK);
      assert.is(a.len, 8192 + 1);
      assert.equal(Array.from(a.data), Array.from(written.get(a.p.sector)!), `read back sector ${a.p.sector}`);
      seen.add(a.p.sector);
    }
  }
  assert.is(seen.size, 24);
  assert.equal(r.s.sim.violations, []);
});

test('two frontend disks on two ranges of one disk never see each other\'s data', () => {
  const rng = new Prng(77);
  const r = rig();
  const a = new BlkDriver(r.s.sim, r.s.model('vda'));
  const b = new BlkDriver(r.s.sim, r.s.model('vdb'));
  const pa = new Map<number, Pending>();
  const pb = new Map<number, Pending>();
  const da = pattern(VDA_SIZE, 1);
  const db = pattern(VDB_SIZE, 2);
  // in rounds that fit the shared regions, both disks in flight at once
  for (let round = 0; round < VDA_SIZE / (64 * KiB); round++) {
    for (let o = round * 64 * KiB; o < (round + 1) * 64 * KiB; o += 16 * KiB) {
      const p = add(a, BLK_T.OUT, o / 512, da.subarray(o, o + 16 * KiB));
      pa.set(p.head, p);
      if (o < VDB_SIZE) { const q = add(b, BLK_T.OUT, o / 512, db.subarray(o, o + 16 * KiB)); pb.set(q.head, q); }
    }
    a.q.kick();
    b.q.kick();
    drain(r, rng);
    for (const x of [...reap(a, pa), ...reap(b, pb)]) assert.is(x.status, BLK_S.OK);
  }
  assert.is(pa.size + pb.size, 0);
  // one past each range's end is refused by the device, before the disk
  const before = r.disk.log.length;
  assert.is(a.read(VDA_SIZE / 512, 1).status, BLK_S.IOERR);
  assert.is(b.write(VDB_SIZE / 512 - 1, pattern(1024, 3)).status, BLK_S.IOERR);
  assert.is(r.disk.log.length, before, 'nothing reached the disk');
  assert.equal(Array.from(r.disk.current.subarray(VDA_BASE, VDA_BASE + VDA_SIZE)), Array.from(da));
  assert.equal(Array.from(r.disk.current.subarray(VDB_BASE, VDB_BASE + VDB_SIZE)), Array.from(db));
  assert.ok(r.disk.current.subarray(0, VDA_BASE).every((x) => x === 0), 'bytes before the first range untouched');
  assert.ok(r.disk.current.subarray(VDB_BASE + VDB_SIZE).every((x) => x === 0), 'bytes after the last range untouched');
});

test('one used buffer notification per burst of completions; a completion outside an interrupt (a driver answering from a timer) is notified at once', () => {
  const rng = new Prng(21);
  const r = rig({ queueDepth: 16 });
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  const pending = new Map<number, Pending>();
  for (let i = 0; i < 6; i++) { const p = add(d, BLK_T.OUT, i * 8, pattern(4096, i)); pending.set(p.head, p); }
  d.q.kick();
  const t = r.s.backend.devices.get('vda')!.transport;
  const before = t.counters.usedNotifications;
  r.shared.interruptBegins();
  r.disk.completeRandom(rng, 6);
  assert.is(t.counters.usedNotifications, before, 'nothing notified inside the burst');
  r.shared.completed();
  assert.is(t.counters.usedNotifications, before + 1, 'one notification for the burst');
  assert.is(reap(d, pending).length, 6);
  // outside a burst
  const p = add(d, BLK_T.IN, 0, undefined, 4096);
  pending.set(p.head, p);
  d.q.kick();
  r.disk.complete(0);
  const got = reap(d, pending);
  assert.is(got.length, 1, 'answered without an interrupt burst');
  assert.is(got[0].status, BLK_S.OK);
});

test('a range past the end of the disk is refused with the field named', () => {
  const disk = new FakeDisk({ capacity: 1024 * KiB }, () => new Uint8Array(0));
  const shared = new SharedDisk(disk, 'pdisk0');
  assert.throws(() => shared.range(1024 * KiB - 4096, 8192, false, 'x', 'devices[6].backing'), /devices\[6\]\.backing: .*past the end of pdisk0/);
  assert.throws(() => shared.range(100, 4096, false, 'x', 'devices[6].backing'), /devices\[6\]\.backing: .*whole 512-byte sectors/);
  assert.is(shared.range(0, 1024 * KiB, false, 'x').capacity, 1024 * KiB);
});

test('a failing disk request becomes IOERR for the frontend request that needed it, with a log line; others succeed', () => {
  const rng = new Prng(5);
  const r = rig({ maxSegmentBytes: 4096, maxSegments: 1 });
  r.disk.failSectors.add(VDA_BASE / 512 + 40 + 9); // inside the second 4 KiB part of the write at sector 40
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  const pending = new Map<number, Pending>();
  const bad = add(d, BLK_T.OUT, 40, pattern(16384, 9));
  const good = add(d, BLK_T.OUT, 100, pattern(4096, 10));
  const badRead = add(d, BLK_T.IN, 48, undefined, 4096);
  pending.set(bad.head, bad).set(good.head, good).set(badRead.head, badRead);
  d.q.kick();
  drain(r, rng);
  const got = new Map(reap(d, pending).map((x) => [x.p.head, x]));
  assert.is(got.get(bad.head)!.status, BLK_S.IOERR);
  assert.is(got.get(good.head)!.status, BLK_S.OK);
  assert.is(got.get(badRead.head)!.status, BLK_S.IOERR);
  assert.is(got.get(badRead.head)!.len, 1, 'no data reported for a failed read');
  assert.ok(r.s.logs.some((l) => /vda.*write at head \d+: the disk answered IOERR/.test(l)), r.s.logs.join('\n'));
});

/**
 * The durability check: a seeded workload of writes (to distinct sectors)
 * and flushes with requests in flight, completed in a random order, cut at
 * a random moment; then every write the frontend was promised durable —
 * in writeback mode, one completed before a FLUSH that completed; in
 * writethrough mode, every completed one — is on the disk after the cut.
 */
function durability(seed: number, mode: 'writeback' | 'writethrough-wce' | 'no-flush'): { promised: number; flushes: number } {
  const rng = new Prng(seed);
  const r = rig({ queueDepth: 1 + rng.below(6) });
  const d = new BlkDriver(r.s.sim, r.s.model('vda'), mode === 'no-flush' ? { accept: (bit) => bit !== 9 && bit !== 11 } : {});
  if (mode === 'writethrough-wce') d.drv.writeConfig(32, 1, 0);
  const pending = new Map<number, Pending>();
  const completedWrites: Pending[] = [];
  const durable: Pending[] = [];
  let nextSector = 0;
  let flushes = 0;
  const steps = 20 + rng.below(60);
  for (let step = 0; step < steps; step++) {
    const k = rng.below(10);
    if (k < 6 && nextSector + 8 <= VDA_SIZE / 512) {
      const p = add(d, BLK_T.OUT, nextSector, pattern(512 * (1 + rng.below(8)), seed * 1000 + step));
      nextSector += 8;
      pending.set(p.head, p);
      d.q.kick();
    } else if (k < 8 && mode === 'writeback') {
      // a FLUSH covers the writes completed before it was submitted
      const p = add(d, BLK_T.FLUSH, 0);
      (p as Pending & { covers: Pending[] }).covers = [...completedWrites];
      pending.set(p.head, p);
      d.q.kick();
      flushes++;
    } else {
      r.disk.completeRandom(rng, 1 + rng.below(3));
      r.shared.completed();
    }
    for (const a of reap(d, pending)) {
      assert.is(a.status, BLK_S.OK);
      if (a.p.type === BLK_T.OUT) {
        completedWrites.push(a.p);
        if (mode !== 'writeback') durable.push(a.p);
      } else durable.push(...(a.p as Pending & { covers: Pending[] }).covers);
    }
  }
  const img = r.disk.afterPowerCut(rng);
  for (const w of new Set(durable)) {
    const at = VDA_BASE + w.sector * 512;
    assert.equal(Array.from(img.subarray(at, at + w.payload!.length)), Array.from(w.payload!), `seed ${seed} ${mode}: write at sector ${w.sector} was promised durable`);
  }
  return { promised: durable.length, flushes };
}

test('durability across a power cut (seeded, 300 runs): writeback, writethrough by CONFIG_WCE, no FLUSH negotiated', () => {
  let promised = 0;
  for (let seed = 1; seed <= 100; seed++) {
    for (const mode of ['writeback', 'writethrough-wce', 'no-flush'] as const) promised += durability(seed, mode).promised;
  }
  assert.ok(promised > 1000, `writes promised durable and checked: ${promised}`);
});

test('writethrough: a write completes only after a flush of the disk; one flush answers the writes waiting for it', () => {
  const rng = new Prng(3);
  const r = rig({ queueDepth: 16 });
  const d = new BlkDriver(r.s.sim, r.s.model('vda'), { accept: (bit) => bit !== 9 && bit !== 11 });
  const pending = new Map<number, Pending>();
  for (let i = 0; i < 6; i++) { const p = add(d, BLK_T.OUT, i * 8, pattern(4096, i)); pending.set(p.head, p); }
  d.q.kick();
  // complete the six writes, not the flushes they start
  for (let i = 0; i < 6; i++) {
    const k = r.disk.inFlight.findIndex((x) => x.type === 1);
    r.disk.complete(k);
  }
  r.shared.completed();
  assert.equal(reap(d, pending).length, 0, 'no write answered before its flush');
  const flushesInFlight = r.disk.inFlight.filter((x) => x.type === 4).length;
  assert.is(flushesInFlight, 1, 'one flush of the disk');
  drain(r, rng);
  assert.is(reap(d, pending).length, 6);
  assert.ok(r.shared.counters.flushes <= 2, `flushes ${r.shared.counters.flushes}`);
});

test('a device reset with requests in flight: their answers are dropped, the device works after it', () => {
  const rng = new Prng(9);
  const r = rig();
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  const pending = new Map<number, Pending>();
  for (let i = 0; i < 4; i++) { const p = add(d, BLK_T.OUT, i * 8, pattern(4096, i)); pending.set(p.head, p); }
  d.q.kick();
  d.drv.reset();
  drain(r, rng);
  assert.is(r.s.sim.violations.length, 0);
  const d2 = new BlkDriver(r.s.sim, r.s.model('vda'));
  const data = pattern(4096, 99);
  const p = add(d2, BLK_T.OUT, 500, data);
  const pend2 = new Map([[p.head, p]]);
  d2.q.kick();
  drain(r, rng);
  const got = reap(d2, pend2);
  assert.is(got.length, 1);
  assert.is(got[0].status, BLK_S.OK);
  assert.is(d2.drv.mem.r16(d2.q.usedAddr + 2), 1, 'the new queue saw exactly one used element');
});

test('a queue reset (VIRTIO_F_RING_RESET) with requests in flight: their answers never reach the queue set up in its place', () => {
  const rng = new Prng(11);
  const r = rig();
  const d = new BlkDriver(r.s.sim, r.s.model('vda'));
  assert.ok(d.drv.has(40), 'RING_RESET negotiated');
  for (let i = 0; i < 4; i++) add(d, BLK_T.IN, i * 8, undefined, 4096);
  d.q.kick();
  assert.ok(r.disk.inFlight.length > 0, 'requests in flight on the disk');
  d.drv.writel(0x030, 0); // QueueSel
  d.drv.writel(0x0c0, 1); // QueueReset
  assert.is(d.drv.readl(0x0c0), 1, 'the reset is done');
  const q2 = d.drv.setupQueue(0);
  drain(r, rng);
  assert.is(d.drv.mem.r16(q2.usedAddr + 2), 0, 'no answer of the old queue in the new one');
  const data = pattern(4096, 5);
  const before = d.q;
  (d as unknown as { q: typeof before }).q = q2;
  const p = add(d, BLK_T.OUT, 100, data);
  q2.kick();
  drain(r, rng);
  const got = reap(d, new Map([[p.head, p]]));
  assert.is(got.length, 1);
  assert.is(got[0].status, BLK_S.OK);
  assert.is(d.drv.mem.r16(q2.usedAddr + 2), 1, 'the new queue saw exactly its own answer');
  assert.is(r.s.sim.violations.length, 0);
});

test('seeded fuzz of frontend requests: status and bytes match a model of the range', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rng = new Prng(seed * 7919);
    const r = rig({ queueDepth: 1 + rng.below(8), maxSegments: 1 + rng.below(4), maxSegmentBytes: 512 * (1 + rng.below(16)) });
    const d = new BlkDriver(r.s.sim, r.s.model('vda'));
    const model = new Uint8Array(VDA_SIZE);
    const pending = new Map<number, Pending & { expect: number }>();
    const sectors = VDA_SIZE / 512;
    for (let i = 0; i < 40; i++) {
      const kind = rng.below(4);
      const sector = rng.chance(0.1) ? sectors - rng.below(3) : rng.below(sectors);
      const len = rng.chance(0.1) ? 1 + rng.below(1000) : 512 * (1 + rng.below(16));
      const inRange = len % 512 === 0 && sector * 512 + len <= VDA_SIZE;
      let p: Pending;
      if (kind === 0) {
        // overlapping writes in flight at once have no defined order: write only where nothing is in flight
        const data = pattern(len, seed * 100 + i);
        const overlaps = [...pending.values()].some((q) => q.type !== BLK_T.FLUSH && q.sector * 512 < sector * 512 + len && sector * 512 < q.sector * 512 + 65536);
        if (overlaps) continue;
        p = add(d, BLK_T.OUT, sector, data, 0, 512 * (1 + rng.below(8)));
        if (inRange) model.set(data, sector * 512);
      } else if (kind === 1) {
        p = add(d, BLK_T.IN, sector, undefined, len, 512 * (1 + rng.below(8)));
      } else if (kind === 2) {
        p = add(d, BLK_T.FLUSH, 0);
      } else {
        p = add(d, 99, sector, undefined, 0);
      }
      const expect = kind === 2 ? BLK_S.OK : kind === 3 ? BLK_S.UNSUPP : inRange ? BLK_S.OK : BLK_S.IOERR;
      pending.set(p.head, { ...p, expect });
      d.q.kick();
      // reads are checked after everything drained: no write is in flight then
      if (rng.chance(0.3)) { drain(r, rng); for (const a of reap(d, pending)) assert.is(a.status, (a.p as Pending & { expect: number }).expect, `seed ${seed}: type ${a.p.type} sector ${a.p.sector}`); }
    }
    drain(r, rng);
    for (const a of reap(d, pending)) assert.is(a.status, (a.p as Pending & { expect: number }).expect, `seed ${seed}: type ${a.p.type} sector ${a.p.sector}`);
    assert.is(pending.size, 0, `seed ${seed}: everything answered`);
    assert.equal(r.disk.violations, [], `seed ${seed}`);
    assert.ok(Array.from(r.disk.current.subarray(VDA_BASE, VDA_BASE + VDA_SIZE)).every((x, i) => x === model[i]), `seed ${seed}: the disk holds what the model does`);
  }
});

test.run();
