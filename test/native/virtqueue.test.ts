// SPDX-License-Identifier: Apache-2.0
/**
 * The C virtqueue (runtime/virtqueue.h, built with the host compiler and
 * AddressSanitizer/UBSan) against the TypeScript reference it stands in for
 * (`SplitQueue` in src/virtio/queue.ts).
 *
 * Each seeded queue has random chains — direct and indirect, readable then
 * writable buffers, lengths up to 4 GiB — and a share of defects: head and
 * next indices out of range, loops, readable after writable, indirect
 * tables nested, with NEXT, unnegotiated, of a bad length, too large or
 * outside the region, an avail index too far ahead; indices anywhere in
 * their 16-bit range; event idx or not, NO_INTERRUPT and used_event set at
 * random. Both serve it the same way (pop, push, decide on a notification
 * every few chains); they must log the same chains (head, buffers, byte
 * totals) and the same decisions, and end with the same region bytes and
 * state words. Where the C queue hands a chain back, the reference must
 * refuse it (QueueError) or it must be one the C side is not asked to hold
 * (more buffers than its array, byte totals past 32 bits); both stop there,
 * the C side without consuming it.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS, QueueWord, QUEUE_WORDS } from '../../src/host.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';
import { DescFlag } from '../../src/virtio/spec.ts';
import { fuzzSeeds, scaled, withSeed } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';
import { writeDesc } from '../sim/vring.ts';

const BASE = 0x4000_0000;
const SIZE = 0x10000;
const DESC = 0x8000;
const AVAIL = 0x9000;
const USED = 0xa000;
const TABLES = 0xb000;
const TWO32 = 2 ** 32;

interface Queue {
  seed: number;
  num: number;
  numMax: number;
  eventIdx: boolean;
  indirect: boolean;
  last: number;
  usedIdx: number;
  signalledValid: boolean;
  maxSegs: number;
  batch: number;
  region: Uint8Array;
}


/** A seeded queue (see the file comment). */
function makeQueue(seed: number): Queue {
  const p = new Prng(seed);
  const r = (n: number): number => p.below(n);
  const num = 1 << r(5);
  const numMax = r(3) === 0 ? num : 32;
  const eventIdx = r(2) === 0;
  const indirect = r(4) !== 0;
  const region = new Uint8Array(SIZE);
  p.fill(region.subarray(0, DESC)); // buffers' bytes: never looked at by the queue
  const dv = new DataView(region.buffer);
  const bad = (pct: number): boolean => r(100) < pct;
  const randLen = (): number => (r(8) === 0 ? 0xffff_fff0 + r(16) : r(4) === 0 ? 0 : 1 + r(4096));
  const randAddr = (): number => (r(8) === 0 ? p.u32() * TWO32 + p.u32() : BASE + r(DESC));
  // every descriptor starts as random junk: what a chain does not overwrite stays broken
  for (let i = 0; i < num; i++) writeDesc(dv, DESC + 16 * i, randAddr(), randLen(), r(8), r(num + 2));
  const last = p.u32() & 0xffff;
  const usedIdx = p.u32() & 0xffff;
  let count = r(num + 1);
  let nextFree = 0;
  let tables = 0;
  const segFlags = (i: number, n: number, split: number): number =>
    (i >= split ? DescFlag.WRITE : 0) | (i < n - 1 ? DescFlag.NEXT : 0);
  for (let k = 0; k < count && nextFree < num; k++) {
    const head = nextFree;
    const n = 1 + r(Math.min(4, num - nextFree));
    const split = r(n + 1);
    if (indirect && r(3) === 0 && tables < 16 && n === 1) {
      // one indirect descriptor naming a table of m buffers
      const m = 1 + r(6);
      const t = TABLES + 0x100 * tables++;
      for (let i = 0; i < m; i++) writeDesc(dv, t + 16 * i, randAddr(), randLen(), segFlags(i, m, r(m + 1)), i + 1);
      if (bad(5)) writeDesc(dv, t + 16 * r(m), randAddr(), 16, DescFlag.INDIRECT, 0); // nested
      if (bad(5)) dv.setUint16(t + 16 * (m - 1) + 14, m + r(3), true); // next past the table, with NEXT
      if (bad(5)) dv.setUint16(t + 16 * (m - 1) + 12, DescFlag.NEXT, true);
      let tlen = 16 * m;
      if (bad(5)) tlen = bad(50) ? 0 : tlen + 1 + r(15);
      if (bad(3)) tlen = 16 * (numMax + 1);
      const taddr = bad(4) ? BASE + SIZE - 8 : BASE + t;
      writeDesc(dv, DESC + 16 * head, taddr, tlen, DescFlag.INDIRECT | (bad(4) ? DescFlag.NEXT : 0), (head + 1) % num);
      nextFree++;
    } else {
      for (let i = 0; i < n; i++) {
        const at = head + i;
        writeDesc(dv, DESC + 16 * at, randAddr(), randLen(), segFlags(i, n, split), at + 1);
      }
      if (bad(5)) dv.setUint16(DESC + 16 * (head + r(n)) + 12, DescFlag.WRITE | DescFlag.NEXT, true); // readable after writable, maybe
      if (bad(4)) dv.setUint16(DESC + 16 * (head + n - 1) + 12, DescFlag.NEXT, true); // runs on into junk
      if (bad(3)) { // a loop back to the head
        dv.setUint16(DESC + 16 * (head + n - 1) + 12, DescFlag.NEXT, true);
        dv.setUint16(DESC + 16 * (head + n - 1) + 14, head, true);
      }
      nextFree += n;
    }
    dv.setUint16(AVAIL + 4 + 2 * ((last + k) & (num - 1)), bad(4) ? num + r(4) : head, true);
  }
  if (count > nextFree) count = nextFree;
  let availIdx = (last + count) & 0xffff;
  if (bad(4)) availIdx = (last + num + 1 + r(100)) & 0xffff;
  dv.setUint16(AVAIL, r(4) === 0 ? 1 : 0, true); // VIRTQ_AVAIL_F_NO_INTERRUPT
  dv.setUint16(AVAIL + 2, availIdx, true);
  dv.setUint16(AVAIL + 4 + 2 * num, (usedIdx + r(num + 2) - 1) & 0xffff, true); // used_event
  dv.setUint16(USED + 2, usedIdx, true);
  return {
    seed, num, numMax, eventIdx, indirect, last, usedIdx, signalledValid: r(2) === 0,
    maxSegs: r(3) === 0 ? 2 : 64, batch: 1 + r(4), region,
  };
}

/** The C side's state words for `q`. */
function stateWords(q: Queue): Uint32Array {
  const st = new Uint32Array(QUEUE_WORDS);
  st[QueueWord.NUM] = q.num;
  st[QueueWord.NUM_MAX] = q.numMax;
  st[QueueWord.DESC] = DESC;
  st[QueueWord.AVAIL] = AVAIL;
  st[QueueWord.USED] = USED;
  st[QueueWord.FLAGS] = (q.eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) | (q.indirect ? DataPlaneQueueFlag.INDIRECT : 0);
  st[QueueWord.LAST_AVAIL] = q.last;
  st[QueueWord.USED_IDX] = q.usedIdx;
  st[QueueWord.SIGNALLED_USED] = q.signalledValid ? q.usedIdx : 0;
  st[QueueWord.SIGNALLED_VALID] = q.signalledValid ? 1 : 0;
  return st;
}

/** What the reference logs for `q` (the harness's format), its final state words and region, and why it stopped. */
function reference(q: Queue): { log: number[]; st: Uint32Array; region: Uint8Array; refused: string | null } {
  const region = q.region.slice();
  const mem = new GuestMemory(BASE, region.buffer as ArrayBuffer, 'shmem', SIZE);
  const sq = new SplitQueue(0, q.numMax);
  sq.num = q.num;
  sq.descAddr = BASE + DESC;
  sq.driverAddr = BASE + AVAIL;
  sq.deviceAddr = BASE + USED;
  sq.enable(mem, q.eventIdx, q.indirect);
  const dp = new Uint32Array(DATA_PLANE_WORDS);
  dp.set(stateWords(q), DataPlaneWord.Q_NUM);
  sq.importState(dp);
  const log: number[] = [];
  const chain = new DescriptorChain(4);
  let since = 0;
  let refused: string | null = null;
  for (;;) {
    const before = sq.lastAvailIdx;
    let ok: boolean;
    try {
      ok = sq.pop(chain);
    } catch (e) {
      if (!(e instanceof QueueError)) throw e;
      refused = e.message;
      sq.lastAvailIdx = before; // the C side stops before the chain
      log.push(4);
      break;
    }
    if (!ok) {
      log.push(3);
      break;
    }
    if (chain.count > q.maxSegs || chain.readableBytes >= TWO32 || chain.writableBytes >= TWO32) {
      refused = `${chain.count} buffers, ${chain.readableBytes} + ${chain.writableBytes} bytes`;
      sq.lastAvailIdx = before;
      log.push(4);
      break;
    }
    log.push(1, chain.head, chain.count, chain.firstWritable, chain.readableBytes >>> 0, 0, chain.writableBytes >>> 0, 0);
    for (let i = 0; i < chain.count; i++) {
      log.push(chain.addr[i] % TWO32, Math.floor(chain.addr[i] / TWO32), chain.len[i], chain.writable[i]);
    }
    // the ring empty right after the chain (host.vqPop's VQ_POP_DRAINED); the next pop publishes avail_event
    log.push(((region[AVAIL + 2] | (region[AVAIL + 3] << 8)) - sq.lastAvailIdx) & 0xffff ? 0 : 1);
    sq.push(chain.head, (chain.head * 7 + chain.count) & 0xffff);
    if (++since === q.batch) {
      since = 0;
      log.push(2, sq.needsNotification() ? 1 : 0);
    }
  }
  log.push(2, sq.needsNotification() ? 1 : 0, 0);
  sq.exportState(dp);
  return { log, st: dp.slice(DataPlaneWord.Q_NUM, DataPlaneWord.Q_NUM + QUEUE_WORDS), region, refused };
}


/** Runs the harness on `queues`; returns per queue its log, state words and region. */
function runC(exe: string, queues: Queue[]): { log: number[]; st: Uint32Array; region: Uint8Array }[] {
  const input: Buffer[] = [];
  for (const q of queues) {
    input.push(Buffer.from(stateWords(q).buffer), Buffer.from(new Uint32Array([SIZE, BASE, q.maxSegs, q.batch]).buffer), Buffer.from(q.region));
  }
  const r = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 30, timeout: 300_000 });
  assert.is(r.status, 0, `${r.stderr?.toString()}\n(seeds ${queues.map((q) => '0x' + q.seed.toString(16)).join(' ')}; replay one with BAOJS_FUZZ_SEED)`);
  const words = new Uint32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
  const out: { log: number[]; st: Uint32Array; region: Uint8Array }[] = [];
  let at = 0;
  for (let k = 0; k < queues.length; k++) {
    const log: number[] = [];
    for (;;) {
      const w = words[at++];
      log.push(w);
      if (w === 0) break;
      if (w === 1) {
        const count = words[at + 1];
        const n = 8 + 4 * count;
        for (let i = 0; i < n; i++) log.push(words[at + i]);
        at += n;
      } else if (w === 2) {
        log.push(words[at++]);
      }
    }
    const st = words.slice(at, at + QUEUE_WORDS);
    at += QUEUE_WORDS;
    const bytes = new Uint8Array(words.buffer, at * 4, SIZE).slice();
    at += SIZE / 4;
    out.push({ log, st, region: bytes });
  }
  return out;
}

test('the C virtqueue pops, pushes and decides exactly as SplitQueue on seeded queues, and hands back every chain SplitQueue refuses', () => {
  const exe = buildHarness('virtqueue_harness', []);
  const seeds = fuzzSeeds(0x76710000, scaled(4000));
  const queues = seeds.map(makeQueue);
  const c = runC(exe, queues);
  let chains = 0;
  let refused = 0;
  let tooLong = 0;
  let decisions = 0;
  let notified = 0;
  queues.forEach((q, k) => withSeed(q.seed, () => {
    const ref = reference(q);
    assert.equal(c[k].log, ref.log, `seed 0x${q.seed.toString(16)}: the logs differ (reference stopped: ${ref.refused ?? 'no'})`);
    assert.equal([...c[k].st], [...ref.st], `seed 0x${q.seed.toString(16)}: state words`);
    assert.ok(Buffer.from(c[k].region).equals(Buffer.from(ref.region)), `seed 0x${q.seed.toString(16)}: region bytes`);
    for (let i = 0; i < ref.log.length;) {
      const w = ref.log[i];
      if (w === 1) { chains++; i += 8 + 4 * ref.log[i + 2]; continue; }
      if (w === 2) { decisions++; notified += ref.log[i + 1]; i += 2; continue; }
      if (w === 4) { if (ref.refused && /buffers,/.test(ref.refused)) tooLong++; else refused++; }
      i++;
    }
  }));
  // the seeds reach every path: chains served, refused, too long for the array, notifications both ways
  assert.ok(chains > 2000 && refused > 300 && tooLong > 20 && notified > 100 && decisions - notified > 100,
    `chains ${chains}, refused ${refused}, too long ${tooLong}, decisions ${decisions} (notify ${notified})`);
});

test.run();
