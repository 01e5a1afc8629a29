// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-gpio driver model (Linux `drivers/gpio/gpio-virtio.c`): reads
 * ngpio and gpio_names_size at probe, sets up the requestq only, and sends
 * each request as one 8-byte device-readable buffer and one device-writable
 * response buffer (2 bytes; 1 + gpio_names_size for GET_NAMES), waiting for
 * its completion. `raw` sends chains of any shape for the error tests.
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import { GpioConfig, GpioMsg } from '../../src/devices/gpio.ts';
import { Utf8Decoder } from '../../src/devices/utf8.ts';
import { DeviceId } from '../../src/virtio/spec.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type Buf, type ProbeOptions } from './virtio.ts';

/** What came back for one request. */
export interface GpioReply {
  /** used length the device returned */
  len: number;
  /** the response buffer's bytes (all of it, whatever `len` says) */
  bytes: Uint8Array;
}

/** A virtio-gpio frontend. */
export class GpioDriver {
  readonly drv: VirtioMmioDriver;
  readonly q: DriverQueue;
  /** config space: number of lines */
  readonly ngpio: number;
  /** config space: bytes of the names block */
  readonly namesSize: number;

  constructor(readonly sim: SimBao, model: DeviceModel, opts: ProbeOptions & { vcpu?: number } = {}) {
    this.drv = new VirtioMmioDriver(sim, model, opts.vcpu ?? 0);
    this.drv.probe(DeviceId.GPIO, opts);
    this.namesSize = this.drv.readConfig(GpioConfig.gpio_names_size, 4);
    this.ngpio = this.drv.readConfig(GpioConfig.ngpio, 2);
    this.q = this.drv.setupQueue(0);
    this.drv.driverOk();
  }

  /** The 8 bytes of a request: le16 type, le16 gpio, le32 value. */
  static encode(type: number, gpio: number, value: number): Uint8Array {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, type, true);
    dv.setUint16(2, gpio, true);
    dv.setUint32(4, value >>> 0, true);
    return b;
  }

  /**
   * Sends a chain of the device-readable `out` pieces (copied into the pool)
   * and device-writable buffers of `inLens` bytes (filled with 0xee first);
   * `extra` buffers (any address) are appended after them as given.
   * @throws Error if the request is not completed at once
   */
  raw(out: Uint8Array[], inLens: number[], extra: { out?: Buf[]; in?: Buf[] } = {}): GpioReply {
    const m = this.drv.mem;
    const pool = this.drv.pool;
    const outs = out.map((b) => { const a = pool.alloc(Math.max(b.length, 1), 8); m.write(a, b); return { addr: a, len: b.length }; });
    const ins = inLens.map((n) => { const a = pool.alloc(Math.max(n, 1), 8); m.fill(a, Math.max(n, 1), 0xee); return { addr: a, len: n }; });
    const head = this.q.add([...outs, ...(extra.out ?? [])], [...ins, ...(extra.in ?? [])]);
    this.q.kick();
    this.drv.handleInterrupt();
    const used = this.q.getUsed();
    if (!used || used.id !== head) throw new Error('gpio request not completed');
    const bytes = new Uint8Array(ins.reduce((n, b) => n + b.len, 0));
    let at = 0;
    for (const b of ins) { bytes.set(m.read(b.addr, b.len), at); at += b.len; }
    for (const b of [...outs, ...ins]) pool.release(b.addr);
    return { len: used.len, bytes };
  }

  /** One request as Linux sends it; returns the response's status and value. */
  request(type: number, gpio: number, value = 0): { status: number; value: number; len: number } {
    const r = this.raw([GpioDriver.encode(type, gpio, value)], [2]);
    return { status: r.bytes[0], value: r.bytes[1], len: r.len };
  }

  /** GET_NAMES, parsed as Linux's `virtio_gpio_get_names` does: ngpio NUL-terminated strings. */
  names(): { status: number; len: number; names: string[] } {
    const r = this.raw([GpioDriver.encode(GpioMsg.GET_NAMES, 0, 0)], [1 + this.namesSize]);
    const names: string[] = [];
    let at = 1;
    for (let i = 0; i < this.ngpio; i++) {
      const end = r.bytes.indexOf(0, at);
      if (end < 0) throw new Error(`names block too short at line ${i}`);
      names.push(new Utf8Decoder().decode(r.bytes.subarray(at, end)));
      at = end + 1;
    }
    return { status: r.bytes[0], len: r.len, names };
  }
}
