// SPDX-License-Identifier: Apache-2.0
/**
 * Frontend disks on a physical disk the backend VM owns.
 *
 * A {@link PhysicalDisk} is what a disk driver offers (the virtio-blk driver
 * of `src/drivers/virtio-blk.ts` on QEMU; an SD/eMMC or NVMe driver on a
 * board): requests in flight at once, completed later, in any order, from
 * its interrupt. A {@link SharedDisk} puts one physical disk behind any
 * number of frontend disks: it splits a request into what the disk takes
 * (segments per request, bytes per segment), queues what does not fit in
 * the disk's queue now and submits it as completions free room, and groups
 * flushes (one flush of the disk answers every caller that asked while it
 * had not started). {@link DiskRangeBacking} is one frontend disk: a range
 * of the physical disk (offset, size, read-only), an
 * {@link AsyncBlockBacking} for a `BlkDevice`.
 *
 * Data moves without a copy: the physical disk reads and writes the
 * frontend's buffers in its shared region by DMA, at their guest-physical
 * addresses. That needs the backend's view of the region to be the
 * physical one (IPA = PA: the remio test monitor maps every VM identically,
 * and the Bao configuration generator places the shared regions and the
 * driver's DMA region at their physical addresses); a system where it is
 * not would need bounce buffers, which baojs does not have.
 */
import type { AsyncBlockBacking } from './backing.ts';
import { BlkStatus, BlkType, SECTOR_SIZE } from './blk-request.ts';

/**
 * A physical disk driven by baojs: the interface a disk driver offers
 * (`VirtioBlkDriver` implements it).
 */
export interface PhysicalDisk {
  /** size in bytes (a multiple of 512) */
  readonly capacity: number;
  /** true if the disk refuses writes (VIRTIO_BLK_F_RO) */
  readonly readOnly: boolean;
  /**
   * true if the disk may keep completed writes in a volatile cache until a
   * flush (virtio-blk: VIRTIO_BLK_F_FLUSH negotiated); false if each write
   * is durable when it completes
   */
  readonly flush: boolean;
  /** most data buffers one request may carry (virtio-blk seg_max) */
  readonly maxSegments: number;
  /** most bytes one data buffer may carry (virtio-blk size_max) */
  readonly maxSegmentBytes: number;
  /**
   * Starts one request. `type` is BlkType.IN, OUT or FLUSH; `sector` in
   * 512-byte units; `addrs`/`lens` the first `count` data buffers
   * (guest-physical addresses the disk reaches by DMA; none for FLUSH).
   * Returns false, and takes nothing, when the disk's queue has no room
   * now; otherwise `done(status)` is called exactly once later (never from
   * inside `submit`) with a virtio-blk status (0 OK, 1 IOERR, 2 UNSUPP).
   */
  submit(type: number, sector: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): boolean;
  /** Optional: requests submitted until {@link PhysicalDisk.unplug} share one notification of the device. */
  plug?(): void;
  /** Optional: notifies the device of what was submitted since {@link PhysicalDisk.plug}. */
  unplug?(): void;
  /**
   * Optional: told true when requests start waiting for room in the disk's
   * queue and false when none waits any more. A driver with a host fast
   * path ({@link Host.diskPlane}) holds it back meanwhile, so that it
   * places nothing ahead of them and hands the completions that free room
   * to JS.
   */
  setBacklog?(waiting: boolean): void;
}

/**
 * The largest pieces {@link SharedDisk} gives a disk that takes
 * `maxSegments` data buffers of `maxSegmentBytes` bytes per request: at
 * most 1,024 buffers, each of whole 512-byte sectors (so that a split never
 * cuts a sector in two). A host's disk plane ({@link Host.diskPlane}) gets
 * the same limits, so that it places exactly the requests SharedDisk would
 * submit unsplit.
 */
export function diskSplitLimits(maxSegments: number, maxSegmentBytes: number): { segments: number; segmentBytes: number } {
  return {
    segments: Math.max(1, Math.min(maxSegments, 1024)),
    segmentBytes: Math.max(SECTOR_SIZE, maxSegmentBytes - (maxSegmentBytes % SECTOR_SIZE)),
  };
}

/** Counters of a {@link SharedDisk}. */
export interface SharedDiskCounters {
  /** requests the physical disk completed (after splitting) */
  completed: number;
  /** of them, completed with a status other than OK */
  failed: number;
  /** requests that waited for room in the disk's queue */
  queued: number;
  /** flushes submitted to the physical disk */
  flushes: number;
  /** flush requests answered by a flush another caller started */
  flushesJoined: number;
}

/** One request to the physical disk, waiting for room or in flight. */
class DiskRequest {
  type = 0;
  sector = 0;
  count = 0;
  addrs: Float64Array;
  lens: Uint32Array;
  /** the caller's completion */
  owner: ((status: number) => void) | null = null;
  /** the caller's I/O this request is part of */
  io: DiskIo | null = null;
  next: DiskRequest | null = null;
  /** passed to the physical disk; bound once */
  readonly done: (status: number) => void;

  constructor(readonly disk: SharedDisk, segments: number) {
    this.addrs = new Float64Array(segments);
    this.lens = new Uint32Array(segments);
    this.done = (status: number) => disk.requestDone(this, status);
  }
}

/** One caller's I/O, split into one or more {@link DiskRequest}s. */
class DiskIo {
  /** parts not completed yet */
  parts = 0;
  /** first status other than OK among the parts */
  status = BlkStatus.OK as number;
  done: ((status: number) => void) | null = null;
  next: DiskIo | null = null;
}

/**
 * One physical disk shared by frontend disks: splitting, queueing and
 * grouped flushes over a {@link PhysicalDisk}.
 */
export class SharedDisk {
  readonly counters: SharedDiskCounters = { completed: 0, failed: 0, queued: 0, flushes: 0, flushesJoined: 0 };
  private freeRequests: DiskRequest | null = null;
  private freeIos: DiskIo | null = null;
  /** requests waiting for room in the disk's queue, FIFO */
  private waitHead: DiskRequest | null = null;
  private waitTail: DiskRequest | null = null;
  /** callers of flush() waiting for the next flush of the disk */
  private flushWaiters: ((status: number) => void)[] = [];
  /** callers the flush in flight answers */
  private flushing: ((status: number) => void)[] = [];
  private flushInFlight = false;
  private readonly flushDone = (status: number) => this.onFlushDone(status);
  private readonly segments: number;
  private readonly segmentBytes: number;
  private readonly listeners: (() => void)[] = [];
  /** inside the disk's interrupt: between {@link SharedDisk.interruptBegins} and {@link SharedDisk.completed} */
  private inInterrupt = false;

  /**
   * @param disk the driver
   * @param name for messages, e.g. 'pdisk0'
   */
  constructor(readonly disk: PhysicalDisk, readonly name: string) {
    const limits = diskSplitLimits(disk.maxSegments, disk.maxSegmentBytes);
    this.segments = limits.segments;
    this.segmentBytes = limits.segmentBytes;
  }

  /** Size of the physical disk, bytes. */
  get capacity(): number {
    return this.disk.capacity;
  }

  /**
   * A frontend disk on bytes [offset, offset + size) of this disk.
   * @throws RangeError (message naming `field`) if the range is not inside
   *   the disk or not in whole 512-byte sectors
   */
  range(offset: number, size: number, readOnly: boolean, id: string, field = 'range'): DiskRangeBacking {
    const cap = this.disk.capacity;
    if (!(Number.isInteger(offset) && Number.isInteger(size) && offset >= 0 && size > 0) || offset % SECTOR_SIZE || size % SECTOR_SIZE) {
      throw new RangeError(`${field}: offset ${offset} and size ${size} must be whole 512-byte sectors`);
    }
    if (offset + size > cap) {
      throw new RangeError(`${field}: bytes ${offset}..${offset + size} are past the end of ${this.name} (${cap} bytes)`);
    }
    return new DiskRangeBacking(this, offset, size, readOnly || this.disk.readOnly, id);
  }

  /** Requests submitted until {@link SharedDisk.unplug} reach the disk with one notification (when its driver can). */
  plug(): void {
    this.disk.plug?.();
  }

  /** See {@link SharedDisk.plug}. */
  unplug(): void {
    this.disk.unplug?.();
  }

  /** Adds a function called after each burst of completions (see {@link SharedDisk.completed}). */
  onCompleted(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reads (BlkType.IN) or writes (BlkType.OUT) `count` buffers at byte
   * `offset` of the disk (the caller checked range and alignment); splits
   * the I/O into requests the disk takes. `done(status)` once, later.
   */
  io(type: number, offset: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): void {
    const io = this.allocIo();
    io.done = done;
    io.status = BlkStatus.OK;
    io.parts = 1; // held until every part is out
    let req = this.allocRequest();
    let sector = offset / SECTOR_SIZE;
    let bytes = 0;
    const maxSeg = this.segmentBytes;
    for (let i = 0; i < count; i++) {
      let addr = addrs[i];
      let left = lens[i];
      while (left > 0) {
        if (req.count === this.segments) {
          this.start(req, io, type, sector);
          sector += bytes / SECTOR_SIZE;
          bytes = 0;
          req = this.allocRequest();
        }
        const n = left < maxSeg ? left : maxSeg;
        req.addrs[req.count] = addr;
        req.lens[req.count] = n;
        req.count++;
        addr += n;
        left -= n;
        bytes += n;
      }
    }
    if (req.count > 0) this.start(req, io, type, sector);
    else this.freeRequest(req);
    this.partDone(io, BlkStatus.OK);
  }

  /**
   * Makes every write the disk completed before this call durable: `done`
   * is called once a flush of the disk that started after this call has
   * completed (one flush answers every caller that asked before it
   * started). A disk without a volatile cache answers OK at once, from
   * inside this call.
   */
  flush(done: (status: number) => void): void {
    this.flushWaiters.push(done);
    if (!this.flushInFlight) this.startFlush();
    else this.counters.flushesJoined++;
  }

  /**
   * The disk's interrupt is being served: completions that follow belong to
   * one burst, ended by {@link SharedDisk.completed}. A completion outside
   * a burst (a driver that gave up on its device answers from a timer) ends
   * its own burst at once.
   */
  interruptBegins(): void {
    this.inInterrupt = true;
  }

  /**
   * Submits what waits for room in the disk's queue, then tells the
   * listeners a burst of completions ended. Whoever runs the disk's
   * interrupt calls this after the driver's `onInterrupt`.
   */
  completed(): void {
    this.inInterrupt = false;
    this.pump();
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i]();
  }

  /** Requests waiting for room in the disk's queue. */
  get waiting(): number {
    let n = 0;
    for (let r = this.waitHead; r; r = r.next) n++;
    return n;
  }

  /** @internal a request's completion from the disk */
  requestDone(req: DiskRequest, status: number): void {
    const io = req.io!;
    const owner = req.owner;
    this.counters.completed++;
    if (status !== BlkStatus.OK) this.counters.failed++;
    this.freeRequest(req);
    if (owner) owner(status);
    else this.partDone(io, status);
    if (!this.inInterrupt) this.completed();
  }

  private start(req: DiskRequest, io: DiskIo, type: number, sector: number): void {
    req.type = type;
    req.sector = sector;
    req.io = io;
    req.owner = null;
    io.parts++;
    this.submitOrWait(req);
  }

  private submitOrWait(req: DiskRequest): void {
    if (this.waitHead === null && this.disk.submit(req.type, req.sector, req.addrs, req.lens, req.count, req.done)) return;
    this.wait(req);
  }

  /** Queues `req` behind the requests waiting for room. */
  private wait(req: DiskRequest): void {
    this.counters.queued++;
    req.next = null;
    if (this.waitTail) this.waitTail.next = req;
    else {
      this.waitHead = req;
      this.disk.setBacklog?.(true);
    }
    this.waitTail = req;
  }

  private pump(): void {
    let req = this.waitHead;
    while (req) {
      if (!this.disk.submit(req.type, req.sector, req.addrs, req.lens, req.count, req.done)) break;
      req = req.next;
    }
    const had = this.waitHead !== null;
    this.waitHead = req;
    if (req === null) {
      this.waitTail = null;
      if (had) this.disk.setBacklog?.(false);
    }
    if (!this.flushInFlight && this.flushWaiters.length > 0) this.startFlush();
  }

  private partDone(io: DiskIo, status: number): void {
    if (status !== BlkStatus.OK && io.status === BlkStatus.OK) io.status = status;
    if (--io.parts > 0) return;
    const done = io.done!;
    const st = io.status;
    io.done = null;
    io.next = this.freeIos;
    this.freeIos = io;
    done(st);
  }

  private startFlush(): void {
    const batch = this.flushing;
    this.flushing = this.flushWaiters;
    this.flushWaiters = batch;
    this.flushInFlight = true;
    if (!this.disk.flush) {
      // no volatile cache: every completed write is durable already
      this.onFlushDone(BlkStatus.OK);
      return;
    }
    this.counters.flushes++;
    const req = this.allocRequest();
    req.type = BlkType.FLUSH;
    req.sector = 0;
    req.count = 0;
    req.io = null;
    req.owner = this.flushDone;
    if (this.waitHead === null && this.disk.submit(BlkType.FLUSH, 0, req.addrs, req.lens, 0, req.done)) return;
    // behind the queued requests: they were accepted before this flush
    this.wait(req);
  }

  private onFlushDone(status: number): void {
    const answered = this.flushing;
    this.flushInFlight = false;
    for (let i = 0; i < answered.length; i++) answered[i](status);
    answered.length = 0;
    if (this.flushWaiters.length > 0) this.startFlush();
  }

  private allocRequest(): DiskRequest {
    const r = this.freeRequests;
    if (r) {
      this.freeRequests = r.next;
      r.next = null;
      r.count = 0;
      return r;
    }
    return new DiskRequest(this, this.segments);
  }

  private freeRequest(r: DiskRequest): void {
    r.io = null;
    r.owner = null;
    r.count = 0;
    r.next = this.freeRequests;
    this.freeRequests = r;
  }

  private allocIo(): DiskIo {
    const io = this.freeIos;
    if (io) {
      this.freeIos = io.next;
      io.next = null;
      return io;
    }
    return new DiskIo();
  }
}

/**
 * A frontend disk on a range of a {@link SharedDisk}: byte `offset` of
 * the range is byte `base + offset` of the physical disk.
 */
export class DiskRangeBacking implements AsyncBlockBacking {
  readonly async = true;
  readonly blockSize = SECTOR_SIZE;

  /**
   * @param disk the physical disk
   * @param base first byte of the range on the disk
   * @param capacity bytes of the range
   * @param readOnly refuse writes
   * @param id GET_ID string (at most 20 bytes of ASCII)
   */
  constructor(readonly disk: SharedDisk, readonly base: number, readonly capacity: number, readonly readOnly: boolean, readonly id: string) {}

  /** See {@link AsyncBlockBacking.volatileCache}. */
  get volatileCache(): boolean {
    return this.disk.disk.flush;
  }

  /** See {@link AsyncBlockBacking.submit}. */
  submit(type: number, offset: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): void {
    this.disk.io(type, this.base + offset, addrs, lens, count, done);
  }

  /** See {@link AsyncBlockBacking.flush}. */
  flush(done: (status: number) => void): void {
    this.disk.flush(done);
  }

  /** See {@link AsyncBlockBacking.plug}. */
  plug(): void {
    this.disk.plug();
  }

  /** See {@link AsyncBlockBacking.unplug}. */
  unplug(): void {
    this.disk.unplug();
  }

  /** See {@link AsyncBlockBacking.onCompleted}. */
  onCompleted(listener: () => void): void {
    this.disk.onCompleted(listener);
  }
}
