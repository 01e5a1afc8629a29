// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-blk driver (virtio 1.2 section 5.2, the driver's side) on the
 * virtio-mmio driver module: baojs driving a block device passed through to
 * the backend VM, zero copy (the device DMAs the caller's buffers).
 *
 * Features: VERSION_1, SIZE_MAX, SEG_MAX, BLK_SIZE, RO, FLUSH, CONFIG_WCE,
 * INDIRECT_DESC and RING_EVENT_IDX when offered (and ACCESS_PLATFORM, which the transport
 * accepts whenever it is offered); never DISCARD or WRITE_ZEROES. With
 * CONFIG_WCE the driver sets `writeback` to 1: whoever submits requests
 * manages durability with explicit FLUSH requests (5.2.5).
 *
 * One request is one chain: the 16-byte header (type, reserved, sector) and
 * the status byte live in a per-request slot of the DMA arena; the data
 * buffers are the caller's guest-physical addresses. With INDIRECT_DESC a
 * request of any size takes one descriptor of the queue (its chain goes
 * into the slot's indirect table), so Queue Size requests can be in
 * flight; without it, each takes header + data + status descriptors.
 * Completion order is the device's.
 */
import {
  DiskBroken, DiskEventWord, DiskPlaneWord, DiskReqWord, DISK_EVENT_HOST, DISK_EVENT_WORDS, DISK_PLANE_WORDS, DISK_REQ_WORDS, type Host,
} from '../host.ts';
import { BlkConfig, BlkFeature } from '../devices/blk.ts';
import { diskSplitLimits } from '../devices/disk.ts';
import { BLK_HEADER_SIZE, BLK_ID_BYTES, BlkStatus, BlkType, SECTOR_SIZE } from '../devices/blk-request.ts';
import { describeError } from '../dispatcher/log.ts';
import { DeviceId, Feature, hasFeature } from '../virtio/spec.ts';
import { DriverQueue, VirtioMmioDriver, type DmaArena } from './virtio-mmio.ts';

/** Options of {@link VirtioBlkDriver.open}. */
export interface VirtioBlkOptions {
  /** for logs and errors, e.g. 'disk0' */
  name: string;
  /** guest-physical base of the device's virtio-mmio window in the backend */
  base: number;
  /** the device's interrupt; the caller routes it to {@link VirtioBlkDriver.onInterrupt} */
  intid: number;
  /** DMA memory: a backend region's name, or an arena shared with other drivers */
  dma: string | DmaArena;
  /** largest Queue Size wanted (default 128; the device's QueueNumMax bounds it) */
  queueSize?: number;
  /**
   * most data buffers per request (default: what the device and the queue
   * allow); with INDIRECT_DESC it sizes the indirect tables: 16 · (this + 2)
   * · Queue Size bytes of the DMA region
   */
  maxSegments?: number;
  /** where log lines go (default: dropped) */
  log?: (msg: string) => void;
  /** false: no disk plane even if the host has one ({@link Host.diskPlane}) */
  diskPlane?: boolean;
}

/**
 * A frontend request that a host's disk plane placed on the disk
 * ({@link Host.diskPlane}) and whose answer JS must give: its status was
 * not OK, or its frontend queue was JS's when it completed, or the driver
 * gave up on the device. Fields as {@link DiskReqWord}; `status` the
 * disk's status byte (IOERR for a lost request).
 */
export interface HostPlacedAnswer {
  /** true when the host reaped it (and took it off its in-flight count); false when TypeScript reaped it or the driver gave up */
  reapedByHost: boolean;
  dm: number;
  feHead: number;
  written: number;
  statusOff: number;
  generation: number;
  type: number;
  status: number;
}

/** Counters of a {@link VirtioBlkDriver}, plain numbers. */
export interface VirtioBlkCounters {
  /** requests submitted (placed in the queue) */
  requests: number;
  /** requests completed, with any status (lost ones included) */
  completions: number;
  /** completions whose status was not OK (lost ones included) */
  errors: number;
  /** QueueNotify writes */
  kicks: number;
  /** interrupts handled */
  interrupts: number;
}

/** 2^32, to split a sector into header halves. */
const TWO32 = 4294967296;
/** Status byte the driver stores before submitting: a device that never writes it is seen. */
const STATUS_UNWRITTEN = 0xff;
/** Largest buffer address a descriptor can carry exactly (a JS number: 2^53 - 1). */
const MAX_ADDRESS = Number.MAX_SAFE_INTEGER;
/** Descriptor length limit when the device gives no size_max. */
const MAX_DESC_BYTES = 0xffffffff;

/**
 * A virtio-blk device driven by baojs. Build it with {@link
 * VirtioBlkDriver.open}; route its interrupt to {@link
 * VirtioBlkDriver.onInterrupt}.
 */
export class VirtioBlkDriver {
  /** bytes (capacity in 512-byte sectors × 512, 5.2.4) */
  readonly capacity: number;
  /** logical block size, bytes (blk_size with BLK_SIZE, else 512) */
  readonly blockSize: number;
  /** VIRTIO_BLK_F_RO negotiated: OUT requests are refused by {@link VirtioBlkDriver.submit} */
  readonly readOnly: boolean;
  /** VIRTIO_BLK_F_FLUSH negotiated */
  readonly flush: boolean;
  /** the device's cache is writeback (5.2.5: FLUSH negotiated, and writeback = 1 with CONFIG_WCE): only a FLUSH makes writes durable */
  readonly writeback: boolean;
  /** data buffers per request (seg_max with SEG_MAX, bounded by Queue Size - 2 and the `maxSegments` option) */
  readonly maxSegments: number;
  /** bytes per data buffer (size_max with SIZE_MAX, else 2^32 - 1) */
  readonly maxSegmentBytes: number;
  readonly counters: VirtioBlkCounters = { requests: 0, completions: 0, errors: 0, kicks: 0, interrupts: 0 };

  private readonly queue: DriverQueue;
  /** guest-physical address of slot 0's header; slot i's is + 16 i */
  private readonly headerAddr: number;
  /** guest-physical address of slot 0's status byte; slot i's is + i */
  private readonly statusAddr: number;
  private readonly headerOff: number;
  private readonly statusOff: number;
  private readonly dv: DataView;
  private readonly u8: Uint8Array;
  /** free request slots (a stack) */
  private readonly freeSlots: Uint16Array;
  private numFreeSlots: number;
  private readonly done: (((status: number) => void) | null)[];
  /** chain scratch: header, data buffers, status */
  private readonly addrs: Float64Array;
  private readonly lens: Uint32Array;
  /** completions of requests submitted after the driver gave up, delivered from a timer */
  private readonly refused: ((status: number) => void)[] = [];
  private refusedTimer = false;
  private plugged = false;
  /**
   * the host's disk plane ({@link Host.diskPlane}): its state words; null
   * without one
   */
  readonly plane: Uint32Array | null = null;
  /** the disk plane's handle ({@link Host.diskRange}), or -1 */
  readonly planeHandle: number = -1;
  /** the records of the requests the plane placed (per head) and the events it leaves */
  private readonly planeReqs: Uint32Array | null = null;
  private readonly planeEvents: Uint32Array | null = null;
  private readonly planeStatusOff: number = 0;
  /**
   * Where answers of requests the host's disk plane placed go when JS must
   * give them ({@link HostPlacedAnswer}); set by whoever links frontend
   * disks to the plane.
   */
  onHostAnswer: ((a: HostPlacedAnswer) => void) | null = null;
  private readonly hostAnswer: HostPlacedAnswer = { reapedByHost: false, dm: 0, feHead: 0, written: 0, statusOff: 0, generation: 0, type: 0, status: 0 };

  private constructor(private readonly host: Host, readonly transport: VirtioMmioDriver, queueSize: number, segmentsWanted: number, usePlane: boolean) {
    const t = transport;
    const f = t.features;
    this.readOnly = hasFeature(f, BlkFeature.RO);
    this.flush = hasFeature(f, BlkFeature.FLUSH);
    const sectors = t.readConfig64(BlkConfig.capacity);
    if (!Number.isSafeInteger(sectors * SECTOR_SIZE)) throw new Error(`${t.name}: capacity of ${sectors} sectors is beyond 2^53 bytes`);
    this.capacity = sectors * SECTOR_SIZE;
    let blockSize = SECTOR_SIZE;
    if (hasFeature(f, BlkFeature.BLK_SIZE)) {
      blockSize = t.readConfig(BlkConfig.blk_size, 4);
      if (blockSize < SECTOR_SIZE || (blockSize & (blockSize - 1)) !== 0) throw new Error(`${t.name}: blk_size ${blockSize} is not a power of 2 ≥ 512`);
    }
    this.blockSize = blockSize;
    let sizeMax = MAX_DESC_BYTES;
    if (hasFeature(f, BlkFeature.SIZE_MAX)) {
      sizeMax = t.readConfig(BlkConfig.size_max, 4);
      if (sizeMax < SECTOR_SIZE) throw new Error(`${t.name}: size_max ${sizeMax} is below one sector`);
    }
    this.maxSegmentBytes = sizeMax;
    let segMax = Infinity;
    if (hasFeature(f, BlkFeature.SEG_MAX)) {
      segMax = t.readConfig(BlkConfig.seg_max, 4);
      if (segMax < 1) throw new Error(`${t.name}: seg_max 0`);
    }
    let writeback = this.flush;
    if (this.flush && hasFeature(f, BlkFeature.CONFIG_WCE)) {
      t.writeConfig(BlkConfig.writeback, 1, 1);
      writeback = t.readConfig(BlkConfig.writeback, 1) === 1;
    }
    this.writeback = writeback;

    this.queue = t.setupQueue(0, queueSize);
    const num = this.queue.num;
    if (num < 3) throw new Error(`${t.name}: Queue Size ${num} leaves no room for data (header and status take 2 descriptors)`);
    this.maxSegments = Math.min(segMax, num - 2, segmentsWanted);
    if (!(this.maxSegments >= 1)) throw new RangeError(`${t.name}: maxSegments ${segmentsWanted}: at least 1`);
    this.queue.useIndirect(this.maxSegments + 2);
    const arena = t.arena;
    this.headerAddr = arena.alloc(BLK_HEADER_SIZE * num, 16);
    this.statusAddr = arena.alloc(num, 4);
    this.headerOff = arena.mem.offset(this.headerAddr, BLK_HEADER_SIZE * num);
    this.statusOff = arena.mem.offset(this.statusAddr, num);
    this.dv = arena.mem.dv;
    this.u8 = arena.mem.u8;
    this.freeSlots = new Uint16Array(num);
    for (let i = 0; i < num; i++) this.freeSlots[i] = num - 1 - i;
    this.numFreeSlots = num;
    this.done = new Array<((status: number) => void) | null>(num).fill(null);
    this.addrs = new Float64Array(this.maxSegments + 2);
    this.lens = new Uint32Array(this.maxSegments + 2);
    this.queue.onUsed = (slot, len) => this.completed(slot, len);
    this.queue.onLost = (slot) => this.lost(slot);
    t.onConfigChange = () => this.configChanged();
    if (host.diskPlane && usePlane) {
      // the host's slots: a header and a status byte per head of the queue
      const headers = arena.alloc(BLK_HEADER_SIZE * num, 16);
      const statuses = arena.alloc(num, 4);
      const st = new Uint32Array(DISK_PLANE_WORDS);
      st[DiskPlaneWord.MMIO_LO] = t.base % TWO32;
      st[DiskPlaneWord.MMIO_HI] = Math.floor(t.base / TWO32);
      st[DiskPlaneWord.INTID] = t.intid;
      st[DiskPlaneWord.HEADERS] = arena.mem.offset(headers, BLK_HEADER_SIZE * num);
      st[DiskPlaneWord.STATUSES] = arena.mem.offset(statuses, num);
      const limits = diskSplitLimits(this.maxSegments, sizeMax);
      st[DiskPlaneWord.MAX_SEGMENTS] = limits.segments;
      st[DiskPlaneWord.SEGMENT_BYTES] = limits.segmentBytes;
      const reqs = new Uint32Array(DISK_REQ_WORDS * num);
      const events = new Uint32Array(DISK_EVENT_WORDS * num);
      const q = this.queue;
      try {
        const handle = host.diskPlane(st, q.st, arena.mem.buffer, q.next, q.chainCount, q.writableBytes, q.tokens, reqs, events);
        st[DiskPlaneWord.CTRL] = 1;
        this.plane = st;
        this.planeHandle = handle;
        this.planeReqs = reqs;
        this.planeEvents = events;
        this.planeStatusOff = st[DiskPlaneWord.STATUSES];
        // giving up on the device ends the plane first: its requests in flight come back as lost
        t.onGiveUp = () => {
          st[DiskPlaneWord.CTRL] = 0;
        };
      } catch (e) {
        t.logLine(`no disk plane: ${describeError(e)}; every request goes through TypeScript`);
      }
    }
    t.driverOk();
  }

  /**
   * Probes and initialises the device at `opts.base` (virtio 1.2 3.1.1,
   * 5.2.5): reset, negotiation, config (capacity, blk_size, size_max,
   * seg_max, writeback), queue 0, DRIVER_OK, interrupt enabled.
   * @throws Error naming what failed: not virtio-mmio, Version 1, not a
   *   block device (DeviceID), VERSION_1 not offered, FEATURES_OK refused,
   *   a bad config field, the DMA region too small or missing
   */
  static open(host: Host, opts: VirtioBlkOptions): VirtioBlkDriver {
    const t = new VirtioMmioDriver(host, opts);
    if (t.deviceId !== DeviceId.BLOCK) throw new Error(`${opts.name}: DeviceID ${t.deviceId} is not a block device (${DeviceId.BLOCK})`);
    t.reset();
    t.negotiate([
      BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.RO, BlkFeature.FLUSH, BlkFeature.CONFIG_WCE,
      Feature.RING_EVENT_IDX, Feature.INDIRECT_DESC,
    ]);
    try {
      return new VirtioBlkDriver(host, t, opts.queueSize ?? 128, opts.maxSegments ?? Infinity, opts.diskPlane !== false);
    } catch (e) {
      t.fail(`set-up failed: ${describeError(e)}`);
      throw e;
    }
  }

  /** Requests submitted and not yet completed. */
  get inFlight(): number {
    return this.queue.inFlight;
  }

  /** Whether the driver gave up on the device (every later request completes with IOERR). */
  get failed(): boolean {
    return this.transport.failed;
  }

  /** Whether a request with `segments` data buffers fits in the queue now. */
  hasRoom(segments: number): boolean {
    return this.numFreeSlots > 0 && this.queue.fits(segments + 2);
  }

  /**
   * Holds QueueNotify back until {@link VirtioBlkDriver.unplug}: requests
   * submitted meanwhile are published with one notification.
   */
  plug(): void {
    this.plugged = true;
  }

  /** Publishes what was submitted since {@link VirtioBlkDriver.plug} (one QueueNotify at most). */
  unplug(): void {
    this.plugged = false;
    if (this.queue.kick()) this.counters.kicks++;
  }

  /**
   * Submits one request (5.2.6).
   * @param type BlkType: IN, OUT, FLUSH or GET_ID
   * @param sector first 512-byte sector (IN, OUT; 0 for the others)
   * @param addrs guest-physical addresses of the data buffers (the device DMAs them)
   * @param lens bytes of each data buffer; IN/OUT: the sum a positive multiple of 512; GET_ID: 20
   * @param count data buffers (IN, OUT: 1..maxSegments; FLUSH: 0; GET_ID: 1)
   * @param done called once, from {@link VirtioBlkDriver.onInterrupt}, with
   *   the device's status byte (0 OK, 1 IOERR, 2 UNSUPP), or 1 (IOERR) with a
   *   log line if the device answered another value or the driver gave up on
   *   it (then from a zero-delay timer for requests submitted afterwards)
   * @returns false, changing nothing, when the queue has no room now (retry after a completion; {@link VirtioBlkDriver.hasRoom})
   * @throws RangeError for a request the device must not see: an unknown
   *   type, OUT on a read-only device, FLUSH not negotiated, a count,
   *   length or address outside the limits, a range past the capacity
   */
  submit(type: number, sector: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): boolean {
    this.check(type, sector, addrs, lens, count);
    if (this.transport.failed) {
      this.refuse(done);
      return true;
    }
    if (!this.hasRoom(count)) return false;
    const slot = this.freeSlots[--this.numFreeSlots];
    const h = this.headerOff + BLK_HEADER_SIZE * slot;
    const dv = this.dv;
    dv.setUint32(h, type, true);
    dv.setUint32(h + 4, 0, true);
    dv.setUint32(h + 8, sector % TWO32, true);
    dv.setUint32(h + 12, Math.floor(sector / TWO32), true);
    this.u8[this.statusOff + slot] = STATUS_UNWRITTEN;
    const a = this.addrs;
    const l = this.lens;
    a[0] = this.headerAddr + BLK_HEADER_SIZE * slot;
    l[0] = BLK_HEADER_SIZE;
    for (let i = 0; i < count; i++) {
      a[1 + i] = addrs[i];
      l[1 + i] = lens[i];
    }
    a[1 + count] = this.statusAddr + slot;
    l[1 + count] = 1;
    const deviceWrites = type === BlkType.IN || type === BlkType.GET_ID;
    this.queue.add(a, l, deviceWrites ? 1 : 1 + count, count + 2, slot);
    this.done[slot] = done;
    this.counters.requests++;
    if (!this.plugged && this.queue.kick()) this.counters.kicks++;
    return true;
  }

  /**
   * The device's interrupt: see {@link VirtioMmioDriver.onInterrupt}.
   * Completed requests' `done` run from here. Never throws.
   */
  onInterrupt(): void {
    this.counters.interrupts++;
    const st = this.plane;
    if (st === null) {
      this.transport.onInterrupt();
      return;
    }
    // what the host's disk plane reaped first, in used-ring order
    const ev = this.planeEvents!;
    const n = st[DiskPlaneWord.EVENTS];
    for (let i = 0; i < n; i++) {
      const e = DISK_EVENT_WORDS * i;
      if (ev[e + DiskEventWord.TOKEN] !== DISK_EVENT_HOST) {
        this.completed(ev[e + DiskEventWord.TOKEN], ev[e + DiskEventWord.LEN]);
        continue;
      }
      const a = this.hostAnswer;
      a.reapedByHost = true;
      a.dm = ev[e + DiskEventWord.DM];
      a.feHead = ev[e + DiskEventWord.FE_HEAD];
      a.written = ev[e + DiskEventWord.WRITTEN];
      a.statusOff = ev[e + DiskEventWord.STATUS_OFF];
      a.generation = ev[e + DiskEventWord.GENERATION];
      a.type = ev[e + DiskEventWord.TYPE];
      a.status = this.checkedStatus(ev[e + DiskEventWord.STATUS]);
      this.deliverHostAnswer(a);
    }
    st[DiskPlaneWord.EVENTS] = 0;
    const isr = st[DiskPlaneWord.ISR];
    st[DiskPlaneWord.ISR] = 0;
    const broken = st[DiskPlaneWord.BROKEN];
    if (broken !== 0) {
      st[DiskPlaneWord.CTRL] = 0;
      const idx = st[DiskPlaneWord.BROKEN_IDX];
      const arg = st[DiskPlaneWord.BROKEN_ARG];
      this.transport.fail(broken === DiskBroken.USED_IDX
        ? `queue 0: used.idx ${idx} is past the ${arg} chains in flight`
        : `queue 0: used entry ${idx} names descriptor ${arg}, not the head of a chain in flight`);
    }
    this.transport.onInterrupt(isr);
  }

  /**
   * Holds the host's disk plane back while requests wait for room in the
   * queue (see {@link PhysicalDisk.setBacklog}).
   */
  setBacklog(waiting: boolean): void {
    if (this.plane) this.plane[DiskPlaneWord.BACKLOG] = waiting ? 1 : 0;
  }

  /** Throws for a request the device must not see (see {@link VirtioBlkDriver.submit}). */
  private check(type: number, sector: number, addrs: Float64Array, lens: Uint32Array, count: number): void {
    const name = this.transport.name;
    if (!Number.isInteger(count) || count < 0 || count > this.maxSegments) throw new RangeError(`${name}: ${count} data buffers (at most ${this.maxSegments})`);
    if (!Number.isSafeInteger(sector) || sector < 0) throw new RangeError(`${name}: sector ${sector}`);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const a = addrs[i];
      if (!(a >= 0 && a <= MAX_ADDRESS && a % 1 === 0)) throw new RangeError(`${name}: data buffer ${i} at address ${a}`);
      const len = lens[i];
      if (len === 0 || len > this.maxSegmentBytes) throw new RangeError(`${name}: data buffer ${i} of ${len} bytes (1..${this.maxSegmentBytes})`);
      bytes += len;
    }
    switch (type) {
      case BlkType.OUT:
      case BlkType.IN:
        if (type === BlkType.OUT && this.readOnly) throw new RangeError(`${name}: OUT request to a read-only device`);
        if (count === 0 || bytes % SECTOR_SIZE !== 0) throw new RangeError(`${name}: ${bytes} bytes of data is not a positive multiple of ${SECTOR_SIZE}`);
        if (sector * SECTOR_SIZE + bytes > this.capacity) throw new RangeError(`${name}: sectors ${sector}+${bytes / SECTOR_SIZE} past the capacity of ${this.capacity / SECTOR_SIZE}`);
        return;
      case BlkType.FLUSH:
        if (!this.flush) throw new RangeError(`${name}: FLUSH without VIRTIO_BLK_F_FLUSH (the device is write-through)`);
        if (count !== 0) throw new RangeError(`${name}: FLUSH with data buffers`);
        return;
      case BlkType.GET_ID:
        if (count !== 1 || bytes !== BLK_ID_BYTES) throw new RangeError(`${name}: GET_ID takes one buffer of ${BLK_ID_BYTES} bytes`);
        return;
      default:
        throw new RangeError(`${name}: request type ${type} is not supported by this driver`);
    }
  }

  /**
   * A configuration change notification (not DEVICE_NEEDS_RESET): a new
   * capacity is logged, not applied (the disks served from this one were
   * checked against the capacity read at open; the device refuses what lies
   * past a smaller one with IOERR).
   */
  private configChanged(): void {
    const bytes = this.transport.readConfig64(BlkConfig.capacity) * SECTOR_SIZE;
    if (bytes !== this.capacity) this.transport.logLine(`capacity changed from ${this.capacity} to ${bytes} bytes: still serving ${this.capacity}`);
  }

  /** A chain the device returned: its status byte to the caller. */
  private completed(slot: number, _len: number): void {
    if (slot < 0) {
      this.hostPlaced(-slot - 1, this.u8[this.planeStatusOff - slot - 1]);
      return;
    }
    this.finish(slot, this.checkedStatus(this.u8[this.statusOff + slot]));
  }

  /** A status byte the device wrote, as the caller sees it: OK, IOERR or UNSUPP (anything else IOERR, logged). */
  private checkedStatus(status: number): number {
    if (status !== BlkStatus.OK && status !== BlkStatus.IOERR && status !== BlkStatus.UNSUPP) {
      this.transport.logLine(`request completed with status byte ${status}${status === STATUS_UNWRITTEN ? ' (never written)' : ''}: answered IOERR`);
      return BlkStatus.IOERR;
    }
    return status;
  }

  /** A chain in flight when the driver gave up on the device. */
  private lost(slot: number): void {
    if (slot < 0) {
      this.hostPlaced(-slot - 1, BlkStatus.IOERR);
      return;
    }
    this.finish(slot, BlkStatus.IOERR);
  }

  /** A request the host's disk plane placed at `head` came back to JS (reaped here, or lost): its answer. */
  private hostPlaced(head: number, status: number): void {
    const r = this.planeReqs;
    if (!r) return;
    const w = DISK_REQ_WORDS * head;
    if (r[w + DiskReqWord.DM] === 0) return;
    const a = this.hostAnswer;
    a.reapedByHost = false;
    a.dm = r[w + DiskReqWord.DM] - 1;
    a.feHead = r[w + DiskReqWord.FE_HEAD];
    a.written = r[w + DiskReqWord.WRITTEN];
    a.statusOff = r[w + DiskReqWord.STATUS_OFF];
    a.generation = r[w + DiskReqWord.GENERATION];
    a.type = r[w + DiskReqWord.TYPE];
    a.status = this.checkedStatus(status);
    r[w + DiskReqWord.DM] = 0;
    this.deliverHostAnswer(a);
  }

  /** Hands a host-placed request's answer to {@link VirtioBlkDriver.onHostAnswer}. */
  private deliverHostAnswer(a: HostPlacedAnswer): void {
    const to = this.onHostAnswer;
    if (!to) return;
    try {
      to(a);
    } catch (e) {
      this.transport.logLine(`a request's completion threw: ${describeError(e)}`);
    }
  }

  private finish(slot: number, status: number): void {
    const done = this.done[slot];
    this.done[slot] = null;
    this.freeSlots[this.numFreeSlots++] = slot;
    this.counters.completions++;
    if (status !== BlkStatus.OK) this.counters.errors++;
    this.call(done, status);
  }

  /** Completes a request submitted after the driver gave up: IOERR, from a timer (never inside submit). */
  private refuse(done: (status: number) => void): void {
    this.counters.requests++;
    this.refused.push(done);
    if (this.refusedTimer) return;
    this.refusedTimer = true;
    this.host.setTimeout(() => {
      this.refusedTimer = false;
      const all = this.refused.splice(0, this.refused.length);
      for (const d of all) {
        this.counters.completions++;
        this.counters.errors++;
        this.call(d, BlkStatus.IOERR);
      }
    }, 0);
  }

  private call(done: ((status: number) => void) | null, status: number): void {
    if (!done) return;
    try {
      done(status);
    } catch (e) {
      this.transport.logLine(`a request's completion threw: ${describeError(e)}`);
    }
  }
}
