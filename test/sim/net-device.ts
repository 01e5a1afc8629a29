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
import { DescriptorChain, SplitQueue } from '../../src/virtio/queue.ts';
import { DeviceId, Feature, InterruptBit } from '../../src/virtio/spec.ts';
import type { SimBao } from './bao.ts';
import { SimMmioDevice, type SimMmioPlacement } from './mmio-device.ts';

/** Options of {@link SimNetDevice} (where it sits: base, intid, and the backend region holding the driver's rings and buffers). */
export interface SimNetOptions extends SimMmioPlacement {
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
export class SimNetDevice extends SimMmioDevice {
  /** frames the driver transmitted, header removed, in order */
  readonly sent: Uint8Array[] = [];
  /** QueueNotify writes per queue */
  readonly notifies = [0, 0];
  /** frames {@link SimNetDevice.receive} could not place: no receive buffer posted */
  rxNoBuffer = 0;

  private readonly chain = new DescriptorChain(16);
  private readonly config = new Uint8Array(NetConfig.SIZE);
  private readonly cdv = new DataView(this.config.buffer);
  /** heads of transmit chains held back ({@link SimNetOptions.holdTx}) */
  private readonly heldTx: number[] = [];

  constructor(sim: SimBao, readonly opts: SimNetOptions) {
    const max = opts.queueNumMax ?? 256;
    const features = opts.features ?? [...DEFAULT_FEATURES, ...(opts.mtu !== undefined ? [NetFeature.MTU] : [])];
    super(sim, opts, [new SplitQueue(0, max), new SplitQueue(1, max)], features);
    const mac = (opts.mac ?? '52:54:00:12:34:56').split(':').map((h) => parseInt(h, 16));
    this.config.set(mac, NetConfig.mac);
    this.cdv.setUint16(NetConfig.status, NetStatus.LINK_UP, true);
    this.cdv.setUint16(NetConfig.max_virtqueue_pairs, 1, true);
    this.cdv.setUint16(NetConfig.mtu, opts.mtu ?? 1500, true);
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

  // ---- the register file's device-specific part ----------------------------------

  protected get deviceId(): number {
    return this.opts.deviceId ?? DeviceId.NET;
  }

  protected readConfig(o: number, width: number): number {
    if (o + width > this.config.length) return 0;
    return width === 1 ? this.config[o] : width === 2 ? this.cdv.getUint16(o, true) : this.cdv.getUint32(o, true);
  }

  protected notify(queue: number): void {
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

  protected reset(): void {
    super.reset();
    this.heldTx.length = 0;
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
      const got = this.pop(q, this.chain);
      if (got === null) return n;
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

  /** Writes a used entry naming descriptor `id` into queue `queue` (whatever the driver gave) and interrupts. */
  injectUsed(queue: number, id: number, len = 0): void {
    this.queues[queue].push(id, len);
    this.interrupt(InterruptBit.VRING);
  }

  // ---- internals -----------------------------------------------------------------

  /** Takes every available transmit chain: header checked, frame recorded, chain returned (or held). */
  private transmit(): void {
    const q = this.queues[1];
    if (!q.enabled) {
      this.violations.push('QueueNotify of transmitq before it is enabled');
      return;
    }
    const c = this.chain;
    let returned = 0;
    for (;;) {
      const got = this.pop(q, c);
      if (got === null) return;
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
}
