// SPDX-License-Identifier: Apache-2.0
/**
 * The C driver queue (runtime/drvqueue.h, built with the host compiler and
 * AddressSanitizer/UBSan) against the TypeScript reference whose state it
 * shares (`DriverQueue` in src/drivers/virtio-mmio.ts).
 *
 * Each seeded queue (Queue Size 1..64, event idx or not, indirect tables
 * or not, indices starting anywhere in their 16-bit range) gets a seeded
 * sequence of operations, made while the reference runs them: chains
 * added (1..Queue Size + 2 buffers, readable then writable, addresses up
 * to 2^53, tokens negative and positive, as the disk plane's and the
 * driver's), kicks, and a device that returns chains in any order with
 * any length, sets VIRTQ_USED_F_NO_NOTIFY and avail_event at random, and
 * now and then writes an impossible used entry or used.idx. Both must
 * log the same results (chains placed or refused, notifications, chains
 * reaped with token and length, the reason a reap stopped) and end with
 * the same state words, arrays and ring bytes.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { DriverQueueWord, DRIVER_QUEUE_WORDS, type Host } from '../../src/host.ts';
import { DmaArena, DriverQueue } from '../../src/drivers/virtio-mmio.ts';
import { fuzzSeeds, scaled, withSeed } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';

const BASE = 0x4800_0000;
const SIZE = 0x20000;

interface Case {
  seed: number;
  input: Buffer;
  log: number[];
  st: Uint32Array;
  arrays: Buffer;
  region: Uint8Array;
}

/** Bytes of a typed array. */
function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A seeded queue and operation sequence, run by the reference (see the file comment). */
function makeCase(seed: number): Case {
  const p = new Prng(seed);
  const r = (n: number): number => p.below(n);
  const region = new ArrayBuffer(SIZE);
  const host = { regionBase: () => BASE, region: () => region } as unknown as Host;
  const arena = new DmaArena(host, 'dma');
  arena.alloc(16 * (1 + r(64)), 16); // the rings anywhere
  const num = 1 << r(7);
  const eventIdx = r(2) === 0;
  const brokenLog: number[] = [];
  const q = new DriverQueue(0, num, arena, eventIdx, r(4) !== 0, () => {}, (reason) => brokenLog.push(/used\.idx/.test(reason) ? 1 : 2));
  if (num >= 2 && r(3) !== 0) q.useIndirect(2 + r(Math.min(num - 1, 8)));
  const st = q.st;
  const dv = new DataView(region);
  const usedOff = st[DriverQueueWord.USED];
  const availOff = st[DriverQueueWord.AVAIL];
  // indices anywhere, as after a long run
  const start = r(4) === 0 ? 0xffff - r(8) : p.u32() & 0xffff;
  st[DriverQueueWord.AVAIL_IDX] = start;
  st[DriverQueueWord.PUBLISHED_IDX] = start;
  st[DriverQueueWord.LAST_USED] = start;
  dv.setUint16(availOff + 2, start, true);
  dv.setUint16(usedOff + 2, start, true);
  const snapshot = (): Buffer[] => [bytes(st.slice()), bytes(new Uint32Array([SIZE])), Buffer.from(new Uint8Array(region).slice()),
    bytes(q.next.slice()), bytes(q.chainCount.slice()), bytes(q.writableBytes.slice()), bytes(q.tokens.slice())];
  const input: Buffer[] = snapshot();
  const ops: number[] = [];
  const log: number[] = [];
  let deviceIdx = start;
  const rounds = 20 + r(200);
  for (let k = 0; k < rounds; k++) {
    const what = r(10);
    if (what < 4) {
      const count = 1 + r(num + 2);
      const wf = r(count + 1);
      const token = r(2) === 0 ? -1 - r(num) : r(1000);
      const addrs: number[] = [];
      const lens: number[] = [];
      ops.push(1, count, wf, token >>> 0);
      for (let i = 0; i < count; i++) {
        const a = r(3) === 0 ? p.u32() * 2097152 + r(2097152) : BASE + r(SIZE);
        const len = r(5) === 0 ? p.u32() : 1 + r(65536);
        addrs.push(a);
        lens.push(len);
        ops.push(a % 4294967296, Math.floor(a / 4294967296), len);
      }
      let ok: boolean;
      try {
        ok = q.add(addrs, lens, wf, count, token);
      } catch {
        ok = false; // a count the queue can never take: C refuses it the same way
      }
      log.push(1, ok ? 1 : 0);
    } else if (what < 6) {
      ops.push(2);
      log.push(2, q.kick() ? 1 : 0);
    } else if (what < 8) {
      // the device: returns some chains it has seen published, in any order
      const heads: number[] = [];
      for (let h = 0; h < num; h++) if (q.chainCount[h] !== 0) heads.push(h);
      const n = r(heads.length + 1);
      for (let i = 0; i < n; i++) {
        const j = r(heads.length);
        const h = heads.splice(j, 1)[0];
        const e = usedOff + 4 + 8 * (deviceIdx & (num - 1));
        const id = r(40) === 0 ? r(num + 3) : h; // now and then an id that heads nothing in flight
        const len = r(4) === 0 ? p.u32() : r(70000);
        dv.setUint32(e, id, true);
        dv.setUint32(e + 4, len, true);
        ops.push(4, e, id, 4, e + 4, len);
        deviceIdx = (deviceIdx + 1) & 0xffff;
      }
      if (r(40) === 0) deviceIdx = (deviceIdx + num + 1 + r(100)) & 0xffff; // too far ahead
      dv.setUint16(usedOff + 2, deviceIdx, true);
      ops.push(3, usedOff + 2, deviceIdx);
      const flags = r(4) === 0 ? 1 : 0;
      dv.setUint16(usedOff, flags, true);
      ops.push(3, usedOff, flags);
      const availEvent = (st[DriverQueueWord.PUBLISHED_IDX] + r(4) - 1) & 0xffff;
      dv.setUint16(usedOff + 4 + 8 * num, availEvent, true);
      ops.push(3, usedOff + 4 + 8 * num, availEvent);
    } else {
      const got: number[] = [];
      ops.push(5);
      brokenLog.length = 0;
      q.reap((token, len) => got.push(token >>> 0, len));
      log.push(5, got.length / 2, ...got, brokenLog.length ? brokenLog[0] : 0);
      if (brokenLog.length) deviceIdx = st[DriverQueueWord.LAST_USED]; // the device starts over where the driver stopped
    }
  }
  ops.push(0);
  input.push(bytes(new Uint32Array(ops)));
  log.push(0);
  const final = snapshot();
  return {
    seed, input: Buffer.concat(input), log, st: st.slice(),
    arrays: Buffer.concat([final[3], final[4], final[5], final[6]]), region: new Uint8Array(region).slice(),
  };
}

test('the C driver queue adds, kicks and reaps exactly as DriverQueue on seeded sequences, broken devices included', () => {
  const exe = buildHarness('drvqueue_harness', []);
  const cases = fuzzSeeds(0x64710000, scaled(1500)).map((s) => withSeed(s, () => makeCase(s)));
  const r = spawnSync(exe, [], { input: Buffer.concat(cases.map((c) => c.input)), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, `${r.stderr?.toString()} (replay one seed with BAOJS_FUZZ_SEED)`);
  const out = r.stdout;
  let at = 0;
  const word = (): number => { const v = out.readUInt32LE(at); at += 4; return v; };
  let placed = 0;
  let refused = 0;
  let reaped = 0;
  let broken = 0;
  let kicks = 0;
  for (const c of cases) {
    withSeed(c.seed, () => {
      const log: number[] = [];
      for (;;) {
        const w = word();
        log.push(w);
        if (w === 0) break;
        if (w === 1 || w === 2) log.push(word());
        else if (w === 5) {
          const n = word();
          log.push(n);
          for (let i = 0; i < 2 * n + 1; i++) log.push(word());
        }
      }
      assert.equal(log, c.log, `seed 0x${c.seed.toString(16)}: the logs differ`);
      const st = new Uint32Array(out.buffer.slice(out.byteOffset + at, out.byteOffset + at + 4 * DRIVER_QUEUE_WORDS));
      at += 4 * DRIVER_QUEUE_WORDS;
      assert.equal([...st], [...c.st], `seed 0x${c.seed.toString(16)}: state words`);
      const arrays = out.subarray(at, at + c.arrays.length);
      at += c.arrays.length;
      assert.ok(arrays.equals(c.arrays), `seed 0x${c.seed.toString(16)}: next/chainCount/writable/tokens`);
      const region = out.subarray(at, at + SIZE);
      at += SIZE;
      assert.ok(region.equals(Buffer.from(c.region)), `seed 0x${c.seed.toString(16)}: ring bytes`);
      for (let i = 0; i < c.log.length;) {
        const w = c.log[i];
        if (w === 1) { if (c.log[i + 1]) placed++; else refused++; i += 2; } else if (w === 2) { kicks += c.log[i + 1]; i += 2; } else if (w === 5) {
          reaped += c.log[i + 1];
          if (c.log[i + 2 + 2 * c.log[i + 1]]) broken++;
          i += 3 + 2 * c.log[i + 1];
        } else i++;
      }
    });
  }
  assert.is(at, out.length, 'the harness wrote nothing more');
  // the seeds reach every path
  assert.ok(placed > 5000 && refused > 1000 && reaped > 3000 && broken > 100 && kicks > 1000,
    `placed ${placed}, refused ${refused}, reaped ${reaped}, broken ${broken}, kicks ${kicks}`);
});

test.run();
