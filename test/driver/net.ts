// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-net driver model (Linux 6.1 `drivers/net/virtio_net.c` in
 * miniature): probe reads mac, status and mtu from the config space; the
 * receive queue is filled at probe with single-buffer chains (mergeable
 * buffers with VIRTIO_NET_F_MRG_RXBUF, else buffers that hold a header and
 * a whole frame); a frame is sent as the 12-byte `virtio_net_hdr` and the
 * frame in one buffer (Linux pushes the header into the headroom) or split
 * into several; received frames are put together from `num_buffers` used
 * buffers and the buffers posted again.
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import { NetConfig, NetFeature, NetHdr } from '../../src/devices/net-spec.ts';
import { DeviceId } from '../../src/virtio/spec.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type Buf, type ProbeOptions } from './virtio.ts';

/** Options of {@link NetDriver}. */
export interface NetDriverOptions extends ProbeOptions {
  /** the frontend vCPU that does the accesses (default 0) */
  vcpu?: number;
  /** receive buffers posted at probe (default: the whole queue) */
  rxBuffers?: number;
  /** bytes of each receive buffer (default: 1526 = header + 1514-byte frame, as Linux's smallest) */
  rxBufBytes?: number;
  /** Queue Size to ask for (default QueueNumMax) */
  queueSize?: number;
}

/** One frame the driver received. */
export interface NetRxFrame {
  /** the frame (header removed) */
  frame: Uint8Array;
  /** the header's num_buffers */
  numBuffers: number;
  /** the header's flags, gso_type, hdr_len, gso_size, csum_start and csum_offset */
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** The offload fields of a transmitted header (virtio 1.2 5.1.6); absent ones are 0. */
export interface NetTxHeader {
  flags?: number;
  gsoType?: number;
  hdrLen?: number;
  gsoSize?: number;
  csumStart?: number;
  csumOffset?: number;
}

/** The feature bits of the checksum and TCP segmentation offloads, both directions. */
export const OFFLOAD_FEATURES: readonly number[] = [
  NetFeature.CSUM, NetFeature.GUEST_CSUM, NetFeature.HOST_TSO4, NetFeature.HOST_TSO6, NetFeature.GUEST_TSO4, NetFeature.GUEST_TSO6,
];

/** A {@link ProbeOptions.accept} that takes everything offered but the offloads. */
export const noOffloads = (bit: number): boolean => !OFFLOAD_FEATURES.includes(bit);

/** Builds an Ethernet frame: destination, source, ethertype, then `payload`. */
export function ethFrame(dst: string, src: string, payload: Uint8Array, etherType = 0x88b5): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  macBytes(dst, f, 0);
  macBytes(src, f, 6);
  f[12] = etherType >>> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}

/** Writes the six bytes of 'xx:xx:xx:xx:xx:xx' at `out[off..]`. */
export function macBytes(mac: string, out: Uint8Array, off: number): void {
  const parts = mac.split(':');
  for (let i = 0; i < 6; i++) out[off + i] = parseInt(parts[i], 16);
}

/** The broadcast address. */
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** A virtio-net frontend. */
export class NetDriver {
  readonly drv: VirtioMmioDriver;
  readonly rx: DriverQueue;
  readonly tx: DriverQueue;
  /** config values as the driver read them */
  readonly mac: string;
  readonly status: number;
  readonly mtu: number;
  /** whether VIRTIO_NET_F_MRG_RXBUF was negotiated */
  readonly mrg: boolean;
  /** bytes of each receive buffer this driver posts */
  readonly rxBufBytes: number;
  /** used receive elements of length 0 (chains the device returned unused) */
  emptyUsed = 0;
  /** per posted receive head: where its data starts, and the pool allocations to free */
  private readonly rxBufs = new Map<number, { addr: number; allocs: number[] }>();

  constructor(readonly sim: SimBao, readonly model: DeviceModel, opts: NetDriverOptions = {}) {
    this.drv = new VirtioMmioDriver(sim, model, opts.vcpu ?? 0);
    this.drv.probe(DeviceId.NET, opts);
    const mac: string[] = [];
    for (let i = 0; i < 6; i++) mac.push(this.drv.readConfig(NetConfig.mac + i, 1).toString(16).padStart(2, '0'));
    this.mac = mac.join(':');
    this.status = this.drv.readConfig(NetConfig.status, 2);
    this.mtu = this.drv.readConfig(NetConfig.mtu, 2);
    this.mrg = this.drv.has(NetFeature.MRG_RXBUF);
    this.rxBufBytes = opts.rxBufBytes ?? NetHdr.SIZE + 1514;
    this.rx = this.drv.setupQueue(0, opts.queueSize);
    this.tx = this.drv.setupQueue(1, opts.queueSize);
    const n = Math.min(opts.rxBuffers ?? this.rx.num, this.rx.num);
    for (let i = 0; i < n; i++) this.postRx();
    this.drv.driverOk();
    this.rx.kick();
  }

  /** Posts one receive buffer of `bytes` (default {@link NetDriver.rxBufBytes}); kick separately. */
  postRx(bytes = this.rxBufBytes): void {
    const a = this.drv.pool.alloc(bytes, 16);
    this.drv.mem.fill(a, bytes, 0xee);
    const head = this.rx.add([], [{ addr: a, len: bytes }]);
    this.rxBufs.set(head, { addr: a, allocs: [a] });
  }

  /**
   * Posts one receive chain of device-readable buffers of `outLens` bytes,
   * then device-writable ones of `inLens` bytes (raw: for malformed
   * chains), and `extra` device-writable buffers placed anywhere; kick separately.
   */
  postRawRx(outLens: number[], inLens: number[], extra: Buf[] = []): void {
    const allocs: number[] = [];
    const mk = (n: number): Buf => {
      const a = this.drv.pool.alloc(Math.max(n, 1), 8);
      allocs.push(a);
      return { addr: a, len: n };
    };
    const out = outLens.map(mk);
    const inb = [...inLens.map(mk), ...extra];
    const head = this.rx.add(out, inb);
    this.rxBufs.set(head, { addr: inb.length ? inb[0].addr : 0, allocs });
  }

  /** Posts `n` receive buffers and kicks. */
  post(n: number, bytes = this.rxBufBytes): void {
    for (let i = 0; i < n; i++) this.postRx(bytes);
    this.rx.kick();
  }

  /** Receive buffers posted and not yet used. */
  get rxPosted(): number {
    return this.rxBufs.size;
  }

  /**
   * Sends one frame: a header (zero but the `header` fields given) and the
   * frame, in one buffer, or in buffers of at most `split` bytes. Returns
   * the used length the device reported once it returned the chain.
   */
  send(frame: Uint8Array, split = Infinity, header: NetTxHeader = {}): number {
    const all = new Uint8Array(NetHdr.SIZE + frame.length);
    const v = new DataView(all.buffer);
    all[NetHdr.flags] = header.flags ?? 0;
    all[NetHdr.gso_type] = header.gsoType ?? 0;
    v.setUint16(NetHdr.hdr_len, header.hdrLen ?? 0, true);
    v.setUint16(NetHdr.gso_size, header.gsoSize ?? 0, true);
    v.setUint16(NetHdr.csum_start, header.csumStart ?? 0, true);
    v.setUint16(NetHdr.csum_offset, header.csumOffset ?? 0, true);
    all.set(frame, NetHdr.SIZE);
    const parts: Uint8Array[] = [];
    for (let o = 0; o < all.length; o += split) parts.push(all.subarray(o, Math.min(all.length, o + split)));
    return this.sendRaw(parts);
  }

  /**
   * Sends one chain of device-readable `out` buffers (and device-writable
   * buffers of `inLens` bytes): raw, for malformed chains. Returns the used
   * length the device reported. @throws Error if the chain did not come back
   */
  sendRaw(out: Uint8Array[], inLens: number[] = [], extra: Buf[] = []): number {
    const allocs: number[] = [];
    const outBufs: Buf[] = out.map((p) => {
      const a = this.drv.pool.alloc(Math.max(p.length, 1), 8);
      this.drv.mem.write(a, p);
      allocs.push(a);
      return { addr: a, len: p.length };
    });
    const inBufs: Buf[] = inLens.map((n) => {
      const a = this.drv.pool.alloc(Math.max(n, 1), 8);
      allocs.push(a);
      return { addr: a, len: n };
    });
    const head = this.tx.add([...outBufs, ...extra], inBufs);
    this.tx.kick();
    this.drv.handleInterrupt();
    let len = -1;
    for (let u = this.tx.getUsed(); u; u = this.tx.getUsed()) {
      if (u.id !== head) throw new Error(`transmitq used ${u.id}, expected ${head}`);
      len = u.len;
    }
    if (len < 0) throw new Error('transmit chain not returned');
    for (const a of allocs) this.drv.pool.release(a);
    return len;
  }

  /**
   * The frames the device delivered since the last call, put together from
   * num_buffers used buffers each (one without MRG_RXBUF); every used
   * buffer is posted again (unless `repost` is false) and the queue kicked.
   * @throws Error if a merged frame is missing buffers
   */
  receive(repost = true): NetRxFrame[] {
    this.drv.handleInterrupt();
    const m = this.drv.mem;
    const out: NetRxFrame[] = [];
    const used: { addr: number; len: number; allocs: number[] }[] = [];
    for (let u = this.rx.getUsed(); u; u = this.rx.getUsed()) {
      const b = this.rxBufs.get(u.id);
      if (b === undefined) throw new Error(`unknown receive head ${u.id}`);
      this.rxBufs.delete(u.id);
      used.push({ addr: b.addr, len: u.len, allocs: b.allocs });
    }
    for (let i = 0; i < used.length;) {
      const first = used[i];
      if (first.len === 0) {
        this.emptyUsed++;
        i++;
        continue;
      }
      if (first.len < NetHdr.SIZE) throw new Error(`used length ${first.len}, shorter than the header`);
      const numBuffers = m.r16(first.addr + NetHdr.num_buffers);
      const flags = m.r8(first.addr + NetHdr.flags);
      const gsoType = m.r8(first.addr + NetHdr.gso_type);
      const hdrLen = m.r16(first.addr + NetHdr.hdr_len);
      const gsoSize = m.r16(first.addr + NetHdr.gso_size);
      const csumStart = m.r16(first.addr + NetHdr.csum_start);
      const csumOffset = m.r16(first.addr + NetHdr.csum_offset);
      const take = this.mrg ? numBuffers : 1;
      if (i + take > used.length) throw new Error(`num_buffers ${numBuffers} but ${used.length - i} used buffers`);
      const pieces = [m.read(first.addr + NetHdr.SIZE, first.len - NetHdr.SIZE)];
      for (let j = 1; j < take; j++) pieces.push(m.read(used[i + j].addr, used[i + j].len));
      const total = pieces.reduce((s, p) => s + p.length, 0);
      const frame = new Uint8Array(total);
      let o = 0;
      for (const p of pieces) {
        frame.set(p, o);
        o += p.length;
      }
      out.push({ frame, numBuffers, flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset });
      i += take;
    }
    for (const u of used) for (const a of u.allocs) this.drv.pool.release(a);
    if (repost && used.length) {
      for (let i = 0; i < used.length; i++) this.postRx();
      this.rx.kick();
    }
    return out;
  }

  /** Just the frames of {@link NetDriver.receive}. */
  frames(repost = true): Uint8Array[] {
    return this.receive(repost).map((r) => r.frame);
  }
}
