// SPDX-License-Identifier: Apache-2.0
/**
 * Property test: random register accesses of every width and offset, on
 * every device, from several vCPUs, seeded and bounded (BAOJS_FUZZ_SCALE
 * multiplies the rounds; a failure prints the round's seed for
 * BAOJS_FUZZ_SEED). In the live rounds a blk driver keeps vda's request
 * queue running meanwhile: negotiation, the queue in the shared region,
 * DRIVER_OK, then requests, kicks and avail index updates (some of them
 * broken) between the random accesses, and a new probe whenever the device
 * stops.
 *
 * What must hold at every access, whatever the driver does:
 * - no exception escapes the dispatcher, no frontend vCPU is left blocked,
 *   no completion is malformed (the simulated Bao records those);
 * - a READ of width w comes back with bits above 8·w zero;
 * - Status never shows DRIVER_OK without FEATURES_OK (3.1.1);
 * - vda's used index never passes the avail index the driver published,
 *   and every used element names a head the driver made available, with a
 *   used length within that chain's writable bytes;
 * - bytes of the shared region the driver never handed to the device (a
 *   16 KiB block at its end, which no register value names) never change.
 * Afterwards each device can be reset and works.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSystem, type System } from '../driver/system.ts';
import { BLK_T, BlkDriver } from '../driver/blk.ts';
import { ConsoleDriver } from '../driver/console.ts';
import { RngDriver } from '../driver/rng.ts';
import { Prng } from '../sim/prng.ts';
import { fuzzSeeds, withSeed } from '../sim/fuzz.ts';
import { DeviceStatus, MmioReg } from '../../src/virtio/spec.ts';

const OFFSETS = [0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044, 0x050, 0x060,
  0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc, 0x100, 0x104, 0x108];
const WIDTHS = [1, 2, 4, 8];
/** Random accesses per round. */
const STEPS = 1500;
/** The block at the end of each shared region that no register value and no descriptor names. */
const GUARD = 16 * 1024;
const GUARD_BYTE = 0xa5;

function randomValue(p: Prng, shm: number, shmSize: number): number {
  switch (p.below(6)) {
    case 0: return p.below(8);
    case 1: return p.pick([0, 1, 3, 7, 15, 0x47, 0x4f, 0x80, 0xff]);
    case 2: return p.pick([8, 16, 64, 256, 1024, 3]);
    // an address in the region, clear of the guard block by more than the largest ring
    case 3: return shm + 16 * p.below((shmSize - GUARD - 0x2000) / 16);
    case 4: return 0x40000000;
    default: return p.u32();
  }
}

/** What a round did, for the volume report. */
export interface RoundStats { accesses: number; requests: number; completed: number; probes: number }

/**
 * The driver side of vda in a live round: a blk driver with up to 8
 * requests in flight, re-probed whenever the device stops serving, and the
 * bookkeeping the invariants need (per probe: the highest avail index
 * published, the heads published and their writable bytes).
 */
class LiveBlk {
  b!: BlkDriver;
  private availMax = 0;
  private readonly heads = new Map<number, number>();
  private readonly inFlight = new Map<number, number[]>();
  requests = 0;
  completed = 0;
  probes = 0;

  constructor(readonly s: System, readonly p: Prng) {
    this.probe();
  }

  /** Reset, negotiation, the queue, DRIVER_OK; the guard block pinned at the region's end and filled. */
  probe(): void {
    const model = this.s.model('vda');
    this.b = new BlkDriver(this.s.sim, model, { queueSize: this.p.pick([8, 16, 256]) });
    const pool = this.b.drv.pool;
    // first fit: a filler up to the guard, the guard (never released), the filler back
    const end = model.shmem.base + model.shmem.size;
    const start = pool.alloc(16, 16);
    pool.release(start);
    const filler = pool.alloc(end - GUARD - start, 16);
    const guard = pool.alloc(GUARD, 16);
    if (filler !== start || guard !== end - GUARD) throw new Error(`guard at 0x${guard.toString(16)}`);
    pool.release(filler);
    this.b.drv.mem.fill(guard, GUARD, GUARD_BYTE);
    this.availMax = 0;
    this.heads.clear();
    this.inFlight.clear();
    this.probes++;
  }

  /** Whether the device serves (DRIVER_OK, not NEEDS_RESET, not FAILED). */
  private live(): boolean {
    const st = this.b.drv.status();
    return (st & DeviceStatus.DRIVER_OK) !== 0 && (st & (DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.FAILED)) === 0;
  }

  /** One driver action: a request, a kick, a broken avail update, or a new probe. */
  step(): void {
    const p = this.p;
    const q = this.b.q;
    if (!this.live() || this.inFlight.size >= 8 || q.numFree < 3 || this.availMax > 60000) {
      this.probe();
      return;
    }
    const what = p.below(10);
    if (what < 6) {
      this.submit();
    } else if (what < 8) {
      q.forceKick();
    } else if (what === 8) {
      // a head at or past the end of the table, or any index: the chain may be broken
      const from = this.availMax;
      q.publish(p.pick([q.num - 1, q.num, p.below(q.num), 0xffff]));
      this.availMax++;
      this.madeAvailable(from, this.availMax);
      q.forceKick();
    } else {
      // the avail index moved forward by up to twice Queue Size
      const from = this.availMax;
      const idx = this.availMax + p.below(2 * q.num + 1);
      q.setAvailIdx(idx);
      this.availMax = idx;
      this.madeAvailable(from, idx);
      q.forceKick();
    }
    this.collect();
  }

  /**
   * Records the heads in avail ring slots [from, to) as made available: the
   * chains there are whatever the table holds, so their writable bytes are
   * bounded by those of the whole table.
   */
  private madeAvailable(from: number, to: number): void {
    const q = this.b.q;
    const m = this.b.drv.mem;
    let bound = 0;
    for (let i = 0; i < q.num; i++) if (m.r16(q.descAddr + 16 * i + 12) & 2) bound += m.r32(q.descAddr + 16 * i + 8);
    for (let i = from; i < to; i++) {
      const head = m.r16(q.availAddr + 4 + 2 * (i & (q.num - 1)));
      this.heads.set(head, Math.max(this.heads.get(head) ?? 0, bound));
    }
  }

  /** A read or write of 1-8 sectors, data bytes ≥ 0x80 (so no u64 in memory is an address inside the region). */
  private submit(): void {
    const b = this.b;
    const m = b.drv.mem;
    const pool = b.drv.pool;
    const sectors = this.p.range(1, 8);
    const write = this.p.chance(0.5);
    const hdr = pool.alloc(16, 16);
    m.w32(hdr, write ? BLK_T.OUT : BLK_T.IN);
    m.w32(hdr + 4, 0);
    m.w64(hdr + 8, this.p.below(b.capacity - sectors + 1));
    const data = pool.alloc(512 * sectors, 16);
    m.fill(data, 512 * sectors, 0x80 | this.p.below(0x80));
    const st = pool.alloc(1, 1);
    m.w8(st, 0xff);
    const head = write
      ? b.q.add([{ addr: hdr, len: 16 }, { addr: data, len: 512 * sectors }], [{ addr: st, len: 1 }])
      : b.q.add([{ addr: hdr, len: 16 }], [{ addr: data, len: 512 * sectors }, { addr: st, len: 1 }]);
    this.heads.set(head, write ? 1 : 512 * sectors + 1);
    this.inFlight.set(head, [hdr, data, st]);
    this.availMax++;
    this.requests++;
    b.q.kick();
  }

  /** Takes the used elements and checks each. */
  private collect(): void {
    const b = this.b;
    b.drv.handleInterrupt();
    for (let u = b.q.getUsed(); u; u = b.q.getUsed()) {
      const writable = this.heads.get(u.id);
      assert.ok(writable !== undefined, `used id ${u.id} was never made available`);
      assert.ok(u.len <= writable!, `used length ${u.len} > ${writable} writable bytes of head ${u.id}`);
      const bufs = this.inFlight.get(u.id);
      if (bufs) {
        this.inFlight.delete(u.id);
        for (const a of bufs) b.drv.pool.release(a);
        this.completed++;
      }
    }
  }

  /** The invariants on vda's rings and guard block (the rings: cheap, every call; the guard: `full`). */
  check(full: boolean): void {
    const q = this.b.q;
    const used = q.usedIdx;
    assert.ok(used <= this.availMax, `used idx ${used} passed the avail index published (${this.availMax})`);
    if (full) {
      const m = this.b.drv.mem;
      const guard = m.base + m.u8.length - GUARD;
      const bytes = m.u8.subarray(guard - m.base);
      for (let i = 0; i < GUARD; i++) {
        if (bytes[i] !== GUARD_BYTE) assert.unreachable(`byte 0x${(guard + i).toString(16)} of the guard block written (0x${bytes[i].toString(16)})`);
      }
    }
  }
}

/**
 * `steps` random accesses. With `live`, every device is first brought up by
 * its driver and accesses are mostly aligned 32-bit ones, so that status
 * changes, resets, kicks and queue layout changes hit running devices; vda's
 * driver keeps its queue busy in between (see {@link LiveBlk}).
 */
function fuzz(seed: number, steps: number, live = false): { s: System; stats: RoundStats } {
  const s = makeSystem({ sim: { seed } });
  const p = new Prng(seed);
  let vda: LiveBlk | null = null;
  if (live) {
    vda = new LiveBlk(s, new Prng(seed ^ 0x55aa55aa));
    new BlkDriver(s.sim, s.model('vdb'), { indirect: true });
    new RngDriver(s.sim, s.model('hwrng')).read(4);
    new ConsoleDriver(s.sim, s.model('hvc0'));
  }
  for (let i = 0; i < steps; i++) {
    if (vda && p.chance(0.3)) vda.step();
    const dev = p.pick(s.platform.devices);
    const off = p.chance(0.7) ? p.pick(OFFSETS) + (p.chance(0.1) ? p.below(4) : 0) : p.below(0x200);
    const width = live && p.chance(0.8) ? 4 : p.pick(WIDTHS);
    const vcpu = p.below(3);
    const addr = dev.window.base + off;
    if (p.chance(0.5)) {
      const v = s.sim.load(vcpu, addr, width);
      if (width < 8) {
        assert.is(v.hi, 0, `READ of ${width} bytes at 0x${off.toString(16)}: upper word`);
        assert.ok(v.lo < 2 ** (8 * width), `READ of ${width} bytes at 0x${off.toString(16)}: 0x${v.lo.toString(16)}`);
      }
      if (off === MmioReg.Status && (v.lo & DeviceStatus.DRIVER_OK)) {
        assert.ok(v.lo & DeviceStatus.FEATURES_OK, `Status 0x${v.lo.toString(16)}: DRIVER_OK without FEATURES_OK`);
      }
    } else {
      s.sim.store(vcpu, addr, width, randomValue(p, dev.shmem.base, dev.shmem.size), p.chance(0.2) ? p.u32() : 0);
    }
    if (vda) vda.check((i & 255) === 255);
  }
  if (vda) vda.check(true);
  assert.equal(s.sim.violations.map((v) => v.what), []);
  return { s, stats: { accesses: s.sim.trapped, requests: vda?.requests ?? 0, completed: vda?.completed ?? 0, probes: vda?.probes ?? 0 } };
}

const CASES: [number, boolean][] = [[1, false], [2, false], [0xbadc0de, false], [3, true], [4, true], [5, true], [0x5eed, true]];
const total: RoundStats = { accesses: 0, requests: 0, completed: 0, probes: 0 };

for (const [base, live] of CASES) {
  test(`seed ${base}${live ? ', live vda queue' : ''}: rounds of ${STEPS} random accesses; no escape, reads within their width, Status consistent, devices recover`, () => {
    for (const seed of fuzzSeeds(base, 1)) {
      withSeed(seed, () => {
        const { s, stats } = fuzz(seed, STEPS, live);
        total.accesses += stats.accesses;
        total.requests += stats.requests;
        total.completed += stats.completed;
        total.probes += stats.probes;
        assert.equal([...s.sim.hypercalls.keys()].filter((k) => !k.endsWith(':0') && k !== '2:1'), [], 'only OK and empty-ASK statuses');
        assert.not.ok(s.logs.some((l) => /threw|exception/.test(l)), s.logs.filter((l) => /threw|exception/.test(l)).join('\n'));
        // every device can be reset and serves again
        const blk = new BlkDriver(s.sim, s.model('vda'));
        const data = new Uint8Array(1024).map((_, i) => (i * 7 + seed) & 0xff);
        assert.is(blk.write(8, data).status, 0);
        assert.equal(Array.from(blk.read(8, 2).data), Array.from(data));
        assert.is(new RngDriver(s.sim, s.model('hwrng')).read(16).length, 16);
        assert.is(new ConsoleDriver(s.sim, s.model('hvc0')).write(Uint8Array.of(65)), 0);
        assert.is(new BlkDriver(s.sim, s.model('vdb')).read(0, 1).status, 0);
      });
    }
  });
}

test('the live rounds kept vda\'s queue serving between the random accesses', () => {
  console.log(`fuzz-registers: ${JSON.stringify(total)}`);
  // most requests complete: the device was live most of the time, and re-probed when it was not
  assert.ok(total.completed > total.requests / 2 && total.probes > 4, JSON.stringify(total));
});

test('same seed, same run', () => {
  const a = fuzz(99, 300, true);
  const b = fuzz(99, 300, true);
  assert.is(a.s.logs.join('\n'), b.s.logs.join('\n'));
  assert.equal(a.stats, b.stats);
});

test.run();
