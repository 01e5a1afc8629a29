// SPDX-License-Identifier: Apache-2.0
/**
 * Malformed descriptor chains and rings, hand-made and random (seeded,
 * bounded). For each: no exception escapes the dispatcher, the frontend
 * never hangs, the device answers as virtio 1.2 says (a status byte, or
 * DEVICE_NEEDS_RESET with a configuration change interrupt for a broken
 * ring), the device recovers after a reset, and the other DMs keep serving.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem, type System } from '../driver/system.ts';
import { BlkDriver } from '../driver/blk.ts';
import { RngDriver } from '../driver/rng.ts';
import { Prng } from '../sim/prng.ts';

const R = 0;
const NEXT = 1;
const W = 2;
const INDIRECT = 4;

/** A descriptor: `next` is an index into the case's descriptor list, or `raw` a literal next field. */
interface D { addr: number | 'hdr' | 'data' | 'status' | 'table'; len: number; flags: number; next?: number; raw?: number }

interface Outcome { needsReset: boolean; status: number; usedLen: number; configIrq: boolean }

/** Builds a chain on vda's queue from hand-made descriptors, kicks, and reports what happened. */
function run(s: System, b: BlkDriver, descs: D[], opts: { type?: number; sector?: number; table?: D[]; head?: number; availIdx?: number } = {}): Outcome {
  const m = b.drv.mem;
  const pool = b.drv.pool;
  const hdr = pool.alloc(16);
  m.w32(hdr, opts.type ?? 0);
  m.w32(hdr + 4, 0);
  m.w64(hdr + 8, opts.sector ?? 0);
  const data = pool.alloc(512);
  const status = pool.alloc(1, 1);
  m.w8(status, 0xff);
  const resolve = (d: D, table: number): number => d.addr === 'hdr' ? hdr : d.addr === 'data' ? data : d.addr === 'status' ? status : d.addr === 'table' ? table : d.addr;
  let table = 0;
  if (opts.table) {
    table = pool.alloc(16 * opts.table.length, 16);
    opts.table.forEach((d, i) => b.q.writeDesc(table, i, resolve(d, table), d.len, d.flags, d.raw ?? d.next ?? 0));
  }
  const ids = descs.map(() => b.q.reserve());
  descs.forEach((d, i) => b.q.writeDesc(b.q.descAddr, ids[i], resolve(d, table), d.len, d.flags, d.raw ?? (d.next !== undefined ? ids[d.next] : 0)));
  const usedBefore = b.q.usedIdx;
  if (opts.availIdx !== undefined) b.q.setAvailIdx(opts.availIdx);
  else b.q.publish(opts.head ?? ids[0]);
  b.q.forceKick();
  const needsReset = b.drv.needsReset();
  const configIrq = (b.drv.handleInterrupt() & 2) !== 0;
  const used = b.q.usedIdx !== usedBefore ? b.q.getUsed() : null;
  return { needsReset, status: m.r8(status), usedLen: used ? used.len : -1, configIrq };
}

function fresh(seed = 1): { s: System; b: BlkDriver } {
  const s = makeSystem({ sim: { seed } });
  return { s, b: new BlkDriver(s.sim, s.model('vda')) };
}

/** The invariants after every case: nothing escaped, others serve, vda recovers. */
function healthy(s: System): void {
  assert.equal(s.sim.violations.map((v) => v.what), []);
  assert.not.ok(s.logs.some((l) => /threw|exception/.test(l)), s.logs.filter((l) => /threw|exception/.test(l)).join('\n'));
  assert.equal([...s.sim.hypercalls.keys()].filter((k) => !k.endsWith(':0') && k !== '2:1'), []);
  assert.is(new RngDriver(s.sim, s.model('hwrng')).read(8).length, 8, 'another DM serves');
  const again = new BlkDriver(s.sim, s.model('vda'));
  const bytes = new Uint8Array(512).fill(0x3c);
  assert.is(again.write(1, bytes).status, 0, 'vda works after a reset');
  assert.equal(Array.from(again.read(1, 1).data), Array.from(bytes));
}

const HDR: D = { addr: 'hdr', len: 16, flags: R | NEXT, next: 1 };
const STATUS: D = { addr: 'status', len: 1, flags: W };

const RESET_CASES: [string, D[], Parameters<typeof run>[3]?][] = [
  ['a loop of two descriptors', [HDR, { addr: 'data', len: 512, flags: W | NEXT, next: 0 }]],
  ['a descriptor pointing at itself', [{ addr: 'hdr', len: 16, flags: R | NEXT, next: 0 }]],
  ['next beyond Queue Size', [HDR, { addr: 'data', len: 512, flags: W | NEXT, raw: 300 }]],
  ['a head index beyond Queue Size', [HDR, STATUS], { head: 999 }],
  ['the avail index moved by more than Queue Size', [HDR, STATUS], { availIdx: 400 }],
  ['no device-writable status byte', [HDR, { addr: 'data', len: 512, flags: R }], { type: 1 }],
  ['only a zero-length descriptor', [{ addr: 'hdr', len: 0, flags: R }]],
  ['the status byte outside the shared region', [HDR, { addr: 0x40000000, len: 1, flags: W }]],
  ['a device-readable descriptor after a writable one', [HDR, { addr: 'status', len: 1, flags: W | NEXT, next: 2 }, { addr: 'data', len: 512, flags: R }]],
  ['indirect inside indirect', [{ addr: 'table', len: 32, flags: INDIRECT }], { table: [{ addr: 'hdr', len: 16, flags: R | NEXT, next: 1 }, { addr: 'table', len: 32, flags: INDIRECT }] }],
  ['INDIRECT together with NEXT', [{ addr: 'table', len: 16, flags: INDIRECT | NEXT, next: 1 }, STATUS], { table: [{ addr: 'hdr', len: 16, flags: R }] }],
  ['an indirect table length not a multiple of 16', [{ addr: 'table', len: 24, flags: INDIRECT }], { table: [HDR, STATUS] }],
  ['an indirect table outside the shared region', [{ addr: 0x40000000, len: 32, flags: INDIRECT }]],
  ['an indirect table longer than QueueNumMax', [{ addr: 'table', len: 16 * 257, flags: INDIRECT }], { table: new Array<D>(257).fill({ addr: 'status', len: 1, flags: W }) }],
  ['a loop inside an indirect table', [{ addr: 'table', len: 32, flags: INDIRECT }], { table: [{ addr: 'hdr', len: 16, flags: R | NEXT, next: 1 }, { addr: 'status', len: 1, flags: W | NEXT, next: 0 }] }],
  ['next beyond the indirect table', [{ addr: 'table', len: 32, flags: INDIRECT }], { table: [{ addr: 'hdr', len: 16, flags: R | NEXT, next: 5 }, STATUS] }],
];

for (const [name, descs, opts] of RESET_CASES) {
  test(`DEVICE_NEEDS_RESET: ${name}`, () => {
    const { s, b } = fresh();
    const o = run(s, b, descs, opts);
    assert.ok(o.needsReset, 'DEVICE_NEEDS_RESET');
    assert.ok(o.configIrq, 'configuration change interrupt');
    healthy(s);
  });
}

const TOP = 0x60000000 + 256 * 1024; // end of vda's shared region

const IOERR_CASES: [string, D[], Parameters<typeof run>[3]?][] = [
  ['the header outside the shared region', [{ addr: 0x40000000, len: 16, flags: R | NEXT, next: 1 }, STATUS]],
  ['a header in a device-writable buffer', [{ addr: 'hdr', len: 16, flags: W | NEXT, next: 1 }, { addr: 'data', len: 512, flags: W | NEXT, next: 2 }, STATUS]],
  ['a short header', [{ addr: 'hdr', len: 8, flags: R | NEXT, next: 1 }, STATUS]],
  ['data in frontend RAM', [HDR, { addr: 0x40000000, len: 512, flags: W | NEXT, next: 2 }, STATUS]],
  ['data at an address above 2^63', [HDR, { addr: 2 ** 63, len: 512, flags: W | NEXT, next: 2 }, STATUS]],
  ['data that wraps the 64-bit space', [HDR, { addr: 2 ** 64 - 256, len: 512, flags: W | NEXT, next: 2 }, STATUS]],
  ['data running past the end of the region', [HDR, { addr: TOP - 256, len: 512, flags: W | NEXT, next: 2 }, STATUS]],
  ['a length of 2^32-1', [HDR, { addr: 'data', len: 0xffffffff, flags: W | NEXT, next: 2 }, STATUS]],
  ['write data in device-writable buffers', [HDR, { addr: 'data', len: 512, flags: W | NEXT, next: 2 }, STATUS], { type: 1 }],
  ['read data in device-readable buffers', [HDR, { addr: 'data', len: 512, flags: R | NEXT, next: 2 }, STATUS], { type: 0 }],
  ['a sector beyond the capacity', [HDR, { addr: 'data', len: 512, flags: W | NEXT, next: 2 }, STATUS], { sector: 2048 }],
  ['a sector of 2^63', [HDR, { addr: 'data', len: 512, flags: W | NEXT, next: 2 }, STATUS], { sector: 2 ** 63 }],
];

for (const [name, descs, opts] of IOERR_CASES) {
  test(`status IOERR: ${name}`, () => {
    const { s, b } = fresh();
    const o = run(s, b, descs, opts);
    assert.not.ok(o.needsReset, 'the device keeps running');
    assert.is(o.status, 1, 'VIRTIO_BLK_S_IOERR');
    assert.is(o.usedLen, 1);
    // the same device answers the next good request
    assert.is(b.read(0, 1).status, 0);
    healthy(s);
  });
}

test('zero-length descriptors anywhere in a good chain are harmless', () => {
  const { s, b } = fresh();
  const o = run(s, b, [
    { addr: 'hdr', len: 16, flags: R | NEXT, next: 1 },
    { addr: 'hdr', len: 0, flags: R | NEXT, next: 2 },
    { addr: 'data', len: 512, flags: W | NEXT, next: 3 },
    { addr: 'data', len: 0, flags: W | NEXT, next: 4 },
    { addr: 'status', len: 1, flags: W | NEXT, next: 5 },
    { addr: 0x40000000, len: 0, flags: W },
  ]);
  assert.not.ok(o.needsReset);
  assert.is(o.status, 0);
  assert.is(o.usedLen, 513);
  healthy(s);
});

test('a chain longer than a small queue (8) is refused', () => {
  const s = makeSystem();
  const b = new BlkDriver(s.sim, s.model('vda'), { queueSize: 8 });
  const descs: D[] = [HDR];
  for (let i = 1; i < 8; i++) descs.push({ addr: 'data', len: 0, flags: W | NEXT, next: i === 7 ? 1 : i + 1 });
  const o = run(s, b, descs);
  assert.ok(o.needsReset);
  healthy(s);
});

test('random descriptor tables (seeded, 300 rounds): no escape, no hang, always a defined answer', () => {
  const prng = new Prng(0xfeed);
  let resets = 0;
  let answered = 0;
  for (let round = 0; round < 300; round++) {
    const { s, b } = fresh(round + 1);
    const n = prng.range(1, 6);
    const descs: D[] = [];
    for (let i = 0; i < n; i++) {
      const addr = prng.pick<D['addr']>(['hdr', 'data', 'status', 'table', 0x40000000, 2 ** 63, TOP - 8, TOP, 0x60000000]);
      const len = prng.pick([0, 1, 8, 16, 17, 512, 513, 4096, 0xffffffff, prng.u32()]);
      const flags = prng.below(8);
      descs.push({ addr, len, flags, next: prng.chance(0.8) ? prng.below(n) : undefined, raw: prng.chance(0.1) ? prng.u32() & 0xffff : undefined });
    }
    const table: D[] = [HDR, { addr: 'data', len: 512, flags: W | NEXT, next: 2 }, STATUS];
    const o = run(s, b, descs, { type: prng.pick([0, 1, 4, 8, 11, 13, prng.u32()]), sector: prng.below(4096), table });
    if (o.needsReset) resets++;
    else {
      // answered through the used ring (or nothing was popped: never a hang)
      if (o.usedLen >= 0) answered++;
      assert.ok(o.status === 0xff || o.status <= 2, `status byte ${o.status}`);
    }
    assert.equal(s.sim.violations, []);
    assert.not.ok(s.logs.some((l) => /threw|exception/.test(l)), s.logs.join('\n'));
    if (round % 30 === 0) healthy(s);
  }
  assert.ok(resets > 0 && answered > 0, `resets ${resets}, answered ${answered}`);
});

test.run();
