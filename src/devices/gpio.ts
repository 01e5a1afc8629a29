// SPDX-License-Identifier: Apache-2.0
/**
 * virtio-gpio, a GPIO controller (virtio 1.2 section 5.19), requestq only
 * (no VIRTIO_GPIO_F_IRQ): the worked example of docs/writing-a-device.md.
 *
 * A request is a chain of one device-readable `virtio_gpio_request` (le16
 * type, le16 gpio, le32 value: 8 bytes) and a device-writable response (u8
 * status, u8 value; for GET_NAMES the status and then the names block).
 * A request of another shape, for a line >= ngpio, of an unknown type or
 * with a bad value is answered VIRTIO_GPIO_STATUS_ERR (5.19.6.1), counted
 * and logged; a chain with no writable byte, or whose buffers leave the
 * shared region, is returned with used length 0. The device keeps serving.
 *
 * The lines belong to the backend: an output line reads back what the
 * driver set; an input line reads the level given by {@link GpioDevice.setInput}.
 */
import type { DeviceContext, DeviceCounters, VirtioDevice } from '../virtio/device.ts';
import { GuestMemoryError } from '../virtio/memory.ts';
import type { DescriptorChain } from '../virtio/queue.ts';
import { readFromChain, writeToChain } from '../virtio/sg.ts';
import { DeviceId } from '../virtio/spec.ts';
import { utf8Encode } from './utf8.ts';

/** Request types (5.19.6; Linux `VIRTIO_GPIO_MSG_*`). */
export const enum GpioMsg { GET_NAMES = 1, GET_DIRECTION = 2, SET_DIRECTION = 3, GET_VALUE = 4, SET_VALUE = 5 }
/** Response status (5.19.6). */
export const enum GpioStatus { OK = 0, ERR = 1 }
/** Line directions (5.19.6). */
export const enum GpioDirection { NONE = 0, OUT = 1, IN = 2 }
/** Byte offsets in `struct virtio_gpio_config` (5.19.4). */
export const enum GpioConfig { ngpio = 0, gpio_names_size = 4, SIZE = 8 }
/** Bytes of `struct virtio_gpio_request` and of `struct virtio_gpio_response` (every type but GET_NAMES). */
export const GPIO_REQUEST_SIZE = 8, GPIO_RESPONSE_SIZE = 2;

/** One line, as the device is given it. */
export interface GpioLineSpec {
  /** the name GET_NAMES reports (may be empty; no NUL) */
  name: string;
  /** direction after a device reset (default IN) */
  direction?: GpioDirection;
  /** the level the line reads as an input until {@link GpioDevice.setInput} (default 0) */
  input?: number;
}

/** The lines of a device built without `lines`: four outputs, then four inputs reading 1, 0, 1, 0. */
export const DEFAULT_GPIO_LINES: readonly GpioLineSpec[] = [
  { name: 'led0', direction: GpioDirection.OUT }, { name: 'led1', direction: GpioDirection.OUT },
  { name: 'led2', direction: GpioDirection.OUT }, { name: 'led3', direction: GpioDirection.OUT },
  { name: 'button0', input: 1 }, { name: 'button1', input: 0 }, { name: 'button2', input: 1 }, { name: 'button3', input: 0 },
];

/** Options of {@link GpioDevice}. */
export interface GpioOptions {
  /** the lines, 1 to 65535 (default {@link DEFAULT_GPIO_LINES}) */
  lines?: readonly GpioLineSpec[];
  /** QueueNumMax of the requestq (default 64) */
  queueNumMax?: number;
}

/** A virtio-gpio device (device ID 41). */
export class GpioDevice implements VirtioDevice {
  readonly deviceId = DeviceId.GPIO;
  readonly deviceFeatures = new Uint32Array(2);
  readonly numQueues = 1;
  readonly config = new Uint8Array(GpioConfig.SIZE);
  readonly counters: DeviceCounters = { chains: 0, errors: 0 };

  private ctx: DeviceContext | null = null;
  private readonly numMax: number;
  private readonly specs: readonly GpioLineSpec[];
  /** per line: direction, output latch, input level */
  private readonly dir: Uint8Array;
  private readonly out: Uint8Array;
  private readonly inp: Uint8Array;
  /** the GET_NAMES response: status OK, then every name NUL-terminated */
  private readonly names: Uint8Array;
  private readonly req = new Uint8Array(GPIO_REQUEST_SIZE);
  private readonly reqView = new DataView(this.req.buffer);
  private readonly res = new Uint8Array(GPIO_RESPONSE_SIZE);

  /**
   * @param name for logs, e.g. 'gpio0'
   * @throws RangeError for no lines, more than 65535, a name holding a NUL or a level not 0/1
   */
  constructor(readonly name: string, options: GpioOptions = {}) {
    const lines = options.lines ?? DEFAULT_GPIO_LINES;
    if (lines.length < 1 || lines.length > 0xffff) throw new RangeError(`${name}: ${lines.length} lines, want 1..65535`);
    this.numMax = options.queueNumMax ?? 64;
    this.specs = lines;
    this.dir = new Uint8Array(lines.length);
    this.out = new Uint8Array(lines.length);
    this.inp = new Uint8Array(lines.length);
    const encoded = lines.map((l, i) => {
      if (l.name.includes('\0')) throw new RangeError(`${name}: line ${i}: a name cannot hold a NUL`);
      this.setInput(i, l.input ?? 0);
      return utf8Encode(l.name);
    });
    const size = encoded.reduce((n, b) => n + b.length + 1, 0);
    this.names = new Uint8Array(1 + size);
    let at = 1;
    for (const b of encoded) { this.names.set(b, at); at += b.length + 1; }
    const cfg = new DataView(this.config.buffer);
    cfg.setUint16(GpioConfig.ngpio, lines.length, true);
    cfg.setUint32(GpioConfig.gpio_names_size, size, true);
    this.reset();
  }

  /** QueueNumMax of the requestq. */
  queueNumMax(): number { return this.numMax; }

  /** See {@link VirtioDevice.activate}. */
  activate(ctx: DeviceContext): void { this.ctx = ctx; }

  /** See {@link VirtioDevice.reset}: directions and outputs back to their start; input levels stay. */
  reset(): void {
    this.ctx = null;
    this.specs.forEach((l, i) => { this.dir[i] = l.direction ?? GpioDirection.IN; });
    this.out.fill(0);
  }

  /** Sets the level input line `line` reads (the backend's side of the pin). @throws RangeError for a bad line or level */
  setInput(line: number, level: number): void {
    if (!(line >= 0 && line < this.inp.length) || (level !== 0 && level !== 1)) throw new RangeError(`${this.name}: bad line ${line} or level ${level}`);
    this.inp[line] = level;
  }

  /** The level line `line` drives as an output (what the driver last set), and its direction. */
  line(line: number): { direction: GpioDirection; output: number; input: number } {
    return { direction: this.dir[line], output: this.out[line], input: this.inp[line] };
  }

  /** Answers every available request. @throws QueueError for a malformed chain (the transport sets DEVICE_NEEDS_RESET) */
  processQueue(index: number): void {
    const ctx = this.ctx;
    if (!ctx || index !== 0) return;
    const q = ctx.queues[0];
    try {
      while (q.pop(ctx.chain)) {
        this.counters.chains++;
        q.push(ctx.chain.head, this.serve(ctx, ctx.chain));
      }
    } finally {
      if (this.ctx) ctx.signalUsed(q);
    }
  }

  /** Answers one request; returns the bytes written into its response (the used length). */
  private serve(ctx: DeviceContext, chain: DescriptorChain): number {
    let why: string;
    try {
      why = this.check(ctx, chain);
      if (why === '') {
        const type = this.reqView.getUint16(0, true);
        if (type === GpioMsg.GET_NAMES) return writeToChain(ctx.mem, chain, 0, this.names);
        this.res[0] = GpioStatus.OK;
        this.res[1] = this.execute(type, this.reqView.getUint16(2, true), this.reqView.getUint32(4, true));
        return writeToChain(ctx.mem, chain, 0, this.res);
      }
      this.res[0] = GpioStatus.ERR;
      this.res[1] = 0;
      this.counters.errors++;
      ctx.log(`request refused (VIRTIO_GPIO_STATUS_ERR): ${why}`);
      return writeToChain(ctx.mem, chain, 0, this.res);
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.counters.errors++;
      ctx.log(`request dropped: ${e.message}`);
      return 0;
    }
  }

  /** Reads the request into `req`; returns '' if it can be served, else why not. @throws GuestMemoryError */
  private check(ctx: DeviceContext, chain: DescriptorChain): string {
    if (chain.readableBytes !== GPIO_REQUEST_SIZE) return `request of ${chain.readableBytes} bytes, not ${GPIO_REQUEST_SIZE}`;
    readFromChain(ctx.mem, chain, 0, this.req);
    const type = this.reqView.getUint16(0, true);
    const gpio = this.reqView.getUint16(2, true), value = this.reqView.getUint32(4, true);
    const want = type === GpioMsg.GET_NAMES ? this.names.length : GPIO_RESPONSE_SIZE;
    if (chain.writableBytes < want) return `type ${type}: response of ${chain.writableBytes} bytes, needs ${want}`;
    if (type < GpioMsg.GET_NAMES || type > GpioMsg.SET_VALUE) return `unknown type ${type}`;
    if (type !== GpioMsg.GET_NAMES && gpio >= this.dir.length) return `gpio ${gpio} >= ngpio ${this.dir.length}`;
    if (type === GpioMsg.SET_DIRECTION && value > GpioDirection.IN) return `direction ${value}`;
    if (type === GpioMsg.SET_VALUE && value > 1) return `value ${value}`;
    return '';
  }

  /** Performs a checked request on line `gpio`; returns the response's value byte. */
  private execute(type: number, gpio: number, value: number): number {
    switch (type) {
      case GpioMsg.GET_DIRECTION: return this.dir[gpio];
      case GpioMsg.SET_DIRECTION: this.dir[gpio] = value; return 0;
      case GpioMsg.GET_VALUE: return this.dir[gpio] === GpioDirection.OUT ? this.out[gpio] : this.inp[gpio];
      default: this.out[gpio] = value; return 0; // SET_VALUE: latched, driven while OUT (Linux sets it before the direction)
    }
  }
}
