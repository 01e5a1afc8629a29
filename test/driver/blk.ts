// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio-blk driver model (Linux `virtio_blk.c` in miniature): requests
 * built as header / data / status buffers from the DMA pool, submitted on
 * queue 0, answered synchronously by the simulated backend.
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import type { SimBao } from '../sim/bao.ts';
import { DriverQueue, VirtioMmioDriver, type Buf, type ProbeOptions } from './virtio.ts';

/** Request types and status values (virtio 1.2 section 5.2.6). */
export const BLK_T = { IN: 0, OUT: 1, FLUSH: 4, GET_ID: 8, DISCARD: 11, WRITE_ZEROES: 13 } as const;
export const BLK_S = { OK: 0, IOERR: 1, UNSUPP: 2 } as const;

/** What a request came back with. */
export interface BlkResult {
  /** status byte */
  status: number;
  /** used length the device reported */
  usedLen: number;
  /** device-writable data (IN, GET_ID) */
  data: Uint8Array;
}

/** A request put on the queue by {@link BlkDriver.add}, not answered yet. */
export interface PendingBlkRequest {
  /** its head descriptor: the used element's id */
  head: number;
  type: number;
  sector: number;
  /** address of its status byte */
  status: number;
  /** its device-writable data buffers */
  data: Buf[];
  /** every buffer of it in the DMA pool */
  allocs: number[];
  /** the device-readable data it carries */
  payload?: Uint8Array;
}

/** Options of {@link BlkDriver}. */
export interface BlkDriverOptions extends ProbeOptions {
  vcpu?: number;
  /** put each request in an indirect table */
  indirect?: boolean;
  /** split data into buffers of at most this many bytes (default: one buffer) */
  segmentBytes?: number;
  /** Queue Size to ask for (default QueueNumMax) */
  queueSize?: number;
}

/** A virtio-blk frontend. */
export class BlkDriver {
  readonly drv: VirtioMmioDriver;
  readonly q: DriverQueue;
  /** capacity in 512-byte sectors, from config */
  readonly capacity: number;

  constructor(readonly sim: SimBao, model: DeviceModel, readonly opts: BlkDriverOptions = {}) {
    this.drv = new VirtioMmioDriver(sim, model, opts.vcpu ?? 0);
    this.drv.probe(2, opts);
    this.capacity = this.drv.readConfig(0, 4) + this.drv.readConfig(4, 4) * 4294967296;
    this.q = this.drv.setupQueue(0, opts.queueSize);
    this.drv.driverOk();
  }

  /**
   * Puts one request on queue 0 without kicking or waiting: the header,
   * `out` (device-readable data after the header) and `inLen` bytes of
   * device-writable data before the status byte, split into buffers of at
   * most `segmentBytes` (default the option's) aligned to `align` bytes.
   */
  add(type: number, sector: number, out?: Uint8Array, inLen = 0, segmentBytes = this.opts.segmentBytes ?? Infinity, align = 16): PendingBlkRequest {
    const m = this.drv.mem;
    const pool = this.drv.pool;
    const hdr = pool.alloc(16, 16);
    m.w32(hdr, type);
    m.w32(hdr + 4, 0);
    m.w64(hdr + 8, sector);
    const allocs = [hdr];
    const outBufs: Buf[] = [{ addr: hdr, len: 16 }];
    const inBufs: Buf[] = [];
    const seg = segmentBytes;
    if (out && out.length) {
      for (let o = 0; o < out.length; o += seg) {
        const n = Math.min(seg, out.length - o);
        const a = pool.alloc(n, align);
        m.write(a, out.subarray(o, o + n));
        allocs.push(a);
        outBufs.push({ addr: a, len: n });
      }
    }
    const data: Buf[] = [];
    for (let o = 0; o < inLen; o += seg) {
      const n = Math.min(seg, inLen - o);
      const a = pool.alloc(n, align);
      m.fill(a, n, 0xee);
      allocs.push(a);
      inBufs.push({ addr: a, len: n });
      data.push({ addr: a, len: n });
    }
    const st = pool.alloc(1, 1);
    m.w8(st, 0xff);
    allocs.push(st);
    inBufs.push({ addr: st, len: 1 });
    const head = this.q.add(outBufs, inBufs, this.opts.indirect ?? false);
    return { head, type, sector, status: st, data, allocs, payload: out };
  }

  /** The device-writable data of `p` (after its answer), and its buffers freed. */
  finish(p: PendingBlkRequest): { status: number; data: Uint8Array } {
    const m = this.drv.mem;
    const data = new Uint8Array(p.data.reduce((n, b) => n + b.len, 0));
    let o = 0;
    for (const b of p.data) {
      data.set(m.read(b.addr, b.len), o);
      o += b.len;
    }
    const status = m.r8(p.status);
    for (const a of p.allocs) this.drv.pool.release(a);
    return { status, data };
  }

  /**
   * Submits one request and waits for it (the simulated backend answers
   * during the kick). `out` is device-readable data after the header;
   * `inLen` bytes of device-writable data come before the status byte.
   */
  request(type: number, sector: number, out?: Uint8Array, inLen = 0): BlkResult {
    const p = this.add(type, sector, out, inLen);
    this.q.kick();
    this.drv.handleInterrupt();
    const used = this.q.getUsed();
    if (!used) throw new Error('request not completed');
    if (used.id !== p.head) throw new Error(`used id ${used.id}, expected ${p.head}`);
    const r = this.finish(p);
    return { status: r.status, usedLen: used.len, data: r.data };
  }

  /** Reads `count` sectors from `sector`. */
  read(sector: number, count: number): BlkResult {
    return this.request(BLK_T.IN, sector, undefined, count * 512);
  }

  /** Writes `data` (whole sectors) at `sector`. */
  write(sector: number, data: Uint8Array): BlkResult {
    return this.request(BLK_T.OUT, sector, data);
  }

  flush(): BlkResult {
    return this.request(BLK_T.FLUSH, 0);
  }

  /** GET_ID: the id string (up to 20 bytes, NULs stripped). */
  getId(): { status: number; id: string } {
    const r = this.request(BLK_T.GET_ID, 0, undefined, 20);
    let id = '';
    for (const b of r.data) if (b) id += String.fromCharCode(b);
    return { status: r.status, id };
  }

  /** DISCARD or WRITE_ZEROES with segments `[sector, numSectors, flags]`. */
  ranges(type: number, segs: [number, number, number][]): BlkResult {
    const buf = new Uint8Array(16 * segs.length);
    const dv = new DataView(buf.buffer);
    segs.forEach(([s, n, f], i) => {
      dv.setUint32(16 * i, s % 4294967296, true);
      dv.setUint32(16 * i + 4, Math.floor(s / 4294967296), true);
      dv.setUint32(16 * i + 8, n, true);
      dv.setUint32(16 * i + 12, f, true);
    });
    return this.request(type, 0, buf);
  }
}
