// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated Bao for the tests: implements {@link Host} for the backend and
 * the trapped-access side for a frontend model, behaving as `remio-abi.md`
 * describes Bao (`src/core/remio.c`):
 *
 * - a FIFO of requests per device model; ASK returns the oldest, marks it
 *   PROCESSING and reports more-pending as 0 or 1;
 * - request ids from one pool sized to the number of physical CPUs, lowest
 *   free slot first;
 * - ASK answers +1 when nothing is pending, and also when called with a
 *   non-zero addr or value; registers other than the status change only
 *   when ASK succeeds;
 * - completing a request that is not PROCESSING on that DM (unknown id,
 *   already completed) answers -1, as does any op on an unbound DM entry;
 *   a dm_id out of range or an unknown op answers -3;
 * - a WRITE reports the whole 64-bit source register: for a narrow store the
 *   bits above the width are garbage (seeded);
 * - a READ completion stores all 64 bits given into the frontend register,
 *   unmasked; the completion op decides (a READ completion of a WRITE
 *   clobbers the source register);
 * - one backend interrupt per DM, merged while pending; the frontend vCPU
 *   that trapped is blocked until its request is completed;
 * - NOTIFY sets the DM's frontend interrupt pending and counts it.
 *
 * The firmware's register shadow (runtime/regshadow.h): with a shadow
 * registered ({@link SimBao.regShadow}), before it calls the IRQ handler
 * for a DM the simulation answers the reads at the head of the DM's FIFO
 * that the shadow answers (test/sim/regshadow.ts, the lookup the C one is
 * held to), one ASK and one READ completion each, and calls the handler
 * only if a request is left, as the firmware's data plane loop does.
 *
 * `remioBatch` and `remioComplete` do what the firmware's C does: one
 * `this.remio` hypercall per ASK and per completion (so a test that wraps
 * `remio` sees and can alter each one), a WRITE's value masked to its width.
 *
 * Memory regions are ArrayBuffers keyed by name at their guest-physical
 * base: `backend.regions` by name, each device's shared region as
 * `shmemRegionName(device)`.
 *
 * Devices passed through to the backend ({@link SimBao.attachMmio}): a
 * device model behind `mmioRead`/`mmioWrite` for its window, with a level
 * interrupt ({@link SimBao.setIrqLevel}) delivered as the firmware delivers
 * one: masked before the handler runs, until the driver's `irqEnable`;
 * while the line stays high, every unmask delivers it again.
 *
 * Time is virtual: `nowNs()` advances only with {@link SimBao.advance};
 * timers fire from {@link SimBao.run}. Pure JS: runs inside QuickJS too.
 *
 * The firmware's watchdog: every call the main loop makes into the backend
 * (IRQ handler, timer callback) goes through {@link SimOptions.callJs},
 * which may stop it the way the firmware's engine does (uncatchable: no
 * `catch` or `finally` runs; on Node a `vm` timeout does exactly that).
 * After a stop the simulation does what the firmware's C does: completes
 * the requests taken with `remioBatch` and not completed (a READ with 0, a
 * WRITE without effect), then calls the `onWatchdog` handler.
 */
import { shmemRegionName, type DeviceModel, type Platform } from '../../src/config/platform.ts';
import {
  PERF_OUT_WORDS, REG_SHADOW_WORDS, RemioOp, RemioOut, RemioReq, RemioStatus, REMIO_OUT_WORDS, REMIO_REQ_WORDS,
  type EntropyQuality, type HeapStats, type Host,
} from '../../src/host.ts';
import { Prng } from './prng.ts';
import { SimVirtqueues } from './virtqueue.ts';
import { regShadowRead } from './regshadow.ts';
import { MmioReg } from '../../src/virtio/spec.ts';

/** Request states in the simulated remio (Bao: FREE / PENDING / PROCESSING). */
export type SimRequestState = 'PENDING' | 'PROCESSING' | 'DONE';

/** One trapped frontend access. */
export interface SimRequest {
  /** slot in the request-id pool */
  id: number;
  dmId: number;
  /** absolute guest-physical address accessed */
  addr: number;
  /** 0 WRITE, 1 READ */
  op: number;
  /** for WRITE: the whole 64-bit source register (garbage above width) */
  valueLo: number;
  valueHi: number;
  width: number;
  vcpu: number;
  state: SimRequestState;
  /** the frontend register after completion (READ completions write it) */
  regLo: number;
  regHi: number;
  /** the op the backend completed with */
  completedOp: number;
}

/** Something the backend did that Bao would accept but that is wrong for the frontend. */
export interface SimViolation {
  request: SimRequest;
  what: string;
}

/**
 * A device window reached with `host.mmioRead`/`mmioWrite` ({@link
 * SimBao.attachMmio}). `offset` is from the window's base; accesses are
 * aligned to `width` (1, 2, 4 or 8; the simulation checks). A width-8 read
 * returns the low half and puts the high half in `hi[0]`.
 */
export interface SimMmioDevice {
  read(offset: number, width: number, hi: Uint32Array): number;
  write(offset: number, width: number, lo: number, hi: number): void;
}

/** Options of {@link SimBao}. */
export interface SimOptions {
  /** seed for garbage bits and the entropy source (default 1) */
  seed?: number;
  /** what `entropyQuality` reports (default 'hardware') */
  entropyQuality?: EntropyQuality;
  /** put garbage above the width of narrow stores (default true) */
  garbageUpperBits?: boolean;
  /** size of Bao's remio device list of the backend (default: largest dmId + 1) */
  dmListSize?: number;
  /** the backend console: lines written by host.write (default: kept in {@link SimBao.output}) */
  echo?: boolean;
  /**
   * Runs one call of the main loop into the backend under a watchdog of
   * `budgetMs` (wall-clock) ms; returns false if the watchdog stopped it
   * (default: calls `fn`, never stops it).
   */
  callJs?: (fn: () => void, budgetMs: number) => boolean;
  /** offer {@link SimBao.regShadow} (default true; false: every read reaches JS) */
  regShadow?: boolean;
  /** offer the C virtqueue's stand-in ({@link SimBao.vqAttach}; default true; false: SplitQueue walks the rings itself) */
  hostQueues?: boolean;
  /** offer {@link SimBao.passthroughIsr}: acknowledge registered passthrough devices before the IRQ handler, never mask them (default false) */
  passthroughIsr?: boolean;
}

interface Timer {
  id: number;
  due: number;
  period: number;
  cb: () => void;
}

const TWO32 = 4294967296;

/** The simulated hypervisor, backend Host and frontend trap path in one. */
export class SimBao implements Host {
  readonly engineVersion = 'sim';
  readonly arch = 'aarch64';
  readonly underHypervisor = true;
  /** INTID reported for console input (the PL011's on qemu-aarch64-virt) */
  readonly consoleIntid = 33;
  /** bytes typed on the simulated console, not yet read */
  readonly consoleInput: number[] = [];
  readonly entropyQuality: EntropyQuality;

  /** everything the backend wrote with host.write */
  output = '';
  /** power-off codes the backend asked for */
  readonly powerOffs: number[] = [];
  /** requests completed wrongly (see {@link SimViolation}) */
  readonly violations: SimViolation[] = [];
  /** per DM: NOTIFY hypercalls received */
  readonly notifies = new Map<number, number>();
  /** frontend INTIDs injected by NOTIFY and not yet taken */
  readonly frontendPending = new Set<number>();
  /** every hypercall status, for tests: count by `op:status` */
  readonly hypercalls = new Map<string, number>();
  /** requests ever trapped */
  trapped = 0;
  /** calls into the backend the watchdog stopped */
  watchdogStops = 0;
  /** the watchdog's budget, ms ({@link SimBao.setWatchdogMs}) */
  watchdogMs = 10000;

  private readonly regions = new Map<string, { base: number; buffer: ArrayBuffer }>();
  /** scratch of remioBatch / remioComplete (the firmware's C uses registers) */
  private readonly askOut = new Uint32Array(REMIO_OUT_WORDS);
  private readonly fifos = new Map<number, SimRequest[]>();
  private readonly pool: (SimRequest | null)[];
  private readonly blocked = new Map<number, SimRequest>();
  private readonly pendingIrqs = new Set<number>();
  private readonly enabledIrqs = new Set<number>();
  private irqHandler: ((intid: number) => void) | null = null;
  private watchdogHandler: (() => void) | null = null;
  private inWatchdogHandler = false;
  private readonly callJs: (fn: () => void, budgetMs: number) => boolean;
  /** requests remioBatch handed out and no completion has answered yet, by request id (the firmware's host_taken) */
  private readonly taken = new Map<number, SimRequest>();
  private readonly dmList: (DeviceModel | null)[];
  private readonly prng: Prng;
  private readonly garbage: boolean;
  /** register shadows by DM ({@link SimBao.regShadow}) */
  private readonly shadows = new Map<number, { shadow: Uint32Array; config: Uint8Array }>();
  private readonly shadowVal = new Uint32Array(2);
  /** the C virtqueue's stand-in ({@link SimBao.vqAttach}) */
  readonly virtqueues = new SimVirtqueues();
  /** passthrough device windows ({@link SimBao.attachMmio}) */
  private readonly mmio: { base: number; size: number; device: SimMmioDevice }[] = [];
  private readonly mmioHi = new Uint32Array(1);
  /** level interrupts of passthrough devices whose line is high ({@link SimBao.setIrqLevel}) */
  private readonly levelHigh = new Set<number>();
  /** passthrough devices the host acknowledges before the IRQ handler ({@link SimBao.passthroughIsr}) */
  private readonly hostAcked = new Map<number, { mmio: number; isr: Uint32Array }>();
  /** deliveries of passthrough interrupts, and of those the host acknowledged itself */
  passthroughIrqs = 0;
  hostAckedIrqs = 0;
  private timers: Timer[] = [];
  private timerId = 1;
  private now = 0;
  private running = false;

  /** @param platform the system; regions are allocated at their described sizes */
  constructor(readonly platform: Platform, options: SimOptions = {}) {
    this.prng = new Prng(options.seed ?? 1);
    this.entropyQuality = options.entropyQuality ?? 'hardware';
    this.garbage = options.garbageUpperBits ?? true;
    this.callJs = options.callJs ?? ((fn) => { fn(); return true; });
    if (options.regShadow === false) (this as { regShadow?: unknown }).regShadow = undefined;
    if (options.passthroughIsr !== true) (this as { passthroughIsr?: unknown }).passthroughIsr = undefined;
    if (options.hostQueues === false) {
      const self = this as { vqAttach?: unknown; vqPop?: unknown; vqPush?: unknown };
      self.vqAttach = self.vqPop = self.vqPush = undefined;
    }
    this.pool = new Array<SimRequest | null>(platform.machine.cpus).fill(null);
    const size = options.dmListSize ?? Math.max(0, ...platform.devices.map((d) => d.dmId + 1));
    this.dmList = new Array<DeviceModel | null>(size).fill(null);
    for (const d of platform.devices) {
      if (d.dmId < size) this.dmList[d.dmId] = d;
      this.fifos.set(d.dmId, []);
      this.regions.set(shmemRegionName(d), { base: d.shmem.base, buffer: new ArrayBuffer(d.shmem.size) });
    }
    for (const r of platform.backend.regions) this.regions.set(r.name, { base: r.base, buffer: new ArrayBuffer(r.size) });
  }

  // ---- Host ----------------------------------------------------------------

  write(text: string): void {
    this.output += text;
    if (this.output.length > 1 << 20) this.output = this.output.slice(-(1 << 19));
  }

  nowNs(): number {
    return this.now * 1e6;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.timerId++;
    this.timers.push({ id, due: this.now + Math.max(0, ms), period: 0, cb: callback });
    return id;
  }

  setInterval(callback: () => void, ms: number): number {
    const id = this.timerId++;
    this.timers.push({ id, due: this.now + Math.max(1, ms), period: Math.max(1, ms), cb: callback });
    return id;
  }

  clearTimer(id: number): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  irqEnable(intid: number): void {
    if (!Number.isInteger(intid) || intid < 0 || intid > 1019) throw new RangeError(`INTID ${intid} cannot be delivered`);
    this.enabledIrqs.add(intid);
  }

  onIrq(handler: (intid: number) => void): void {
    this.irqHandler = handler;
  }

  /** See {@link Host.passthroughIsr} (only with {@link SimOptions.passthroughIsr}): as runtime/host.c, on each delivery of `intid`. */
  passthroughIsr(intid: number, mmio: number, isr: Uint32Array): boolean {
    this.mmioWindow(mmio, 4);
    const was = this.hostAcked.get(intid);
    if (was && was.mmio !== mmio) throw new RangeError(`host.passthroughIsr: INTID ${intid} is another device's`);
    this.hostAcked.set(intid, { mmio, isr });
    this.enabledIrqs.add(intid);
    return true;
  }

  onWatchdog(handler: () => void): void {
    if (typeof handler !== 'function') throw new TypeError('onWatchdog: handler is not a function');
    this.watchdogHandler = handler;
  }

  setWatchdogMs(ms: number): number {
    if (!Number.isInteger(ms) || ms < 10 || ms > 60000) throw new RangeError(`setWatchdogMs: ${ms} ms outside 10..60000`);
    const old = this.watchdogMs;
    this.watchdogMs = ms;
    return old;
  }

  region(name: string): ArrayBuffer {
    const r = this.regions.get(name);
    if (!r) throw new RangeError(`no region named '${name}'`);
    return r.buffer;
  }

  regionBase(name: string): number {
    const r = this.regions.get(name);
    if (!r) throw new RangeError(`no region named '${name}'`);
    return r.base;
  }

  mmioRead(addr: number, width: number, hi?: Uint32Array): number {
    const w = this.mmioWindow(addr, width);
    const h = this.mmioHi;
    h[0] = 0;
    const lo = w.device.read(addr - w.base, width, h) >>> 0;
    if (width === 8 && hi) hi[0] = h[0];
    return lo;
  }

  mmioWrite(addr: number, width: number, lo: number, hi = 0): void {
    const w = this.mmioWindow(addr, width);
    w.device.write(addr - w.base, width, lo >>> 0, width === 8 ? hi >>> 0 : 0);
  }

  /** The window holding an access, checked as the firmware's host.c checks it. @throws RangeError */
  private mmioWindow(addr: number, width: number): { base: number; size: number; device: SimMmioDevice } {
    if (width !== 1 && width !== 2 && width !== 4 && width !== 8) throw new RangeError('host.mmio: bad address or width');
    if (addr % width) throw new RangeError(`host.mmio: address 0x${addr.toString(16)} not aligned to ${width}`);
    const w = this.mmio.find((m) => addr >= m.base && addr + width <= m.base + m.size);
    if (!w) throw new RangeError(`host.mmio: 0x${addr.toString(16)} is outside the device regions of the platform description`);
    return w;
  }

  /** Puts `device` behind `mmioRead`/`mmioWrite` for `[base, base + size)` (a device passed through to the backend). */
  attachMmio(base: number, size: number, device: SimMmioDevice): void {
    this.mmio.push({ base, size, device });
  }

  /**
   * Drives the level interrupt `intid` of a passthrough device: while it is
   * high and enabled, {@link SimBao.run} masks it and calls the IRQ handler
   * (the firmware masks a level interrupt before JS sees it; the driver
   * unmasks it with `irqEnable` once it has acknowledged the device).
   */
  setIrqLevel(intid: number, high: boolean): void {
    if (high) this.levelHigh.add(intid);
    else this.levelHigh.delete(intid);
  }

  /**
   * A view of `[addr, addr + len)` in whichever region (backend region or
   * shared region) holds all of it: what a device passed through to the
   * backend reaches by DMA.
   * @throws RangeError if no region holds the range
   */
  memoryAt(addr: number, len: number): Uint8Array {
    for (const r of this.regions.values()) {
      if (addr >= r.base && addr + len <= r.base + r.buffer.byteLength) return new Uint8Array(r.buffer, addr - r.base, len);
    }
    throw new RangeError(`DMA to 0x${addr.toString(16)}+${len}: no memory there`);
  }

  remio(dmId: number, addr: number, op: number, valueLo: number, valueHi: number, requestId: number, out: Uint32Array): number {
    const st = this.remioInner(dmId, addr, op, valueLo, valueHi, requestId, out);
    if ((op === RemioOp.WRITE || op === RemioOp.READ) && this.taken.get(requestId)?.dmId === dmId) this.taken.delete(requestId);
    const key = `${op}:${st}`;
    this.hypercalls.set(key, (this.hypercalls.get(key) ?? 0) + 1);
    return st;
  }

  remioBatch(dmId: number, reqs: Uint32Array, maxRequests: number): number {
    const records = Math.floor(reqs.length / REMIO_REQ_WORDS);
    if (records === 0) throw new RangeError(`remioBatch: reqs needs ${REMIO_REQ_WORDS}-word records`);
    const max = Math.min(maxRequests >>> 0, records);
    const out = this.askOut;
    let n = 0;
    let st: number = RemioStatus.OK; // OK: stopped at the bound
    while (n < max) {
      st = this.remio(dmId, 0, RemioOp.ASK, 0, 0, 0, out);
      const b = n * REMIO_REQ_WORDS;
      if (st !== RemioStatus.OK) break;
      const op = out[RemioOut.OP];
      const width = out[RemioOut.WIDTH];
      let lo = out[RemioOut.VALUE_LO];
      let hi = out[RemioOut.VALUE_HI];
      if (op === RemioOp.WRITE && (width === 1 || width === 2 || width === 4)) {
        hi = 0;
        if (width !== 4) lo = (lo & (width === 1 ? 0xff : 0xffff)) >>> 0;
      }
      reqs[b + RemioReq.ADDR_LO] = out[RemioOut.ADDR_LO];
      reqs[b + RemioReq.ADDR_HI] = out[RemioOut.ADDR_HI];
      reqs[b + RemioReq.OP] = op;
      reqs[b + RemioReq.VALUE_LO] = lo;
      reqs[b + RemioReq.VALUE_HI] = hi;
      reqs[b + RemioReq.WIDTH] = width;
      reqs[b + RemioReq.REQUEST_ID] = out[RemioOut.REQUEST_ID];
      this.taken.set(out[RemioOut.REQUEST_ID], this.pool[out[RemioOut.REQUEST_ID]]!);
      n++;
    }
    reqs[RemioReq.STATUS] = st >>> 0;
    return n === 0 && st < 0 ? st : n;
  }

  remioComplete(dmId: number, reqs: Uint32Array, count: number): number {
    const records = Math.floor(reqs.length / REMIO_REQ_WORDS);
    if (count > records) throw new RangeError(`remioComplete: ${count} requests but reqs holds ${records} records`);
    const out = this.askOut;
    let failed = 0;
    for (let i = 0; i < count; i++) {
      const b = i * REMIO_REQ_WORDS;
      const op = reqs[b + RemioReq.OP];
      const isRead = op === RemioOp.READ;
      const st = this.remio(dmId, reqs[b + RemioReq.ADDR_LO] + reqs[b + RemioReq.ADDR_HI] * TWO32, op,
        isRead ? reqs[b + RemioReq.VALUE_LO] : 0, isRead ? reqs[b + RemioReq.VALUE_HI] : 0, reqs[b + RemioReq.REQUEST_ID], out);
      reqs[b + RemioReq.STATUS] = st >>> 0;
      if (st !== RemioStatus.OK) failed++;
    }
    return failed;
  }

  /** See {@link Host.regShadow}: reads answered before the IRQ handler runs (see the file comment). */
  regShadow?(dmId: number, shadow: Uint32Array, config: Uint8Array): boolean {
    if (shadow.length < REG_SHADOW_WORDS) throw new RangeError(`regShadow: shadow needs ${REG_SHADOW_WORDS} words`);
    if (this.shadows.has(dmId)) throw new RangeError(`regShadow: DM ${dmId} has one already`);
    this.shadows.set(dmId, { shadow, config });
    return true;
  }

  /** See {@link Host.vqAttach}: the reference SplitQueue over the same state words (test/sim/virtqueue.ts). */
  vqAttach?(state: Uint32Array, shmem: ArrayBuffer, shmemBase: number, shmemSize: number, chains: Uint32Array,
    segAddr: Float64Array, segLen: Uint32Array, segWritable: Uint8Array, used: Uint32Array): number {
    return this.virtqueues.attach(state, shmem, shmemBase, shmemSize, chains, segAddr, segLen, segWritable, used);
  }

  /** See {@link Host.vqPop}. */
  vqPop?(handle: number, max: number): number {
    return this.virtqueues.pop(handle, max);
  }

  /** See {@link Host.vqPush}. */
  vqPush?(handle: number, count: number): number {
    return this.virtqueues.push(handle, count);
  }

  ipcNotify(): number {
    return -3;
  }

  entropy(buf: Uint8Array): number {
    this.prng.fill(buf);
    return buf.length;
  }

  heapStats(): HeapStats {
    return { total: 8 << 20, used: 0, highWater: 0 };
  }

  perfCounters(_intid: number, out: Float64Array): number {
    if (out.length < PERF_OUT_WORDS) throw new RangeError(`perfCounters: out needs ${PERF_OUT_WORDS} elements`);
    out.fill(0, 0, PERF_OUT_WORDS);
    return PERF_OUT_WORDS;
  }

  consoleRead(buf: Uint8Array): number {
    const n = Math.min(buf.length, this.consoleInput.length);
    for (let i = 0; i < n; i++) buf[i] = this.consoleInput.shift()!;
    return n;
  }

  powerOff(code: number): void {
    this.powerOffs.push(code);
  }

  // ---- remio ---------------------------------------------------------------

  private remioInner(dmId: number, addr: number, op: number, valueLo: number, valueHi: number, requestId: number, out: Uint32Array): number {
    if (!Number.isInteger(dmId) || dmId < 0 || dmId >= this.dmList.length) return RemioStatus.INVALID;
    if (op !== RemioOp.WRITE && op !== RemioOp.READ && op !== RemioOp.ASK && op !== RemioOp.NOTIFY) return RemioStatus.INVALID;
    const dm = this.dmList[dmId];
    if (!dm) return RemioStatus.NOT_PROCESSING;
    if (out.length < REMIO_OUT_WORDS) throw new RangeError('out array too short');
    if (op === RemioOp.ASK) {
      if (addr !== 0 || valueLo !== 0 || valueHi !== 0) return RemioStatus.EMPTY;
      const fifo = this.fifos.get(dmId)!;
      const r = fifo.shift();
      if (!r) return RemioStatus.EMPTY;
      r.state = 'PROCESSING';
      out[RemioOut.ADDR_LO] = r.addr % TWO32;
      out[RemioOut.ADDR_HI] = Math.floor(r.addr / TWO32);
      out[RemioOut.OP] = r.op;
      out[RemioOut.VALUE_LO] = r.valueLo;
      out[RemioOut.VALUE_HI] = r.valueHi;
      out[RemioOut.WIDTH] = r.width;
      out[RemioOut.REQUEST_ID] = r.id;
      out[RemioOut.MORE] = fifo.length > 0 ? 1 : 0;
      return RemioStatus.OK;
    }
    if (op === RemioOp.NOTIFY) {
      this.notifies.set(dmId, (this.notifies.get(dmId) ?? 0) + 1);
      this.frontendPending.add(dm.frontendIntid);
      return RemioStatus.OK;
    }
    // WRITE or READ completion.
    const r = Number.isInteger(requestId) && requestId >= 0 && requestId < this.pool.length ? this.pool[requestId] : null;
    if (!r || r.dmId !== dmId || r.state !== 'PROCESSING') return RemioStatus.NOT_PROCESSING;
    r.state = 'DONE';
    r.completedOp = op;
    if (op === RemioOp.READ) {
      r.regLo = valueLo >>> 0;
      r.regHi = valueHi >>> 0;
      if (r.op === RemioOp.WRITE) this.violations.push({ request: r, what: 'READ completion of a WRITE: clobbers the source register' });
      else if (r.width < 8 && (r.regHi !== 0 || r.regLo >= 2 ** (8 * r.width))) {
        this.violations.push({ request: r, what: `READ value 0x${r.regHi.toString(16)}:${r.regLo.toString(16)} not zero-extended to ${r.width} bytes` });
      }
    } else if (r.op === RemioOp.READ) {
      this.violations.push({ request: r, what: 'WRITE completion of a READ: the frontend register keeps a stale value' });
    }
    this.pool[requestId] = null;
    this.blocked.delete(r.vcpu);
    return RemioStatus.OK;
  }

  // ---- the frontend side -------------------------------------------------------

  /** The device model whose remio window holds `addr`, or undefined. */
  windowAt(addr: number): DeviceModel | undefined {
    return this.platform.devices.find((d) => addr >= d.window.base && addr < d.window.base + d.window.size);
  }

  /**
   * The device model a trapped access at `addr` is queued on, picked as Bao
   * picks it (`src/core/remio.c` `remio_find_vm_dev_by_addr` with
   * `in_range`): the first device, in the frontend's list order, with
   * base <= addr <= base + size. The end is included, so a window that
   * starts where an earlier one ends loses its first register to it.
   */
  deviceFor(addr: number): DeviceModel | undefined {
    return this.platform.devices.find((d) => addr >= d.window.base && addr <= d.window.base + d.window.size);
  }

  /** Whether frontend vCPU `vcpu` waits for a request to complete. */
  isBlocked(vcpu: number): boolean {
    return this.blocked.has(vcpu);
  }

  /** Requests pending (not yet asked) for `dmId`. */
  pendingCount(dmId: number): number {
    return this.fifos.get(dmId)?.length ?? 0;
  }

  /**
   * A frontend vCPU accesses `addr` inside a remio window: Bao queues the
   * request, blocks the vCPU, and sets the DM's backend interrupt pending.
   * Does not run the backend (see {@link SimBao.run}).
   * @param value for a store: the value (the low `width` bytes count; garbage
   *   goes above unless disabled)
   * @throws Error if the vCPU is already blocked, the address is in no
   *   window (a data abort in a real frontend), the width is bad, or no
   *   request id is free (cannot happen: one per CPU)
   */
  trap(vcpu: number, addr: number, width: number, isWrite: boolean, valueLo = 0, valueHi = 0): SimRequest {
    if (this.blocked.has(vcpu)) throw new Error(`frontend vCPU ${vcpu} is blocked`);
    if (width !== 1 && width !== 2 && width !== 4 && width !== 8) throw new Error(`bad width ${width}`);
    if (!this.windowAt(addr)) throw new Error(`frontend access to 0x${addr.toString(16)}: no remio window (data abort)`);
    const dm = this.deviceFor(addr)!;
    const id = this.pool.indexOf(null);
    if (id < 0) throw new Error('request pool exhausted');
    let lo = valueLo >>> 0;
    let hi = valueHi >>> 0;
    if (isWrite && width < 8) {
      hi = this.garbage ? this.prng.u32() : 0;
      if (width < 4) {
        const mask = width === 1 ? 0xff : 0xffff;
        lo = (((this.garbage ? this.prng.u32() : 0) & ~mask) | (lo & mask)) >>> 0;
      }
    }
    const r: SimRequest = {
      id, dmId: dm.dmId, addr, op: isWrite ? RemioOp.WRITE : RemioOp.READ, valueLo: isWrite ? lo : 0, valueHi: isWrite ? hi : 0, width, vcpu,
      state: 'PENDING', regLo: 0xdeadbeef, regHi: 0xdeadbeef, completedOp: -1,
    };
    this.pool[id] = r;
    this.blocked.set(vcpu, r);
    this.fifos.get(dm.dmId)!.push(r);
    this.pendingIrqs.add(dm.backendIntid);
    this.trapped++;
    return r;
  }

  /**
   * Runs the backend's main loop until it is idle: delivers pending enabled
   * backend interrupts (merged: one delivery per pending INTID) and zero-delay
   * timers. Bounded: throws after `maxRounds` rounds with work left.
   */
  run(maxRounds = 10000): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let round = 0; ; round++) {
        if (round >= maxRounds) throw new Error('backend did not become idle');
        let did = false;
        for (const intid of [...this.pendingIrqs].sort((a, b) => a - b)) {
          if (!this.enabledIrqs.has(intid) || !this.irqHandler) continue;
          this.pendingIrqs.delete(intid);
          did = true;
          if (this.serveFromShadow(intid)) continue;
          const handler = this.irqHandler;
          this.call(() => handler(intid));
        }
        for (const intid of [...this.levelHigh].sort((a, b) => a - b)) {
          if (!this.enabledIrqs.has(intid) || !this.irqHandler) continue;
          did = true;
          this.passthroughIrqs++;
          const acked = this.hostAcked.get(intid);
          if (acked) {
            // InterruptStatus read and written to InterruptACK (virtio 1.2 4.2.2): the line drops, it stays enabled
            const v = this.mmioRead(acked.mmio + MmioReg.InterruptStatus, 4);
            if (v !== 0) this.mmioWrite(acked.mmio + MmioReg.InterruptACK, 4, v);
            acked.isr[0] |= v;
            this.hostAckedIrqs++;
          } else {
            this.enabledIrqs.delete(intid);
          }
          const handler = this.irqHandler;
          this.call(() => handler(intid));
        }
        const due = this.timers.filter((t) => t.due <= this.now);
        for (const t of due) {
          if (t.period) t.due += t.period;
          else this.timers = this.timers.filter((x) => x !== t);
          this.call(t.cb);
          did = true;
        }
        if (!did) return;
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * The firmware's loop before JS (runtime/host.c host_dataplane_service):
   * answers the reads at the head of the FIFO of the DM on `intid` that its
   * register shadow answers. Returns true if nothing is left for JS.
   */
  private serveFromShadow(intid: number): boolean {
    const dm = this.platform.devices.find((d) => d.backendIntid === intid);
    const sh = dm && this.shadows.get(dm.dmId);
    if (!dm || !sh) return false;
    const fifo = this.fifos.get(dm.dmId)!;
    const out = this.askOut;
    const v = this.shadowVal;
    while (fifo.length > 0) {
      const r = fifo[0];
      if (r.op !== RemioOp.READ || !regShadowRead(sh.shadow, sh.config, r.addr - dm.window.base, r.width, v)) return false;
      this.remio(dm.dmId, 0, 2, 0, 0, 0, out);
      this.remio(dm.dmId, r.addr, 1, v[0], v[1], r.id, out);
    }
    return true;
  }

  /** One call into the backend under the watchdog; after a stop, what the firmware does (see the file comment). */
  private call(fn: () => void): void {
    if (this.callJs(fn, this.watchdogMs)) return;
    this.watchdogStops++;
    this.write(`baojs: watchdog: a call into JS (callback) ran longer than ${this.watchdogMs} ms and was stopped\n`);
    const out = new Uint32Array(REMIO_OUT_WORDS);
    let n = 0;
    for (const r of [...this.taken.values()]) {
      this.remio(r.dmId, r.addr, r.op, 0, 0, r.id, out);
      n++;
    }
    this.taken.clear();
    if (n) this.write(`baojs: watchdog: ${n} remio request${n === 1 ? '' : 's'} left open by the stopped call completed (a read answered 0, a write dropped)\n`);
    const handler = this.watchdogHandler;
    if (!handler || this.inWatchdogHandler) return;
    this.inWatchdogHandler = true;
    try {
      this.call(handler);
    } finally {
      this.inWatchdogHandler = false;
    }
  }

  /** Advances virtual time by `ms` and runs what became due. */
  advance(ms: number): void {
    this.now += ms;
    this.run();
  }

  /**
   * A frontend load: trap, run the backend, return the frontend register
   * (64 bits as halves, exactly as the completion left it).
   * @throws Error if the backend left the vCPU blocked (a real frontend would hang)
   */
  load(vcpu: number, addr: number, width: number): { lo: number; hi: number } {
    const r = this.trap(vcpu, addr, width, false);
    this.run();
    if (r.state !== 'DONE') throw new Error(`frontend vCPU ${vcpu} hangs: load at 0x${addr.toString(16)} never completed`);
    return { lo: r.regLo, hi: r.regHi };
  }

  /** A frontend store: trap, run the backend. @throws Error as {@link SimBao.load} */
  store(vcpu: number, addr: number, width: number, valueLo: number, valueHi = 0): void {
    const r = this.trap(vcpu, addr, width, true, valueLo, valueHi);
    this.run();
    if (r.state !== 'DONE') throw new Error(`frontend vCPU ${vcpu} hangs: store at 0x${addr.toString(16)} never completed`);
  }

  /** Takes a frontend interrupt injected by NOTIFY: true if it was pending. */
  takeFrontendIrq(intid: number): boolean {
    return this.frontendPending.delete(intid);
  }

  /** Shorthand: NOTIFYs received for `dmId`. */
  notifyCount(dmId: number): number {
    return this.notifies.get(dmId) ?? 0;
  }
}
