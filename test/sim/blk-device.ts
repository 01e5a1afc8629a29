// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated virtio-blk device on virtio-mmio version 2, passed through to
 * the backend: the device a baojs *driver* (src/drivers/) drives in the
 * tests. It sits behind the simulated host's `mmioRead`/`mmioWrite`
 * ({@link SimBao.attachMmio}) and raises a level interrupt
 * ({@link SimBao.setIrqLevel}) while InterruptStatus is non-zero.
 *
 * The rings are walked by the project's own device-side `SplitQueue`
 * (src/virtio/queue.ts) over the driver's DMA region, so every chain the
 * driver builds is checked as strictly as a frontend's; a chain it refuses
 * is recorded in {@link SimBlkDevice.violations} and sets
 * DEVICE_NEEDS_RESET. Data buffers are reached through
 * {@link SimBao.memoryAt} (any region, as DMA would).
 *
 * What a real disk does and the tests need: requests are taken on
 * QueueNotify and completed later ({@link SimBlkDevice.complete}), in order
 * or in a seeded random order, each executed when it completes; chosen
 * sectors fail with IOERR; the device can set DEVICE_NEEDS_RESET, put an
 * impossible id into the used ring, refuse FEATURES_OK, report Version 1,
 * keep Status non-zero for a while after a reset, or change
 * ConfigGeneration under a config read.
 */
import { BlkConfig, BlkFeature } from '../../src/devices/blk.ts';
import { BLK_HEADER_SIZE, BLK_ID_BYTES, BlkStatus, BlkType, SECTOR_SIZE } from '../../src/devices/blk-request.ts';
import { DescriptorChain, SplitQueue } from '../../src/virtio/queue.ts';
import { DeviceId, Feature, hasFeature, InterruptBit } from '../../src/virtio/spec.ts';
import type { SimBao } from './bao.ts';
import { SimMmioDevice } from './mmio-device.ts';
import { Prng } from './prng.ts';

/** Options of {@link SimBlkDevice}. */
export interface SimBlkOptions {
  /** guest-physical base of the window in the backend */
  base: number;
  intid: number;
  /** the backend region holding the driver's rings */
  dma: string;
  /** bytes of the disk (a multiple of 512) */
  capacity: number;
  /** Version register (default 2) */
  version?: number;
  /** DeviceID (default 2, block) */
  deviceId?: number;
  /** feature bits offered (default VERSION_1, SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, CONFIG_WCE, RING_EVENT_IDX, INDIRECT_DESC) */
  features?: readonly number[];
  /** offer VIRTIO_BLK_F_RO and fail writes */
  readOnly?: boolean;
  /** never accept FEATURES_OK */
  refuseFeaturesOk?: boolean;
  queueNumMax?: number;
  segMax?: number;
  sizeMax?: number;
  blkSize?: number;
  /** complete every request at its QueueNotify (default false: wait for {@link SimBlkDevice.complete}) */
  autoComplete?: boolean;
  /** complete in a random order drawn from this seed (default: in order) */
  randomOrderSeed?: number;
  /** Status reads that still return the old value after a reset (default 0) */
  resetLatency?: number;
}

/** A request taken from the avail ring and not yet completed. */
interface Pending {
  head: number;
  type: number;
  sector: number;
  /** data buffers (after the header, before the status byte) */
  data: { addr: number; len: number; writable: boolean }[];
  statusAddr: number;
}

/** One executed request, in completion order. */
export interface SimBlkOp {
  type: number;
  sector: number;
  bytes: number;
  status: number;
  /** writes since the last FLUSH when this request completed (the device's dirty count) */
  dirty: number;
}

const DEFAULT_FEATURES: readonly number[] = [
  Feature.VERSION_1, BlkFeature.SIZE_MAX, BlkFeature.SEG_MAX, BlkFeature.BLK_SIZE, BlkFeature.FLUSH, BlkFeature.CONFIG_WCE,
  Feature.RING_EVENT_IDX, Feature.INDIRECT_DESC,
];

/** See the file comment. */
export class SimBlkDevice extends SimMmioDevice {
  /** the disk's bytes, made on first use (a backend of the shipped platform opens a 96 MiB disk it may never read) */
  get disk(): Uint8Array {
    return (this.bytes ??= new Uint8Array(this.opts.capacity));
  }
  private bytes: Uint8Array | null = null;
  /** sectors whose requests fail with IOERR */
  readonly ioerrSectors = new Set<number>();
  /** requests executed, in completion order */
  readonly ops: SimBlkOp[] = [];
  /** QueueNotify writes */
  notifies = 0;
  /** Status reads */
  statusReads = 0;
  /** the config `writeback` byte */
  writeback = 0;

  private readonly queue: SplitQueue;
  private readonly chain = new DescriptorChain(16);
  private readonly pending: Pending[] = [];
  private readonly prng: Prng | null;
  private readonly config = new Uint8Array(64);
  private readonly cdv = new DataView(this.config.buffer);
  /** config reads that bump ConfigGeneration first ({@link SimBlkDevice.tearConfigReads}) */
  private tears = 0;
  private staleStatusReads = 0;
  private staleStatus = 0;
  private dirty = 0;

  constructor(sim: SimBao, readonly opts: SimBlkOptions) {
    const queue = new SplitQueue(0, opts.queueNumMax ?? 128);
    super(sim, opts, [queue], [...(opts.features ?? DEFAULT_FEATURES), ...(opts.readOnly ? [BlkFeature.RO] : [])]);
    this.queue = queue;
    this.prng = opts.randomOrderSeed === undefined ? null : new Prng(opts.randomOrderSeed);
    const dv = this.cdv;
    const sectors = opts.capacity / SECTOR_SIZE;
    dv.setUint32(BlkConfig.capacity, sectors % 4294967296, true);
    dv.setUint32(BlkConfig.capacity + 4, Math.floor(sectors / 4294967296), true);
    dv.setUint32(BlkConfig.size_max, opts.sizeMax ?? 65536, true);
    dv.setUint32(BlkConfig.seg_max, opts.segMax ?? 32, true);
    dv.setUint32(BlkConfig.blk_size, opts.blkSize ?? 512, true);
  }

  /** Requests taken from the avail ring and not completed. */
  get pendingCount(): number {
    return this.pending.length;
  }

  // ---- the register file's device-specific part ----------------------------------

  protected get deviceId(): number {
    return this.opts.deviceId ?? DeviceId.BLOCK;
  }

  protected get version(): number {
    return this.opts.version ?? 2;
  }

  protected refusesFeatures(): boolean {
    return this.opts.refuseFeaturesOk ?? false;
  }

  protected readConfig(o: number, width: number): number {
    if (this.tears > 0) {
      this.tears--;
      this.generation++;
    }
    if (o + width > this.config.length) return 0;
    if (o === BlkConfig.writeback) return this.writeback;
    return width === 1 ? this.config[o] : width === 2 ? this.cdv.getUint16(o, true) : this.cdv.getUint32(o, true);
  }

  protected writeConfig(o: number, width: number, value: number): void {
    if (o === BlkConfig.writeback && width === 1) this.writeback = value & 0xff;
    else super.writeConfig(o, width, value);
  }

  protected notify(queue: number): void {
    this.notifies++;
    if (queue === 0) this.takeRequests();
    else this.violations.push(`QueueNotify of queue ${queue}`);
  }

  protected readStatus(): number {
    this.statusReads++;
    if (this.staleStatusReads > 0) {
      this.staleStatusReads--;
      return this.staleStatus;
    }
    return this.status;
  }

  protected writeStatus(value: number): void {
    this.staleStatusReads = 0;
    if (value === 0) {
      this.staleStatusReads = this.opts.resetLatency ?? 0;
      this.staleStatus = this.status;
    }
    super.writeStatus(value);
  }

  protected reset(): void {
    super.reset();
    this.pending.length = 0;
    this.writeback = 0;
  }

  // ---- what the tests make the device do ------------------------------------------

  /**
   * Completes up to `max` pending requests (in order, or in the seeded
   * random order), executing each now, and raises the interrupt if the
   * driver wants one. Returns how many completed.
   */
  complete(max = Infinity): number {
    let n = 0;
    while (n < max && this.pending.length > 0) {
      const i = this.prng ? this.prng.below(this.pending.length) : 0;
      const r = this.pending.splice(i, 1)[0];
      const [status, written] = this.execute(r);
      this.memory(r.statusAddr, 1)[0] = status;
      this.queue.push(r.head, written + 1);
      n++;
    }
    if (n > 0 && this.queue.needsNotification()) this.interrupt(InterruptBit.VRING);
    return n;
  }

  /** Writes a used entry naming descriptor `id` (whatever the driver gave) and interrupts. */
  injectUsed(id: number, len = 1): void {
    this.queue.push(id, len);
    this.interrupt(InterruptBit.VRING);
  }

  /** Changes the capacity (a resized disk): ConfigGeneration changes and a configuration change notification is sent. */
  resize(bytes: number): void {
    const sectors = bytes / SECTOR_SIZE;
    this.cdv.setUint32(BlkConfig.capacity, sectors % 4294967296, true);
    this.cdv.setUint32(BlkConfig.capacity + 4, Math.floor(sectors / 4294967296), true);
    this.generation++;
    this.interrupt(InterruptBit.CONFIG);
  }

  /** The next `n` config reads each change ConfigGeneration first (a config change racing the driver). */
  tearConfigReads(n: number): void {
    this.tears = n;
  }

  // ---- internals -----------------------------------------------------------------

  private memory(addr: number, len: number): Uint8Array {
    return this.sim.memoryAt(addr, len);
  }

  /** Pops every available chain (QueueNotify); with autoComplete completes them. */
  private takeRequests(): void {
    const q = this.queue;
    if (!q.enabled || !this.live()) {
      this.violations.push('QueueNotify while the device is not live');
      return;
    }
    const c = this.chain;
    for (;;) {
      const got = this.pop(q, c);
      if (got === null) return;
      if (!got) break;
      if (c.count < 2 || c.writable[0] || c.len[0] !== BLK_HEADER_SIZE || !c.writable[c.count - 1] || c.len[c.count - 1] !== 1) {
        this.violations.push(`chain ${c.head}: not header(16) + data + status(1)`);
        this.setNeedsReset();
        return;
      }
      const h = new DataView(this.memory(c.addr[0], BLK_HEADER_SIZE).slice().buffer);
      const data: Pending['data'] = [];
      for (let i = 1; i < c.count - 1; i++) data.push({ addr: c.addr[i], len: c.len[i], writable: c.writable[i] === 1 });
      this.pending.push({
        head: c.head, type: h.getUint32(0, true), sector: h.getUint32(12, true) * 4294967296 + h.getUint32(8, true),
        data, statusAddr: c.addr[c.count - 1],
      });
    }
    if (this.opts.autoComplete) this.complete();
  }

  /** Runs one request against the disk: [status, bytes written into writable data buffers]. */
  private execute(r: Pending): [number, number] {
    const bytes = r.data.reduce((n, d) => n + d.len, 0);
    const op: SimBlkOp = { type: r.type, sector: r.sector, bytes, status: BlkStatus.OK, dirty: this.dirty };
    this.ops.push(op);
    const fail = (s: number): [number, number] => {
      op.status = s;
      return [s, 0];
    };
    switch (r.type) {
      case BlkType.IN:
      case BlkType.OUT: {
        const write = r.type === BlkType.OUT;
        if (r.data.some((d) => d.writable === write)) return fail(BlkStatus.IOERR);
        if (bytes % SECTOR_SIZE || r.sector * SECTOR_SIZE + bytes > this.opts.capacity) return fail(BlkStatus.IOERR);
        if (write && this.opts.readOnly) return fail(BlkStatus.IOERR);
        for (let s = r.sector; s < r.sector + bytes / SECTOR_SIZE; s++) if (this.ioerrSectors.has(s)) return fail(BlkStatus.IOERR);
        let at = r.sector * SECTOR_SIZE;
        for (const d of r.data) {
          const buf = this.memory(d.addr, d.len);
          if (write) this.disk.set(buf, at);
          else buf.set(this.disk.subarray(at, at + d.len));
          at += d.len;
        }
        if (write) this.dirty++;
        return [BlkStatus.OK, write ? 0 : bytes];
      }
      case BlkType.FLUSH:
        if (!hasFeature(this.driverFeatures, BlkFeature.FLUSH)) return fail(BlkStatus.UNSUPP);
        this.dirty = 0;
        return [BlkStatus.OK, 0];
      case BlkType.GET_ID: {
        if (r.data.length !== 1 || !r.data[0].writable || r.data[0].len < BLK_ID_BYTES) return fail(BlkStatus.IOERR);
        const id = this.memory(r.data[0].addr, BLK_ID_BYTES);
        id.fill(0);
        id.set([115, 105, 109, 98, 108, 107]); // "simblk"
        return [BlkStatus.OK, BLK_ID_BYTES];
      }
      default:
        return fail(BlkStatus.UNSUPP);
    }
  }
}

