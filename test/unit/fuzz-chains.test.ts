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
import { fuzzSeeds, seedOverride, withSeed } from '../sim/fuzz.ts';

const R = 0;
const NEXT = 1;
const W = 2;
const INDIRECT = 4;

/** A descriptor: `next` is an index into the case's descriptor list, or `raw` a literal next field. */
interface D { addr: number | 'hdr' | 'data' | 'status' | 'table'; len: number; flags: number; next?: number; raw?: number }

interface Outcome { needsReset: boolean; status: number; usedLen: number; configIrq: boolean }

/** Builds a chain on vda's queue from hand-made descriptors, kicks, and reports what happened. */
function run(s: System, b: BlkDriver, descs: D[], opts: { type?: number; sector?: number; table?: D[]; head?: number; availIdx?: number } = {}, beforeKick?: () => void): Outcome {
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
  if (beforeKick) beforeKick();
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

/** A buffer of a chain as the device must see it. */
interface RefBuf { addr: number; len: number; writable: boolean }

/**
 * The chain at `head` as virtio 1.2 2.7.5 and 2.7.5.3 define it, read from
 * the descriptor table in guest memory: the buffers in order, or null if
 * the device must refuse the chain (a head or next index out of range, more
 * descriptors than the table holds, readable after writable, an indirect
 * table not negotiated, nested, with NEXT, of a bad length, longer than
 * QueueNumMax or outside the region). Written plainly, for the random
 * rounds to be judged against; the device's own walk is `SplitQueue.pop`.
 */
function referenceChain(b: BlkDriver, head: number, numMax: number, regionEnd: number): RefBuf[] | null {
  const m = b.drv.mem;
  const indirectOk = b.q.indirect;
  let table = b.q.descAddr;
  let size = b.q.num;
  if (head >= size) return null;
  let left = size;
  let idx = head;
  let inIndirect = false;
  const bufs: RefBuf[] = [];
  for (;;) {
    if (left-- === 0) return null;
    const p = table + 16 * idx;
    const addr = m.r32(p) + m.r32(p + 4) * 2 ** 32;
    const len = m.r32(p + 8);
    const flags = m.r16(p + 12);
    const next = m.r16(p + 14);
    if (flags & INDIRECT) {
      if (!indirectOk || inIndirect || (flags & NEXT) || len === 0 || len % 16 !== 0 || len / 16 > numMax) return null;
      if (addr < m.base || addr + len > regionEnd) return null;
      table = addr;
      size = len / 16;
      left = size;
      idx = 0;
      inIndirect = true;
      continue;
    }
    const writable = (flags & W) !== 0;
    if (!writable && bufs.some((x) => x.writable)) return null;
    bufs.push({ addr, len, writable });
    if (!(flags & NEXT)) return bufs;
    if (next >= size) return null;
    idx = next;
  }
}

/** Where the device puts its status byte (the last byte of the last non-empty writable buffer), or -1 if it has none inside the region. */
function statusByteOf(bufs: RefBuf[], base: number, end: number): number {
  for (let i = bufs.length - 1; i >= 0 && bufs[i].writable; i--) {
    if (bufs[i].len !== 0) {
      const a = bufs[i].addr + bufs[i].len - 1;
      return a >= base && a < end ? a : -1;
    }
  }
  return -1;
}

/** Whether a writable buffer of `chain` overlaps the queue's descriptor table or rings. */
function overwritesRings(b: BlkDriver, chain: RefBuf[]): boolean {
  const n = b.q.num;
  const areas = [[b.q.descAddr, 16 * n], [b.q.availAddr, 6 + 2 * n], [b.q.usedAddr, 6 + 8 * n]];
  return chain.some((x) => x.writable && areas.some(([a, len]) => x.addr < a + len && a < x.addr + x.len));
}

const BASE = 0x60000000;
const ADDRS: D['addr'][] = ['hdr', 'data', 'status', 'table', 0x40000000, 2 ** 63, BASE - 16, BASE, TOP - 16, TOP - 8, TOP - 1, TOP];
const LENS = [0, 1, 8, 15, 16, 17, 511, 512, 513, 4096, 0xffffffff];

/** A random chain: sometimes wholly random, mostly a good request with one to three defects. */
function randomCase(p: Prng, num: number): { descs: D[]; opts: Parameters<typeof run>[3] } {
  const type = p.pick([0, 0, 1, 1, 4, 8, 11, 13, p.u32()]);
  const opts: NonNullable<Parameters<typeof run>[3]> = { type, sector: p.chance(0.1) ? p.pick([2047, 2048, 2 ** 32, 2 ** 53 - 1]) : p.below(2048) };
  const dataFlags = type === 1 ? R : W;
  let descs: D[];
  if (p.chance(0.25)) {
    const n = p.range(1, 6);
    descs = [];
    for (let i = 0; i < n; i++) {
      descs.push({ addr: p.pick(ADDRS), len: p.pick([...LENS, p.u32()]), flags: p.below(8), next: p.chance(0.8) ? p.below(n) : undefined, raw: p.chance(0.1) ? p.u32() & 0xffff : undefined });
    }
    opts.table = [HDR, { addr: 'data', len: 512, flags: dataFlags | NEXT, next: 2 }, STATUS];
    return { descs, opts };
  }
  const good: D[] = [{ ...HDR }, { addr: 'data', len: 512, flags: dataFlags | NEXT, next: 2 }, { ...STATUS }];
  if (p.chance(0.3)) {
    opts.table = good;
    descs = [{ addr: 'table', len: 48, flags: INDIRECT }];
  } else {
    descs = good;
  }
  const target = (): D[] => (opts.table && p.chance(0.7) ? opts.table : descs);
  const defects = p.range(1, 3);
  for (let k = 0; k < defects; k++) {
    const list = target();
    const d = list[p.below(list.length)];
    switch (p.below(9)) {
      case 0: d.flags ^= 1 << p.below(3); break;
      case 1: d.raw = p.pick([list.length - 1, list.length, num - 1, num, 0xffff, p.u32() & 0xffff]); break;
      case 2: d.next = p.below(list.length); d.raw = undefined; break;
      case 3: d.addr = p.pick(ADDRS); break;
      case 4: d.len = p.pick(LENS); break;
      case 5: if (d.addr === 'table' || d.flags & INDIRECT) d.len = p.pick([0, 8, 16, 32, 40, 48, 64, 16 * 257]); else d.len = p.pick(LENS); break;
      case 6: opts.head = p.pick([num - 1, num, num + 1, 0xffff]); break;
      case 7: opts.type = p.pick([0, 1, 8, 4, p.u32()]); break;
      default: list.push({ addr: p.pick(ADDRS), len: p.pick(LENS), flags: p.below(8), next: 0 }); break;
    }
  }
  return { descs, opts };
}

test('random chains (seeded): the device refuses exactly the malformed ones and answers every other with a status byte', () => {
  const s = makeSystem();
  const shmem = new Uint8Array(s.sim.region('shmem:vda'));
  const numMax = s.backend.devices.get('vda')!.transport.queues[0].numMax;
  const counts = { rounds: 0, malformed: 0, noStatus: 0, answered: 0, ok: 0, ringsOverwritten: 0 };
  for (const seed of fuzzSeeds(0xfeed, 300)) {
    withSeed(seed, () => {
      const p = new Prng(seed);
      shmem.fill(0); // each round starts from the same memory, so its seed replays it
      const b = new BlkDriver(s.sim, s.model('vda'), { queueSize: p.pick([8, 16, 256]) });
      const { descs, opts } = randomCase(p, b.q.num);
      // the chain as published, read before the device runs (it may write over its own descriptors)
      const seen: { chain: RefBuf[] | null } = { chain: null };
      const o = run(s, b, descs, opts, () => {
        const headAt = b.q.availAddr + 4 + 2 * ((b.drv.mem.r16(b.q.availAddr + 2) - 1) & (b.q.num - 1));
        seen.chain = referenceChain(b, b.drv.mem.r16(headAt), numMax, TOP);
      });
      const chain = seen.chain;
      const statusAt = chain ? statusByteOf(chain, BASE, TOP) : -1;
      counts.rounds++;
      if (chain !== null && overwritesRings(b, chain)) {
        // the driver asked for its own rings to be written: any verdict is the driver's doing
        counts.ringsOverwritten++;
      } else if (chain === null) {
        counts.malformed++;
        assert.ok(o.needsReset, 'a malformed chain sets DEVICE_NEEDS_RESET');
      } else if (statusAt < 0) {
        counts.noStatus++;
        assert.ok(o.needsReset, `a chain without a status byte in the region sets DEVICE_NEEDS_RESET: ${JSON.stringify({ chain, descs, opts, logs: s.logs })}`);
      } else {
        counts.answered++;
        assert.not.ok(o.needsReset, `a well-formed chain does not set DEVICE_NEEDS_RESET: ${JSON.stringify({ chain, descs, opts, logs: s.logs })}`);
        assert.ok(o.usedLen >= 0, 'a well-formed chain is answered through the used ring');
        const writable = chain.filter((x) => x.writable).reduce((n, x) => n + x.len, 0);
        assert.ok(o.usedLen <= writable, `used length ${o.usedLen} within the ${writable} writable bytes`);
        const status = b.drv.mem.r8(statusAt);
        assert.ok(status <= 2, `status byte ${status} is OK, IOERR or UNSUPP`);
        if (status === 0) counts.ok++;
      }
      assert.equal(s.sim.violations.map((v) => v.what), []);
      const bad = s.logs.filter((l) => /threw|exception/.test(l));
      assert.equal(bad, [], 'no exception escapes');
      s.logs.length = 0;
    });
  }
  healthy(s);
  if (seedOverride() === undefined) {
    // every kind of outcome is reached, and not only refusals
    assert.ok(counts.malformed > counts.rounds / 10 && counts.noStatus > 0 && counts.answered > counts.rounds / 5 && counts.ok > 0, JSON.stringify(counts));
    // through the host's virtqueue (the simulated host's stand-in for the C one): it gathered the
    // well-formed chains and left every malformed one to SplitQueue, which answered it as above
    const vq = s.sim.virtqueues;
    assert.ok(vq.popped >= counts.answered && vq.handedBack >= counts.malformed, JSON.stringify({ popped: vq.popped, handedBack: vq.handedBack, counts }));
  }
  console.log(`fuzz-chains: ${JSON.stringify({ ...counts, hostPopped: s.sim.virtqueues.popped, handedBack: s.sim.virtqueues.handedBack })}`);
});

test.run();
