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
import { diskMinimumSize, type Platform } from '../../src/config/platform.ts';
import { BlkConfig, BlkFeature } from '../../src/devices/blk.ts';
import { BLK_HEADER_SIZE, BLK_ID_BYTES, BlkStatus, BlkType, SECTOR_SIZE } from '../../src/devices/blk-request.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';
import {
  DeviceId, DeviceStatus, Feature, hasFeature, InterruptBit, MMIO_MAGIC, MmioReg, setFeature,
} from '../../src/virtio/spec.ts';
import type { SimBao, SimMmioDevice } from './bao.ts';
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
export class SimBlkDevice implements SimMmioDevice {
  /** the disk's bytes */
  readonly disk: Uint8Array;
  /** sectors whose requests fail with IOERR */
  readonly ioerrSectors = new Set<number>();
  /** requests executed, in completion order */
  readonly ops: SimBlkOp[] = [];
  /** what the driver did that a device refuses (a malformed chain, a bad access) */
  readonly violations: string[] = [];
  /** QueueNotify writes */
  notifies = 0;
  /** Status reads */
  statusReads = 0;
  /** the config `writeback` byte */
  writeback = 0;
  /** DriverFeatures as written */
  readonly driverFeatures = new Uint32Array(2);
  readonly offered = new Uint32Array(2);

  private readonly queue: SplitQueue;
  private readonly chain = new DescriptorChain(16);
  private readonly mem: GuestMemory;
  private readonly pending: Pending[] = [];
  private readonly prng: Prng | null;
  private readonly config = new Uint8Array(64);
  private readonly cdv = new DataView(this.config.buffer);
  private status = 0;
  private isr = 0;
  private deviceFeaturesSel = 0;
  private queueSel = 0;
  private driverFeaturesSel = 0;
  private generation = 0;
  /** config reads that bump ConfigGeneration first ({@link SimBlkDevice.tearConfigReads}) */
  private tears = 0;
  private staleStatusReads = 0;
  private staleStatus = 0;
  private dirty = 0;

  constructor(private readonly sim: SimBao, readonly opts: SimBlkOptions) {
    this.disk = new Uint8Array(opts.capacity);
    this.queue = new SplitQueue(0, opts.queueNumMax ?? 128);
    this.mem = new GuestMemory(sim.regionBase(opts.dma), sim.region(opts.dma), opts.dma);
    this.prng = opts.randomOrderSeed === undefined ? null : new Prng(opts.randomOrderSeed);
    for (const bit of opts.features ?? DEFAULT_FEATURES) setFeature(this.offered, bit);
    if (opts.readOnly) setFeature(this.offered, BlkFeature.RO);
    const dv = this.cdv;
    const sectors = opts.capacity / SECTOR_SIZE;
    dv.setUint32(BlkConfig.capacity, sectors % 4294967296, true);
    dv.setUint32(BlkConfig.capacity + 4, Math.floor(sectors / 4294967296), true);
    dv.setUint32(BlkConfig.size_max, opts.sizeMax ?? 65536, true);
    dv.setUint32(BlkConfig.seg_max, opts.segMax ?? 32, true);
    dv.setUint32(BlkConfig.blk_size, opts.blkSize ?? 512, true);
    sim.attachMmio(opts.base, 0x200, this);
  }

  /** Requests taken from the avail ring and not completed. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** The Status register as the driver last set it (DEVICE_NEEDS_RESET included). */
  get deviceStatus(): number {
    return this.status;
  }

  // ---- SimMmioDevice ----------------------------------------------------------

  read(off: number, width: number): number {
    if (off >= MmioReg.Config) {
      const o = off - MmioReg.Config;
      if (this.tears > 0) {
        this.tears--;
        this.generation++;
      }
      if (o + width > this.config.length) return 0;
      if (o === BlkConfig.writeback) return this.writeback;
      return width === 1 ? this.config[o] : width === 2 ? this.cdv.getUint16(o, true) : this.cdv.getUint32(o, true);
    }
    if (width !== 4) {
      this.violations.push(`${width}-byte read of control register 0x${off.toString(16)}`);
      return 0;
    }
    switch (off) {
      case MmioReg.MagicValue: return MMIO_MAGIC;
      case MmioReg.Version: return this.opts.version ?? 2;
      case MmioReg.DeviceID: return this.opts.deviceId ?? DeviceId.BLOCK;
      case MmioReg.VendorID: return 0x554d4551;
      case MmioReg.DeviceFeatures: return this.deviceFeaturesSel < 2 ? this.offered[this.deviceFeaturesSel] : 0;
      case MmioReg.QueueNumMax: return this.queueSel === 0 ? this.queue.numMax : 0;
      case MmioReg.QueueReady: return this.queueSel === 0 && this.queue.ready ? 1 : 0;
      case MmioReg.InterruptStatus: return this.isr;
      case MmioReg.Status:
        this.statusReads++;
        if (this.staleStatusReads > 0) {
          this.staleStatusReads--;
          return this.staleStatus;
        }
        return this.status;
      case MmioReg.ConfigGeneration: return this.generation;
      default:
        this.violations.push(`read of register 0x${off.toString(16)}`);
        return 0;
    }
  }

  write(off: number, width: number, value: number): void {
    if (off >= MmioReg.Config) {
      if (off - MmioReg.Config === BlkConfig.writeback && width === 1) this.writeback = value & 0xff;
      else this.violations.push(`config write at ${off - MmioReg.Config}`);
      return;
    }
    if (width !== 4) {
      this.violations.push(`${width}-byte write of control register 0x${off.toString(16)}`);
      return;
    }
    const q = this.queue;
    switch (off) {
      case MmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = value; return;
      case MmioReg.DriverFeaturesSel: this.driverFeaturesSel = value; return;
      case MmioReg.DriverFeatures:
        if (this.driverFeaturesSel < 2) this.driverFeatures[this.driverFeaturesSel] = value;
        return;
      case MmioReg.QueueSel: this.queueSel = value; return;
      case MmioReg.QueueNum: if (this.queueSel === 0) q.num = value; return;
      case MmioReg.QueueDescLow: q.descAddr = this.lo(q.descAddr, value); return;
      case MmioReg.QueueDescHigh: q.descAddr = this.hi(q.descAddr, value); return;
      case MmioReg.QueueDriverLow: q.driverAddr = this.lo(q.driverAddr, value); return;
      case MmioReg.QueueDriverHigh: q.driverAddr = this.hi(q.driverAddr, value); return;
      case MmioReg.QueueDeviceLow: q.deviceAddr = this.lo(q.deviceAddr, value); return;
      case MmioReg.QueueDeviceHigh: q.deviceAddr = this.hi(q.deviceAddr, value); return;
      case MmioReg.QueueReady:
        if (this.queueSel !== 0) return;
        q.ready = value === 1;
        if (q.ready) {
          try {
            q.enable(this.mem, hasFeature(this.driverFeatures, Feature.RING_EVENT_IDX), hasFeature(this.driverFeatures, Feature.INDIRECT_DESC));
          } catch (e) {
            this.violations.push((e as Error).message);
            this.setNeedsReset();
          }
        }
        return;
      case MmioReg.QueueNotify:
        this.notifies++;
        if (value === 0) this.takeRequests();
        else this.violations.push(`QueueNotify of queue ${value}`);
        return;
      case MmioReg.InterruptACK:
        this.isr &= ~value;
        if (this.isr === 0) this.sim.setIrqLevel(this.opts.intid, false);
        return;
      case MmioReg.Status: this.writeStatus(value); return;
      default:
        this.violations.push(`write of register 0x${off.toString(16)}`);
    }
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

  /** Sets DEVICE_NEEDS_RESET and sends a configuration change notification (2.1.2). */
  setNeedsReset(): void {
    this.status |= DeviceStatus.DEVICE_NEEDS_RESET;
    this.interrupt(InterruptBit.CONFIG);
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

  private lo(addr: number, v: number): number {
    return Math.floor(addr / 4294967296) * 4294967296 + v;
  }

  private hi(addr: number, v: number): number {
    return v * 4294967296 + (addr % 4294967296);
  }

  private interrupt(bit: number): void {
    this.isr |= bit;
    this.sim.setIrqLevel(this.opts.intid, true);
  }

  private writeStatus(value: number): void {
    this.staleStatusReads = 0;
    if (value === 0) {
      this.staleStatusReads = this.opts.resetLatency ?? 0;
      this.staleStatus = this.status;
      this.status = 0;
      this.isr = 0;
      this.sim.setIrqLevel(this.opts.intid, false);
      this.pending.length = 0;
      this.queue.reset();
      this.driverFeatures.fill(0);
      this.writeback = 0;
      return;
    }
    if ((value & DeviceStatus.FEATURES_OK) !== 0 && (this.status & DeviceStatus.FEATURES_OK) === 0) {
      const f = this.driverFeatures;
      const extra = (f[0] & ~this.offered[0]) | (f[1] & ~this.offered[1]);
      if (this.opts.refuseFeaturesOk || extra !== 0 || !hasFeature(f, Feature.VERSION_1)) {
        if (extra !== 0) this.violations.push('DriverFeatures has bits the device did not offer');
        value &= ~DeviceStatus.FEATURES_OK;
      }
    }
    this.status = value | (this.status & DeviceStatus.DEVICE_NEEDS_RESET);
  }

  private memory(addr: number, len: number): Uint8Array {
    return this.sim.memoryAt(addr, len);
  }

  /** Pops every available chain (QueueNotify); with autoComplete completes them. */
  private takeRequests(): void {
    const q = this.queue;
    if (!q.enabled || (this.status & DeviceStatus.DRIVER_OK) === 0 || (this.status & DeviceStatus.DEVICE_NEEDS_RESET) !== 0) {
      this.violations.push('QueueNotify while the device is not live');
      return;
    }
    const c = this.chain;
    for (;;) {
      let got: boolean;
      try {
        got = q.pop(c);
      } catch (e) {
        this.violations.push(e instanceof QueueError ? e.message : String(e));
        this.setNeedsReset();
        return;
      }
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
        if (bytes % SECTOR_SIZE || r.sector * SECTOR_SIZE + bytes > this.disk.length) return fail(BlkStatus.IOERR);
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

/**
 * Attaches a {@link SimBlkDevice} (completing at each QueueNotify) behind
 * every virtio-blk passthrough device of `p` (`backend.passthrough`), sized
 * for the disk ranges on it: what a backend built from `p` drives.
 * Returns them by name.
 */
export function attachPassthroughDisks(sim: SimBao, p: Platform): Map<string, SimBlkDevice> {
  const out = new Map<string, SimBlkDevice>();
  for (const pt of p.backend.passthrough ?? []) {
    if (pt.kind !== 'virtio-blk') continue;
    const dev = new SimBlkDevice(sim, { base: pt.base, intid: pt.intid, dma: pt.dma, capacity: Math.max(diskMinimumSize(p, pt.name), 1 << 20), autoComplete: true });
    sim.attachMmio(pt.base, pt.size, dev);
    out.set(pt.name, dev);
  }
  return out;
}
