// SPDX-License-Identifier: Apache-2.0
/**
 * The remio request loop (runtime/remio.c, built with the host compiler
 * and AddressSanitizer/UBSan) against a simulated hypervisor and a
 * simulated JS batch handler (test/native/remio_harness.c), on seeded
 * runs of requests: register reads the C side answers (InterruptStatus,
 * a shadowed Status), InterruptACK writes, QueueNotify writes, reads and
 * writes only JS answers, in random order and number (past the loop's
 * bound of 256 too), small batches, JS calls that answer, throw or are
 * stopped by the watchdog, an ASK that fails, with and without a direct
 * range (host.remioDirect: 4-byte accesses the loop hands to the client
 * one call each).
 *
 * The log of hypercalls and JS calls must equal what remio.h promises,
 * written out here as a model: requests answered in the order Bao gave
 * them (nothing in C once one waits for JS in that batch), a QueueNotify
 * completed before the JS call that gets it (its id, free again, may name
 * a later request of the same batch, as Bao reuses ids), every other request of a
 * batch completed after the call (a READ with JS's value, or 0 if the call
 * threw or was stopped), exactly once, NOTIFY after a batch that asked for
 * it, the loop stopping at its bound and marking the interrupt pending
 * again; a request first in its batch that C does not answer and the
 * direct range holds goes to one direct call instead (a QueueNotify
 * completed before it, anything else after it unless the watchdog's
 * clean-up did), NOTIFY after it if asked, and counted.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHarness } from './build-harness.ts';
import { MmioReg } from '../../src/virtio/spec.ts';
import { fuzzSeeds, scaled, withSeed } from '../sim/fuzz.ts';
import { Prng } from '../sim/prng.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const INTID = 40;
const BOUND = 256;
const READ = 1;
const WRITE = 0;

interface Req { off: number; op: number; value: number; width: number; rid: number }
interface Scenario {
  seed: number;
  reqs: Req[];
  records: number;
  irqRegs: boolean;
  shadow: boolean;
  /** a direct range over the window's first 0x100 bytes */
  direct: boolean;
  intStatus: number;
  askErrorAt: number;
  askErrorStatus: number;
  /** per JS call: 0 answer, 1 throw, 2 watchdog stop; | 0x100: NOTIFY wanted */
  modes: number[];
}

function makeScenario(seed: number): Scenario {
  const p = new Prng(seed);
  const r = (n: number): number => p.below(n);
  const n = r(8) === 0 ? BOUND + r(40) : r(24);
  const reqs: Req[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r(7);
    const rid = 0; // the simulated hypervisor gives the id (the lowest free one)
    if (kind === 0) reqs.push({ off: MmioReg.InterruptStatus, op: READ, value: 0, width: 4, rid });
    else if (kind === 1) reqs.push({ off: MmioReg.Status, op: READ, value: 0, width: r(4) === 0 ? 2 : 4, rid });
    else if (kind === 2) reqs.push({ off: MmioReg.InterruptACK, op: WRITE, value: 1 + r(3), width: 4, rid });
    else if (kind === 3) reqs.push({ off: MmioReg.QueueNotify, op: WRITE, value: r(3) === 0 ? 1 : 0, width: 4, rid });
    else if (kind === 4) reqs.push({ off: MmioReg.QueueSel, op: WRITE, value: r(4), width: 4, rid });
    else reqs.push({ off: MmioReg.DeviceFeatures + 4 * r(4), op: READ, value: 0, width: 4, rid });
  }
  const modes: number[] = [];
  for (let i = 0; i < 64; i++) modes.push((r(10) === 0 ? 1 : r(12) === 0 ? 2 : 0) | (r(2) ? 0x100 : 0));
  return {
    seed, reqs, records: 1 + r(6), irqRegs: r(4) !== 0, shadow: r(3) !== 0, direct: r(2) === 0, intStatus: r(4),
    askErrorAt: r(6) === 0 ? r(n + 1) : 0xffffffff, askErrorStatus: -1 - r(3), modes,
  };
}

/** What the seeds reached, summed by {@link model}. */
const seen = { inC: 0, calls: 0, early: 0, thrown: 0, stopped: 0, notified: 0, bound: 0, direct: 0, directStopped: 0, directNotified: 0 };

/** The log remio.h promises for `s` (the harness's format). */
function model(s: Scenario): number[] {
  const log: number[] = [];
  const open = new Set<number>(); // PROCESSING at the hypervisor
  const tracked = new Map<number, Req>(); // taken, not completed, known to the loop
  let next = 0;
  let asks = 0;
  let calls = 0;
  const complete = (q: Req, value: number): void => {
    if (!open.has(q.rid)) {
      log.push(2, q.rid);
      return;
    }
    open.delete(q.rid);
    log.push(1, q.rid, q.op, value >>> 0);
  };
  let intStatus = s.intStatus;
  const inC = (q: Req): number | null => {
    if (q.op === READ && s.irqRegs && q.width === 4 && q.off === MmioReg.InterruptStatus) return intStatus;
    if (q.op === READ && s.shadow && q.width === 4 && q.off === MmioReg.Status) return 0xf;
    if (q.op === WRITE && s.irqRegs && q.width === 4 && q.off === MmioReg.InterruptACK) {
      intStatus &= ~q.value; // InterruptACK clears the bits it names (4.2.2)
      return 0;
    }
    return null;
  };
  const counts = [0, 0, 0, 0]; // the direct range's requests, reads, writes, notifies
  const direct = (q: Req): void => {
    seen.direct++;
    const m = calls < s.modes.length ? s.modes[calls] : 0;
    calls++;
    const notifyOp = q.op === WRITE && q.off === MmioReg.QueueNotify;
    counts[0]++;
    counts[q.op === READ ? 1 : 2]++;
    if (notifyOp) complete(q, 0);
    else tracked.set(q.rid, q);
    // the kind the loop hands the binding: RM_DIRECT_READ 0, RM_DIRECT_WRITE 1, RM_DIRECT_QUEUE_NOTIFY 2
    log.push(9, notifyOp ? 2 : q.op === WRITE ? 1 : 0, q.off, q.op === WRITE ? q.value : 0);
    if ((m & 0xff) === 2) {
      seen.directStopped++;
      for (const rid of [...tracked.keys()].sort((a, b) => a - b)) complete(tracked.get(rid)!, 0);
      tracked.clear();
    }
    if (!notifyOp && tracked.get(q.rid) === q) {
      tracked.delete(q.rid);
      complete(q, q.op === READ && (m & 0xff) === 0 ? 0x2000 + q.off : 0);
    }
    if ((m & 0xff) === 0 && (m & 0x100) !== 0) {
      log.push(3);
      counts[3]++;
      seen.directNotified++;
    }
  };
  let batch: (Req & { early?: boolean })[] = [];
  const flush = (): void => {
    log.push(4, batch.length, ...batch.map((q) => q.rid));
    const m = calls < s.modes.length ? s.modes[calls] : 0;
    calls++;
    seen.calls++;
    let flags: number;
    if ((m & 0xff) === 1) {
      flags = -1;
      seen.thrown++;
    } else if ((m & 0xff) === 2) {
      seen.stopped++;
      // the watchdog's clean-up completes every tracked request, by id
      for (const rid of [...tracked.keys()].sort((a, b) => a - b)) complete(tracked.get(rid)!, 0);
      tracked.clear();
      flags = -1;
    } else flags = m & 0x100 ? 1 : 0;
    for (const q of batch) {
      // completed before the call, or by the watchdog's clean-up (its id may name a later request now)
      if (q.early || tracked.get(q.rid) !== q) continue;
      tracked.delete(q.rid);
      complete(q, q.op === READ && flags >= 0 ? 0x1000 + q.rid : 0);
    }
    if (flags > 0) {
      log.push(3);
      seen.notified++;
    }
    batch = [];
  };
  let k = 0;
  for (; k < BOUND; k++) {
    if (asks++ === s.askErrorAt) {
      log.push(5);
      break;
    }
    if (next === s.reqs.length) {
      log.push(5);
      break;
    }
    // the id: the lowest one free, as Bao gives them (an id completed early comes back at once)
    let rid = 0;
    while (rid < 255 && open.has(rid)) rid++;
    const q = { ...s.reqs[next++], rid };
    open.add(q.rid);
    // Bao's more-pending: whether another request waits after this one (the loop stops when none does)
    const more = next < s.reqs.length;
    if (batch.length === 0) {
      const v = inC(q);
      if (v !== null) {
        seen.inC++;
        complete(q, v);
        if (!more) break;
        continue;
      }
      if (s.direct && q.width === 4 && (q.off & 3) === 0 && q.off < 0x100 && (q.op === READ || q.op === WRITE)) {
        direct(q);
        if (!more) break;
        continue;
      }
    }
    const b: Req & { early?: boolean } = q;
    batch.push(b);
    if (q.op === WRITE && q.width === 4 && q.off === MmioReg.QueueNotify) {
      seen.early++;
      b.early = true;
      complete(q, 0);
    }
    else tracked.set(q.rid, q);
    if (batch.length === s.records) flush();
    if (!more) break;
  }
  if (batch.length) flush();
  log.push(7);
  if (k === BOUND) {
    log.push(6, INTID);
    seen.bound++;
  }
  if (s.direct) log.push(10, ...counts);
  log.push(0);
  return log;
}


function encode(s: Scenario): Buffer {
  const w: number[] = [s.reqs.length];
  for (const q of s.reqs) w.push(q.off, q.op, q.value, q.width, q.rid);
  w.push(s.records, (s.irqRegs ? 1 : 0) | (s.shadow ? 2 : 0) | (s.direct ? 4 : 0), s.intStatus, s.askErrorAt, s.askErrorStatus >>> 0, s.modes.length, ...s.modes);
  return Buffer.from(new Uint32Array(w).buffer);
}

test('the remio loop answers, batches, completes and notifies as remio.h promises on seeded runs of requests', () => {
  const exe = buildHarness('remio_harness', ['runtime/remio.c', 'runtime/regshadow.c', 'runtime/dataplane.c', 'runtime/diskplane.c', 'runtime/netplane.c', 'runtime/consoleplane.c', 'test/native/console_stubs.c', 'test/native/harness_printf.c'], ['-Dprintf=test_printf', `-I${join(ROOT, 'test', 'native', 'stubs')}`]);
  const scenarios = fuzzSeeds(0x72656d69, scaled(1500)).map(makeScenario);
  const r = spawnSync(exe, [], { input: Buffer.concat(scenarios.map(encode)), maxBuffer: 1 << 28, timeout: 300_000 });
  assert.is(r.status, 0, `${r.stderr?.toString()}\n(seeds ${scenarios.map((s) => '0x' + s.seed.toString(16)).join(' ')})`);
  const words = new Uint32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
  let at = 0;
  for (const s of scenarios) {
    withSeed(s.seed, () => {
      const want = model(s);
      const got = Array.from(words.subarray(at, at + want.length));
      assert.equal(got, want, `seed 0x${s.seed.toString(16)}`);
      at += want.length;
    });
  }
  assert.is(at, words.length, 'the harness wrote more than the model');
  // the seeds reach every path
  assert.ok(seen.inC > 1000 && seen.calls > 1000 && seen.early > 500 && seen.thrown > 50 && seen.stopped > 30 &&
    seen.notified > 300 && seen.bound > 50 && seen.direct > 1000 && seen.directStopped > 30 && seen.directNotified > 300, JSON.stringify(seen));
});

test.run();
