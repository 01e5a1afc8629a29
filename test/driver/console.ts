// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-console driver model (Linux `virtio_console.c`, one port, no
 * multiport): fills receiveq with buffers at probe, transmits on transmitq.
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type ProbeOptions } from './virtio.ts';

/** Options of {@link ConsoleDriver}. */
export interface ConsoleDriverOptions extends ProbeOptions {
  vcpu?: number;
  /** bytes per receive buffer (default 64) */
  rxBufBytes?: number;
  /** receive buffers posted at probe (default: all of the queue) */
  rxBuffers?: number;
}

/** A virtio-console frontend. */
export class ConsoleDriver {
  readonly drv: VirtioMmioDriver;
  readonly rx: DriverQueue;
  readonly tx: DriverQueue;
  private readonly rxBufs = new Map<number, number>();
  private readonly bufBytes: number;

  constructor(readonly sim: SimBao, model: DeviceModel, opts: ConsoleDriverOptions = {}) {
    this.drv = new VirtioMmioDriver(sim, model, opts.vcpu ?? 0);
    this.drv.probe(3, opts);
    this.rx = this.drv.setupQueue(0);
    this.tx = this.drv.setupQueue(1);
    this.bufBytes = opts.rxBufBytes ?? 64;
    const n = Math.min(opts.rxBuffers ?? this.rx.num, this.rx.num);
    for (let i = 0; i < n; i++) this.postRx();
    this.drv.driverOk();
  }

  private postRx(): void {
    const a = this.drv.pool.alloc(this.bufBytes, 16);
    const head = this.rx.add([], [{ addr: a, len: this.bufBytes }]);
    this.rxBufs.set(head, a);
  }

  /** Config: cols and rows. */
  size(): { cols: number; rows: number } {
    return { cols: this.drv.readConfig(0, 2), rows: this.drv.readConfig(2, 2) };
  }

  /** Transmits `bytes` in one buffer; returns the used length. */
  write(bytes: Uint8Array): number {
    const a = this.drv.pool.alloc(bytes.length, 1);
    this.drv.mem.write(a, bytes);
    const head = this.tx.add([{ addr: a, len: bytes.length }], []);
    this.tx.kick();
    this.drv.handleInterrupt();
    const used = this.tx.getUsed();
    if (!used || used.id !== head) throw new Error('transmit not completed');
    this.drv.pool.release(a);
    return used.len;
  }

  /** Bytes received so far; re-posts the buffers and kicks receiveq. */
  receive(): Uint8Array {
    this.drv.handleInterrupt();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let u = this.rx.getUsed(); u; u = this.rx.getUsed()) {
      const a = this.rxBufs.get(u.id);
      if (a === undefined) throw new Error(`unknown rx head ${u.id}`);
      this.rxBufs.delete(u.id);
      parts.push(this.drv.mem.read(a, u.len));
      total += u.len;
      this.drv.pool.release(a);
      this.postRx();
    }
    if (parts.length) this.rx.kick();
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
