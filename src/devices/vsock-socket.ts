// SPDX-License-Identifier: Apache-2.0
/**
 * The socket API of virtio-vsock for services that run in the backend
 * (the backend is the "host", CID 2, of every frontend's vsock device):
 *
 * ```ts
 * hub.listen(1234, (conn) => {
 *   conn.onReadable = () => { const n = conn.read(buf.subarray(0, conn.writableBytes)); conn.write(buf.subarray(0, n)); };
 * });
 * const c = hub.connect(3, 5000);   // the frontend with guest CID 3, its port 5000
 * c.onConnect = () => c.write(bytes);
 * ```
 *
 * Streams only (VIRTIO_VSOCK_TYPE_STREAM). Flow control is the spec's
 * credit scheme (virtio 1.2 section 5.10.6.3): each connection has a
 * receive buffer of a fixed size (advertised as buf_alloc) and a send
 * buffer; {@link VsockConnection.write} takes what fits in the send buffer
 * and the device sends it as the frontend's credit allows. A service that
 * reads only as much as it can write back (`read(buf.subarray(0,
 * writableBytes))`) pushes back on a frontend that does not read, so memory
 * stays bounded whatever the frontend does.
 */
import { ByteFifo } from './byte-fifo.ts';
import { VsockShutdown } from './vsock-spec.ts';

/** The life of a connection. */
export type VsockState = 'connecting' | 'connected' | 'closing' | 'closed';

/** What a connection needs from the device that carries it. */
export interface VsockCarrier {
  /** The connection has something to send (data, credit, a control packet). */
  wake(conn: VsockConnection): void;
  /** The connection is done: forget it and send RST to the peer if `rst`. */
  release(conn: VsockConnection, rst: boolean): void;
}

/** Control packets a connection owes its peer, as bits. */
export const enum VsockPending {
  REQUEST = 1,
  RESPONSE = 2,
  CREDIT_UPDATE = 4,
  SHUTDOWN = 8,
}

/**
 * One stream connection between a service in the backend (local port) and
 * a frontend (peer CID and port). Created by {@link VsockHub.listen}'s
 * callback or {@link VsockHub.connect}; never by the caller.
 */
export class VsockConnection {
  /** state; 'closed' connections may still hold readable bytes */
  state: VsockState;
  /** called once when a connection made with {@link VsockHub.connect} is accepted */
  onConnect: (() => void) | null = null;
  /** called when bytes arrive ({@link VsockConnection.readableBytes} > 0) */
  onReadable: (() => void) | null = null;
  /** called when the device has sent bytes of the send buffer, so there is room again (never from inside this connection's own call) */
  onWritable: (() => void) | null = null;
  /** called once when the peer will send no more (SHUTDOWN with SEND, or the end of the connection) */
  onEnd: (() => void) | null = null;
  /** called once when the connection ends, with why ('closed', 'reset by peer', 'refused', 'device reset', …) */
  onClose: ((reason: string) => void) | null = null;

  /** @internal receive buffer; its capacity is the buf_alloc advertised to the peer */
  readonly rx: ByteFifo;
  /** @internal send buffer */
  readonly tx: ByteFifo;
  /** @internal the peer's buf_alloc and fwd_cnt from its last packet (5.10.6.3) */
  peerBufAlloc = 0;
  /** @internal */
  peerFwdCnt = 0;
  /** @internal payload bytes sent to the peer (tx_cnt), mod 2^32 */
  txCnt = 0;
  /** @internal payload bytes the service has read (fwd_cnt), mod 2^32 */
  fwdCnt = 0;
  /** @internal fwd_cnt in the last packet sent */
  fwdCntSent = 0;
  /** @internal payload bytes received, mod 2^32 */
  rxCnt = 0;
  /** @internal control packets owed ({@link VsockPending} bits) */
  pending = 0;
  /** @internal SHUTDOWN flags to send once the send buffer has drained */
  shutdownFlags = 0;
  /** @internal SHUTDOWN flags received from the peer */
  peerShutdown = 0;
  /** @internal on the device's send list */
  queued = false;

  /**
   * @internal
   * @param carrier the device carrying the connection
   * @param localPort the backend's port
   * @param peerCid the frontend's guest CID
   * @param peerPort the frontend's port
   * @param bufferBytes size of each of the receive and send buffers, bytes
   */
  constructor(
    private readonly carrier: VsockCarrier,
    readonly localPort: number,
    readonly peerCid: number,
    readonly peerPort: number,
    bufferBytes: number,
    state: VsockState,
  ) {
    this.rx = new ByteFifo(bufferBytes);
    this.tx = new ByteFifo(bufferBytes);
    this.state = state;
  }

  /** Bytes waiting to be read. */
  get readableBytes(): number {
    return this.rx.length;
  }

  /** Bytes {@link VsockConnection.write} would take now (0 unless connected and not shut down for sending). */
  get writableBytes(): number {
    if (this.state !== 'connected' || this.shutdownFlags & VsockShutdown.SEND || this.peerShutdown & VsockShutdown.RCV) return 0;
    return this.tx.free;
  }

  /**
   * Moves up to `dst.length` received bytes into `dst`; returns the bytes
   * read (0 when none). Reading frees credit: the peer is told when the
   * space it knows of falls below half the buffer.
   */
  read(dst: Uint8Array): number {
    const n = this.rx.shift(dst);
    if (n === 0) return 0;
    this.fwdCnt = (this.fwdCnt + n) >>> 0;
    if (this.state === 'connected' || this.state === 'closing') {
      // the free space the peer knows of: buf_alloc - (rx_cnt - last fwd_cnt sent)
      const known = this.rx.capacity - ((this.rxCnt - this.fwdCntSent) >>> 0);
      if (known < this.rx.capacity / 2) this.owe(VsockPending.CREDIT_UPDATE);
    }
    return n;
  }

  /**
   * Queues `src` for sending; returns the bytes taken (fewer than
   * `src.length` when the send buffer is full: then {@link
   * VsockConnection.onWritable} is called when there is space; never from
   * inside this call). 0 unless connected.
   */
  write(src: Uint8Array): number {
    let done = 0;
    // what the device sends at once (credit and receive buffers allowing) makes room for more
    while (done < src.length) {
      const room = this.writableBytes;
      if (room === 0) break;
      done += this.tx.push(src.subarray(done, done + Math.min(room, src.length - done)));
      this.carrier.wake(this);
    }
    return done;
  }

  /** Sends SHUTDOWN(SEND) once the queued bytes are sent: the peer reads end-of-stream. */
  end(): void {
    if (this.state !== 'connected') return;
    this.shutdownFlags |= VsockShutdown.SEND;
    this.owe(VsockPending.SHUTDOWN);
  }

  /**
   * Closes gracefully: queued bytes are still sent, then SHUTDOWN(RCV|SEND);
   * the connection ends when the peer answers RST. Bytes that arrive
   * meanwhile are dropped.
   */
  close(): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'connecting') {
      this.reset();
      return;
    }
    this.state = 'closing';
    this.shutdownFlags |= VsockShutdown.SEND | VsockShutdown.RCV;
    this.owe(VsockPending.SHUTDOWN);
  }

  /** Ends the connection at once with RST; queued bytes are dropped. */
  reset(): void {
    if (this.state === 'closed') return;
    this.finish('closed', true);
  }

  /** @internal Marks control packets owed and wakes the carrier. */
  owe(bits: number): void {
    this.pending |= bits;
    this.carrier.wake(this);
  }

  /** @internal Ends the connection: state 'closed', released by the carrier, onEnd/onClose called. */
  finish(reason: string, rst: boolean): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'connected' || this.state === 'closing';
    this.state = 'closed';
    this.tx.clear();
    this.pending = 0;
    this.carrier.release(this, rst);
    if (wasOpen && !(this.peerShutdown & VsockShutdown.SEND)) {
      this.peerShutdown |= VsockShutdown.SEND;
      this.onEnd?.();
    }
    this.onClose?.(reason);
  }
}

/** A listening service: called with each new connection to its port. */
export type VsockAcceptor = (conn: VsockConnection) => void;

/** What the hub needs of a vsock device. */
export interface VsockEndpoint {
  /** the frontend's guest CID */
  readonly guestCid: number;
  /** Opens a connection from `localPort` (0: any free port) to the frontend's `peerPort`. */
  openConnection(peerPort: number): VsockConnection;
}

/**
 * The backend's side of every vsock device: the listening ports (shared by
 * all frontends) and connecting to a frontend by its guest CID.
 */
export class VsockHub {
  private readonly listeners = new Map<number, VsockAcceptor>();
  private readonly endpoints = new Map<number, VsockEndpoint>();

  /**
   * Accepts connections to `port` from every frontend.
   * @throws RangeError for a port outside 0..2^32-2 or one already listened on
   */
  listen(port: number, accept: VsockAcceptor): void {
    if (!Number.isInteger(port) || port < 0 || port >= 0xffffffff) throw new RangeError(`vsock port ${port} outside 0..4294967294`);
    if (this.listeners.has(port)) throw new RangeError(`vsock port ${port} is already listened on`);
    this.listeners.set(port, accept);
  }

  /** Stops accepting connections to `port` (existing connections stay). */
  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  /** The service listening on `port`, or undefined. */
  acceptor(port: number): VsockAcceptor | undefined {
    return this.listeners.get(port);
  }

  /**
   * Connects to `port` of the frontend whose guest CID is `cid`. The
   * connection starts in state 'connecting'; `onConnect` or `onClose`
   * ('refused') follows.
   * @throws RangeError when no vsock device has guest CID `cid`, or the device has no free connection slot
   */
  connect(cid: number, port: number): VsockConnection {
    const ep = this.endpoints.get(cid);
    if (!ep) throw new RangeError(`no vsock device has guest CID ${cid}`);
    return ep.openConnection(port);
  }

  /** @internal Adds a device. @throws RangeError for a guest CID already attached */
  attach(ep: VsockEndpoint): void {
    if (this.endpoints.has(ep.guestCid)) throw new RangeError(`two vsock devices have guest CID ${ep.guestCid}`);
    this.endpoints.set(ep.guestCid, ep);
  }
}
