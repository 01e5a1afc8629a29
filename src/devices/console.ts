// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-console (virtio 1.2 section 5.3) with one port: queue 0 is
 * receiveq (device → driver), queue 1 transmitq (driver → device).
 *
 * TX: every device-readable byte the driver queues is handed to `output`
 * (a range of the shared region's bytes, valid only during the call), then
 * the chain is returned with used length 0.
 * RX: {@link ConsoleDevice.input} appends bytes to a bounded FIFO that fills
 * the driver's receive buffers as they become available (a driver that
 * posts no buffers loses nothing until the FIFO is full; then new bytes are
 * dropped and counted).
 *
 * Features: VIRTIO_CONSOLE_F_SIZE (cols/rows, {@link ConsoleDevice.setSize})
 * and VIRTIO_CONSOLE_F_EMERG_WRITE (a 32-bit write of emerg_wr outputs one
 * byte). No MULTIPORT.
 *
 * Console plane ({@link ConsoleDevice.useHostPlane}): where the host has one
 * and the console's output goes to the UART ({@link
 * ConsoleDevice.setBridged}), the host writes transmitq's chains to the UART
 * itself (runtime/consoleplane.h) and hands this device every chain it does
 * not serve whole; its counts are added to this device's counters.
 */
import { CONSOLE_PORT_WORDS, ConsolePortCtrl, ConsolePortWord, type Host } from '../host.ts';
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import type { SplitQueue } from '../virtio/queue.ts';
import { DeviceId, hasFeature, setFeature } from '../virtio/spec.ts';
import { ByteFifo } from './byte-fifo.ts';
import { utf8Encode } from './utf8.ts';

/** virtio-console feature bits (5.3.3). */
export const enum ConsoleFeature {
  SIZE = 0,
  MULTIPORT = 1,
  EMERG_WRITE = 2,
}

/** Byte offsets in `struct virtio_console_config` (5.3.4). */
export const enum ConsoleConfig {
  cols = 0,
  rows = 2,
  max_nr_ports = 4,
  emerg_wr = 8,
  SIZE = 12,
}

/** Queue indices of port 0 (5.3.2). */
export const enum ConsoleQueue {
  RECEIVE = 0,
  TRANSMIT = 1,
}

/** Options of {@link ConsoleDevice}. */
export interface ConsoleOptions {
  /**
   * receives transmitted bytes: `bytes[start, end)`, valid only during the
   * call (a range of the shared region's bytes: no view allocated per buffer)
   */
  output: (bytes: Uint8Array, start: number, end: number) => void;
  /** QueueNumMax of both queues (default 64; Linux fills receiveq to it at probe) */
  queueNumMax?: number;
  /** bytes the RX FIFO holds while the driver has no buffers (default 16 KiB) */
  rxFifoBytes?: number;
  /** initial console size (default 80×25) */
  cols?: number;
  rows?: number;
}

/** Counters of a virtio-console device. */
export interface ConsoleCounters extends DeviceCounters {
  /** bytes the driver transmitted */
  txBytes: number;
  /** bytes delivered into receive buffers */
  rxBytes: number;
  /** input bytes dropped because the FIFO was full */
  rxDropped: number;
  /** emergency writes */
  emergWrites: number;
}

/** A virtio-console device (device ID 3), one port. */
export class ConsoleDevice implements VirtioDevice {
  readonly deviceId = DeviceId.CONSOLE;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 2;
  readonly config = new Uint8Array(ConsoleConfig.SIZE);
  private readonly own: ConsoleCounters = { chains: 0, errors: 0, txBytes: 0, rxBytes: 0, rxDropped: 0, emergWrites: 0 };

  private ctx: DeviceContext | null = null;
  private readonly numMax: number;
  private readonly output: (bytes: Uint8Array, start: number, end: number) => void;
  private readonly fifo: ByteFifo;
  private readonly one = new Uint8Array(1);
  private readonly cfg: DataView;
  /** {@link ConsoleDevice.input}'s bytes: the next one to deliver */
  private rxAt = 0;
  /** the host's console plane's state words ({@link ConsolePortWord}), or null */
  private plane: Uint32Array | null = null;
  /** what of the plane's counts is in `own` already: transmit chains, bytes; receive chains, bytes */
  private readonly planeFolded = [0, 0, 0, 0];
  /** the console's output goes to the UART (see {@link ConsoleDevice.setBridged}) */
  private bridged = true;

  /** @param name for logs, e.g. 'hvc0' */
  constructor(readonly name: string, options: ConsoleOptions) {
    this.numMax = options.queueNumMax ?? 64;
    this.output = options.output;
    this.fifo = new ByteFifo(options.rxFifoBytes ?? 16384);
    setFeature(this.deviceFeatures, ConsoleFeature.SIZE);
    setFeature(this.deviceFeatures, ConsoleFeature.EMERG_WRITE);
    this.cfg = new DataView(this.config.buffer);
    this.cfg.setUint16(ConsoleConfig.cols, options.cols ?? 80, true);
    this.cfg.setUint16(ConsoleConfig.rows, options.rows ?? 25, true);
    this.cfg.setUint32(ConsoleConfig.max_nr_ports, 1, true);
  }

  /** QueueNumMax of either queue. */
  queueNumMax(): number {
    return this.numMax;
  }

  /** Counters, the chains the host's console plane served included. */
  get counters(): ConsoleCounters {
    this.syncCounters();
    return this.own;
  }

  /**
   * Lets the host's console plane write transmitq to the UART ({@link
   * Host.consolePort}): `dmId` is the device model whose data plane the
   * host serves, `queues` the transport's queues (transmitq served by the
   * host's C virtqueue, {@link SplitQueue.useHost}). Only for a console
   * whose output is the UART while it is bridged.
   * @returns whether the host took the console
   */
  useHostPlane(host: Host, dmId: number, queues: readonly SplitQueue[]): boolean {
    if (!host.consolePort || this.plane !== null) return false;
    const rx = queues[ConsoleQueue.RECEIVE].hostState;
    const tx = queues[ConsoleQueue.TRANSMIT].hostState;
    if (rx === null || tx === null) return false;
    const st = new Uint32Array(CONSOLE_PORT_WORDS);
    if (!host.consolePort(dmId, st, rx, tx)) return false;
    this.plane = st;
    this.updatePlane();
    return true;
  }

  /** The host plane's state words, or null (for metrics). */
  get planeState(): Uint32Array | null {
    return this.plane;
  }

  /**
   * Whether the console's output goes to the UART now (the console bridge
   * says so when it switches, src/console-bridge.ts): only then may the
   * host's console plane write it there itself.
   */
  setBridged(on: boolean): void {
    this.bridged = on;
    this.updatePlane();
  }

  /** Adds what the host's console plane served since the last call to the counters. */
  private syncCounters(): void {
    const st = this.plane;
    if (st === null) return;
    const f = this.planeFolded;
    const tx = (st[ConsolePortWord.N_TX_CHAINS] - f[0]) >>> 0; // u32s that wrap
    const rx = (st[ConsolePortWord.N_RX_CHAINS] - f[2]) >>> 0;
    if (tx === 0 && rx === 0) return;
    const txBytes = st[ConsolePortWord.N_TX_BYTES_LO] + st[ConsolePortWord.N_TX_BYTES_HI] * 4294967296 - f[1];
    const rxBytes = st[ConsolePortWord.N_RX_BYTES_LO] + st[ConsolePortWord.N_RX_BYTES_HI] * 4294967296 - f[3];
    f[0] = st[ConsolePortWord.N_TX_CHAINS];
    f[1] += txBytes;
    f[2] = st[ConsolePortWord.N_RX_CHAINS];
    f[3] += rxBytes;
    this.own.chains += tx + rx;
    this.own.txBytes += txBytes;
    this.own.rxBytes += rxBytes;
  }

  /** Rewrites the plane's control word from this device's state (see {@link ConsolePortCtrl}). */
  private updatePlane(): void {
    const st = this.plane;
    if (st === null) return;
    const ctx = this.ctx;
    let bits = 0;
    if (ctx !== null && this.bridged) {
      const tx = ctx.queues[ConsoleQueue.TRANSMIT];
      const rx = ctx.queues[ConsoleQueue.RECEIVE];
      if (tx.enabled && tx.hostServed && tx.hostIdle) bits |= ConsolePortCtrl.TX;
      // typed bytes must not overtake input that waits in the FIFO
      if (rx.enabled && rx.hostServed && rx.hostIdle && this.fifo.length === 0) bits |= ConsolePortCtrl.RX;
    }
    st[ConsolePortWord.CTRL] = bits;
  }

  /** Only emerg_wr is writable, as a 32-bit access (5.3.4). */
  configWritable(offset: number, width: number): boolean {
    return offset === ConsoleConfig.emerg_wr && width === 4;
  }

  /** emerg_wr written: output its low byte if EMERG_WRITE was negotiated. */
  configWritten(offset: number): void {
    if (offset !== ConsoleConfig.emerg_wr) return;
    const c = this.config[ConsoleConfig.emerg_wr];
    this.cfg.setUint32(ConsoleConfig.emerg_wr, 0, true);
    // Before FEATURES_OK there is no negotiation to check; emergency output is allowed then (5.3.4).
    if (this.ctx && !hasFeature(this.ctx.features, ConsoleFeature.EMERG_WRITE)) return;
    this.own.emergWrites++;
    this.one[0] = c;
    this.output(this.one, 0, 1);
  }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.updatePlane();
  }

  /** See {@link VirtioDevice.reset}; pending input is kept for the next driver. */
  reset(): void {
    this.ctx = null;
    this.updatePlane();
  }

  /**
   * Sets the console size (cols × rows characters) and, once a driver that
   * negotiated VIRTIO_CONSOLE_F_SIZE runs, sends a configuration change notification.
   */
  setSize(cols: number, rows: number): void {
    this.cfg.setUint16(ConsoleConfig.cols, cols, true);
    this.cfg.setUint16(ConsoleConfig.rows, rows, true);
    if (this.ctx && hasFeature(this.ctx.features, ConsoleFeature.SIZE)) this.ctx.configChanged();
  }

  /**
   * Bytes typed on the host side for the frontend: queued and delivered to
   * the driver's receive buffers as they are available. A string is sent as
   * UTF-8; of a byte array, `[start, end)` (default and at most: all of it). Returns
   * the bytes accepted (the rest was dropped: FIFO full). Never throws: a
   * failure puts the device in DEVICE_NEEDS_RESET.
   */
  input(data: Uint8Array | string, start = 0, end = data.length): number {
    let bytes: Uint8Array;
    if (typeof data === 'string') {
      bytes = utf8Encode(data);
      start = 0;
      end = bytes.length;
    } else {
      bytes = data;
      if (start < 0) start = 0;
      if (end > bytes.length) end = bytes.length;
    }
    if (!(end > start)) return 0;
    const ctx = this.ctx;
    const fifo = this.fifo;
    const direct = ctx !== null && fifo.length === 0;
    let taken = 0;
    if (direct) {
      // nothing queued before these bytes: straight into the driver's receive buffers
      this.rxAt = start;
      try {
        this.fillReceive(ctx, bytes, start, end);
      } catch (e) {
        ctx.fail(`input: ${e instanceof Error ? e.message : String(e)}`);
      }
      taken = this.rxAt - start;
      start = this.rxAt;
      if (start === end) return taken;
    }
    // what the driver has no buffers for waits in the FIFO (behind what already waits there)
    const n = fifo.push(bytes, start, end);
    this.own.rxDropped += end - start - n;
    if (ctx !== null && !direct) {
      try {
        this.fillReceive(ctx, null, 0, 0);
      } catch (e) {
        ctx.fail(`input: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.updatePlane(); // input waits in the FIFO now: typed bytes must queue behind it
    return taken + n;
  }

  /** Bytes waiting for receive buffers. */
  get pendingInput(): number {
    return this.fifo.length;
  }

  /** See {@link VirtioDevice.processQueue}. @throws QueueError for a malformed chain */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (index === ConsoleQueue.TRANSMIT) this.transmit(ctx);
    else if (index === ConsoleQueue.RECEIVE) {
      this.fillReceive(ctx, null, 0, 0);
      if (this.plane !== null && this.fifo.length === 0) this.updatePlane(); // the FIFO drained
    }
  }

  private transmit(ctx: DeviceContext): void {
    const q = ctx.queues[ConsoleQueue.TRANSMIT];
    const chain = ctx.chain;
    const mem = ctx.mem;
    try {
      while (q.pop(chain)) {
        this.own.chains++;
        for (let i = 0; i < chain.firstWritable; i++) {
          const len = chain.len[i];
          if (len === 0) continue;
          const off = mem.check(chain.addr[i], len);
          if (off < 0) {
            this.own.errors++;
            ctx.log(`transmit buffer 0x${chain.addr[i].toString(16)}+${len} outside the shared region: skipped`);
            continue;
          }
          this.own.txBytes += len;
          this.output(mem.u8, off, off + len);
        }
        q.push(chain.head, 0);
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }

  /**
   * Fills the driver's receive buffers from `src[start, end)`, or from the
   * FIFO when `src` is null, until the bytes or the buffers run out.
   * Progress through `src` is in {@link ConsoleDevice.rxAt} (also when a
   * malformed chain throws). @throws QueueError for a malformed chain
   */
  private fillReceive(ctx: DeviceContext, src: Uint8Array | null, start: number, end: number): void {
    const fifo = this.fifo;
    let left = src === null ? fifo.length : end - start;
    if (left === 0) return;
    const q = ctx.queues[ConsoleQueue.RECEIVE];
    if (!q.enabled) return;
    const chain = ctx.chain;
    const mem = ctx.mem;
    const u8 = mem.u8;
    try {
      while (left > 0 && q.pop(chain)) {
        this.own.chains++;
        let written = 0;
        for (let i = chain.firstWritable; i < chain.count && left > 0; i++) {
          const len = chain.len[i];
          if (len === 0) continue;
          const n = len < left ? len : left;
          const off = mem.check(chain.addr[i], n);
          if (off < 0) {
            this.own.errors++;
            ctx.log(`receive buffer 0x${chain.addr[i].toString(16)}+${n} outside the shared region: skipped`);
            continue;
          }
          if (src === null) {
            fifo.shiftTo(u8, off, n);
          } else {
            const at = this.rxAt;
            // a typed character: byte by byte, no view allocated
            if (n <= 16) for (let k = 0; k < n; k++) u8[off + k] = src[at + k];
            else u8.set(src.subarray(at, at + n), off);
            this.rxAt = at + n;
          }
          left -= n;
          written += n;
        }
        if (written === 0) this.own.errors++;
        this.own.rxBytes += written;
        q.push(chain.head, written);
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }
}
