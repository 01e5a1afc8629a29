// SPDX-License-Identifier: Apache-2.0
/**
 * The C data plane (runtime/dataplane.c, built with the host compiler and
 * AddressSanitizer/UBSan) against the TypeScript device it accelerates.
 *
 * Each seeded scenario lays out a split virtqueue of virtio-blk requests in
 * a shared region — well-formed reads and writes through direct and
 * indirect chains, header and data in one buffer or apart, and a share of
 * broken ones (bad heads and next indices, loops, readable after writable,
 * buffers outside the region, sectors past the capacity, lengths not whole
 * sectors, other request types, a read-only disk written, nested or
 * unnegotiated indirect tables) — then:
 *  A. the TypeScript device (SplitQueue + BlkDevice) serves it alone;
 *  B. the C data plane serves it, and if it hands the queue back, the
 *     TypeScript device takes over from the indices it left.
 * Both must end with the same bytes in the region and on the disk, the same
 * ring indices, the same failure (NEEDS_RESET) and the same notification.
 * ASan fails the run on any access outside the two buffers.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS } from '../../src/host.ts';
import { DescFlag } from '../../src/virtio/spec.ts';
import { serveFromState } from '../sim/dataplane.ts';
import { writeDesc } from '../sim/vring.ts';
import { BASE, DATA, DATA_END, DISK, NUM_MAX, queueWords, scenario, type Scenario } from '../sim/blk-scenario.ts';
import { fuzzSeeds, seedOverride, withSeed } from '../sim/fuzz.ts';

/** Seeded queues at scale 1 (BAOJS_FUZZ_SCALE multiplies them). */
const SCENARIOS = 3000;
/** Queues per run of the harness (bounds the memory a large scale needs). */
const BATCH = 1000;

/** What serving a queue left behind. */
interface Outcome { lastAvail: number; usedIdx: number; failed: boolean; notified: boolean }

/** The TypeScript device serves the queue from the indices in `st`, in place. */
function serveInTs(st: Uint32Array, shmem: Uint8Array, disk: Uint8Array): Outcome {
  const r = serveFromState(st, shmem.buffer as ArrayBuffer, disk.buffer as ArrayBuffer);
  return { ...r, lastAvail: st[DataPlaneWord.Q_LAST_AVAIL], usedIdx: st[DataPlaneWord.Q_USED_IDX] };
}


/** What comparing a set of queues counted. */
interface Counts { served: number; handedBack: number; failed: number; chains: number; requests: number; broken: number; decidersWritten: number }

/**
 * Runs `scenarios` through the harness (C) and through the TypeScript
 * device, and asserts the same outcome for each (failures name the seed).
 */
function compare(exe: string, scenarios: Scenario[], counts: Counts): void {
  const input: Buffer[] = [];
  for (const s of scenarios) {
    input.push(Buffer.from(s.st.buffer), Buffer.from(new Uint32Array([s.shmem.length, DISK]).buffer), Buffer.from(s.shmem), Buffer.from(s.disk));
  }
  const r = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, `${r.stderr?.toString()}\n(the batch held ${scenarios.length} queues, seeds ${scenarios.map((s) => '0x' + s.seed.toString(16)).join(' ')}; replay one with BAOJS_FUZZ_SEED)`);
  const outBuf = r.stdout;
  let at = 0;
  for (const s of scenarios) {
    withSeed(s.seed, () => {
      const size = s.shmem.length;
      const res = outBuf.readUInt32LE(at);
      const notify = outBuf.readUInt32LE(at + 4) !== 0;
      at += 8;
      const stB = new Uint32Array(outBuf.buffer.slice(outBuf.byteOffset + at, outBuf.byteOffset + at + 4 * DATA_PLANE_WORDS));
      at += 4 * DATA_PLANE_WORDS;
      const shmemB = new Uint8Array(outBuf.subarray(at, at + size));
      at += size;
      const diskB = new Uint8Array(outBuf.subarray(at, at + DISK));
      at += DISK;

      const stA = s.st.slice();
      const shmemA = s.shmem.slice();
      const diskA = s.disk.slice();
      const a = serveInTs(stA, shmemA, diskA);
      counts.chains += stB[DataPlaneWord.N_CHAINS];
      counts.requests += s.requests;
      counts.broken += s.broken;
      let b: Outcome = { lastAvail: stB[DataPlaneWord.Q_LAST_AVAIL], usedIdx: stB[DataPlaneWord.Q_USED_IDX], failed: false, notified: false };
      if (res === 1) {
        counts.handedBack++;
        b = serveInTs(stB, shmemB, diskB);
      } else {
        counts.served++;
      }
      if (a.failed) counts.failed++;
      const what = res === 1 ? 'handed back' : 'served in C';
      assert.is(b.failed, a.failed, `${what}: failure`);
      assert.is(b.lastAvail, a.lastAvail, `${what}: last avail index`);
      assert.is(b.usedIdx, a.usedIdx, `${what}: used index`);
      // The avail ring's flags and used_event decide the notification (2.7.7,
      // 2.7.10). If the driver's own buffers had the device write over them
      // mid-batch, the decision depends on when the device reads them, which
      // virtio leaves open: C at its hand-back, TypeScript at the end.
      const av = s.st[DataPlaneWord.Q_AVAIL];
      const ue = av + 4 + 2 * s.st[DataPlaneWord.Q_NUM];
      const decidersKept = [av, av + 1, ue, ue + 1].every((o) => shmemA[o] === s.shmem[o]);
      if (decidersKept) assert.is(notify || b.notified, a.notified, `${what}: used buffer notification`);
      else counts.decidersWritten++;
      assert.ok(Buffer.from(shmemA).equals(Buffer.from(shmemB)), `${what}: shared region bytes differ`);
      assert.ok(Buffer.from(diskA).equals(Buffer.from(diskB)), `${what}: disk bytes differ`);
    });
  }
  assert.is(at, outBuf.length);
}

const exe = buildHarness('dataplane_harness', ['runtime/dataplane.c']);

const seeds = fuzzSeeds(0xda7a, SCENARIOS);

test(`the C data plane and the TypeScript device leave the same bytes, indices and verdicts (${seeds.length} seeded queues)`, () => {
  const counts: Counts = { served: 0, handedBack: 0, failed: 0, chains: 0, requests: 0, broken: 0, decidersWritten: 0 };
  const started = Date.now();
  for (let i = 0; i < seeds.length; i += BATCH) compare(exe, seeds.slice(i, i + BATCH).map(scenario), counts);
  console.log(`dataplane: ${seeds.length} queues, ${JSON.stringify(counts)}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (seedOverride() !== undefined) return;
  // the scenarios exercise both paths, and the C path for real
  const n = seeds.length;
  assert.ok(counts.served > n / 10, `served in C: ${counts.served}`);
  assert.ok(counts.handedBack > n / 10, `handed back: ${counts.handedBack}`);
  assert.ok(counts.failed > n / 20, `NEEDS_RESET: ${counts.failed}`);
  assert.ok(counts.chains > n, `chains served in C: ${counts.chains}`);
});

/**
 * A hand-made queue of Queue Size 8 with the descriptor table in the last
 * 128 bytes of the region: request 0 is a read of one sector (header,
 * data, status: descriptors 0, 1, 2) whose chain `edit` may change.
 */
function edge(edit: (dv: DataView, desc: number, size: number) => void, opts: { indirect?: boolean } = {}): Scenario {
  const num = 8;
  const size = DATA_END + 16 * num;
  const DESC = DATA_END;
  const AVAIL = 0x1000;
  const USED = 0x2000;
  const shmem = new Uint8Array(size);
  const dv = new DataView(shmem.buffer);
  const desc = (i: number, off: number, len: number, flags: number, next: number): void => writeDesc(dv, DESC + 16 * i, BASE + off, len, flags, next);
  desc(0, DATA, 16, DescFlag.NEXT, 1);
  desc(1, DATA + 16, 512, DescFlag.WRITE | DescFlag.NEXT, 2);
  desc(2, DATA + 528, 1, DescFlag.WRITE, 0);
  dv.setUint32(DATA, 0, true); // VIRTIO_BLK_T_IN, sector 0
  dv.setUint16(AVAIL + 2, 1, true);
  edit(dv, DESC, size);
  const st = queueWords(num, DESC, AVAIL, USED, opts.indirect ? DataPlaneQueueFlag.INDIRECT : 0);
  const disk = new Uint8Array(DISK).fill(0x5a);
  return { seed: 0, st, shmem, disk, requests: 1, broken: 1 };
}

test('boundaries in C as in TypeScript: next = Queue Size - 1 and = Queue Size with the table at the region\'s end, buffers and indirect tables ending at its last byte and one past it', () => {
  const setDesc = (dv: DataView, at: number, off: number, len: number, flags: number, next: number) => writeDesc(dv, at, BASE + off, len, flags, next);
  const cases: [string, Scenario, boolean][] = [
    ['the read as laid out', edge(() => {}), true],
    ['next = Queue Size - 1', edge((dv, d) => { setDesc(dv, d + 16 * 7, DATA + 528, 1, DescFlag.WRITE, 0); dv.setUint16(d + 16 + 14, 7, true); }), true],
    ['next = Queue Size (one past the table, which ends the region)', edge((dv, d) => dv.setUint16(d + 16 + 14, 8, true)), false],
    ['next = 0xffff', edge((dv, d) => dv.setUint16(d + 16 + 14, 0xffff, true)), false],
    ['the status byte at the region\'s last byte', edge((dv, d, size) => setDesc(dv, d + 32, size - 1, 1, DescFlag.WRITE, 0)), true],
    ['the status byte one past the region', edge((dv, d, size) => setDesc(dv, d + 32, size, 1, DescFlag.WRITE, 0)), false],
    ['data ending at the region\'s last byte', edge((dv, d, size) => setDesc(dv, d + 16, size - 512, 512, DescFlag.WRITE | DescFlag.NEXT, 2)), true],
    ['data one byte past the region', edge((dv, d, size) => setDesc(dv, d + 16, size - 511, 512, DescFlag.WRITE | DescFlag.NEXT, 2)), false],
    ['an indirect table ending at the region\'s last byte (over the descriptor table\'s end)', edge((dv, d, size) => {
      // entries 5..7 of the table hold the indirect chain; descriptor 3 points at them
      setDesc(dv, d + 16 * 5, DATA, 16, DescFlag.NEXT, 1);
      setDesc(dv, d + 16 * 6, DATA + 16, 512, DescFlag.WRITE | DescFlag.NEXT, 2);
      setDesc(dv, d + 16 * 7, DATA + 528, 1, DescFlag.WRITE, 0);
      setDesc(dv, d + 16 * 3, size - 48, 48, DescFlag.INDIRECT, 0);
      dv.setUint16(0x1000 + 4, 3, true);
    }, { indirect: true }), true],
    ['an indirect table 16 bytes past the region\'s end', edge((dv, d, size) => {
      setDesc(dv, d + 16 * 3, size - 32, 48, DescFlag.INDIRECT, 0);
      dv.setUint16(0x1000 + 4, 3, true);
    }, { indirect: true }), false],
    ['an indirect table, not negotiated', edge((dv, d, size) => {
      setDesc(dv, d + 16 * 3, size - 48, 48, DescFlag.INDIRECT, 0);
      dv.setUint16(0x1000 + 4, 3, true);
    }), false],
    ['a head of Queue Size', edge((dv) => dv.setUint16(0x1000 + 4, 8, true)), false],
    ['the avail index Queue Size ahead (the one request, 8 times)', edge((dv) => dv.setUint16(0x1000 + 2, 8, true)), true],
    ['the avail index Queue Size + 1 ahead', edge((dv) => dv.setUint16(0x1000 + 2, 9, true)), false],
    ['an indirect table of QueueNumMax descriptors', edge((dv, d) => indirectRead(dv, d, NUM_MAX), { indirect: true }), true],
    ['an indirect table of QueueNumMax + 1 descriptors', edge((dv, d) => indirectRead(dv, d, NUM_MAX + 1), { indirect: true }), false],
  ];
  /** Request 0 as an indirect table of `n` descriptors at DATA + 0x1000: header, n - 2 sectors, status. */
  function indirectRead(dv: DataView, d: number, n: number): void {
    const t = DATA + 0x1000;
    setDesc(dv, t, DATA, 16, DescFlag.NEXT, 1);
    for (let i = 1; i < n - 1; i++) setDesc(dv, t + 16 * i, DATA + 0x2000 + 512 * i, 512, DescFlag.WRITE | DescFlag.NEXT, i + 1);
    setDesc(dv, t + 16 * (n - 1), DATA + 528, 1, DescFlag.WRITE, 0);
    setDesc(dv, d, t, 16 * n, DescFlag.INDIRECT, 0);
  }
  const counts: Counts = { served: 0, handedBack: 0, failed: 0, chains: 0, requests: 0, broken: 0, decidersWritten: 0 };
  cases.forEach(([name, s, served], i) => {
    s.seed = i;
    const before = counts.served;
    try {
      compare(exe, [s], counts);
      assert.is(counts.served - before, served ? 1 : 0, served ? 'served in C' : 'handed back');
    } catch (e) {
      (e as Error).message = `${name}: ${(e as Error).message}`;
      throw e;
    }
  });
});

test('a queue layout past the region\'s end in the state words is handed back untouched (C checks what JS armed)', () => {
  const layouts: [string, number, number, number][] = [
    ['descriptor table one descriptor past the end', DATA_END + 128 - 128 + 16, 0x1000, 0x2000],
    ['avail ring two bytes past the end', 0, DATA_END + 128 - 22 + 2, 0x2000],
    ['used ring two bytes past the end', 0, 0x1000, DATA_END + 128 - 70 + 2],
    ['a misaligned used ring', 0, 0x1000, 0x2002],
  ];
  for (const [name, desc, avail, used] of layouts) {
    const s = edge(() => {});
    s.shmem = s.shmem.slice(0, DATA_END + 128); // the region ends 128 bytes past DATA_END
    s.st[DataPlaneWord.Q_DESC] = desc;
    s.st[DataPlaneWord.Q_AVAIL] = avail;
    s.st[DataPlaneWord.Q_USED] = used;
    s.shmem[avail + 4] = 7; // head: the table's last descriptor, the one past the region's end if the table runs over
    const input = Buffer.concat([Buffer.from(s.st.buffer), Buffer.from(new Uint32Array([s.shmem.length, DISK]).buffer), Buffer.from(s.shmem), Buffer.from(s.disk)]);
    const r = spawnSync(exe, [], { input, maxBuffer: 1 << 24, timeout: 60_000 });
    assert.is(r.status, 0, `${name}: ${r.stderr?.toString()}`);
    assert.is(r.stdout.readUInt32LE(0), 1, `${name}: handed back`);
    const stB = new Uint32Array(r.stdout.buffer.slice(r.stdout.byteOffset + 8, r.stdout.byteOffset + 8 + 4 * DATA_PLANE_WORDS));
    assert.is(stB[DataPlaneWord.N_CHAINS], 0, `${name}: no chain served`);
    assert.ok(Buffer.from(s.shmem).equals(r.stdout.subarray(8 + 4 * DATA_PLANE_WORDS, 8 + 4 * DATA_PLANE_WORDS + s.shmem.length)), `${name}: region untouched`);
  }
});

test.run();
