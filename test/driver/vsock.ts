// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-vsock driver model (Linux 6.1 `net/vmw_vsock/virtio_transport.c`
 * and `virtio_transport_common.c`): receive buffers of a 44-byte header
 * descriptor and a 4 KiB data descriptor posted at probe, packets sent as a
 * header descriptor and a payload descriptor, and a stream socket model
 * with the spec's credit accounting (virtio 1.2 section 5.10.6.3).
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import { VMADDR_CID_HOST, VsockHdr, VsockOp, VsockType } from '../../src/devices/vsock-spec.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type ProbeOptions } from './virtio.ts';

/** A packet header, as numbers. */
export interface VsockPacket {
  srcCid: number;
  dstCid: number;
  srcPort: number;
  dstPort: number;
  len: number;
  type: number;
  op: number;
  flags: number;
  bufAlloc: number;
  fwdCnt: number;
  /** the payload (len bytes) */
  payload: Uint8Array;
}

/** Options of {@link VsockDriver}. */
export interface VsockDriverOptions extends ProbeOptions {
  /** receive buffers posted at probe (default: all of the queue) */
  rxBuffers?: number;
  /** bytes of each receive data buffer (default 4096) */
  rxBufBytes?: number;
}

/** Encodes a header (44 bytes). */
export function encodeHeader(p: Partial<VsockPacket>): Uint8Array {
  const h = new Uint8Array(VsockHdr.SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(VsockHdr.src_cid, p.srcCid ?? 3, true);
  v.setUint32(VsockHdr.dst_cid, p.dstCid ?? VMADDR_CID_HOST, true);
  v.setUint32(VsockHdr.src_port, p.srcPort ?? 0, true);
  v.setUint32(VsockHdr.dst_port, p.dstPort ?? 0, true);
  v.setUint32(VsockHdr.len, p.len ?? p.payload?.length ?? 0, true);
  v.setUint16(VsockHdr.type, p.type ?? VsockType.STREAM, true);
  v.setUint16(VsockHdr.op, p.op ?? VsockOp.INVALID, true);
  v.setUint32(VsockHdr.flags, p.flags ?? 0, true);
  v.setUint32(VsockHdr.buf_alloc, p.bufAlloc ?? 256 * 1024, true);
  v.setUint32(VsockHdr.fwd_cnt, p.fwdCnt ?? 0, true);
  return h;
}

/** Decodes a header and its payload. */
export function decodePacket(h: Uint8Array, payload: Uint8Array): VsockPacket {
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  return {
    srcCid: v.getUint32(VsockHdr.src_cid, true) + v.getUint32(VsockHdr.src_cid + 4, true) * 4294967296,
    dstCid: v.getUint32(VsockHdr.dst_cid, true) + v.getUint32(VsockHdr.dst_cid + 4, true) * 4294967296,
    srcPort: v.getUint32(VsockHdr.src_port, true),
    dstPort: v.getUint32(VsockHdr.dst_port, true),
    len: v.getUint32(VsockHdr.len, true),
    type: v.getUint16(VsockHdr.type, true),
    op: v.getUint16(VsockHdr.op, true),
    flags: v.getUint32(VsockHdr.flags, true),
    bufAlloc: v.getUint32(VsockHdr.buf_alloc, true),
    fwdCnt: v.getUint32(VsockHdr.fwd_cnt, true),
    payload,
  };
}

/** A virtio-vsock frontend at the packet level. */
export class VsockDriver {
  readonly drv: VirtioMmioDriver;
  readonly rx: DriverQueue;
  readonly tx: DriverQueue;
  readonly event: DriverQueue;
  /** the guest CID read from the config space */
  readonly cid: number;
  private readonly rxBufs = new Map<number, { hdr: number; data: number }>();
  private readonly bufBytes: number;

  constructor(readonly sim: SimBao, model: DeviceModel, opts: VsockDriverOptions = {}) {
    this.drv = new VirtioMmioDriver(sim, model, 0);
    this.drv.probe(19, opts);
    this.rx = this.drv.setupQueue(0);
    this.tx = this.drv.setupQueue(1);
    this.event = this.drv.setupQueue(2);
    this.cid = this.drv.readConfig(0, 8);
    this.bufBytes = opts.rxBufBytes ?? 4096;
    const n = Math.min(opts.rxBuffers ?? this.rx.num >> 1, this.rx.num >> 1);
    for (let i = 0; i < n; i++) this.postRx();
    const ev = this.drv.pool.alloc(4, 4);
    this.event.add([], [{ addr: ev, len: 4 }]);
    this.drv.driverOk();
    this.rx.kick();
  }

  /** Posts one receive buffer (header + data descriptors). */
  postRx(): void {
    const hdr = this.drv.pool.alloc(VsockHdr.SIZE, 8);
    const data = this.drv.pool.alloc(this.bufBytes, 16);
    const head = this.rx.add([], [{ addr: hdr, len: VsockHdr.SIZE }, { addr: data, len: this.bufBytes }]);
    this.rxBufs.set(head, { hdr, data });
  }

  /** Sends one packet made of the given device-readable buffers (raw: for malformed packets); returns after the device used it. */
  sendRaw(parts: Uint8Array[]): void {
    const bufs = parts.map((p) => {
      const a = this.drv.pool.alloc(Math.max(p.length, 1), 8);
      this.drv.mem.write(a, p);
      return { addr: a, len: p.length };
    });
    const head = this.tx.add(bufs, []);
    this.tx.kick();
    this.drv.handleInterrupt();
    for (let u = this.tx.getUsed(); u; u = this.tx.getUsed()) {
      if (u.id !== head) throw new Error(`tx used ${u.id}, expected ${head}`);
    }
    for (const b of bufs) this.drv.pool.release(b.addr);
  }

  /** Sends one packet: a header descriptor, and a payload descriptor when there is a payload. */
  send(p: Partial<VsockPacket>): void {
    const parts = [encodeHeader({ srcCid: this.cid, ...p })];
    if (p.payload && p.payload.length) parts.push(p.payload);
    this.sendRaw(parts);
  }

  /** The packets the device delivered since the last call; their buffers are posted again. */
  receive(): VsockPacket[] {
    this.drv.handleInterrupt();
    const out: VsockPacket[] = [];
    let reposted = false;
    for (let u = this.rx.getUsed(); u; u = this.rx.getUsed()) {
      const b = this.rxBufs.get(u.id);
      if (!b) throw new Error(`unknown rx head ${u.id}`);
      this.rxBufs.delete(u.id);
      if (u.len >= VsockHdr.SIZE) {
        const h = this.drv.mem.read(b.hdr, VsockHdr.SIZE);
        const n = u.len - VsockHdr.SIZE;
        out.push(decodePacket(h, this.drv.mem.read(b.data, n)));
      }
      this.drv.pool.release(b.hdr);
      this.drv.pool.release(b.data);
      this.postRx();
      reposted = true;
    }
    if (reposted) this.rx.kick();
    return out;
  }

  /** Receive buffers posted and not yet used. */
  get rxPosted(): number {
    return this.rxBufs.size;
  }
}

/**
 * One stream socket of the frontend (Linux's side of a connection): sends
 * within the device's credit, advertises its own buffer, and answers
 * credit requests. Packets for other connections are passed to `other`.
 */
export class GuestStream {
  /** bytes received, in order */
  readonly received: number[] = [];
  state: 'connecting' | 'connected' | 'closed' = 'connecting';
  /** the device's buf_alloc and fwd_cnt from its last packet */
  peerBufAlloc = 0;
  peerFwdCnt = 0;
  txCnt = 0;
  /** bytes the application consumed (fwd_cnt) */
  fwdCnt = 0;
  peerShutdown = 0;
  resetSeen = false;

  constructor(readonly drv: VsockDriver, readonly localPort: number, readonly peerPort: number, readonly bufAlloc = 256 * 1024) {}

  /** Sends REQUEST. */
  connect(): void {
    this.drv.send({ srcPort: this.localPort, dstPort: this.peerPort, op: VsockOp.REQUEST, bufAlloc: this.bufAlloc, fwdCnt: this.fwdCnt });
  }

  /** Bytes the device's credit allows now. */
  get credit(): number {
    return this.peerBufAlloc - ((this.txCnt - this.peerFwdCnt) >>> 0);
  }

  /** Sends up to `data.length` bytes within the credit, in packets of at most `chunk`; returns the bytes sent. */
  write(data: Uint8Array, chunk = 4096): number {
    let done = 0;
    while (done < data.length) {
      const n = Math.min(chunk, data.length - done, this.credit);
      if (n <= 0) break;
      this.drv.send({ srcPort: this.localPort, dstPort: this.peerPort, op: VsockOp.RW, payload: data.subarray(done, done + n), bufAlloc: this.bufAlloc, fwdCnt: this.fwdCnt });
      this.txCnt = (this.txCnt + n) >>> 0;
      done += n;
    }
    return done;
  }

  /** Tells the device the application consumed everything received (CREDIT_UPDATE). */
  creditUpdate(): void {
    this.drv.send({ srcPort: this.localPort, dstPort: this.peerPort, op: VsockOp.CREDIT_UPDATE, bufAlloc: this.bufAlloc, fwdCnt: this.fwdCnt });
  }

  /** Sends SHUTDOWN with `flags`. */
  shutdown(flags: number): void {
    this.drv.send({ srcPort: this.localPort, dstPort: this.peerPort, op: VsockOp.SHUTDOWN, flags, bufAlloc: this.bufAlloc, fwdCnt: this.fwdCnt });
  }

  /**
   * Takes one packet addressed to this stream: updates credit and state,
   * keeps data (consumed at once unless `hold`). Returns false for a packet of another connection.
   */
  take(p: VsockPacket, hold = false): boolean {
    if (p.dstPort !== this.localPort || p.srcPort !== this.peerPort) return false;
    this.peerBufAlloc = p.bufAlloc;
    this.peerFwdCnt = p.fwdCnt;
    if (p.op === VsockOp.RESPONSE) this.state = 'connected';
    else if (p.op === VsockOp.RW) {
      for (const b of p.payload) this.received.push(b);
      if (!hold) this.fwdCnt = (this.fwdCnt + p.payload.length) >>> 0;
    } else if (p.op === VsockOp.RST) {
      this.state = 'closed';
      this.resetSeen = true;
    } else if (p.op === VsockOp.SHUTDOWN) this.peerShutdown |= p.flags;
    else if (p.op === VsockOp.CREDIT_REQUEST) this.creditUpdate();
    return true;
  }
}
