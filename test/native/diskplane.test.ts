// SPDX-License-Identifier: Apache-2.0
/**
 * The disk plane (runtime/diskplane.c, with the remio loop's DM table, built
 * with the host compiler and AddressSanitizer/UBSan) against the TypeScript
 * path it accelerates: BlkDevice on a range of a SharedDisk.
 *
 * Each seeded queue of frontend requests (test/sim/blk-scenario.ts:
 * well-formed reads and writes, direct and indirect, and a share of
 * broken chains and other request types) sits on a range of a physical
 * disk at a seeded offset, with a physical queue of seeded size, features
 * and limits (segments per request, bytes per segment) and a few bad
 * sectors. Then:
 *  A. the TypeScript device serves it alone, on a simulated disk
 *     (test/sim/phys-disk.ts);
 *  B. the disk plane places what it takes on the physical queue, a
 *     simulated virtio-blk device serves those chains (bad sectors answered
 *     IOERR), the plane reaps them over two interrupts; then the
 *     TypeScript device gives the answers the plane handed to JS and
 *     serves the queue from where the plane left it.
 * Both must end with the same bytes in the region (the used ring's
 * entries compared as a set: the two paths answer in different orders,
 * which virtio allows) and on the disk, the same indices and the same
 * failure. The harness exits if the plane ever places a chain outside
 * both regions or a malformed one.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { join } from 'node:path';
import {
  DataPlaneCtrl, DataPlaneWord, DiskEventWord, DiskPlaneWord, DISK_EVENT_HOST, DISK_EVENT_WORDS, DISK_PLANE_WORDS,
  DATA_PLANE_WORDS, type Host,
} from '../../src/host.ts';
import { DmaArena, DriverQueue } from '../../src/drivers/virtio-mmio.ts';
import type { HostPlacedAnswer } from '../../src/drivers/virtio-blk.ts';
import { BASE, DISK, scenario } from '../sim/blk-scenario.ts';
import { serveAsyncFromState } from '../sim/phys-disk.ts';
import { fuzzSeeds, scaled, seedOverride, withSeed } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DMA_BASE = 0x7000_0000;
const DMA_SIZE = 0x10000;
const MMIO = 0x0a003e00;
const INTID = 79;

interface Case {
  seed: number;
  st: Uint32Array;
  shmem: Uint8Array;
  phys: Uint8Array;
  rangeBase: number;
  segments: number;
  segmentBytes: number;
  bad: number[];
  input: Buffer;
}

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A seeded scenario on a seeded physical queue (see the file comment). */
function makeCase(seed: number): Case {
  const s = scenario(seed);
  const p = new Prng(seed ^ 0x5eed);
  const r = (n: number): number => p.below(n);
  const rangeBase = 512 * r(9);
  const phys = new Uint8Array(rangeBase + DISK + 512 * r(3));
  p.fill(phys);
  phys.set(s.disk, rangeBase);
  const st = new Uint32Array(DATA_PLANE_WORDS);
  st.set(s.st);
  st[DataPlaneWord.CTRL] = DataPlaneCtrl.IRQ_REGS | DataPlaneCtrl.QUEUE;
  st[DataPlaneWord.RANGE_BASE_LO] = rangeBase;
  st[DataPlaneWord.RANGE_SIZE_LO] = DISK;
  // the physical queue, as VirtioBlkDriver sets it up
  const region = new ArrayBuffer(DMA_SIZE);
  const host = { regionBase: () => DMA_BASE, region: () => region } as unknown as Host;
  const arena = new DmaArena(host, 'dma');
  const num = 4 << r(3);
  const q = new DriverQueue(0, num, arena, r(2) === 0, r(3) !== 0, () => {}, () => {});
  const segments = Math.min(num - 2, 2 + r(6));
  if (r(3) !== 0) q.useIndirect(segments + 2);
  const segmentBytes = [512, 4096, 0x100000, 0x100000][r(4)];
  const headers = arena.alloc(16 * num, 16);
  const statuses = arena.alloc(num, 4);
  const pt = new Uint32Array(DISK_PLANE_WORDS);
  pt[DiskPlaneWord.CTRL] = 1;
  pt[DiskPlaneWord.MMIO_LO] = MMIO;
  pt[DiskPlaneWord.INTID] = INTID;
  pt[DiskPlaneWord.HEADERS] = headers - DMA_BASE;
  pt[DiskPlaneWord.STATUSES] = statuses - DMA_BASE;
  pt[DiskPlaneWord.MAX_SEGMENTS] = segments;
  pt[DiskPlaneWord.SEGMENT_BYTES] = segmentBytes;
  const bad: number[] = [];
  for (let i = r(4); i > 0; i--) bad.push(rangeBase / 512 + r(DISK / 512));
  const input = Buffer.concat([
    bytes(st), bytes(new Uint32Array([BASE, s.shmem.length])), Buffer.from(s.shmem),
    bytes(q.st), bytes(new Uint32Array([DMA_BASE, DMA_SIZE])), Buffer.from(new Uint8Array(region)),
    bytes(q.next), bytes(q.chainCount), bytes(q.writableBytes), bytes(q.tokens),
    bytes(pt), bytes(new Uint32Array([phys.length])), Buffer.from(phys),
    bytes(new Uint32Array([bad.length, ...bad, r(num + 1)])),
  ]);
  return { seed, st, shmem: s.shmem, phys, rangeBase, segments, segmentBytes, bad, input };
}

/** The region without the used ring's entries, and those entries sorted. */
function split(st: Uint32Array, shmem: Uint8Array, from: number, to: number): { rest: Buffer; used: string[] } {
  const num = st[DataPlaneWord.Q_NUM];
  const usedOff = st[DataPlaneWord.Q_USED];
  const rest = Buffer.from(shmem);
  const dv = new DataView(shmem.buffer, shmem.byteOffset, shmem.byteLength);
  const used: string[] = [];
  for (let i = from; i !== to; i = (i + 1) & 0xffff) {
    const e = usedOff + 4 + 8 * (i & (num - 1));
    used.push(`${dv.getUint32(e, true)}:${dv.getUint32(e + 4, true)}`);
  }
  rest.fill(0, usedOff + 4, usedOff + 4 + 8 * num);
  return { rest, used: used.sort() };
}

test('the disk plane and the TypeScript device leave the same bytes in the region and on the disk, the same indices and verdicts', () => {
  const exe = buildHarness('diskplane_harness', ['runtime/diskplane.c', 'runtime/remio.c', 'runtime/regshadow.c', 'runtime/dataplane.c', 'runtime/netplane.c', 'runtime/consoleplane.c', 'test/native/console_stubs.c', 'test/native/harness_printf.c'],
    ['-Dprintf=test_printf', `-I${join(ROOT, 'test', 'native', 'stubs')}`]);
  const cases = fuzzSeeds(0xd15c0000, scaled(2000)).map((s) => withSeed(s, () => makeCase(s)));
  const r = spawnSync(exe, [], { input: Buffer.concat(cases.map((c) => c.input)), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, `${r.stderr?.toString()} (replay one seed with BAOJS_FUZZ_SEED)`);
  const out = r.stdout;
  let at = 0;
  const word = (): number => { const v = out.readUInt32LE(at); at += 4; return v; };
  const counts = { placedAll: 0, handedBack: 0, placed: 0, events: 0, ioerrs: 0, failed: 0, kicks: 0, notifies: 0, racy: 0 };
  for (const c of cases) {
    withSeed(c.seed, () => {
      const res = word();
      counts.notifies += word();
      counts.kicks += word();
      word(); // which interrupts asked for JS
      const nev = word();
      const answers: HostPlacedAnswer[] = [];
      for (let i = 0; i < nev; i++) {
        const e: number[] = [];
        for (let k = 0; k < DISK_EVENT_WORDS; k++) e.push(word());
        assert.is(e[DiskEventWord.TOKEN], DISK_EVENT_HOST, 'only requests the plane placed are on its queue');
        answers.push({
          reapedByHost: true, dm: e[DiskEventWord.DM], feHead: e[DiskEventWord.FE_HEAD], written: e[DiskEventWord.WRITTEN], statusOff: e[DiskEventWord.STATUS_OFF],
          generation: e[DiskEventWord.GENERATION], type: e[DiskEventWord.TYPE], status: e[DiskEventWord.STATUS],
        });
        if (e[DiskEventWord.STATUS] !== 0) counts.ioerrs++;
      }
      counts.events += nev;
      const stB = new Uint32Array(out.buffer.slice(out.byteOffset + at, out.byteOffset + at + 4 * DATA_PLANE_WORDS));
      at += 4 * DATA_PLANE_WORDS;
      const shmemB = new Uint8Array(out.subarray(at, at + c.shmem.length));
      at += c.shmem.length;
      const physB = new Uint8Array(out.subarray(at, at + c.phys.length));
      at += c.phys.length;
      counts.placed += stB[DataPlaneWord.N_DISK_REQUESTS];
      if (res === 1) counts.handedBack++;
      else counts.placedAll++;
      assert.is(stB[DataPlaneWord.N_IN_FLIGHT], 0, 'every placed request answered or handed on');

      // A used ring at the region's end is where the generator's broken
      // buffers land: a request whose header lies in the used ring reads what
      // the device wrote there before it, which depends on when the device
      // answered (the two paths answer in different orders; virtio leaves a
      // driver that lends its used ring as a buffer no guarantee)
      if (c.st[DataPlaneWord.Q_USED] + 6 + 8 * c.st[DataPlaneWord.Q_NUM] === c.shmem.length) {
        counts.racy++;
        return;
      }
      const stA = c.st.slice();
      const shmemA = c.shmem.slice();
      const physA = c.phys.slice();
      const a = serveAsyncFromState(stA, shmemA.buffer as ArrayBuffer, physA, c.rangeBase, DISK, c.segments, c.segmentBytes, c.bad, []);
      const b = serveAsyncFromState(stB, shmemB.buffer as ArrayBuffer, physB, c.rangeBase, DISK, c.segments, c.segmentBytes, c.bad, answers);
      if (a.failed) counts.failed++;
      assert.is(b.failed, a.failed, 'failure');
      assert.is(b.lastAvail, a.lastAvail, 'last avail index');
      assert.is(b.usedIdx, a.usedIdx, 'used index');
      const from = c.st[DataPlaneWord.Q_USED_IDX];
      const sa = split(stA, shmemA, from, a.usedIdx);
      const sb = split(stB, shmemB, from, b.usedIdx);
      assert.equal(sb.used, sa.used, 'used entries');
      assert.ok(sa.rest.equals(sb.rest), 'shared region bytes differ');
      assert.ok(Buffer.from(physA).equals(Buffer.from(physB)), 'disk bytes differ');
    });
  }
  assert.is(at, out.length, 'the harness wrote nothing more');
  console.log(`diskplane: ${cases.length} queues, ${JSON.stringify(counts)}`);
  if (seedOverride() !== undefined) return;
  const n = cases.length;
  // the seeds reach every path: queues served whole by the plane, hand-backs, requests placed, IOERR answers, NEEDS_RESET
  assert.ok(counts.placedAll > n / 20 && counts.handedBack > n / 10 && counts.placed > n / 2 && counts.ioerrs > n / 100 && counts.failed > n / 20,
    JSON.stringify(counts));
});

test.run();
