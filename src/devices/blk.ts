// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-blk (virtio 1.2 section 5.2): one request queue over a
 * {@link BlockBacking}. Requests are parsed in `blk-request.ts` and
 * executed here.
 *
 * Features offered: SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, and either RO (a
 * read-only backing) or DISCARD + WRITE_ZEROES. GET_ID is always answered.
 *
 * Answers (5.2.6): OK; IOERR for an out-of-capacity range, a data length
 * that is not a multiple of 512, a write to a read-only device, a data
 * buffer outside the shared region, a short header, or a failing backing;
 * data in the wrong direction for the request type (write-only data for
 * an OUT, read-only data for an IN);
 * UNSUPP for unknown request types, DISCARD/WRITE_ZEROES not negotiated, and
 * unknown segment flags (or the unmap flag on DISCARD). A chain with no
 * device-writable status byte cannot be answered: the device enters
 * DEVICE_NEEDS_RESET (as QEMU does for "missing headers").
 *
 * Over an {@link AsyncBlockBacking} (a range of a physical disk) requests
 * run concurrently: each read or write is handed to the backing and
 * answered when the disk completes it, in the disk's completion order
 * (2.7.4 allows any), with one used buffer notification per burst of
 * completions. CONFIG_WCE is offered as well and DISCARD/WRITE_ZEROES are
 * not. Durability (5.2.6.2, 5.2.5): the cache mode is `writeback` when the
 * driver negotiated VIRTIO_BLK_F_CONFIG_WCE (initialised at FEATURES_OK to
 * 1 if it negotiated FLUSH, else 0; the driver may change it at any time),
 * otherwise writeback exactly when FLUSH was negotiated (Linux reads it the
 * same way). In writeback mode a write completes when the disk has it (in
 * its volatile cache, if it has one) and a FLUSH completes when the disk
 * has acknowledged a flush started after every write completed before the
 * FLUSH arrived; in writethrough mode a write completes only after such a
 * flush too (grouped: one disk flush answers every write waiting for one).
 *
 * FLUSH (VIRTIO_BLK_T_FLUSH, 5.2.6) over a RAM backing is answered with what the backing's
 * `flush()` returns. Over a RAM backing (`RamBacking`) `flush()` does
 * nothing and returns true: each write is in the RAM region when its
 * request completes, and the queue is served in order, one request at a
 * time (the C data plane hands the queue back at a FLUSH, before touching
 * it), so an OK FLUSH says only that every request before it in the queue
 * has completed. It makes nothing durable: a RAM disk keeps nothing at
 * power-off.
 */
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import { GuestMemoryError } from '../virtio/memory.ts';
import type { DescriptorChain } from '../virtio/queue.ts';
import { readFromChain, writeToChain } from '../virtio/sg.ts';
import { DeviceId, hasFeature, setFeature, type FeatureWords } from '../virtio/spec.ts';
import { isAsyncBacking, type AsyncBlockBacking, type BlockBacking } from './backing.ts';
import {
  BLK_ID_BYTES, BLK_SEGMENT_SIZE, BlkParse, BlkRequest, BlkStatus, BlkType, parseBlkRequest, SECTOR_SIZE,
} from './blk-request.ts';

/** virtio-blk feature bits (5.2.3). */
export const enum BlkFeature {
  SIZE_MAX = 1,
  SEG_MAX = 2,
  GEOMETRY = 4,
  RO = 5,
  BLK_SIZE = 6,
  FLUSH = 9,
  TOPOLOGY = 10,
  CONFIG_WCE = 11,
  MQ = 12,
  DISCARD = 13,
  WRITE_ZEROES = 14,
}

/** Byte offsets in `struct virtio_blk_config` (5.2.4). */
export const enum BlkConfig {
  capacity = 0,
  size_max = 8,
  seg_max = 12,
  blk_size = 20,
  /** u8: 1 writeback, 0 writethrough cache (VIRTIO_BLK_F_CONFIG_WCE) */
  writeback = 32,
  num_queues = 34,
  max_discard_sectors = 36,
  max_discard_seg = 40,
  discard_sector_alignment = 44,
  max_write_zeroes_sectors = 48,
  max_write_zeroes_seg = 52,
  write_zeroes_may_unmap = 56,
  /** config bytes the device exposes (through write_zeroes_may_unmap and its padding) */
  SIZE = 60,
}

/** WRITE_ZEROES segment flag: the device may unmap (5.2.6). */
const BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

/** Options of {@link BlkDevice}. */
export interface BlkOptions {
  /** QueueNumMax (default 256) */
  queueNumMax?: number;
  /** size_max: largest single buffer, bytes (default 1 MiB) */
  sizeMax?: number;
  /** max_discard_seg and max_write_zeroes_seg (default 16) */
  maxDiscardSegments?: number;
}

/** Counters of a virtio-blk device. */
export interface BlkCounters extends DeviceCounters {
  reads: number;
  writes: number;
  flushes: number;
  getIds: number;
  discards: number;
  writeZeroes: number;
  unsupported: number;
  bytesRead: number;
  bytesWritten: number;
  /** requests started on an asynchronous backing and not answered yet */
  inFlight: number;
  /** flushes of the disk a write waited for in writethrough mode */
  writeThroughFlushes: number;
}

/** A handler's status for a request the disk completes later ({@link BlkIo}). */
const PENDING = -2;

/** A request started on an {@link AsyncBlockBacking}, until its answer. */
class BlkIo {
  head = 0;
  statusAddr = 0;
  /** bytes written into the chain when it succeeds (data + status) */
  written = 0;
  type = 0;
  /** the device's generation when started: an answer after a reset is dropped */
  generation = 0;
  /** writethrough: the write is done and its flush was started */
  flushing = false;
  addrs: Float64Array;
  lens: Uint32Array;
  next: BlkIo | null = null;
  /** bound once: the backing's completion */
  readonly done: (status: number) => void;

  constructor(device: BlkDevice, segments: number) {
    this.addrs = new Float64Array(segments);
    this.lens = new Uint32Array(segments);
    this.done = (status: number) => device.ioDone(this, status);
  }
}

/** A virtio-blk device (device ID 2). */
export class BlkDevice implements VirtioDevice {
  readonly deviceId = DeviceId.BLOCK;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 1;
  readonly config = new Uint8Array(BlkConfig.SIZE);
  readonly counters: BlkCounters = {
    chains: 0, errors: 0, reads: 0, writes: 0, flushes: 0, getIds: 0, discards: 0, writeZeroes: 0, unsupported: 0,
    bytesRead: 0, bytesWritten: 0, inFlight: 0, writeThroughFlushes: 0,
  };

  private ctx: DeviceContext | null = null;
  private readonly req = new BlkRequest();
  private readonly numMax: number;
  private readonly maxSegments: number;
  private readonly maxSectors: number;
  private readonly idBytes = new Uint8Array(BLK_ID_BYTES);
  private readonly seg = new Uint8Array(BLK_SEGMENT_SIZE);
  private readonly segView = new DataView(this.seg.buffer);
  /** the backing when it is asynchronous, else null */
  private readonly disk: AsyncBlockBacking | null;
  private freeIos: BlkIo | null = null;
  private generation = 0;
  /** a completion was pushed since the last used buffer notification */
  private completedSinceSignal = false;

  /**
   * @param name for logs, e.g. 'vda'
   * @param backing the store
   * @throws RangeError if the backing's capacity is not a positive multiple of 512
   */
  constructor(readonly name: string, readonly backing: BlockBacking | AsyncBlockBacking, options: BlkOptions = {}) {
    if (!(backing.capacity > 0) || backing.capacity % SECTOR_SIZE) throw new RangeError(`${name}: capacity ${backing.capacity} is not a positive multiple of 512`);
    this.numMax = options.queueNumMax ?? 256;
    this.maxSegments = options.maxDiscardSegments ?? 16;
    const sectors = backing.capacity / SECTOR_SIZE;
    this.maxSectors = Math.min(sectors, 0xffffffff);
    const f = this.deviceFeatures;
    for (const bit of [BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.FLUSH]) setFeature(f, bit);
    this.disk = isAsyncBacking(backing) ? backing : null;
    if (this.disk) {
      setFeature(f, BlkFeature.CONFIG_WCE);
      this.disk.onCompleted(() => this.signalCompletions());
    }
    if (backing.readOnly) setFeature(f, BlkFeature.RO);
    else if (!this.disk) {
      setFeature(f, BlkFeature.DISCARD);
      setFeature(f, BlkFeature.WRITE_ZEROES);
    }
    const dv = new DataView(this.config.buffer);
    dv.setUint32(BlkConfig.capacity, sectors % 4294967296, true);
    dv.setUint32(BlkConfig.capacity + 4, Math.floor(sectors / 4294967296), true);
    dv.setUint32(BlkConfig.size_max, options.sizeMax ?? 0x100000, true);
    // With indirect tables bounded by QueueNumMax: header + data + status fit.
    dv.setUint32(BlkConfig.seg_max, Math.max(1, this.numMax - 2), true);
    dv.setUint32(BlkConfig.blk_size, backing.blockSize, true);
    dv.setUint16(BlkConfig.num_queues, 1, true);
    if (!backing.readOnly && !this.disk) {
      dv.setUint32(BlkConfig.max_discard_sectors, this.maxSectors, true);
      dv.setUint32(BlkConfig.max_discard_seg, this.maxSegments, true);
      dv.setUint32(BlkConfig.discard_sector_alignment, backing.blockSize / SECTOR_SIZE, true);
      dv.setUint32(BlkConfig.max_write_zeroes_sectors, this.maxSectors, true);
      dv.setUint32(BlkConfig.max_write_zeroes_seg, this.maxSegments, true);
      this.config[BlkConfig.write_zeroes_may_unmap] = 0;
    }
    const id = backing.id;
    for (let i = 0; i < id.length && i < BLK_ID_BYTES; i++) this.idBytes[i] = id.charCodeAt(i) & 0x7f;
  }

  /** QueueNumMax of the request queue. */
  queueNumMax(): number {
    return this.numMax;
  }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
  }

  /**
   * See {@link VirtioDevice.reset}. Requests in flight on an asynchronous
   * backing are forgotten: their answers are dropped when they come (the
   * disk may still move their data; the driver that reset the device does
   * not expect it any more).
   */
  reset(): void {
    this.ctx = null;
    this.generation++;
    this.counters.inFlight = 0;
  }

  /**
   * See {@link VirtioDevice.queueReset}: requests in flight on an
   * asynchronous backing are forgotten as at a device reset (the request
   * queue is the only queue).
   */
  queueReset(index: number): void {
    if (index !== 0) return;
    this.generation++;
    this.counters.inFlight = 0;
  }

  /**
   * See {@link VirtioDevice.acceptFeatures}: sets the cache mode a
   * CONFIG_WCE driver starts with (writeback with FLUSH, 5.2.5.2).
   */
  acceptFeatures(features: FeatureWords): string | null {
    this.config[BlkConfig.writeback] = hasFeature(features, BlkFeature.FLUSH) ? 1 : 0;
    return null;
  }

  /** The driver may write the cache mode (`writeback`, one byte) when CONFIG_WCE is offered. */
  configWritable(offset: number, width: number): boolean {
    return this.disk !== null && offset === BlkConfig.writeback && width === 1;
  }

  /** The driver wrote the cache mode: any value but 0 is writeback. */
  configWritten(offset: number): void {
    if (offset === BlkConfig.writeback && this.config[offset] > 1) this.config[offset] = 1;
  }

  /**
   * Whether writes must be durable before they complete: writethrough
   * (`writeback` 0 with CONFIG_WCE negotiated, or FLUSH not negotiated).
   */
  writeThrough(): boolean {
    const features = this.ctx?.features;
    if (!features) return false;
    if (hasFeature(features, BlkFeature.CONFIG_WCE)) return this.config[BlkConfig.writeback] === 0;
    return !hasFeature(features, BlkFeature.FLUSH);
  }

  /**
   * Processes every available request of the request queue: each chain
   * is parsed (`blk-request.ts`), run by its type's handler, and completed
   * with its status byte, unless the disk completes it later.
   * @throws QueueError for a malformed chain
   */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (ctx === null || index !== 0) return;
    const q = ctx.queues[0];
    const chain = ctx.chain;
    const req = this.req;
    const mem = ctx.mem;
    const disk = this.disk;
    // every request of this kick reaches the disk with one notification
    if (disk) disk.plug();
    try {
      while (q.pop(chain)) {
        // the ring was empty after this chain: the driver notifies for the next one, no need to look again
        const last = q.drained;
        this.counters.chains++;
        const parsed = parseBlkRequest(mem, chain, req);
        if (parsed === BlkParse.NO_STATUS) {
          this.counters.errors++;
          ctx.fail(`request at head ${chain.head}: ${req.error}`);
          return;
        }
        let status: number;
        let data = 0;
        if (parsed === BlkParse.BAD_HEADER) {
          ctx.log(`request at head ${chain.head}: ${req.error}`);
          status = BlkStatus.IOERR;
        } else if (!(req.type === BlkType.IN && req.readableData === 0) && !this.framingOk(ctx, chain)) {
          // (a well-framed read, the usual request, skips the call)
          status = BlkStatus.IOERR;
        } else {
          switch (req.type) {
            case BlkType.IN: status = this.doIn(ctx, chain); if (status === BlkStatus.OK) data = req.writableData; break;
            case BlkType.OUT: status = this.doOut(ctx, chain); break;
            case BlkType.FLUSH:
              this.counters.flushes++;
              if (disk) {
                disk.flush(this.start(chain, BlkType.FLUSH, 1).done);
                status = PENDING;
              } else {
                status = (this.backing as BlockBacking).flush() ? BlkStatus.OK : BlkStatus.IOERR;
              }
              break;
            case BlkType.GET_ID: status = this.doGetId(ctx, chain); if (status === BlkStatus.OK) data = Math.min(req.writableData, BLK_ID_BYTES); break;
            case BlkType.DISCARD:
            case BlkType.WRITE_ZEROES:
              status = this.doDiscardOrZeroes(ctx, chain, req.type === BlkType.DISCARD);
              break;
            default:
              this.counters.unsupported++;
              status = BlkStatus.UNSUPP;
          }
        }
        // PENDING: the disk completes the chain (BlkIo.done)
        if (status !== PENDING) {
          if (status !== BlkStatus.OK) this.counters.errors++;
          // an int index: a float one (addresses are doubles) costs QuickJS a property-key conversion
          mem.u8[(req.statusAddr - mem.base) | 0] = status;
          q.push(chain.head, data + 1);
        }
        if (last) break;
      }
    } finally {
      if (disk) disk.unplug();
      if (this.ctx !== null) ctx.signalUsed(q);
    }
  }

  /**
   * Data in the direction a request type does not use (device-writable
   * bytes before the status of an OUT, device-readable bytes after the
   * header of an IN or GET_ID…) means the driver got the buffer flags
   * wrong: answered IOERR rather than silently moving no data.
   */
  private framingOk(ctx: DeviceContext, chain: DescriptorChain): boolean {
    const req = this.req;
    let wrong = 0;
    switch (req.type) {
      case BlkType.IN:
      case BlkType.GET_ID:
        wrong = req.readableData;
        break;
      case BlkType.OUT:
      case BlkType.DISCARD:
      case BlkType.WRITE_ZEROES:
        wrong = req.writableData;
        break;
      default:
        return true;
    }
    if (wrong === 0) return true;
    ctx.log(`request type ${req.type} at head ${chain.head}: ${wrong} bytes of data in the wrong direction`);
    return false;
  }

  /** Checks that `len` bytes from `sector` lie inside the capacity and are whole sectors. */
  private rangeOk(ctx: DeviceContext, sector: number, len: number, what: string): boolean {
    if (len % SECTOR_SIZE !== 0) {
      ctx.log(`${what}: length ${len} is not a multiple of ${SECTOR_SIZE}`);
      return false;
    }
    const cap = this.backing.capacity;
    const off = sector * SECTOR_SIZE;
    if (!(off <= cap) || len > cap - off) {
      ctx.log(`${what}: sectors ${sector}+${len / SECTOR_SIZE} beyond capacity ${cap / SECTOR_SIZE}`);
      return false;
    }
    return true;
  }

  /** VIRTIO_BLK_T_IN: backing → the writable data buffers, zero copy. */
  private doIn(ctx: DeviceContext, chain: DescriptorChain): number {
    const req = this.req;
    this.counters.reads++;
    const total = req.writableData;
    const mem = ctx.mem;
    const backing = this.backing;
    const lens = chain.len;
    const addrs = chain.addr;
    const first = chain.firstWritable;
    const count = chain.count;
    // rangeOk and buffersInRegion inlined; on a failure they run to log why
    const cap = backing.capacity;
    const off = req.sector * SECTOR_SIZE;
    if (total % SECTOR_SIZE !== 0 || !(off <= cap) || total > cap - off) {
      this.rangeOk(ctx, req.sector, total, 'read');
      return BlkStatus.IOERR;
    }
    const base = mem.base;
    const size = mem.size;
    // Every buffer checked (mem.check(addrs[i], n) < 0, inlined: n is a u32) before the disk is
    // asked; a RAM backing fills each as soon as it is checked (a bad buffer after good ones:
    // IOERR, the bytes already read are the driver's to ignore).
    const ram = this.disk ? null : (backing as BlockBacking);
    const u8 = mem.u8;
    let at = off;
    let left = total;
    for (let i = first; i < count && left > 0; i++) {
      const len = lens[i];
      const n = len < left ? len : left;
      const o = addrs[i] - base;
      if ((o >>> 0) !== o || n > size - o) {
        this.buffersInRegion(ctx, chain, first, count, total);
        return BlkStatus.IOERR;
      }
      if (ram !== null && n !== 0) {
        if (!ram.read(at, u8, o, n)) return BlkStatus.IOERR;
        at += n;
      }
      left -= n;
    }
    this.counters.bytesRead += total;
    return this.disk ? this.submitIn(this.disk, chain, off, total) : BlkStatus.OK;
  }

  /** A checked read of `total` bytes at byte `off` to the disk: PENDING, BlkIo.done completes the chain. */
  private submitIn(disk: AsyncBlockBacking, chain: DescriptorChain, off: number, total: number): number {
    const io = this.start(chain, BlkType.IN, total + 1);
    let k = 0;
    let left = total;
    for (let i = chain.firstWritable; i < chain.count && left > 0; i++) {
      const len = chain.len[i];
      const n = len < left ? len : left;
      if (n === 0) continue;
      io.addrs[k] = chain.addr[i];
      io.lens[k++] = n;
      left -= n;
    }
    disk.submit(BlkType.IN, off, io.addrs, io.lens, k, io.done);
    return PENDING;
  }

  /** VIRTIO_BLK_T_OUT: the readable data buffers → backing, zero copy. */
  private doOut(ctx: DeviceContext, chain: DescriptorChain): number {
    const req = this.req;
    this.counters.writes++;
    if (this.backing.readOnly) {
      ctx.log(`write to read-only device (sector ${req.sector})`);
      return BlkStatus.IOERR;
    }
    const total = req.readableData;
    if (!this.rangeOk(ctx, req.sector, total, 'write')) return BlkStatus.IOERR;
    if (!this.buffersInRegion(ctx, chain, 0, chain.firstWritable, chain.readableBytes)) return BlkStatus.IOERR;
    const mem = ctx.mem;
    let off = req.sector * SECTOR_SIZE;
    let skip = 16;
    const io = this.disk ? this.start(chain, BlkType.OUT, 1) : null;
    let k = 0;
    for (let i = 0; i < chain.firstWritable; i++) {
      let len = chain.len[i];
      let addr = chain.addr[i];
      if (skip > 0) {
        const s = Math.min(skip, len);
        skip -= s;
        len -= s;
        addr += s;
      }
      if (len === 0) continue;
      if (io) {
        io.addrs[k] = addr;
        io.lens[k++] = len;
        continue;
      }
      // checked by buffersInRegion above
      if (!(this.backing as BlockBacking).write(off, mem.u8, (addr - mem.base) >>> 0, len)) return BlkStatus.IOERR;
      off += len;
    }
    this.counters.bytesWritten += total;
    if (io) {
      this.disk!.submit(BlkType.OUT, req.sector * SECTOR_SIZE, io.addrs, io.lens, k, io.done);
      return PENDING;
    }
    return BlkStatus.OK;
  }

  /** VIRTIO_BLK_T_GET_ID: up to 20 bytes of the id string, NUL-padded. */
  private doGetId(ctx: DeviceContext, chain: DescriptorChain): number {
    this.counters.getIds++;
    const n = Math.min(this.req.writableData, BLK_ID_BYTES);
    try {
      writeToChain(ctx.mem, chain, 0, this.idBytes.subarray(0, n));
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      ctx.log(`GET_ID: ${e.message}`);
      return BlkStatus.IOERR;
    }
    return BlkStatus.OK;
  }

  /** VIRTIO_BLK_T_DISCARD / WRITE_ZEROES: all segments validated first, then executed. */
  private doDiscardOrZeroes(ctx: DeviceContext, chain: DescriptorChain, discard: boolean): number {
    const what = discard ? 'discard' : 'write zeroes';
    if (discard) this.counters.discards++;
    else this.counters.writeZeroes++;
    if (!hasFeature(ctx.features, discard ? BlkFeature.DISCARD : BlkFeature.WRITE_ZEROES)) {
      this.counters.unsupported++;
      return BlkStatus.UNSUPP;
    }
    if (this.backing.readOnly) return BlkStatus.IOERR;
    const bytes = this.req.readableData;
    if (bytes === 0 || bytes % BLK_SEGMENT_SIZE) {
      ctx.log(`${what}: ${bytes} bytes of segments, not a non-zero multiple of ${BLK_SEGMENT_SIZE}`);
      return BlkStatus.IOERR;
    }
    const count = bytes / BLK_SEGMENT_SIZE;
    if (count > this.maxSegments) {
      ctx.log(`${what}: ${count} segments, at most ${this.maxSegments}`);
      return BlkStatus.IOERR;
    }
    const allowed = discard ? 0 : BLK_WRITE_ZEROES_FLAG_UNMAP;
    for (let pass = 0; pass < 2; pass++) {
      for (let s = 0; s < count; s++) {
        try {
          readFromChain(ctx.mem, chain, 16 + s * BLK_SEGMENT_SIZE, this.seg);
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          ctx.log(`${what}: ${e.message}`);
          return BlkStatus.IOERR;
        }
        const sv = this.segView;
        const sector = sv.getUint32(0, true) + sv.getUint32(4, true) * 4294967296;
        const num = sv.getUint32(8, true);
        const flags = sv.getUint32(12, true);
        if (pass === 0) {
          if (flags & ~allowed) {
            this.counters.unsupported++;
            return BlkStatus.UNSUPP;
          }
          if (num > this.maxSectors || !this.rangeOk(ctx, sector, num * SECTOR_SIZE, what)) return BlkStatus.IOERR;
        } else {
          const b = this.backing as BlockBacking; // (not offered over an asynchronous backing)
          const ok = discard
            ? b.discard(sector * SECTOR_SIZE, num * SECTOR_SIZE)
            : b.writeZeroes(sector * SECTOR_SIZE, num * SECTOR_SIZE);
          if (!ok) return BlkStatus.IOERR;
        }
      }
    }
    return BlkStatus.OK;
  }

  /**
   * Takes a {@link BlkIo} for the request in `chain` (its buffers room for
   * every buffer of the chain), answered with `written` bytes on success.
   */
  private start(chain: DescriptorChain, type: number, written: number): BlkIo {
    let io = this.freeIos;
    if (io && io.addrs.length >= chain.count) this.freeIos = io.next;
    else io = new BlkIo(this, Math.max(chain.count, 16));
    io.next = null;
    io.head = chain.head;
    io.statusAddr = this.req.statusAddr;
    io.written = written;
    io.type = type;
    io.generation = this.generation;
    io.flushing = type === BlkType.FLUSH;
    this.counters.inFlight++;
    return io;
  }

  /**
   * @internal The backing answered `io`: in writethrough mode a write
   * first waits for a flush; then the status byte, the used ring, and a
   * used buffer notification at the end of the burst.
   */
  ioDone(io: BlkIo, status: number): void {
    const ctx = this.ctx;
    if (io.generation !== this.generation || !ctx) {
      this.freeIo(io);
      return;
    }
    if (status === BlkStatus.OK && io.type === BlkType.OUT && !io.flushing && this.disk!.volatileCache && this.writeThrough()) {
      io.flushing = true;
      this.counters.writeThroughFlushes++;
      this.disk!.flush(io.done);
      return;
    }
    if (status !== BlkStatus.OK) {
      this.counters.errors++;
      ctx.log(`${io.type === BlkType.IN ? 'read' : io.type === BlkType.OUT ? 'write' : 'flush'} at head ${io.head}: the disk answered ${status === BlkStatus.UNSUPP ? 'UNSUPP' : 'IOERR'}`);
      status = BlkStatus.IOERR;
    }
    const mem = ctx.mem;
    mem.u8[(io.statusAddr - mem.base) | 0] = status;
    this.counters.inFlight--;
    // (a host data plane may hold the queue between requests: take it back; signalUsed hands it over again)
    if (ctx.takeQueues) ctx.takeQueues();
    ctx.queues[0].push(io.head, status === BlkStatus.OK ? io.written : 1);
    this.completedSinceSignal = true;
    this.freeIo(io);
  }

  /**
   * The answer of a request that a host's disk plane placed on the
   * physical disk for this device ({@link Host.diskPlane}) and handed to
   * JS (a status other than OK, the queue JS's when it came, or the disk
   * given up): answered as a request of the asynchronous path is —
   * writethrough flush, IOERR logged, status byte, used ring, one used
   * buffer notification at the end of the burst. The caller checked that
   * the device was not reset since the request was placed.
   * @param head the frontend chain's head
   * @param statusOff byte offset of its status byte in the shared region
   * @param written bytes written into the chain on success
   * @param type BlkType.IN or OUT
   * @param status the disk's answer (0 OK, 1 IOERR, 2 UNSUPP)
   */
  hostPlacedDone(head: number, statusOff: number, written: number, type: number, status: number): void {
    const ctx = this.ctx;
    if (!ctx || statusOff >= ctx.mem.size) return;
    let io = this.freeIos;
    if (io) this.freeIos = io.next;
    else io = new BlkIo(this, 16);
    io.next = null;
    io.head = head;
    io.statusAddr = ctx.mem.base + statusOff;
    io.written = written;
    io.type = type;
    io.generation = this.generation;
    io.flushing = false;
    this.counters.inFlight++;
    this.ioDone(io, status);
  }

  /** After a burst of completions: one used buffer notification for them. */
  private signalCompletions(): void {
    if (!this.completedSinceSignal) return;
    this.completedSinceSignal = false;
    const ctx = this.ctx;
    if (ctx) ctx.signalUsed(ctx.queues[0]);
  }

  private freeIo(io: BlkIo): void {
    io.next = this.freeIos;
    this.freeIos = io;
  }

  /** Whether the first `total` bytes of buffers [from, to) lie inside the region (logs the first that does not). */
  private buffersInRegion(ctx: DeviceContext, chain: DescriptorChain, from: number, to: number, total: number): boolean {
    let left = total;
    for (let i = from; i < to && left > 0; i++) {
      const len = chain.len[i];
      const n = len < left ? len : left;
      if (ctx.mem.check(chain.addr[i], n) < 0) {
        ctx.log(`buffer 0x${chain.addr[i].toString(16)}+${n} outside the shared region`);
        return false;
      }
      left -= n;
    }
    return true;
  }
}
