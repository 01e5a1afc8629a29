// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-net driver (virtio 1.2 section 5.1, the driver's side) on the
 * virtio-mmio driver module: baojs driving a network card passed through to
 * the backend VM (on QEMU a `virtio-net-device`), the switch's uplink
 * ({@link UplinkPort} in src/net/uplink.ts).
 *
 * Features: VERSION_1, MAC (the config `mac` is read and reported; the
 * driver never filters on it: frames for every frontend's MAC cross the
 * uplink), STATUS (the config `status` gives the link state, read again on
 * a configuration change), MTU (the config `mtu` bounds what is sent and
 * sizes the receive buffers) and RING_EVENT_IDX when offered (and
 * ACCESS_PLATFORM, which the transport accepts whenever it is offered).
 *
 * Not negotiated:
 * - VIRTIO_NET_F_MRG_RXBUF. Without it every receive chain must hold a
 *   whole frame (5.1.6.3.1: at least 1526 bytes, more with a larger mtu);
 *   each receive buffer here is {@link VirtioNetOptions.bufferBytes} (2 KiB)
 *   and grows to fit the device's mtu, so one used buffer is one frame and
 *   the driver never reassembles. Mergeable buffers pay off only with large
 *   (GSO) frames, which the switch does not carry.
 * - Offloads (CSUM, GUEST_CSUM, GUEST_TSO*, HOST_TSO*, UFO). The switch
 *   carries plain frames with complete checksums, and every transmit header
 *   here is zero (no NEEDS_CSUM, GSO_NONE). To offer them the header would
 *   have to travel with the frame through the switch: HOST_TSO/CSUM on this
 *   card could take a frontend's GSO or partial-checksum frame as it is;
 *   GUEST_TSO/GUEST_CSUM would bring large or partially checksummed frames
 *   from the wire, which the switch must segment or checksum for any
 *   frontend that did not negotiate the same offload.
 * - CTRL_VQ, MQ: one queue pair, the card stays in its reset filter mode
 *   (QEMU's virtio-net: promiscuous).
 *
 * Queues: receiveq0 (index 0) and transmitq0 (index 1), each up to
 * {@link VirtioNetOptions.rxBuffers}/{@link VirtioNetOptions.txBuffers}
 * (default 256) entries, one descriptor per chain.
 *
 * Receive: every receive buffer is posted at open (before DRIVER_OK; the
 * first QueueNotify after it). On the interrupt each used buffer is checked
 * (at least the 12-byte header and an Ethernet header, no GSO or partial
 * checksum, which were not negotiated: dropped and counted otherwise),
 * handed to {@link VirtioNetDriver.onFrame} as a view into the DMA buffer,
 * valid only during the call, and posted again; one QueueNotify per
 * interrupt for all the buffers posted again, then
 * {@link VirtioNetDriver.onBurst}.
 *
 * Transmit: {@link VirtioNetDriver.send} copies the frame behind a zeroed
 * 12-byte header into a buffer of a pool of the queue's size and adds the
 * chain; {@link VirtioNetDriver.flush} publishes a burst with one
 * QueueNotify. Buffers come back on completion (interrupt, or reaped by
 * `send` when the pool is empty). No free buffer: the frame is dropped and
 * counted (`txNoBuffer`); a NIC uplink drops, it never blocks the switch.
 *
 * A device that breaks the used ring or sets DEVICE_NEEDS_RESET is given
 * up (reset, FAILED, one log line); frames are then dropped and counted.
 * Nothing is thrown out of {@link VirtioNetDriver.onInterrupt}.
 *
 * The frame path allocates nothing: views of the receive buffers are made
 * once at open, the pool is a stack in a typed array.
 */
import type { Host } from '../host.ts';
import { describeError } from '../dispatcher/log.ts';
import { ETH_HLEN, ETH_P_8021Q, VLAN_HLEN, formatMac } from '../net/switch.ts';
import { NET_MTU_DEFAULT, NetConfig, NetFeature, NetHdr, NetHdrFlag, NetQueue, NetStatus, GsoType } from '../devices/net-spec.ts';
import { DeviceId, Feature, hasFeature } from '../virtio/spec.ts';
import { DriverQueue, VirtioMmioDriver, type DmaArena } from './virtio-mmio.ts';

/** Options of {@link VirtioNetDriver.open}. */
export interface VirtioNetOptions {
  /** for logs and errors, e.g. 'uplink0' */
  name: string;
  /** guest-physical base of the device's virtio-mmio window in the backend */
  base: number;
  /** the device's interrupt; the caller routes it to {@link VirtioNetDriver.onInterrupt} */
  intid: number;
  /** DMA memory: a backend region's name, or an arena shared with other drivers */
  dma: string | DmaArena;
  /** receive buffers (largest receiveq Queue Size wanted; default 256; QueueNumMax bounds it) */
  rxBuffers?: number;
  /** transmit buffers (largest transmitq Queue Size wanted; default 256) */
  txBuffers?: number;
  /**
   * bytes of each receive and transmit buffer, header included (default
   * 2048; raised to fit 12 + 18 + mtu, rounded up to 64). DMA memory used:
   * bufferBytes × (receive + transmit Queue Size), plus the rings
   */
  bufferBytes?: number;
  /** where log lines go (default: dropped) */
  log?: (msg: string) => void;
}

/** Counters of a {@link VirtioNetDriver}, plain numbers. */
export interface VirtioNetCounters {
  /** frames received and handed to onFrame, and their bytes (header excluded) */
  rxFrames: number;
  rxBytes: number;
  /** used receive buffers dropped: shorter than the header and an Ethernet header */
  rxRunt: number;
  /** used receive buffers dropped: the header asks for GSO or a partial checksum, not negotiated */
  rxBadHeader: number;
  /** frames placed in the transmit queue, and their bytes (header excluded) */
  txFrames: number;
  txBytes: number;
  /** frames dropped: no free transmit buffer */
  txNoBuffer: number;
  /** frames dropped: shorter than an Ethernet header or longer than mtu + 14 (+ 4 with an 802.1Q tag) */
  txBadLength: number;
  /** frames dropped: the link is down or the driver gave up on the device */
  txDown: number;
  /** QueueNotify writes (both queues) */
  kicks: number;
  /** interrupts handled */
  interrupts: number;
}

/** Default receive and transmit buffers. */
const DEFAULT_BUFFERS = 256;
/** Default bytes of a buffer: header + the largest 1500-MTU tagged frame, with room. */
const DEFAULT_BUFFER_BYTES = 2048;
/** Buffers start on a 64-byte boundary (a cache line). */
const BUFFER_ALIGN = 64;

/**
 * A virtio-net device driven by baojs. Build it with {@link
 * VirtioNetDriver.open}; route its interrupt to {@link
 * VirtioNetDriver.onInterrupt}.
 */
export class VirtioNetDriver {
  /** the config `mac` as 'xx:xx:xx:xx:xx:xx' with VIRTIO_NET_F_MAC, else '' */
  readonly mac: string;
  /** the config `mtu` with VIRTIO_NET_F_MTU, else 1500 */
  readonly mtu: number;
  /** bytes of each buffer (header included) */
  readonly bufferBytes: number;
  /** the link state: the config `status` LINK_UP bit with VIRTIO_NET_F_STATUS, else always up */
  linkUp = true;
  /** called with each received frame (a view valid during the call) */
  onFrame: ((frame: Uint8Array, len: number) => void) | null = null;
  /** called once per interrupt after its frames (e.g. the switch's flush) */
  onBurst: (() => void) | null = null;
  readonly counters: VirtioNetCounters = {
    rxFrames: 0, rxBytes: 0, rxRunt: 0, rxBadHeader: 0, txFrames: 0, txBytes: 0, txNoBuffer: 0, txBadLength: 0, txDown: 0, kicks: 0, interrupts: 0,
  };

  private readonly rx: DriverQueue;
  private readonly tx: DriverQueue;
  private readonly u8: Uint8Array;
  private readonly rxAddr: number;
  private readonly txAddr: number;
  private readonly txOff: number;
  /** a view of each receive buffer's frame area (after the header), made once */
  private readonly rxFrames: Uint8Array[] = [];
  /** offset in the arena of each receive buffer's header */
  private readonly rxOff: number;
  /** free transmit buffers (a stack of indices) */
  private readonly txFree: Uint16Array;
  private txFreeCount: number;
  /** one-buffer chain scratch */
  private readonly addr1 = new Float64Array(1);
  private readonly len1 = new Uint32Array(1);
  private rxPosted = false;
  private txPending = false;
  private readonly statusFeature: boolean;
  private readonly onTxUsed = (slot: number): void => {
    this.txFree[this.txFreeCount++] = slot;
  };

  private constructor(readonly transport: VirtioMmioDriver, rxWanted: number, txWanted: number, bufferWanted: number) {
    const t = transport;
    const f = t.features;
    let mac = '';
    if (hasFeature(f, NetFeature.MAC)) {
      let v = 0;
      for (let i = 0; i < 6; i++) v = v * 256 + t.readConfig(NetConfig.mac + i, 1);
      mac = formatMac(v);
    }
    this.mac = mac;
    let mtu = NET_MTU_DEFAULT;
    if (hasFeature(f, NetFeature.MTU)) {
      mtu = t.readConfig(NetConfig.mtu, 2);
      if (mtu < 68) throw new Error(`${t.name}: config mtu ${mtu} is below 68`);
    }
    this.mtu = mtu;
    this.statusFeature = hasFeature(f, NetFeature.STATUS);
    this.linkUp = this.readLink();
    if (!(bufferWanted >= NetHdr.SIZE + ETH_HLEN)) throw new RangeError(`${t.name}: bufferBytes ${bufferWanted}`);
    const need = NetHdr.SIZE + ETH_HLEN + VLAN_HLEN + mtu;
    this.bufferBytes = Math.ceil(Math.max(bufferWanted, need) / BUFFER_ALIGN) * BUFFER_ALIGN;

    this.rx = t.setupQueue(NetQueue.RECEIVEQ, rxWanted);
    this.tx = t.setupQueue(NetQueue.TRANSMITQ, txWanted);
    const arena = t.arena;
    const b = this.bufferBytes;
    this.rxAddr = arena.alloc(b * this.rx.num, BUFFER_ALIGN);
    this.txAddr = arena.alloc(b * this.tx.num, BUFFER_ALIGN);
    this.rxOff = arena.mem.offset(this.rxAddr, b * this.rx.num);
    this.txOff = arena.mem.offset(this.txAddr, b * this.tx.num);
    this.u8 = arena.mem.u8;
    for (let i = 0; i < this.rx.num; i++) {
      const o = this.rxOff + b * i + NetHdr.SIZE;
      this.rxFrames.push(this.u8.subarray(o, o + b - NetHdr.SIZE));
    }
    this.txFree = new Uint16Array(this.tx.num);
    for (let i = 0; i < this.tx.num; i++) this.txFree[i] = this.tx.num - 1 - i;
    this.txFreeCount = this.tx.num;
    this.rx.onUsed = (slot, len) => this.received(slot, len);
    this.rx.onLost = () => {};
    this.tx.onUsed = this.onTxUsed;
    this.tx.onLost = this.onTxUsed;
    t.onConfigChange = () => this.configChanged();
    for (let i = 0; i < this.rx.num; i++) this.post(i);
    t.driverOk();
    // 3.1.1: no notification before DRIVER_OK
    if (this.rx.kick()) this.counters.kicks++;
    this.rxPosted = false;
  }

  /**
   * Probes and initialises the device at `opts.base` (virtio 1.2 3.1.1,
   * 5.1.5): reset, negotiation, config (mac, status, mtu), receiveq0 and
   * transmitq0, every receive buffer posted, DRIVER_OK, interrupt enabled.
   * @throws Error naming what failed: not virtio-mmio, Version 1, not a
   *   network device (DeviceID), VERSION_1 not offered, FEATURES_OK
   *   refused, a bad config field, the DMA region too small or missing
   */
  static open(host: Host, opts: VirtioNetOptions): VirtioNetDriver {
    const t = new VirtioMmioDriver(host, opts);
    if (t.deviceId !== DeviceId.NET) throw new Error(`${opts.name}: DeviceID ${t.deviceId} is not a network device (${DeviceId.NET})`);
    t.reset();
    t.negotiate([NetFeature.MAC, NetFeature.STATUS, NetFeature.MTU, Feature.RING_EVENT_IDX]);
    try {
      return new VirtioNetDriver(t, opts.rxBuffers ?? DEFAULT_BUFFERS, opts.txBuffers ?? DEFAULT_BUFFERS, opts.bufferBytes ?? DEFAULT_BUFFER_BYTES);
    } catch (e) {
      t.fail(`set-up failed: ${describeError(e)}`);
      throw e;
    }
  }

  /** The name given at open. */
  get name(): string {
    return this.transport.name;
  }

  /** Whether the driver gave up on the device (every frame is then dropped). */
  get failed(): boolean {
    return this.transport.failed;
  }

  /** Receive buffers posted (receiveq Queue Size). */
  get rxBuffers(): number {
    return this.rx.num;
  }

  /** Receive buffers the device holds now. */
  get rxAvailable(): number {
    return this.rx.inFlight;
  }

  /** Transmit buffers (transmitq Queue Size), and how many are free now. */
  get txBuffers(): number {
    return this.tx.num;
  }

  get txFreeBuffers(): number {
    return this.txFreeCount;
  }

  /**
   * Queues frame `frame[0..len)` for transmission behind a zeroed header
   * (5.1.6.2: no checksum offload, GSO_NONE); it is copied, the view may be
   * reused on return. The device sees it at the next {@link
   * VirtioNetDriver.flush}.
   * @returns false (counted) when the frame was dropped: link down or the
   *   device given up (`txDown`), a length outside 14..mtu + 14 (+ 4 with
   *   an 802.1Q tag) (`txBadLength`), no free transmit buffer (`txNoBuffer`)
   */
  send(frame: Uint8Array, len: number): boolean {
    const c = this.counters;
    if (this.transport.failed || !this.linkUp) {
      c.txDown++;
      return false;
    }
    const tagged = len >= ETH_HLEN && frame[12] === ETH_P_8021Q >>> 8 && frame[13] === (ETH_P_8021Q & 0xff);
    if (!(len >= ETH_HLEN && len <= frame.length && len <= this.mtu + ETH_HLEN + (tagged ? VLAN_HLEN : 0))) {
      c.txBadLength++;
      return false;
    }
    if (this.txFreeCount === 0 && this.tx.inFlight > 0) this.tx.reap(this.onTxUsed);
    if (this.txFreeCount === 0 || this.transport.failed) {
      c.txNoBuffer++;
      return false;
    }
    const slot = this.txFree[--this.txFreeCount];
    const off = this.txOff + this.bufferBytes * slot;
    const u8 = this.u8;
    u8.fill(0, off, off + NetHdr.SIZE);
    // one native copy (a view of the caller's bytes): a byte loop costs QuickJS ~100 instructions a byte
    u8.set(len === frame.length ? frame : frame.subarray(0, len), off + NetHdr.SIZE);
    this.addr1[0] = this.txAddr + this.bufferBytes * slot;
    this.len1[0] = NetHdr.SIZE + len;
    this.tx.add(this.addr1, this.len1, 1, 1, slot);
    c.txFrames++;
    c.txBytes += len;
    this.txPending = true;
    return true;
  }

  /** Publishes the frames sent since the last flush: one QueueNotify at most. */
  flush(): void {
    if (!this.txPending) return;
    this.txPending = false;
    if (this.transport.failed) return;
    try {
      if (this.tx.kick()) this.counters.kicks++;
    } catch (e) {
      this.transport.fail(`QueueNotify threw: ${describeError(e)}`);
    }
  }

  /**
   * The device's interrupt: see {@link VirtioMmioDriver.onInterrupt}.
   * Received frames go to `onFrame`, their buffers are posted again (one
   * QueueNotify), transmit buffers return to the pool, then `onBurst`
   * runs. Never throws.
   */
  onInterrupt(): void {
    this.counters.interrupts++;
    this.transport.onInterrupt();
    if (this.rxPosted) {
      this.rxPosted = false;
      if (!this.transport.failed) {
        try {
          if (this.rx.kick()) this.counters.kicks++;
        } catch (e) {
          this.transport.fail(`QueueNotify threw: ${describeError(e)}`);
        }
      }
    }
    if (this.onBurst) {
      try {
        this.onBurst();
      } catch (e) {
        this.transport.logLine(`the burst handler threw: ${describeError(e)}`);
      }
    }
  }

  /** Posts receive buffer `slot` (device-writable, header + frame). */
  private post(slot: number): void {
    this.addr1[0] = this.rxAddr + this.bufferBytes * slot;
    this.len1[0] = this.bufferBytes;
    this.rx.add(this.addr1, this.len1, 0, 1, slot);
    this.rxPosted = true;
  }

  /** A used receive buffer: checked, handed on, posted again. */
  private received(slot: number, len: number): void {
    const c = this.counters;
    const off = this.rxOff + this.bufferBytes * slot;
    if (len < NetHdr.SIZE + ETH_HLEN) {
      c.rxRunt++;
    } else if (this.u8[off + NetHdr.gso_type] !== GsoType.NONE || (this.u8[off + NetHdr.flags] & NetHdrFlag.NEEDS_CSUM) !== 0) {
      c.rxBadHeader++;
      this.transport.logLine(`received a frame with header flags ${this.u8[off + NetHdr.flags]} gso_type ${this.u8[off + NetHdr.gso_type]} (no offload negotiated): dropped`);
    } else {
      c.rxFrames++;
      c.rxBytes += len - NetHdr.SIZE;
      if (this.onFrame) {
        try {
          this.onFrame(this.rxFrames[slot], len - NetHdr.SIZE);
        } catch (e) {
          this.transport.logLine(`the frame handler threw: ${describeError(e)}`);
        }
      }
    }
    if (!this.transport.failed) this.post(slot);
  }

  /** A configuration change: the link state is read again. */
  private configChanged(): void {
    const up = this.readLink();
    if (up !== this.linkUp) this.transport.logLine(`link ${up ? 'up' : 'down'}`);
    this.linkUp = up;
  }

  private readLink(): boolean {
    return !this.statusFeature || (this.transport.readConfig(NetConfig.status, 2) & NetStatus.LINK_UP) !== 0;
  }
}
