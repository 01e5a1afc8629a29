// SPDX-License-Identifier: Apache-2.0
/**
 * The console plane (runtime/consoleplane.c, built with the host compiler
 * and AddressSanitizer/UBSan) against the TypeScript device it accelerates.
 *
 * Each seeded scenario lays out a virtio-console transmitq in a shared
 * region — chains of device-readable buffers (empty ones included, some
 * with a device-writable buffer after them, some through indirect tables)
 * and a share of broken ones (a buffer outside the region, a head or next
 * index out of range, a loop, readable after writable, an indirect table
 * not negotiated or nested) — at any ring index, with and without
 * VIRTIO_F_RING_EVENT_IDX, then:
 *  A. the TypeScript device (SplitQueue + ConsoleDevice) serves it alone;
 *  B. the console plane serves it, and if it hands the queue back, the
 *     TypeScript device takes over from the indices it left.
 * Both must write the same bytes to the console, leave the same bytes in
 * the region (used ring, avail_event) and the same ring indices, count the
 * same chains and bytes, reach the same failure (NEEDS_RESET) and the same
 * used buffer notification. ASan fails the run on any access outside the
 * region.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import {
  CONSOLE_PORT_WORDS, ConsolePortCtrl, ConsolePortWord, DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS, QueueWord, QUEUE_WORDS,
} from '../../src/host.ts';
import { ConsoleDevice, ConsoleQueue } from '../../src/devices/console.ts';
import type { DeviceContext } from '../../src/virtio/device.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';
import { DescFlag } from '../../src/virtio/spec.ts';
import { fuzzSeeds, seedOverride, withSeed } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';
import { writeDesc } from '../sim/vring.ts';

/** Seeded queues at scale 1 (BAOJS_FUZZ_SCALE multiplies them). */
const SCENARIOS = 2000;
/** QueueNumMax of the console's queues (src/devices/console.ts default). */
const NUM_MAX = 64;
const SIZE = 16384;
/** Where buffers and indirect tables go in the region. */
const DATA = 0x1800;

interface Scenario {
  seed: number;
  st: Uint32Array;
  q: Uint32Array;
  base: number;
  shmem: Uint8Array;
  broken: number;
  /** receiveq scenarios: the bytes typed */
  typed: Uint8Array;
}

/**
 * A transmitq (or with `rx` a receiveq: device-writable buffers, now and
 * then a device-readable one before them) with up to Queue Size chains
 * from `seed` (see the file comment).
 */
function scenario(seed: number, rx = false): Scenario {
  const r = new Prng(seed);
  const dataFlag = rx ? DescFlag.WRITE : 0;
  const num = [4, 8, 16, 64][r.below(4)];
  const base = [0x1000, 0x80000000, 0x2_4000_0000][r.below(3)];
  const shmem = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) shmem[i] = r.below(256);
  const dv = new DataView(shmem.buffer);
  const desc = 0;
  const avail = 16 * num;
  const used = (avail + 6 + 2 * num + 3) & ~3;
  const eventIdx = r.below(2) === 1;
  const indirect = r.below(2) === 1;
  const start = r.below(65536);
  let broken = 0;
  let data = DATA;
  const buffer = (len: number): number => {
    const at = data;
    data += len;
    return base + at;
  };
  let nextDesc = 0;
  const chains = r.below(num + 1);
  let made = 0;
  for (let c = 0; c < chains && nextDesc < num; c++) {
    const head = nextDesc;
    const kind = r.below(48); // 0..7: the broken kinds below
    const readable = 1 + r.below(3);
    const segs: Array<{ gpa: number; len: number; flags: number }> = [];
    if (rx && r.below(4) === 0) segs.push({ gpa: buffer(8), len: 8, flags: 0 }); // a device-readable one first: ignored
    for (let i = 0; i < readable; i++) {
      const len = r.below(5) === 0 ? 0 : 1 + r.below(rx ? 12 : 40);
      segs.push({ gpa: buffer(len), len, flags: dataFlag });
    }
    if (!rx && r.below(4) === 0) segs.push({ gpa: buffer(8), len: 8, flags: DescFlag.WRITE });
    const last = segs.length - 1;
    if (kind === 0) { segs[last] = { gpa: base + SIZE - 4, len: 10, flags: dataFlag }; broken++; } // past the region's end
    if (kind === 1) { segs[last] = { gpa: base - 16, len: 8, flags: dataFlag }; broken++; } // below its start
    if (kind === 2) { segs.push({ gpa: buffer(4), len: 4, flags: 0 }); if (!rx) segs[0].flags = DescFlag.WRITE; broken++; } // readable after writable
    if (kind === 3 || kind === 4) {
      // through an indirect table (nested when kind is 4)
      const table = data;
      data += 16 * segs.length;
      segs.forEach((s, i) => writeDesc(dv, table + 16 * i, s.gpa, s.len, s.flags | (i + 1 < segs.length ? DescFlag.NEXT : 0), i + 1));
      if (kind === 4) { dv.setUint16(table + 12, DescFlag.INDIRECT, true); broken++; }
      if (!indirect) broken++;
      writeDesc(dv, desc + 16 * head, base + table, 16 * segs.length, DescFlag.INDIRECT, 0);
      nextDesc++;
    } else {
      if (nextDesc + segs.length > num) break;
      segs.forEach((s, i) => {
        const last = i + 1 === segs.length;
        writeDesc(dv, desc + 16 * (nextDesc + i), s.gpa, s.len, s.flags | (last ? 0 : DescFlag.NEXT), nextDesc + i + 1);
      });
      const lastAt = desc + 16 * (nextDesc + segs.length - 1);
      if (kind === 5) { dv.setUint16(lastAt + 12, dv.getUint16(lastAt + 12, true) | DescFlag.NEXT, true); dv.setUint16(lastAt + 14, num + r.below(4), true); broken++; }
      if (kind === 6) { dv.setUint16(lastAt + 12, dv.getUint16(lastAt + 12, true) | DescFlag.NEXT, true); dv.setUint16(lastAt + 14, head, true); broken++; }
      nextDesc += segs.length;
    }
    const slot = (start + made) & (num - 1);
    dv.setUint16(avail + 4 + 2 * slot, kind === 7 ? num + r.below(8) : head, true);
    if (kind === 7) broken++;
    made++;
  }
  dv.setUint16(avail, r.below(4) === 0 ? 1 : 0, true); // VIRTQ_AVAIL_F_NO_INTERRUPT, sometimes
  dv.setUint16(avail + 2, (start + made) & 0xffff, true);
  dv.setUint16(avail + 4 + 2 * num, (start + r.below(made + 2)) & 0xffff, true); // used_event
  const q = new Uint32Array(QUEUE_WORDS);
  q[QueueWord.NUM] = num;
  q[QueueWord.NUM_MAX] = NUM_MAX;
  q[QueueWord.DESC] = desc;
  q[QueueWord.AVAIL] = avail;
  q[QueueWord.USED] = used;
  q[QueueWord.FLAGS] = (eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) | (indirect ? DataPlaneQueueFlag.INDIRECT : 0);
  q[QueueWord.LAST_AVAIL] = start;
  q[QueueWord.USED_IDX] = start;
  q[QueueWord.SIGNALLED_USED] = (start - r.below(3)) & 0xffff;
  q[QueueWord.SIGNALLED_VALID] = r.below(4) === 0 ? 0 : 1;
  dv.setUint16(used + 2, start, true);
  const st = new Uint32Array(CONSOLE_PORT_WORDS);
  st[ConsolePortWord.CTRL] = rx ? ConsolePortCtrl.RX : ConsolePortCtrl.TX;
  return { seed, st, q, base, shmem, broken, typed: rx ? Uint8Array.from({ length: 1 + r.below(80) }, () => r.below(256)) : new Uint8Array(0) };
}

/** What the TypeScript device did with the queue. */
interface Outcome {
  lastAvail: number; usedIdx: number; failed: boolean; notified: boolean; out: number[]; chains: number; txBytes: number;
  rxBytes: number; errors: number; pending: number;
}

/**
 * The TypeScript device serves the transmitq in `shmem` from the state
 * words `q`, or with `typed` takes those bytes into the receiveq there
 * (its FIFO empty, as the plane requires).
 */
function serveInTs(q: Uint32Array, base: number, shmem: Uint8Array, typed?: Uint8Array): Outcome {
  const mem = new GuestMemory(base, shmem.buffer as ArrayBuffer, 'shm');
  const tx = new SplitQueue(typed ? ConsoleQueue.RECEIVE : ConsoleQueue.TRANSMIT, NUM_MAX);
  tx.num = q[QueueWord.NUM];
  tx.descAddr = base + q[QueueWord.DESC];
  tx.driverAddr = base + q[QueueWord.AVAIL];
  tx.deviceAddr = base + q[QueueWord.USED];
  tx.enable(mem, (q[QueueWord.FLAGS] & DataPlaneQueueFlag.EVENT_IDX) !== 0, (q[QueueWord.FLAGS] & DataPlaneQueueFlag.INDIRECT) !== 0);
  const dp = new Uint32Array(DATA_PLANE_WORDS);
  dp.set(q, DataPlaneWord.Q_NUM);
  tx.importState(dp);
  const out: number[] = [];
  let failed = false;
  let notified = false;
  const device = new ConsoleDevice('hvc0', { output: (bytes, start, end) => { for (let i = start; i < end; i++) out.push(bytes[i]); } });
  const ctx: DeviceContext = {
    mem, queues: typed ? [tx, new SplitQueue(ConsoleQueue.TRANSMIT, NUM_MAX)] : [new SplitQueue(ConsoleQueue.RECEIVE, NUM_MAX), tx],
    chain: new DescriptorChain(), features: new Uint32Array(2),
    signalUsed: (queue) => { if (queue.needsNotification()) notified = true; },
    configChanged: () => {}, fail: () => { failed = true; }, log: () => {},
  };
  device.activate(ctx);
  try {
    if (typed) device.input(typed); // a failure: ctx.fail
    else device.processQueue(ConsoleQueue.TRANSMIT);
  } catch (e) {
    if (!(e instanceof QueueError)) throw e;
    failed = true; // the transport answers it with DEVICE_NEEDS_RESET
  }
  const c = device.counters;
  return {
    lastAvail: tx.lastAvailIdx, usedIdx: tx.usedIdx, failed, notified, out, chains: c.chains, txBytes: c.txBytes,
    rxBytes: c.rxBytes, errors: c.errors, pending: device.pendingInput,
  };
}

const exe = buildHarness('consoleplane_harness', ['runtime/consoleplane.c']);

/** What the harness reported for one scenario. */
interface CResult { res: number; notify: boolean; intStatus: number; st: Uint32Array; q: Uint32Array; out: number[]; shmem: Uint8Array }

/** Runs `scenarios` through the harness in `mode` (0 transmitq, 1 receiveq: the scenario's typed bytes) and reads back each one's result. */
function runC(scenarios: Scenario[], mode: 0 | 1): CResult[] {
  const input: Buffer[] = [];
  for (const s of scenarios) {
    input.push(Buffer.from(new Uint32Array([mode]).buffer), Buffer.from(s.st.buffer), Buffer.from(s.q.buffer),
      Buffer.from(new Uint32Array([s.base >>> 0, Math.floor(s.base / 2 ** 32), SIZE]).buffer), Buffer.from(s.shmem));
    if (mode === 1) input.push(Buffer.from(new Uint32Array([s.typed.length]).buffer), Buffer.from(s.typed));
  }
  const r = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, r.stderr?.toString());
  const o = r.stdout;
  let at = 0;
  const words = (n: number): Uint32Array => {
    const w = new Uint32Array(o.buffer.slice(o.byteOffset + at, o.byteOffset + at + 4 * n));
    at += 4 * n;
    return w;
  };
  const results = scenarios.map((): CResult => {
    const [res, notify, intStatus] = words(3);
    const st = words(CONSOLE_PORT_WORDS);
    const q = words(QUEUE_WORDS);
    const n = o.readUInt32LE(at);
    const out = [...o.subarray(at + 4, at + 4 + n)];
    at += 4 + n;
    const shmem = new Uint8Array(o.subarray(at, at + SIZE));
    at += SIZE;
    return { res, notify: notify !== 0, intStatus, st, q, out, shmem };
  });
  assert.is(at, o.length);
  return results;
}

/** The outcome of what C did alone, before the TypeScript device takes over. */
function fromC(q: Uint32Array): Outcome {
  return { lastAvail: q[QueueWord.LAST_AVAIL], usedIdx: q[QueueWord.USED_IDX], failed: false, notified: false, out: [], chains: 0, txBytes: 0, rxBytes: 0, errors: 0, pending: 0 };
}

const seeds = fuzzSeeds(0xc0a5, SCENARIOS);

test(`the console plane and the TypeScript device write the same bytes and leave the same rings (${seeds.length} seeded queues)`, () => {
  const scenarios = seeds.map((seed) => scenario(seed));
  const results = runC(scenarios, 0);
  const counts = { served: 0, handedBack: 0, failed: 0, chainsInC: 0, broken: 0 };
  scenarios.forEach((s, i) => {
    withSeed(s.seed, () => {
      const { res, notify, intStatus, st: stB, q: qB, out: outC, shmem: shmemB } = results[i];
      const shmemA = s.shmem.slice();
      const a = serveInTs(s.q.slice(), s.base, shmemA);
      let b = fromC(qB);
      if (res === 1) {
        counts.handedBack++;
        b = serveInTs(qB, s.base, shmemB);
      } else {
        counts.served++;
      }
      counts.chainsInC += stB[ConsolePortWord.N_TX_CHAINS];
      counts.broken += s.broken;
      if (a.failed) counts.failed++;
      const what = res === 1 ? 'handed back' : 'served in C';
      assert.is(notify, intStatus === 1, 'InterruptStatus bit 0 with each notification');
      assert.is(stB[ConsolePortWord.N_USED_NOTIFICATIONS], notify ? 1 : 0, 'used notifications counted');
      assert.is(stB[res === 1 ? ConsolePortWord.N_HANDBACKS : ConsolePortWord.N_TX_KICKS], 1, 'the kick counted as served or handed back');
      assert.equal([...outC, ...b.out], a.out, `${what}: bytes to the console`);
      assert.is(stB[ConsolePortWord.N_TX_CHAINS] + b.chains, a.chains, `${what}: chains counted`);
      assert.is(stB[ConsolePortWord.N_TX_BYTES_LO] + b.txBytes, a.txBytes, `${what}: bytes counted`);
      assert.is(b.failed, a.failed, `${what}: failure`);
      assert.is(b.lastAvail, a.lastAvail, `${what}: last avail index`);
      assert.is(b.usedIdx, a.usedIdx, `${what}: used index`);
      assert.is(notify || b.notified, a.notified, `${what}: used buffer notification`);
      assert.ok(Buffer.from(shmemA).equals(Buffer.from(shmemB)), `${what}: shared region bytes differ`);
    });
  });
  console.log(`consoleplane: ${seeds.length} queues, ${JSON.stringify(counts)}`);
  if (seedOverride() !== undefined) return;
  // both paths, and the C one for real
  assert.ok(counts.served > seeds.length / 10, `served in C: ${counts.served}`);
  assert.ok(counts.handedBack > seeds.length / 10, `handed back: ${counts.handedBack}`);
  assert.ok(counts.failed > seeds.length / 20, `NEEDS_RESET: ${counts.failed}`);
  assert.ok(counts.chainsInC > seeds.length, `chains served in C: ${counts.chainsInC}`);
});

const rxSeeds = fuzzSeeds(0xc0a6, SCENARIOS);

test(`typed bytes: the console plane and the TypeScript device fill the same receive buffers (${rxSeeds.length} seeded queues)`, () => {
  const scenarios = rxSeeds.map((seed) => scenario(seed, true));
  const results = runC(scenarios, 1);
  const counts = { all: 0, some: 0, none: 0, failed: 0, bytesInC: 0 };
  scenarios.forEach((s, i) => {
    withSeed(s.seed, () => {
      const { res: took, notify, intStatus, st: stB, q: qB, out, shmem: shmemB } = results[i];
      assert.is(out.length, 0, 'nothing to the UART');
      const shmemA = s.shmem.slice();
      const a = serveInTs(s.q.slice(), s.base, shmemA, s.typed);
      let b = fromC(qB);
      if (took < s.typed.length) b = serveInTs(qB, s.base, shmemB, s.typed.subarray(took));
      if (took === s.typed.length) counts.all++;
      else if (took > 0) counts.some++;
      else counts.none++;
      if (a.failed) counts.failed++;
      counts.bytesInC += took;
      assert.is(notify, intStatus === 1, 'InterruptStatus bit 0 with each notification');
      assert.is(stB[ConsolePortWord.N_RX_BYTES_LO], took, 'bytes counted');
      assert.is(stB[ConsolePortWord.N_RX_CHAINS] + b.chains, a.chains, 'chains counted');
      assert.is(took + b.rxBytes, a.rxBytes, 'bytes delivered');
      assert.is(b.errors, a.errors, 'errors');
      assert.is(b.pending, a.pending, 'bytes left waiting in the FIFO');
      assert.is(b.failed, a.failed, 'failure');
      assert.is(b.lastAvail, a.lastAvail, 'last avail index');
      assert.is(b.usedIdx, a.usedIdx, 'used index');
      assert.is(notify || b.notified, a.notified, 'used buffer notification');
      assert.ok(Buffer.from(shmemA).equals(Buffer.from(shmemB)), 'shared region bytes differ');
    });
  });
  console.log(`consoleplane rx: ${rxSeeds.length} queues, ${JSON.stringify(counts)}`);
  if (seedOverride() !== undefined) return;
  assert.ok(counts.all > rxSeeds.length / 10, `all placed in C: ${counts.all}`);
  assert.ok(counts.some + counts.none > rxSeeds.length / 10, `handed to JS: ${counts.some + counts.none}`);
  assert.ok(counts.failed > rxSeeds.length / 50, `NEEDS_RESET: ${counts.failed}`);
});

test('a plane without CTRL.TX hands every kick back, and one without CTRL.RX places no typed byte, touching nothing', () => {
  const s = scenario(0x5eed);
  s.st[ConsolePortWord.CTRL] = 0;
  const [c] = runC([s], 0);
  assert.is(c.res, 1, 'handed back');
  assert.equal([...c.q], [...s.q], 'queue words unchanged');
  assert.is(c.out.length, 0, 'nothing written');
  assert.ok(Buffer.from(c.shmem).equals(Buffer.from(s.shmem)), 'region unchanged');
  const [d] = runC([scenario(0x5eed, true)].map((x) => { x.st[ConsolePortWord.CTRL] = ConsolePortCtrl.TX; return x; }), 1);
  assert.is(d.res, 0, 'no typed byte placed without CTRL.RX');
});

test.run();
