// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-net (virtio 1.2 section 5.1): one frontend's network card, a port
 * of the backend's {@link EthernetSwitch}. Queue 0 is receiveq0 (device →
 * driver), queue 1 transmitq0 (driver → device); no control queue, one
 * queue pair.
 *
 * Features: VIRTIO_NET_F_MAC (config `mac`, from the platform
 * description), VIRTIO_NET_F_STATUS (`status` reads VIRTIO_NET_S_LINK_UP),
 * VIRTIO_NET_F_MTU (config `mtu`, default 1500) and VIRTIO_NET_F_MRG_RXBUF
 * (a frame may fill several receive chains; the first header's
 * `num_buffers` says how many). VIRTIO_F_VERSION_1 (from the transport)
 * makes `struct virtio_net_hdr` 12 bytes with `num_buffers` always.
 *
 * Offloads (unless {@link NetOptions.offloads} is false): VIRTIO_NET_F_CSUM
 * and HOST_TSO4/6 (the driver may leave a partial checksum, NEEDS_CSUM, and
 * send TCP segments of up to 64 KiB, gso_type TCPV4/TCPV6), GUEST_CSUM and
 * GUEST_TSO4/6 (the driver takes them). The header's offload fields travel
 * with the frame through the switch (src/net/offload.ts): a port whose
 * driver negotiated the matching GUEST_* feature gets the frame and the
 * fields as sent; for any other (the uplink, a driver without them) the
 * switch completes the checksum or cuts the frame into gso_size segments,
 * so every offload offered is honoured or translated on every path. Not
 * offered: UFO/USO, HOST_ECN, GUEST_ANNOUNCE, the control queue (so the
 * driver cannot turn guest offloads off at run time).
 *
 * Transmit: each chain is a 12-byte header and a frame in device-readable
 * buffers. It is dropped, counted and logged (rate-limited), and still
 * returned on the used ring with length 0, when: it has device-writable
 * buffers, it is shorter than the header, a buffer lies outside the shared
 * region, the header asks for an offload that was not negotiated or is
 * malformed ({@link checkOffload}), or the frame is shorter than an
 * Ethernet header or, without GSO, longer than MTU + 14 (+ 4 with an
 * 802.1Q tag). A good frame goes to the switch. Every transmit chain is
 * returned with length 0: the device never gets stuck on one.
 *
 * Receive: frames the switch delivers wait in a bounded queue of this port
 * ({@link NetOptions.rxQueueFrames} frames, {@link NetOptions.rxQueueBytes}
 * bytes; beyond it they are dropped and counted, and only this port loses
 * them) until the driver posts receive chains. Chains are popped into a
 * held list until the oldest frame fits: with MRG_RXBUF over as many chains
 * as it needs (a frame bigger than what is posted waits for more; one that
 * could never fit, every descriptor being held, is dropped and counted),
 * without it in one chain (a chain too small for the frame: the frame is
 * dropped and counted, the chain kept for the next). A chain with
 * device-readable buffers, shorter than the header, or with a buffer outside
 * the shared region is returned with length 0 and counted. One used buffer
 * notification per burst. A device reset, or a reset of the receive queue,
 * drops the queued frames and the held chains. Before DRIVER_OK frames are
 * refused (the link is down for the switch).
 *
 * The frame path allocates nothing but short-lived typed-array views for
 * copies: the receive queue is one preallocated byte ring, the held chains
 * typed arrays, the header a fixed buffer.
 *
 * A host's network plane ({@link NetDevice.useHostPlane}, runtime/netplane.h)
 * may forward frames between two ports without calling this class: only
 * frames this class would forward unchanged (offloads included) to a port
 * whose receive side it does not hold (CTRL.RX: no frame queued, no chain
 * held or batched) and which takes their offload, into the next receive
 * chain (chains, with MRG_RXBUF). This class keeps the
 * port's control word current at the end of every call that changes what
 * it says, and folds the host's counters into its own and the switch's
 * when they are read.
 */
import { NET_PORT_WORDS, NetPortCtrl, NetPortWord, type Host } from '../host.ts';
import { ETH_HLEN, ETH_P_8021Q, VLAN_HLEN, parseMac, isGroupMac, type EthernetSwitch, type SwitchPort } from '../net/switch.ts';
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import { GuestMemoryError, type GuestMemory } from '../virtio/memory.ts';
import type { SplitQueue } from '../virtio/queue.ts';
import { readFromChain } from '../virtio/sg.ts';
import { DeviceId, hasFeature, setFeature } from '../virtio/spec.ts';
import { checkOffload, FrameOffload, GSO_MAX_FRAME, PortOffload } from '../net/offload.ts';
import {
  NET_MTU_DEFAULT, NET_MTU_MAX, NET_MTU_MIN, NetConfig, NetFeature, NetHdr, NetHdrFlag, NetQueue, NetStatus, GsoType,
} from './net-spec.ts';

/** Options of {@link NetDevice}. */
export interface NetOptions {
  /** the port's MAC, 'xx:xx:xx:xx:xx:xx', unicast and not all-zero */
  mac: string;
  /** MTU, bytes of an IP packet (default 1500; 68..65535) */
  mtu?: number;
  /** QueueNumMax of both queues (default 256; Linux fills receiveq to it at probe) */
  queueNumMax?: number;
  /** frames the receive queue holds while the driver has no buffers (default 256) */
  rxQueueFrames?: number;
  /** bytes the receive queue holds (default 512 KiB; at least one largest frame: MTU + 18, or a GSO frame of 65,554 with offloads) */
  rxQueueBytes?: number;
  /** an isolated port reaches only non-isolated ports of the switch (default false) */
  isolated?: boolean;
  /** offer the checksum and TCP segmentation offloads (default true; see the file's comment) */
  offloads?: boolean;
}

/** Counters of a virtio-net device. */
export interface NetCounters extends DeviceCounters {
  /** frames the driver transmitted that went to the switch, and their bytes (header excluded) */
  txFrames: number;
  txBytes: number;
  /** transmit chains dropped: device-writable buffers, shorter than the header, a buffer outside the shared region */
  txBadChain: number;
  /** transmit chains dropped: the header asks for an offload not negotiated, or a malformed one */
  txBadHeader: number;
  /** transmit chains dropped: frame shorter than 14 bytes or longer than MTU + 14 (+ 4 tagged) */
  txBadLength: number;
  /** frames written into receive buffers, and their bytes (header excluded) */
  rxFrames: number;
  rxBytes: number;
  /** frames dropped: the receive queue was full */
  rxQueueFull: number;
  /** frames refused: the driver was not running (no DRIVER_OK) */
  rxNotReady: number;
  /** frames refused: longer than this port's MTU allows */
  rxOversize: number;
  /** frames dropped: the posted chains could never hold them */
  rxTooBig: number;
  /** receive chains returned unused: device-readable buffers, shorter than the header, a buffer outside the shared region */
  rxBadChain: number;
  /** queued frames dropped by a device or queue reset */
  rxResetDropped: number;
}

/** A virtio-net device (device ID 1) for one frontend, a port of the backend's switch. */
export class NetDevice implements VirtioDevice, SwitchPort {
  readonly deviceId = DeviceId.NET;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 2;
  readonly config = new Uint8Array(NetConfig.SIZE);
  private readonly own: NetCounters = {
    chains: 0, errors: 0, txFrames: 0, txBytes: 0, txBadChain: 0, txBadHeader: 0, txBadLength: 0,
    rxFrames: 0, rxBytes: 0, rxQueueFull: 0, rxNotReady: 0, rxOversize: 0, rxTooBig: 0, rxBadChain: 0, rxResetDropped: 0,
  };
  /** the port's MAC as a number (src/net/switch.ts `parseMac`) */
  readonly mac: number;
  /** the port's MTU, bytes */
  readonly mtu: number;
  /** this port's id in the switch */
  readonly portId: number;

  private ctx: DeviceContext | null = null;
  private mrg = false;
  private readonly numMax: number;
  /** longest frame a port takes or sends: MTU + Ethernet header + an 802.1Q tag */
  private readonly maxFrame: number;
  /** longest frame the driver may send: maxFrame, or a GSO frame's with HOST_TSO offered */
  private readonly maxTxFrame: number;
  /** one transmitted frame, copied out of the chain */
  private readonly scratch: Uint8Array;
  private readonly hdr = new Uint8Array(NetHdr.SIZE);
  /** offloads offered */
  private readonly offer: boolean;
  /** {@link PortOffload} bits the driver negotiated for transmit (CSUM, HOST_TSO4/6) and for receive (GUEST_*) */
  private txAllowed = 0;
  private rxTakes = 0;
  /** the offload of the frame in scratch */
  private readonly txOff = new FrameOffload();

  // ---- the receive queue: frames in a byte ring, oldest at ringHead ----
  private readonly ring: Uint8Array;
  private readonly ringSize: number;
  private ringHead = 0;
  private ringUsed = 0;
  private readonly frameLen: Uint32Array;
  private readonly maxFrames: number;
  private frameHead = 0;
  private frameCount = 0;
  /** each queued frame's offload: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (zero: none) */
  private readonly frameOff: Uint16Array;

  // ---- receive chains popped and not yet used: heads, bytes, writable buffers as offsets in the region ----
  private heldCount = 0;
  private heldBytes = 0;
  private heldGeneration = -1;
  private readonly heldHead: Uint32Array;
  private readonly heldBytesOf: Float64Array;
  private readonly heldSegStart: Uint32Array;
  private segCount = 0;
  private segOff: Uint32Array;
  private segLen: Uint32Array;

  // ---- the host's network plane ----
  /** the port's state words ({@link NetPortWord}), null: no plane */
  private plane: Uint32Array | null = null;
  /** the plane's counters already folded: tx frames, tx bytes, rx frames, rx bytes */
  private readonly planeFolded = new Float64Array(5);

  /**
   * @param name for logs, e.g. 'net0'
   * @param sw the backend's switch; the device attaches itself as a port
   * @throws RangeError for a MAC that is not unicast 'xx:xx:xx:xx:xx:xx' or all-zero, an MTU outside 68..65535, a receive queue smaller than one frame
   */
  constructor(readonly name: string, private readonly sw: EthernetSwitch, options: NetOptions) {
    const mac = parseMac(options.mac);
    if (mac < 0) throw new RangeError(`${name}: MAC ${options.mac} is not xx:xx:xx:xx:xx:xx`);
    if (mac === 0 || isGroupMac(mac)) throw new RangeError(`${name}: MAC ${options.mac} is not a unicast address`);
    const mtu = options.mtu ?? NET_MTU_DEFAULT;
    if (!Number.isInteger(mtu) || mtu < NET_MTU_MIN || mtu > NET_MTU_MAX) throw new RangeError(`${name}: MTU ${mtu} outside ${NET_MTU_MIN}..${NET_MTU_MAX}`);
    this.mac = mac;
    this.mtu = mtu;
    this.maxFrame = mtu + ETH_HLEN + VLAN_HLEN;
    this.offer = options.offloads ?? true;
    this.maxTxFrame = this.offer ? Math.max(this.maxFrame, GSO_MAX_FRAME) : this.maxFrame;
    this.numMax = options.queueNumMax ?? 256;
    this.maxFrames = options.rxQueueFrames ?? 256;
    this.ringSize = options.rxQueueBytes ?? 512 * 1024;
    if (!Number.isInteger(this.maxFrames) || this.maxFrames < 1) throw new RangeError(`${name}: rxQueueFrames ${this.maxFrames} is not a positive integer`);
    if (!Number.isInteger(this.ringSize) || this.ringSize < this.maxTxFrame) throw new RangeError(`${name}: rxQueueBytes ${this.ringSize} holds no frame of ${this.maxTxFrame} bytes`);
    this.scratch = new Uint8Array(this.maxTxFrame);
    this.frameOff = new Uint16Array(6 * this.maxFrames);
    this.ring = new Uint8Array(this.ringSize);
    this.frameLen = new Uint32Array(this.maxFrames);
    this.heldHead = new Uint32Array(this.numMax);
    this.heldBytesOf = new Float64Array(this.numMax);
    this.heldSegStart = new Uint32Array(this.numMax + 1);
    this.segOff = new Uint32Array(2 * this.numMax);
    this.segLen = new Uint32Array(2 * this.numMax);

    setFeature(this.deviceFeatures, NetFeature.MAC);
    setFeature(this.deviceFeatures, NetFeature.STATUS);
    setFeature(this.deviceFeatures, NetFeature.MTU);
    setFeature(this.deviceFeatures, NetFeature.MRG_RXBUF);
    if (this.offer) {
      for (const f of [NetFeature.CSUM, NetFeature.GUEST_CSUM, NetFeature.HOST_TSO4, NetFeature.HOST_TSO6, NetFeature.GUEST_TSO4, NetFeature.GUEST_TSO6]) {
        setFeature(this.deviceFeatures, f);
      }
    }
    const cfg = new DataView(this.config.buffer);
    for (let i = 0; i < 6; i++) this.config[NetConfig.mac + i] = Math.floor(mac / 2 ** (8 * (5 - i))) % 256;
    cfg.setUint16(NetConfig.status, NetStatus.LINK_UP, true);
    cfg.setUint16(NetConfig.max_virtqueue_pairs, 1, true);
    cfg.setUint16(NetConfig.mtu, mtu, true);
    this.portId = sw.attach(this, { isolated: options.isolated ?? false, mac });
  }

  /** Counters of the port, the frames a host plane forwarded included. */
  get counters(): NetCounters {
    this.syncCounters();
    return this.own;
  }

  /**
   * Lets the host's network plane forward frames of this port ({@link
   * Host.netPort}): `dmId` is the device model whose data plane the host
   * serves, `queues` the transport's queues (both served by the host's C
   * virtqueue, {@link SplitQueue.useHost}); the switch must have given the
   * host its table first ({@link EthernetSwitch.useHostTable}).
   * @returns whether the host took the port
   */
  useHostPlane(host: Host, dmId: number, queues: readonly SplitQueue[]): boolean {
    if (!host.netPort || this.plane !== null) return false;
    const rx = queues[NetQueue.RECEIVEQ].hostState;
    const tx = queues[NetQueue.TRANSMITQ].hostState;
    if (rx === null || tx === null) return false;
    const st = new Uint32Array(NET_PORT_WORDS);
    st[NetPortWord.PORT] = this.portId;
    st[NetPortWord.MAX_FRAME] = this.maxFrame;
    if (!host.netPort(dmId, st, rx, tx)) return false;
    this.plane = st;
    this.updatePlane();
    return true;
  }

  /** The host plane's state words, or null (for metrics). */
  get planeState(): Uint32Array | null {
    return this.plane;
  }

  /** See {@link SwitchPort.syncCounters}: adds what the host forwarded since the last call. */
  syncCounters(): void {
    const st = this.plane;
    if (st === null) return;
    const f = this.planeFolded;
    const txFrames = st[NetPortWord.N_TX_FRAMES] - f[0];
    const txBytes = st[NetPortWord.N_TX_BYTES_LO] + st[NetPortWord.N_TX_BYTES_HI] * 4294967296 - f[1];
    const rxFrames = st[NetPortWord.N_RX_FRAMES] - f[2];
    const rxBytes = st[NetPortWord.N_RX_BYTES_LO] + st[NetPortWord.N_RX_BYTES_HI] * 4294967296 - f[3];
    if (txFrames === 0 && rxFrames === 0) return;
    const dTx = txFrames >>> 0; // the frame and chain counters are u32 and wrap
    const dRx = rxFrames >>> 0;
    const dRxChains = (st[NetPortWord.N_RX_CHAINS] - f[4]) >>> 0;
    f[4] = st[NetPortWord.N_RX_CHAINS];
    f[0] = st[NetPortWord.N_TX_FRAMES];
    f[1] += txBytes;
    f[2] = st[NetPortWord.N_RX_FRAMES];
    f[3] += rxBytes;
    const c = this.own;
    c.chains += dTx + dRxChains;
    c.txFrames += dTx;
    c.txBytes += txBytes;
    c.rxFrames += dRx;
    c.rxBytes += rxBytes;
    this.sw.hostForwarded(this.portId, dTx, txBytes, dRx, rxBytes);
  }

  /** Rewrites the plane's control word from this device's state (see the file's comment). */
  private updatePlane(): void {
    if (this.plane !== null) this.plane[NetPortWord.CTRL] = this.planeControl;
  }

  /**
   * The {@link NetPortCtrl} bits this device's state allows a host plane
   * now: TX while it is live with transmitq enabled, served by the host's
   * C virtqueue and idle; RX while it is live with receiveq so, and no
   * frame waits here and no receive chain is held; ISOLATED, MRG_RXBUF and
   * the offloads (TX_*, RX_*) as configured and negotiated.
   */
  get planeControl(): number {
    let bits = this.sw.isIsolated(this.portId) ? NetPortCtrl.ISOLATED : 0;
    const ctx = this.ctx;
    if (ctx !== null) {
      if (this.mrg) bits |= NetPortCtrl.MRG_RXBUF;
      // PortOffload bits: CSUM 1, TSO4 2, TSO6 4 → TX_* from 16, RX_* from 128
      bits |= (this.txAllowed * NetPortCtrl.TX_CSUM) | (this.rxTakes * NetPortCtrl.RX_CSUM);
      const tx = ctx.queues[NetQueue.TRANSMITQ];
      const rx = ctx.queues[NetQueue.RECEIVEQ];
      if (tx.enabled && tx.hostServed && tx.hostIdle) bits |= NetPortCtrl.TX;
      if (rx.enabled && rx.hostServed && rx.hostIdle && this.frameCount === 0 && this.heldCount === 0) bits |= NetPortCtrl.RX;
    }
    return bits;
  }

  /** See {@link SwitchPort.offloads}: what the driver negotiated to receive (GUEST_CSUM, GUEST_TSO4/6); none while it is not live. */
  get offloads(): number {
    return this.ctx !== null ? this.rxTakes : 0;
  }

  /** QueueNumMax of either queue. */
  queueNumMax(): number {
    return this.numMax;
  }

  /** Frames waiting for receive buffers. */
  get rxQueuedFrames(): number {
    return this.frameCount;
  }

  /** Receive chains popped and held for the next frame. */
  get rxHeldChains(): number {
    return this.heldCount;
  }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.mrg = hasFeature(ctx.features, NetFeature.MRG_RXBUF);
    this.txAllowed = offloadBits(ctx.features, NetFeature.CSUM, NetFeature.HOST_TSO4, NetFeature.HOST_TSO6);
    this.rxTakes = offloadBits(ctx.features, NetFeature.GUEST_CSUM, NetFeature.GUEST_TSO4, NetFeature.GUEST_TSO6);
    this.heldCount = 0;
    this.heldBytes = 0;
    this.segCount = 0;
    this.updatePlane();
  }

  /** See {@link VirtioDevice.reset}: queued frames and held chains are dropped; the switch forgets the port's addresses. */
  reset(): void {
    this.ctx = null;
    this.txAllowed = 0;
    this.rxTakes = 0;
    this.updatePlane();
    this.dropQueued();
    this.heldCount = 0;
    this.heldBytes = 0;
    this.segCount = 0;
    this.sw.forgetPort(this.portId);
  }

  /** See {@link VirtioDevice.queueReset}: receive chains held from the reset receiveq are forgotten, never returned. */
  queueReset(index: number): void {
    if (index === NetQueue.RECEIVEQ) {
      this.heldCount = 0;
      this.heldBytes = 0;
      this.segCount = 0;
    }
    this.updatePlane();
  }

  /** See {@link VirtioDevice.processQueue}. @throws QueueError for a malformed ring or chain */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    try {
      if (index === NetQueue.TRANSMITQ) {
        try {
          this.transmit(ctx);
        } finally {
          // frames for other ports: each fills its own receive buffers, its errors its own
          this.sw.flush();
        }
      } else if (index === NetQueue.RECEIVEQ) {
        this.fillReceive(ctx);
      }
    } finally {
      this.updatePlane();
    }
  }

  /** See {@link SwitchPort.deliver}: queues the frame for the driver. */
  deliver(frame: Uint8Array, len: number, off: FrameOffload | null = null): boolean {
    if (!this.ctx) {
      this.own.rxNotReady++;
      return false;
    }
    const active = off !== null && off.active;
    if (active && off.gsoType !== GsoType.NONE) {
      // segments of this port's MTU, in a frame the driver takes (the switch gave it only a GSO type it negotiated)
      if (len > GSO_MAX_FRAME || off.hdrLen + off.gsoSize > this.maxFrame || (off.needs & ~this.rxTakes) !== 0) {
        this.own.rxOversize++;
        return false;
      }
    } else if (len > this.maxFrame || (len > this.maxFrame - VLAN_HLEN && !isTagged(frame))) {
      this.own.rxOversize++;
      return false;
    }
    if (this.frameCount === this.maxFrames || this.ringUsed + len > this.ringSize) {
      this.own.rxQueueFull++;
      return false;
    }
    const size = this.ringSize;
    let at = this.ringHead + this.ringUsed;
    if (at >= size) at -= size;
    const first = size - at;
    const src = frame.length === len ? frame : frame.subarray(0, len);
    if (len <= first) this.ring.set(src, at);
    else {
      this.ring.set(src.subarray(0, first), at);
      this.ring.set(src.subarray(first), 0);
    }
    let slot = this.frameHead + this.frameCount;
    if (slot >= this.maxFrames) slot -= this.maxFrames;
    this.frameLen[slot] = len;
    const o = 6 * slot;
    const fo = this.frameOff;
    if (active) {
      fo[o] = off.flags;
      fo[o + 1] = off.gsoType;
      fo[o + 2] = off.hdrLen;
      fo[o + 3] = off.gsoSize;
      fo[o + 4] = off.csumStart;
      fo[o + 5] = off.csumOffset;
    } else {
      fo.fill(0, o, o + 6);
    }
    this.frameCount++;
    this.ringUsed += len;
    // a frame waits here: the host must not fill receiveq ahead of it
    if (this.plane !== null) this.plane[NetPortWord.CTRL] &= ~NetPortCtrl.RX;
    return true;
  }

  /** See {@link SwitchPort.flush}: fills receive buffers with what was delivered; a queue error fails this device only. */
  flush(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    try {
      this.fillReceive(ctx);
    } catch (e) {
      ctx.fail(`receiveq: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.updatePlane();
    }
  }

  // ---- transmit ----

  private transmit(ctx: DeviceContext): void {
    const q = ctx.queues[NetQueue.TRANSMITQ];
    const chain = ctx.chain;
    try {
      while (q.pop(chain)) {
        this.own.chains++;
        const len = this.readFrame(ctx);
        q.push(chain.head, 0);
        if (len > 0) {
          this.own.txFrames++;
          this.own.txBytes += len;
          this.sw.forward(this.portId, this.scratch, len, this.txOff.active ? this.txOff : null);
        }
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }

  /** Copies the frame of ctx.chain into scratch; returns its length, or 0 after dropping and counting a bad chain. */
  private readFrame(ctx: DeviceContext): number {
    const chain = ctx.chain;
    if (chain.firstWritable !== chain.count) return this.txDrop(ctx, 'txBadChain', 'has device-writable buffers');
    const len = chain.readableBytes - NetHdr.SIZE;
    if (len < 0) return this.txDrop(ctx, 'txBadChain', `is ${chain.readableBytes} bytes, shorter than the ${NetHdr.SIZE}-byte header`);
    const limit = (this.txAllowed & (PortOffload.TSO4 | PortOffload.TSO6)) !== 0 ? this.maxTxFrame : this.maxFrame;
    if (len < ETH_HLEN || len > limit) return this.txDrop(ctx, 'txBadLength', `carries a frame of ${len} bytes, outside ${ETH_HLEN}..${limit === this.maxFrame ? limit - VLAN_HLEN : limit} (MTU ${this.mtu})`);
    const hdr = this.hdr;
    try {
      readFromChain(ctx.mem, chain, 0, hdr);
      readFromChain(ctx.mem, chain, NetHdr.SIZE, this.scratch.subarray(0, len));
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      return this.txDrop(ctx, 'txBadChain', `has a buffer outside the shared region (${e.message})`);
    }
    const off = this.txOff;
    off.clear();
    if ((hdr[NetHdr.flags] & NetHdrFlag.NEEDS_CSUM) !== 0 || hdr[NetHdr.gso_type] !== GsoType.NONE) {
      off.flags = hdr[NetHdr.flags];
      off.gsoType = hdr[NetHdr.gso_type];
      off.gsoSize = hdr[NetHdr.gso_size] | (hdr[NetHdr.gso_size + 1] << 8);
      off.csumStart = hdr[NetHdr.csum_start] | (hdr[NetHdr.csum_start + 1] << 8);
      off.csumOffset = hdr[NetHdr.csum_offset] | (hdr[NetHdr.csum_offset + 1] << 8);
      const why = checkOffload(this.scratch, len, off, this.txAllowed, this.maxFrame);
      if (why !== '') {
        off.clear();
        return this.txDrop(ctx, 'txBadHeader', `${why} (flags 0x${hdr[NetHdr.flags].toString(16)}, gso_type ${hdr[NetHdr.gso_type]})`);
      }
      if (off.gsoType !== GsoType.NONE) return len;
    }
    if (len > this.maxFrame) return this.txDrop(ctx, 'txBadLength', `carries a frame of ${len} bytes without GSO, beyond ${this.maxFrame} (MTU ${this.mtu})`);
    if (len > this.maxFrame - VLAN_HLEN && !isTagged(this.scratch)) {
      return this.txDrop(ctx, 'txBadLength', `carries an untagged frame of ${len} bytes, beyond ${this.maxFrame - VLAN_HLEN} (MTU ${this.mtu})`);
    }
    return len;
  }

  private txDrop(ctx: DeviceContext, counter: 'txBadChain' | 'txBadHeader' | 'txBadLength', why: string): number {
    this.own[counter]++;
    this.own.errors++;
    ctx.log(`dropped a transmit chain: it ${why}`);
    return 0;
  }

  // ---- receive ----

  /**
   * Moves queued frames into receive chains while the driver has posted
   * enough, then sends one used buffer notification.
   * @throws QueueError for a malformed ring (the transport fails the device)
   */
  private fillReceive(ctx: DeviceContext): void {
    const q = ctx.queues[NetQueue.RECEIVEQ];
    if (!q.enabled) return;
    if (this.heldGeneration !== q.generation) {
      // the queue was (re)enabled: chains held from its last life belong to no ring
      this.heldCount = 0;
      this.heldBytes = 0;
      this.segCount = 0;
      this.heldGeneration = q.generation;
    }
    if (this.frameCount === 0) return;
    let pushed = false;
    try {
      while (this.frameCount > 0) {
        const len = this.frameLen[this.frameHead];
        const need = NetHdr.SIZE + len;
        if (this.mrg) {
          // at most Queue Size chains held: a driver that posts a head again while it is held gets no more
          while (this.heldBytes < need && this.heldCount < q.num) {
            const r = this.popReceive(ctx, q);
            if (r < 0) pushed = true; // a bad chain, returned
            else if (r === 0) break;
          }
          if (this.heldBytes < need) {
            if (this.heldCount < q.num) break; // the frame waits for more buffers
            this.rxDropFrame(ctx, 'rxTooBig', `a frame of ${len} bytes does not fit in the ${this.heldBytes} bytes of every posted buffer`);
            continue;
          }
        } else {
          while (this.heldCount === 0) {
            const r = this.popReceive(ctx, q);
            if (r < 0) pushed = true;
            else if (r === 0) break;
          }
          if (this.heldCount === 0) break;
          if (this.heldBytesOf[0] < need) {
            this.rxDropFrame(ctx, 'rxTooBig', `a frame of ${len} bytes does not fit in a receive chain of ${this.heldBytesOf[0]} bytes (no VIRTIO_NET_F_MRG_RXBUF)`);
            continue;
          }
        }
        this.writeFrame(ctx.mem, q, len);
        pushed = true;
      }
    } finally {
      if (pushed && this.ctx) ctx.signalUsed(q);
    }
  }

  /**
   * Pops one receive chain into the held list. Returns 1 if it was held,
   * 0 if the driver has none available, -1 if it was bad (returned with
   * length 0 and counted).
   */
  private popReceive(ctx: DeviceContext, q: SplitQueue): number {
    const chain = ctx.chain;
    if (!q.pop(chain)) return 0;
    this.own.chains++;
    let why = '';
    if (chain.firstWritable !== 0) why = 'has device-readable buffers';
    else if (chain.writableBytes < NetHdr.SIZE) why = `is ${chain.writableBytes} bytes, shorter than the ${NetHdr.SIZE}-byte header`;
    else {
      const mem = ctx.mem;
      let s = this.segCount;
      for (let i = 0; i < chain.count; i++) {
        const n = chain.len[i];
        if (n === 0) continue;
        const off = mem.check(chain.addr[i], n);
        if (off < 0) {
          why = `has a buffer 0x${chain.addr[i].toString(16)}+${n} outside the shared region`;
          break;
        }
        if (s === this.segOff.length) this.growSegments();
        this.segOff[s] = off;
        this.segLen[s] = n;
        s++;
      }
      if (why === '') {
        const k = this.heldCount;
        this.heldHead[k] = chain.head;
        this.heldBytesOf[k] = chain.writableBytes;
        this.heldSegStart[k] = this.segCount;
        this.heldSegStart[k + 1] = s;
        this.segCount = s;
        this.heldCount = k + 1;
        this.heldBytes += chain.writableBytes;
        return 1;
      }
    }
    this.own.rxBadChain++;
    this.own.errors++;
    ctx.log(`returned a receive chain unused: it ${why}`);
    q.push(chain.head, 0);
    return -1;
  }

  private growSegments(): void {
    const n = this.segOff.length * 2;
    const o = new Uint32Array(n); o.set(this.segOff); this.segOff = o;
    const l = new Uint32Array(n); l.set(this.segLen); this.segLen = l;
  }

  /**
   * Writes the oldest frame, after its header, into the first held chains
   * (as many as it needs), pushes them and drops the frame from the queue.
   */
  private writeFrame(mem: GuestMemory, q: SplitQueue, len: number): void {
    const total = NetHdr.SIZE + len;
    // chains the frame takes: one without MRG_RXBUF, else as many as its bytes need
    let k = 1;
    if (this.mrg) for (let bytes = this.heldBytesOf[0]; bytes < total; k++) bytes += this.heldBytesOf[k];
    const hdr = this.hdr;
    const o = 6 * this.frameHead;
    const fo = this.frameOff;
    hdr[NetHdr.flags] = fo[o];
    hdr[NetHdr.gso_type] = fo[o + 1];
    hdr[NetHdr.hdr_len] = fo[o + 2] & 0xff;
    hdr[NetHdr.hdr_len + 1] = fo[o + 2] >>> 8;
    hdr[NetHdr.gso_size] = fo[o + 3] & 0xff;
    hdr[NetHdr.gso_size + 1] = fo[o + 3] >>> 8;
    hdr[NetHdr.csum_start] = fo[o + 4] & 0xff;
    hdr[NetHdr.csum_start + 1] = fo[o + 4] >>> 8;
    hdr[NetHdr.csum_offset] = fo[o + 5] & 0xff;
    hdr[NetHdr.csum_offset + 1] = fo[o + 5] >>> 8;
    hdr[NetHdr.num_buffers] = k & 0xff;
    hdr[NetHdr.num_buffers + 1] = k >>> 8;
    const u8 = mem.u8;
    const ring = this.ring;
    const size = this.ringSize;
    let from = this.ringHead; // next frame byte in the ring
    let pos = 0; // bytes of header + frame written
    for (let c = 0; c < k; c++) {
      let used = 0;
      for (let s = this.heldSegStart[c], end = this.heldSegStart[c + 1]; s < end && pos < total; s++) {
        let off = this.segOff[s];
        let n = Math.min(this.segLen[s], total - pos);
        used += n;
        // the header, byte by byte (12 bytes, possibly split)
        while (pos < NetHdr.SIZE && n > 0) {
          u8[off++] = hdr[pos++];
          n--;
        }
        // frame bytes, in at most two pieces of the ring
        while (n > 0) {
          const m = Math.min(n, size - from);
          u8.set(ring.subarray(from, from + m), off);
          off += m;
          n -= m;
          pos += m;
          from += m;
          if (from === size) from = 0;
        }
      }
      q.push(this.heldHead[c], used);
    }
    this.own.rxFrames++;
    this.own.rxBytes += len;
    this.shiftHeld(k);
    this.popFrame();
  }

  /** Forgets the first `k` held chains (pushed), keeping the others in order. */
  private shiftHeld(k: number): void {
    const rest = this.heldCount - k;
    if (rest > 0) {
      const segFrom = this.heldSegStart[k];
      this.heldHead.copyWithin(0, k, this.heldCount);
      this.heldBytesOf.copyWithin(0, k, this.heldCount);
      this.segOff.copyWithin(0, segFrom, this.segCount);
      this.segLen.copyWithin(0, segFrom, this.segCount);
      for (let i = 0; i <= rest; i++) this.heldSegStart[i] = this.heldSegStart[i + k] - segFrom;
      this.segCount -= segFrom;
    } else {
      this.segCount = 0;
    }
    this.heldCount = rest;
    let b = 0;
    for (let i = 0; i < rest; i++) b += this.heldBytesOf[i];
    this.heldBytes = b;
  }

  /** Drops the oldest queued frame. */
  private popFrame(): void {
    const len = this.frameLen[this.frameHead];
    this.ringHead += len;
    if (this.ringHead >= this.ringSize) this.ringHead -= this.ringSize;
    this.ringUsed -= len;
    if (++this.frameHead === this.maxFrames) this.frameHead = 0;
    if (--this.frameCount === 0) {
      this.ringHead = 0;
      this.frameHead = 0;
    }
  }

  private rxDropFrame(ctx: DeviceContext, counter: 'rxTooBig', why: string): void {
    this.own[counter]++;
    this.own.errors++;
    ctx.log(`dropped a received frame: ${why}`);
    this.popFrame();
  }

  private dropQueued(): void {
    this.own.rxResetDropped += this.frameCount;
    this.frameCount = 0;
    this.frameHead = 0;
    this.ringHead = 0;
    this.ringUsed = 0;
  }
}

/**
 * The {@link PortOffload} bits of one direction's negotiated features: its
 * checksum feature and, with it only (TSO depends on it, virtio 1.2
 * 5.1.3.1: a driver that takes TSO without it gets neither), its TSO4/TSO6.
 */
function offloadBits(f: Uint32Array, csum: number, tso4: number, tso6: number): number {
  if (!hasFeature(f, csum)) return 0;
  return PortOffload.CSUM | (hasFeature(f, tso4) ? PortOffload.TSO4 : 0) | (hasFeature(f, tso6) ? PortOffload.TSO6 : 0);
}

/** Whether an Ethernet frame carries an 802.1Q tag (TPID 0x8100 at offset 12). */
function isTagged(frame: Uint8Array): boolean {
  return frame[12] === ETH_P_8021Q >>> 8 && frame[13] === (ETH_P_8021Q & 0xff);
}
