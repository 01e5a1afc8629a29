// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated virtio-net card on virtio-mmio version 2, passed through to
 * the backend: the device the baojs virtio-net *driver*
 * (src/drivers/virtio-net.ts) drives in the tests, the wire end of the
 * switch's uplink. It sits behind the simulated host's `mmioRead` /
 * `mmioWrite` ({@link SimBao.attachMmio}) and raises a level interrupt
 * ({@link SimBao.setIrqLevel}) while InterruptStatus is non-zero.
 *
 * Both rings (receiveq0, transmitq0) are walked by the project's
 * device-side `SplitQueue` over the driver's DMA region, so every chain the
 * driver builds is checked as strictly as a frontend's; a chain it refuses
 * is recorded in {@link SimNetDevice.violations} and sets
 * DEVICE_NEEDS_RESET.
 *
 * The wire: {@link SimNetDevice.sent} holds every frame the driver
 * transmitted (header checked and removed); {@link SimNetDevice.receive}
 * puts frames into posted receive buffers (one buffer per frame, as a
 * device without VIRTIO_NET_F_MRG_RXBUF does) and interrupts once. The
 * card can hold transmit chains back ({@link SimNetOptions.holdTx}) to
 * starve the driver's pool, change its link state, set DEVICE_NEEDS_RESET,
 * or write an impossible used entry.
 */
import { NetConfig, NetFeature, NetHdr, NetStatus } from '../../src/devices/net-spec.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';
import { DeviceId, DeviceStatus, Feature, hasFeature, InterruptBit, MMIO_MAGIC, MmioReg, setFeature } from '../../src/virtio/spec.ts';
import type { SimBao, SimMmioDevice } from './bao.ts';

/** Options of {@link SimNetDevice}. */
export interface SimNetOptions {
  base: number;
  intid: number;
  /** the backend region holding the driver's rings and buffers */
  dma: string;
  /** the config mac (default 52:54:00:12:34:56) */
  mac?: string;
  /** the config mtu, offered with VIRTIO_NET_F_MTU when given */
  mtu?: number;
  /** feature bits offered (default VERSION_1, MAC, STATUS, MRG_RXBUF, CSUM, GUEST_CSUM, HOST_TSO4, GUEST_TSO4, CTRL_VQ, RING_EVENT_IDX; + MTU with `mtu`) */
  features?: readonly number[];
  /** QueueNumMax of both queues (default 256) */
  queueNumMax?: number;
  /** DeviceID (default 1, network) */
  deviceId?: number;
  /** keep transmit chains until {@link SimNetDevice.completeTx} (default false: returned at QueueNotify) */
  holdTx?: boolean;
}

const DEFAULT_FEATURES: readonly number[] = [
  Feature.VERSION_1, NetFeature.MAC, NetFeature.STATUS, NetFeature.MRG_RXBUF, NetFeature.CSUM, NetFeature.GUEST_CSUM,
  NetFeature.HOST_TSO4, NetFeature.GUEST_TSO4, NetFeature.CTRL_VQ, Feature.RING_EVENT_IDX,
];

/** See the file comment. */
export class SimNetDevice implements SimMmioDevice {
  /** frames the driver transmitted, header removed, in order */
  readonly sent: Uint8Array[] = [];
  /** what the driver did that a device refuses */
  readonly violations: string[] = [];
  /** DriverFeatures as written, and the offered set */
  readonly driverFeatures = new Uint32Array(2);
  readonly offered = new Uint32Array(2);
  /** QueueNotify writes per queue */
  readonly notifies = [0, 0];
  /** frames {@link SimNetDevice.receive} could not place: no receive buffer posted */
  rxNoBuffer = 0;

  private readonly queues: SplitQueue[];
  private readonly chain = new DescriptorChain(16);
  private readonly mem: GuestMemory;
  private readonly config = new Uint8Array(NetConfig.SIZE);
  private readonly cdv = new DataView(this.config.buffer);
  /** heads of transmit chains held back ({@link SimNetOptions.holdTx}) */
  private readonly heldTx: number[] = [];
  private status = 0;
  private isr = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private generation = 0;

  constructor(private readonly sim: SimBao, readonly opts: SimNetOptions) {
    const max = opts.queueNumMax ?? 256;
    this.queues = [new SplitQueue(0, max), new SplitQueue(1, max)];
    this.mem = new GuestMemory(sim.regionBase(opts.dma), sim.region(opts.dma), opts.dma);
    for (const bit of opts.features ?? DEFAULT_FEATURES) setFeature(this.offered, bit);
    if (opts.mtu !== undefined && opts.features === undefined) setFeature(this.offered, NetFeature.MTU);
    const mac = (opts.mac ?? '52:54:00:12:34:56').split(':').map((h) => parseInt(h, 16));
    this.config.set(mac, NetConfig.mac);
    this.cdv.setUint16(NetConfig.status, NetStatus.LINK_UP, true);
    this.cdv.setUint16(NetConfig.max_virtqueue_pairs, 1, true);
    this.cdv.setUint16(NetConfig.mtu, opts.mtu ?? 1500, true);
    sim.attachMmio(opts.base, 0x200, this);
  }

  /** The Status register as the driver last set it (DEVICE_NEEDS_RESET included). */
  get deviceStatus(): number {
    return this.status;
  }

  /** Receive buffers the driver has posted and the card has not used. */
  get rxPosted(): number {
    const q = this.queues[0];
    return q.enabled ? q.availableCount() : 0;
  }

  /** Transmit chains held back. */
  get txHeld(): number {
    return this.heldTx.length;
  }

  // ---- SimMmioDevice ----------------------------------------------------------

  read(off: number, width: number): number {
    if (off >= MmioReg.Config) {
      const o = off - MmioReg.Config;
      if (o + width > this.config.length) return 0;
      return width === 1 ? this.config[o] : width === 2 ? this.cdv.getUint16(o, true) : this.cdv.getUint32(o, true);
    }
    if (width !== 4) {
      this.violations.push(`${width}-byte read of control register 0x${off.toString(16)}`);
      return 0;
    }
    const q = this.queues[this.queueSel];
    switch (off) {
      case MmioReg.MagicValue: return MMIO_MAGIC;
      case MmioReg.Version: return 2;
      case MmioReg.DeviceID: return this.opts.deviceId ?? DeviceId.NET;
      case MmioReg.VendorID: return 0x554d4551;
      case MmioReg.DeviceFeatures: return this.deviceFeaturesSel < 2 ? this.offered[this.deviceFeaturesSel] : 0;
      case MmioReg.QueueNumMax: return q ? q.numMax : 0;
      case MmioReg.QueueReady: return q && q.ready ? 1 : 0;
      case MmioReg.InterruptStatus: return this.isr;
      case MmioReg.Status: return this.status;
      case MmioReg.ConfigGeneration: return this.generation;
      default:
        this.violations.push(`read of register 0x${off.toString(16)}`);
        return 0;
    }
  }

  write(off: number, width: number, value: number): void {
    if (off >= MmioReg.Config) {
      this.violations.push(`config write at ${off - MmioReg.Config}`);
      return;
    }
    if (width !== 4) {
      this.violations.push(`${width}-byte write of control register 0x${off.toString(16)}`);
      return;
    }
    const q = this.queues[this.queueSel];
    const lo = (a: number): number => Math.floor(a / 4294967296) * 4294967296 + value;
    const hi = (a: number): number => value * 4294967296 + (a % 4294967296);
    switch (off) {
      case MmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = value; return;
      case MmioReg.DriverFeaturesSel: this.driverFeaturesSel = value; return;
      case MmioReg.DriverFeatures:
        if (this.driverFeaturesSel < 2) this.driverFeatures[this.driverFeaturesSel] = value;
        return;
      case MmioReg.QueueSel: this.queueSel = value; return;
      case MmioReg.QueueNotify: this.notify(value); return;
      case MmioReg.InterruptACK:
        this.isr &= ~value;
        if (this.isr === 0) this.sim.setIrqLevel(this.opts.intid, false);
        return;
      case MmioReg.Status: this.writeStatus(value); return;
      default:
    }
    if (!q) {
      this.violations.push(`write of register 0x${off.toString(16)} with QueueSel ${this.queueSel}`);
      return;
    }
    switch (off) {
      case MmioReg.QueueNum: q.num = value; return;
      case MmioReg.QueueDescLow: q.descAddr = lo(q.descAddr); return;
      case MmioReg.QueueDescHigh: q.descAddr = hi(q.descAddr); return;
      case MmioReg.QueueDriverLow: q.driverAddr = lo(q.driverAddr); return;
      case MmioReg.QueueDriverHigh: q.driverAddr = hi(q.driverAddr); return;
      case MmioReg.QueueDeviceLow: q.deviceAddr = lo(q.deviceAddr); return;
      case MmioReg.QueueDeviceHigh: q.deviceAddr = hi(q.deviceAddr); return;
      case MmioReg.QueueReady:
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
      default:
        this.violations.push(`write of register 0x${off.toString(16)}`);
    }
  }

  // ---- the wire -----------------------------------------------------------------

  /**
   * Frames arriving from the wire: each goes into one posted receive buffer
   * behind a 12-byte header (num_buffers 1); a frame that finds no buffer
   * is counted in `rxNoBuffer`. One interrupt for the batch if the driver
   * wants one. Returns how many were placed.
   */
  receive(frames: readonly Uint8Array[]): number {
    const q = this.queues[0];
    if (!this.live() || !q.enabled) return 0;
    let n = 0;
    for (const f of frames) {
      let got: boolean;
      try {
        got = q.pop(this.chain);
      } catch (e) {
        this.violations.push(e instanceof QueueError ? e.message : String(e));
        this.setNeedsReset();
        return n;
      }
      if (!got) {
        this.rxNoBuffer++;
        continue;
      }
      const c = this.chain;
      if (c.count !== 1 || !c.writable[0] || c.len[0] < NetHdr.SIZE + f.length) {
        this.violations.push(`receive chain ${c.head}: ${c.count} buffers, ${c.len[0]} bytes, writable ${c.writable[0]}: not one buffer for a ${f.length}-byte frame`);
        q.push(c.head, 0);
        continue;
      }
      const buf = this.sim.memoryAt(c.addr[0], NetHdr.SIZE + f.length);
      buf.fill(0, 0, NetHdr.SIZE);
      buf[NetHdr.num_buffers] = 1;
      buf.set(f, NetHdr.SIZE);
      q.push(c.head, NetHdr.SIZE + f.length);
      n++;
    }
    if (n > 0 && q.needsNotification()) this.interrupt(InterruptBit.VRING);
    return n;
  }

  /** Returns up to `max` held transmit chains (oldest first) and interrupts if the driver wants one. */
  completeTx(max = Infinity): number {
    const q = this.queues[1];
    let n = 0;
    while (n < max && this.heldTx.length > 0) {
      q.push(this.heldTx.shift()!, 0);
      n++;
    }
    if (n > 0 && q.needsNotification()) this.interrupt(InterruptBit.VRING);
    return n;
  }

  /** Changes the link state: config `status`, ConfigGeneration, a configuration change notification. */
  setLink(up: boolean): void {
    this.cdv.setUint16(NetConfig.status, up ? NetStatus.LINK_UP : 0, true);
    this.generation++;
    this.interrupt(InterruptBit.CONFIG);
  }

  /** Sets DEVICE_NEEDS_RESET and sends a configuration change notification (2.1.2). */
  setNeedsReset(): void {
    this.status |= DeviceStatus.DEVICE_NEEDS_RESET;
    this.interrupt(InterruptBit.CONFIG);
  }

  /** Writes a used entry naming descriptor `id` into queue `queue` (whatever the driver gave) and interrupts. */
  injectUsed(queue: number, id: number, len = 0): void {
    this.queues[queue].push(id, len);
    this.interrupt(InterruptBit.VRING);
  }

  // ---- internals -----------------------------------------------------------------

  private live(): boolean {
    return (this.status & DeviceStatus.DRIVER_OK) !== 0 && (this.status & DeviceStatus.DEVICE_NEEDS_RESET) === 0;
  }

  private interrupt(bit: number): void {
    this.isr |= bit;
    this.sim.setIrqLevel(this.opts.intid, true);
  }

  private notify(queue: number): void {
    if (queue > 1) {
      this.violations.push(`QueueNotify of queue ${queue}`);
      return;
    }
    this.notifies[queue]++;
    if (!this.live()) {
      this.violations.push(`QueueNotify of queue ${queue} while the device is not live`);
      return;
    }
    if (queue === 1) this.transmit();
  }

  /** Takes every available transmit chain: header checked, frame recorded, chain returned (or held). */
  private transmit(): void {
    const q = this.queues[1];
    const c = this.chain;
    let returned = 0;
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
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < c.count; i++) {
        if (c.writable[i]) this.violations.push(`transmit chain ${c.head}: a device-writable buffer`);
        parts.push(this.sim.memoryAt(c.addr[i], c.len[i]).slice());
        total += c.len[i];
      }
      const bytes = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      if (total < NetHdr.SIZE || bytes.subarray(0, NetHdr.SIZE).some((b) => b !== 0)) {
        this.violations.push(`transmit chain ${c.head}: header ${Array.from(bytes.subarray(0, NetHdr.SIZE)).join(',')} is not all zero`);
      }
      this.sent.push(bytes.slice(NetHdr.SIZE));
      if (this.opts.holdTx) {
        this.heldTx.push(c.head);
      } else {
        q.push(c.head, 0);
        returned++;
      }
    }
    if (returned > 0 && q.needsNotification()) this.interrupt(InterruptBit.VRING);
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.status = 0;
      this.isr = 0;
      this.sim.setIrqLevel(this.opts.intid, false);
      for (const q of this.queues) q.reset();
      this.heldTx.length = 0;
      this.driverFeatures.fill(0);
      return;
    }
    if ((value & DeviceStatus.FEATURES_OK) !== 0 && (this.status & DeviceStatus.FEATURES_OK) === 0) {
      const f = this.driverFeatures;
      const extra = (f[0] & ~this.offered[0]) | (f[1] & ~this.offered[1]);
      if (extra !== 0 || !hasFeature(f, Feature.VERSION_1)) {
        if (extra !== 0) this.violations.push('DriverFeatures has bits the device did not offer');
        value &= ~DeviceStatus.FEATURES_OK;
      }
    }
    this.status = value | (this.status & DeviceStatus.DEVICE_NEEDS_RESET);
  }
}
