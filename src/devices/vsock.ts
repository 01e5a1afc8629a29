// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-vsock, the socket device (virtio 1.2 section 5.10): stream
 * connections between one frontend (its guest CID, from the platform
 * description) and services in the backend, which is the frontend's "host"
 * (CID 2). Queue 0 is rx (device → driver), 1 tx (driver → device), 2 the
 * event queue (never used: the backend's CID does not change).
 *
 * The services see the socket API of `vsock-socket.ts` through a
 * {@link VsockHub} shared by every vsock device of the backend.
 *
 * Against a hostile frontend:
 * - a packet shorter than its header, or whose `len` is larger than the
 *   bytes that follow it, is dropped and counted (malformed);
 * - a packet whose src_cid is not the frontend's own CID, or whose dst_cid
 *   is not the host's, is dropped and counted (no spoofing, no routing);
 * - a packet of another type than STREAM, or for a connection that does
 *   not exist, is answered RST (5.10.6.4), unless it is itself an RST;
 * - data beyond the credit the device advertised ends that connection with
 *   RST (a credit violation), without touching the others;
 * - a frontend that posts no receive buffers, or never reads, blocks only
 *   its own connections: what the device owes is bounded per connection
 *   (control bits and a fixed send buffer), and RSTs for unknown
 *   connections wait in a bounded queue whose overflow is dropped and
 *   counted;
 * - at most `maxConnections` connections; a REQUEST beyond that is answered RST.
 * Structural errors of the virtqueues throw QueueError to the transport
 * (DEVICE_NEEDS_RESET), as in every device.
 */
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import { GuestMemoryError } from '../virtio/memory.ts';
import { readFromChain, writeToChain } from '../virtio/sg.ts';
import { DeviceId, setFeature } from '../virtio/spec.ts';
import { VsockConnection, VsockPending, type VsockCarrier, type VsockEndpoint, type VsockHub } from './vsock-socket.ts';
import { VMADDR_CID_HOST, VsockConfig, VsockFeature, VsockHdr, VsockOp, VsockQueue, VsockShutdown, VsockType } from './vsock-spec.ts';

/**
 * Largest payload of one packet the device sends, bytes: the receive
 * buffer Linux posts (VIRTIO_VSOCK_DEFAULT_RX_BUF_SIZE); a larger buffer
 * still gets 4 KiB. Also the size of the device's copy buffer.
 */
export const VSOCK_MAX_PAYLOAD = 4096;
/** RSTs for unknown connections that may wait for receive buffers. */
const RST_QUEUE = 64;
/** The first local port {@link VsockDevice.openConnection} tries (the dynamic range). */
const EPHEMERAL_FIRST = 49152;

/** Options of {@link VsockDevice}. */
export interface VsockOptions {
  /** QueueNumMax of each queue (default 64; Linux fills rx to it at probe, 4 KiB per buffer) */
  queueNumMax?: number;
  /** connections at once (default 64) */
  maxConnections?: number;
  /** receive and send buffer of each connection, bytes (default 16 KiB each) */
  bufferBytes?: number;
}

/** Counters of a virtio-vsock device. */
export interface VsockCounters extends DeviceCounters {
  /** packets taken from the driver (tx queue) */
  packetsIn: number;
  /** packets given to the driver (rx queue) */
  packetsOut: number;
  /** stream payload bytes received from the frontend */
  bytesIn: number;
  /** stream payload bytes sent to the frontend */
  bytesOut: number;
  /** connections opened, either way */
  connections: number;
  /** REQUESTs refused (no listener, too many connections) */
  refused: number;
  /** RST packets sent */
  resets: number;
  /** packets dropped as malformed (short, bad len, bad op) */
  malformed: number;
  /** packets dropped for a wrong src_cid or dst_cid */
  badAddress: number;
  /** connections ended for sending beyond their credit */
  creditViolations: number;
  /** RSTs dropped because the queue for them was full */
  dropped: number;
}

/** A virtio-vsock device (device ID 19) for one frontend. */
export class VsockDevice implements VirtioDevice, VsockCarrier, VsockEndpoint {
  readonly deviceId = DeviceId.SOCKET;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 3;
  readonly config = new Uint8Array(VsockConfig.SIZE);
  readonly counters: VsockCounters = {
    chains: 0, errors: 0, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, connections: 0,
    refused: 0, resets: 0, malformed: 0, badAddress: 0, creditViolations: 0, dropped: 0,
  };

  private ctx: DeviceContext | null = null;
  private readonly numMax: number;
  private readonly maxConnections: number;
  private readonly bufferBytes: number;
  /** connections by local port, then peer port */
  private readonly conns = new Map<number, Map<number, VsockConnection>>();
  private connCount = 0;
  /** connections with something to send, served round robin */
  private sendList: VsockConnection[] = [];
  /** RSTs owed for connections that do not exist: local port, peer port pairs */
  private readonly rstPorts = new Float64Array(2 * RST_QUEUE);
  private rstCount = 0;
  private nextPort = EPHEMERAL_FIRST;
  /**
   * Inside processQueue or a send: wake() only queues, the running loop
   * sends (services' callbacks may write; nothing re-enters the queues).
   */
  private busy = false;
  private readonly hdr = new Uint8Array(VsockHdr.SIZE);
  private readonly hdv = new DataView(this.hdr.buffer);
  private readonly scratch = new Uint8Array(VSOCK_MAX_PAYLOAD);

  /**
   * @param name for logs, e.g. 'vsock0'
   * @param guestCid the frontend's CID (≥ 3, below 2^32)
   * @param hub the backend's services
   * @throws RangeError for a guest CID outside 3..2^32-2, or one another device has
   */
  constructor(readonly name: string, readonly guestCid: number, private readonly hub: VsockHub, options: VsockOptions = {}) {
    if (!Number.isInteger(guestCid) || guestCid < 3 || guestCid >= 0xffffffff) throw new RangeError(`${name}: guest CID ${guestCid} outside 3..4294967294`);
    this.numMax = options.queueNumMax ?? 64;
    this.maxConnections = options.maxConnections ?? 64;
    this.bufferBytes = options.bufferBytes ?? 16 * 1024;
    setFeature(this.deviceFeatures, VsockFeature.STREAM);
    new DataView(this.config.buffer).setUint32(VsockConfig.guest_cid, guestCid, true);
    hub.attach(this);
  }

  /** QueueNumMax of every queue. */
  queueNumMax(): number {
    return this.numMax;
  }

  /** Connections open now (any state but closed). */
  get connectionCount(): number {
    return this.connCount;
  }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.flush(null);
  }

  /** See {@link VirtioDevice.reset}: every connection ends ('device reset'); listeners stay. */
  reset(): void {
    this.ctx = null;
    const all: VsockConnection[] = [];
    for (const m of this.conns.values()) for (const c of m.values()) all.push(c);
    for (const c of all) c.finish('device reset', false);
    this.conns.clear();
    this.connCount = 0;
    this.sendList = [];
    this.rstCount = 0;
  }

  /** See {@link VirtioDevice.processQueue}. @throws QueueError for a malformed ring or chain */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (!ctx || this.busy) return;
    this.busy = true;
    try {
      if (index === VsockQueue.TX) this.receive(ctx);
      if (index === VsockQueue.TX || index === VsockQueue.RX) this.send(ctx, null);
    } finally {
      this.busy = false;
    }
  }

  /** See {@link VsockEndpoint.openConnection}. @throws RangeError when every connection slot is taken or no port is free */
  openConnection(peerPort: number): VsockConnection {
    if (!Number.isInteger(peerPort) || peerPort < 0 || peerPort >= 0xffffffff) throw new RangeError(`vsock port ${peerPort} outside 0..4294967294`);
    if (this.connCount >= this.maxConnections) throw new RangeError(`${this.name}: ${this.maxConnections} connections open`);
    let port = this.nextPort;
    for (let tries = 0; this.conns.has(port); tries++) {
      if (tries > 65536) throw new RangeError(`${this.name}: no free local port`);
      port = port >= 0xfffffffe ? EPHEMERAL_FIRST : port + 1;
    }
    this.nextPort = port >= 0xfffffffe ? EPHEMERAL_FIRST : port + 1;
    const conn = new VsockConnection(this, port, this.guestCid, peerPort, this.bufferBytes, 'connecting');
    this.add(conn);
    conn.owe(VsockPending.REQUEST);
    return conn;
  }

  /** See {@link VsockCarrier.wake}. */
  wake(conn: VsockConnection): void {
    if (!conn.queued && conn.state !== 'closed') {
      conn.queued = true;
      this.sendList.push(conn);
    }
    if (!this.busy) this.flush(conn);
  }

  /** See {@link VsockCarrier.release}. */
  release(conn: VsockConnection, rst: boolean): void {
    const m = this.conns.get(conn.localPort);
    if (m && m.get(conn.peerPort) === conn) {
      m.delete(conn.peerPort);
      if (m.size === 0) this.conns.delete(conn.localPort);
      this.connCount--;
    }
    if (conn.queued) {
      conn.queued = false;
      this.sendList = this.sendList.filter((c) => c !== conn);
    }
    if (rst) {
      this.queueRst(conn.localPort, conn.peerPort);
      if (!this.busy) this.flush(null);
    }
  }

  /**
   * Sends what is owed, outside processQueue (a service wrote, read or
   * closed, or DRIVER_OK); a queue error fails the device. No service
   * callback runs from here: the service is inside its own call.
   */
  private flush(except: VsockConnection | null): void {
    const ctx = this.ctx;
    if (!ctx || this.busy) return;
    this.busy = true;
    try {
      this.send(ctx, except);
    } catch (e) {
      ctx.fail(`rx: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.busy = false;
    }
  }

  private add(conn: VsockConnection): void {
    let m = this.conns.get(conn.localPort);
    if (!m) this.conns.set(conn.localPort, (m = new Map()));
    m.set(conn.peerPort, conn);
    this.connCount++;
    this.counters.connections++;
  }

  private queueRst(localPort: number, peerPort: number): void {
    if (this.rstCount >= RST_QUEUE) {
      this.counters.dropped++;
      return;
    }
    this.rstPorts[2 * this.rstCount] = localPort;
    this.rstPorts[2 * this.rstCount + 1] = peerPort;
    this.rstCount++;
  }

  /** Takes every packet the driver queued on tx. */
  private receive(ctx: DeviceContext): void {
    const q = ctx.queues[VsockQueue.TX];
    const chain = ctx.chain;
    try {
      while (q.pop(chain)) {
        this.counters.chains++;
        this.counters.packetsIn++;
        try {
          this.handlePacket(ctx);
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          this.malformed(ctx, `packet buffer ${e.message}`);
        }
        q.push(chain.head, 0);
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }

  private malformed(ctx: DeviceContext, why: string): void {
    this.counters.malformed++;
    this.counters.errors++;
    ctx.log(`dropped a packet: ${why}`);
  }

  /** One packet from the driver, in ctx.chain. @throws GuestMemoryError for a buffer outside the region */
  private handlePacket(ctx: DeviceContext): void {
    const chain = ctx.chain;
    if (chain.readableBytes < VsockHdr.SIZE) return this.malformed(ctx, `${chain.readableBytes} bytes, shorter than the ${VsockHdr.SIZE}-byte header`);
    readFromChain(ctx.mem, chain, 0, this.hdr);
    const h = this.hdv;
    const len = h.getUint32(VsockHdr.len, true);
    if (len > chain.readableBytes - VsockHdr.SIZE) return this.malformed(ctx, `len ${len} but ${chain.readableBytes - VsockHdr.SIZE} payload bytes`);
    const srcCid = h.getUint32(VsockHdr.src_cid, true) + h.getUint32(VsockHdr.src_cid + 4, true) * 4294967296;
    const dstCid = h.getUint32(VsockHdr.dst_cid, true) + h.getUint32(VsockHdr.dst_cid + 4, true) * 4294967296;
    if (srcCid !== this.guestCid || dstCid !== VMADDR_CID_HOST) {
      this.counters.badAddress++;
      this.counters.errors++;
      ctx.log(`dropped a packet from CID ${srcCid} to CID ${dstCid}: only ${this.guestCid} → ${VMADDR_CID_HOST} is carried`);
      return;
    }
    const peerPort = h.getUint32(VsockHdr.src_port, true);
    const localPort = h.getUint32(VsockHdr.dst_port, true);
    const type = h.getUint16(VsockHdr.type, true);
    const op = h.getUint16(VsockHdr.op, true);
    if (type !== VsockType.STREAM) {
      this.counters.errors++;
      if (op !== VsockOp.RST) this.queueRst(localPort, peerPort);
      return;
    }
    const conn = this.conns.get(localPort)?.get(peerPort);
    if (conn) {
      conn.peerBufAlloc = h.getUint32(VsockHdr.buf_alloc, true);
      conn.peerFwdCnt = h.getUint32(VsockHdr.fwd_cnt, true);
      // every packet carries the peer's credit (5.10.6.3), not only CREDIT_UPDATE: a connection
      // held back for want of it sends again (its service, its send buffer full, writes nothing to wake it)
      if (conn.state === 'connected' && conn.tx.length > 0 && !conn.queued) this.wake(conn);
    }
    switch (op) {
      case VsockOp.REQUEST:
        return this.request(ctx, conn, localPort, peerPort);
      case VsockOp.RESPONSE:
        if (conn && conn.state === 'connecting') {
          conn.state = 'connected';
          conn.onConnect?.();
          if (conn.tx.length) this.wake(conn);
        } else if (conn) {
          conn.finish('protocol error: RESPONSE on an open connection', true);
        } else {
          this.queueRst(localPort, peerPort);
        }
        return;
      case VsockOp.RW:
        if (!conn) return this.queueRst(localPort, peerPort);
        return this.data(ctx, conn, len);
      case VsockOp.CREDIT_UPDATE:
        if (!conn) return this.queueRst(localPort, peerPort);
        if (conn.tx.length || conn.pending) this.wake(conn);
        return;
      case VsockOp.CREDIT_REQUEST:
        if (!conn) return this.queueRst(localPort, peerPort);
        conn.owe(VsockPending.CREDIT_UPDATE);
        return;
      case VsockOp.SHUTDOWN: {
        if (!conn) return this.queueRst(localPort, peerPort);
        const flags = h.getUint32(VsockHdr.flags, true) & (VsockShutdown.RCV | VsockShutdown.SEND);
        const before = conn.peerShutdown;
        conn.peerShutdown |= flags;
        if (flags & VsockShutdown.RCV) conn.tx.clear();
        if (flags & VsockShutdown.SEND && !(before & VsockShutdown.SEND)) conn.onEnd?.();
        // both directions shut: the connection is over; RST closes it for the peer (as Linux does)
        if (conn.peerShutdown === (VsockShutdown.RCV | VsockShutdown.SEND) || conn.state === 'closing') conn.finish('closed', true);
        return;
      }
      case VsockOp.RST:
        if (conn) conn.finish(conn.state === 'connecting' ? 'refused' : conn.state === 'closing' ? 'closed' : 'reset by peer', false);
        return;
      default:
        this.malformed(ctx, `unknown op ${op}`);
        if (conn) conn.finish(`protocol error: op ${op}`, true);
        else this.queueRst(localPort, peerPort);
    }
  }

  private request(ctx: DeviceContext, conn: VsockConnection | undefined, localPort: number, peerPort: number): void {
    if (conn) {
      // a second REQUEST on a live connection: the peer has lost it; end ours
      conn.finish('reset by peer (REQUEST on an open connection)', true);
      return;
    }
    const accept = this.hub.acceptor(localPort);
    if (!accept || this.connCount >= this.maxConnections) {
      this.counters.refused++;
      if (accept) ctx.log(`refused a connection to port ${localPort}: ${this.maxConnections} connections open`);
      this.queueRst(localPort, peerPort);
      return;
    }
    const c = new VsockConnection(this, localPort, this.guestCid, peerPort, this.bufferBytes, 'connected');
    c.peerBufAlloc = this.hdv.getUint32(VsockHdr.buf_alloc, true);
    c.peerFwdCnt = this.hdv.getUint32(VsockHdr.fwd_cnt, true);
    this.add(c);
    c.owe(VsockPending.RESPONSE);
    accept(c);
  }

  private data(ctx: DeviceContext, conn: VsockConnection, len: number): void {
    if (len === 0) return;
    if (conn.state !== 'connected' || conn.peerShutdown & VsockShutdown.SEND) {
      // we shut down receiving (closing) or the peer said it would send no more: dropped
      return;
    }
    if (len > conn.rx.free) {
      this.counters.creditViolations++;
      this.counters.errors++;
      ctx.log(`connection ${conn.localPort} ← ${conn.peerCid}:${conn.peerPort}: ${len} bytes beyond the credit (${conn.rx.free} free): reset`);
      conn.finish('credit violation', true);
      return;
    }
    const chain = ctx.chain;
    for (let done = 0; done < len;) {
      const n = Math.min(len - done, this.scratch.length);
      const got = readFromChain(ctx.mem, chain, VsockHdr.SIZE + done, this.scratch.subarray(0, n));
      conn.rx.push(this.scratch.subarray(0, got));
      done += n;
    }
    conn.rxCnt = (conn.rxCnt + len) >>> 0;
    this.counters.bytesIn += len;
    conn.onReadable?.();
  }

  /**
   * Fills receive buffers with what is owed: RSTs first, then the
   * connections round robin. Every connection but `except` (the one whose own
   * call is running) gets onWritable after the device sent bytes of its send
   * buffer, so a service that stopped for want of room resumes (its writes
   * are sent by this loop).
   */
  private send(ctx: DeviceContext, except: VsockConnection | null): void {
    const q = ctx.queues[VsockQueue.RX];
    if (!q.enabled) return;
    const chain = ctx.chain;
    let pushed = false;
    try {
      for (;;) {
        let conn: VsockConnection | null = null;
        let op = 0;
        let payload = 0;
        if (this.rstCount === 0) {
          // the next connection with a packet to send
          while (this.sendList.length) {
            const c = this.sendList[0];
            const p = this.nextPacket(c);
            if (p.op) {
              conn = c;
              op = p.op;
              payload = p.payload;
              break;
            }
            c.queued = false;
            this.sendList.shift();
          }
          if (!conn) break;
        }
        if (!q.pop(chain)) break;
        this.counters.chains++;
        if (chain.writableBytes < VsockHdr.SIZE) {
          this.counters.errors++;
          ctx.log(`receive buffer of ${chain.writableBytes} bytes, shorter than the header: returned unused`);
          q.push(chain.head, 0);
          pushed = true;
          continue;
        }
        let used: number;
        try {
          used = conn ? this.writePacket(ctx, conn, op, Math.min(payload, chain.writableBytes - VsockHdr.SIZE)) : this.writeRst(ctx);
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          this.counters.errors++;
          ctx.log(`receive buffer ${e.message}: returned unused`);
          used = 0;
        }
        q.push(chain.head, used);
        pushed = true;
        if (conn && used) {
          // round robin: a connection with more to send goes to the back
          this.sendList.shift();
          if (conn.state !== 'closed' && this.nextPacket(conn).op) this.sendList.push(conn);
          else conn.queued = false;
          if (op === VsockOp.RW && conn !== except && conn.onWritable && conn.writableBytes > 0) {
            conn.onWritable?.();
          }
        }
      }
    } finally {
      if (pushed && this.ctx) ctx.signalUsed(q);
    }
  }

  private readonly next = { op: 0, payload: 0 };

  /** What `conn` sends next: op 0 for nothing; payload bytes for RW. */
  private nextPacket(conn: VsockConnection): { op: number; payload: number } {
    const r = this.next;
    r.op = 0;
    r.payload = 0;
    if (conn.state === 'closed') return r;
    if (conn.pending & VsockPending.REQUEST) r.op = VsockOp.REQUEST;
    else if (conn.pending & VsockPending.RESPONSE) r.op = VsockOp.RESPONSE;
    else if (conn.state === 'connecting') return r;
    else {
      const credit = conn.peerBufAlloc - ((conn.txCnt - conn.peerFwdCnt) >>> 0);
      if (conn.tx.length > 0 && credit > 0) {
        r.op = VsockOp.RW;
        r.payload = Math.min(conn.tx.length, credit, VSOCK_MAX_PAYLOAD);
      } else if (conn.pending & VsockPending.SHUTDOWN && conn.tx.length === 0) r.op = VsockOp.SHUTDOWN;
      else if (conn.pending & VsockPending.CREDIT_UPDATE) r.op = VsockOp.CREDIT_UPDATE;
    }
    return r;
  }

  /** Writes one packet of `conn` into ctx.chain; returns the used length. @throws GuestMemoryError */
  private writePacket(ctx: DeviceContext, conn: VsockConnection, op: number, payload: number): number {
    let flags = 0;
    if (op !== VsockOp.RW) payload = 0;
    if (op === VsockOp.SHUTDOWN) flags = conn.shutdownFlags;
    this.header(conn.localPort, conn.peerPort, payload, op, flags, conn.rx.capacity, conn.fwdCnt);
    writeToChain(ctx.mem, ctx.chain, 0, this.hdr);
    if (payload) {
      conn.tx.peek(this.scratch.subarray(0, payload));
      writeToChain(ctx.mem, ctx.chain, VsockHdr.SIZE, this.scratch.subarray(0, payload));
      conn.tx.skip(payload);
      conn.txCnt = (conn.txCnt + payload) >>> 0;
      this.counters.bytesOut += payload;
    }
    // every packet carries fwd_cnt: no separate credit update is owed after it
    conn.fwdCntSent = conn.fwdCnt;
    if (op === VsockOp.REQUEST) conn.pending &= ~VsockPending.REQUEST;
    else if (op === VsockOp.RESPONSE) conn.pending &= ~VsockPending.RESPONSE;
    else if (op === VsockOp.SHUTDOWN) conn.pending &= ~VsockPending.SHUTDOWN;
    conn.pending &= ~VsockPending.CREDIT_UPDATE;
    this.counters.packetsOut++;
    return VsockHdr.SIZE + payload;
  }

  /** Writes the oldest owed RST into ctx.chain; returns the used length. @throws GuestMemoryError */
  private writeRst(ctx: DeviceContext): number {
    this.header(this.rstPorts[0], this.rstPorts[1], 0, VsockOp.RST, 0, 0, 0);
    writeToChain(ctx.mem, ctx.chain, 0, this.hdr);
    this.rstPorts.copyWithin(0, 2, 2 * this.rstCount);
    this.rstCount--;
    this.counters.resets++;
    this.counters.packetsOut++;
    return VsockHdr.SIZE;
  }

  private header(localPort: number, peerPort: number, len: number, op: number, flags: number, bufAlloc: number, fwdCnt: number): void {
    const h = this.hdv;
    h.setUint32(VsockHdr.src_cid, VMADDR_CID_HOST, true);
    h.setUint32(VsockHdr.src_cid + 4, 0, true);
    h.setUint32(VsockHdr.dst_cid, this.guestCid, true);
    h.setUint32(VsockHdr.dst_cid + 4, 0, true);
    h.setUint32(VsockHdr.src_port, localPort, true);
    h.setUint32(VsockHdr.dst_port, peerPort, true);
    h.setUint32(VsockHdr.len, len, true);
    h.setUint16(VsockHdr.type, VsockType.STREAM, true);
    h.setUint16(VsockHdr.op, op, true);
    h.setUint32(VsockHdr.flags, flags, true);
    h.setUint32(VsockHdr.buf_alloc, bufAlloc, true);
    h.setUint32(VsockHdr.fwd_cnt, fwdCnt, true);
  }
}
