// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated physical disk ({@link PhysicalDisk}) for the storage tests:
 * requests stay in flight until the test completes them, in the order it
 * chooses; a bounded queue; requests failed by sector; and a volatile
 * write cache, so that a power cut can be simulated: what survives is
 * every write the disk had flushed plus any subset of the others.
 */
import type { PhysicalDisk } from '../../src/devices/disk.ts';
import type { Prng } from './prng.ts';

/** One request the disk took. */
export interface FakeRequest {
  type: number;
  sector: number;
  /** copies of the buffers at submission */
  addrs: number[];
  lens: number[];
  done: (status: number) => void;
  /** FLUSH: writes completed before the flush was submitted */
  covers: number;
}

/** Options of {@link FakeDisk}. */
export interface FakeDiskOptions {
  capacity: number;
  /** requests in flight at most (default 8) */
  queueDepth?: number;
  maxSegments?: number;
  maxSegmentBytes?: number;
  /** a volatile cache (VIRTIO_BLK_F_FLUSH; default true) */
  flush?: boolean;
  readOnly?: boolean;
}

/** A disk whose DMA reaches guest-physical memory through `dma(addr, len)`. */
export class FakeDisk implements PhysicalDisk {
  readonly capacity: number;
  readonly readOnly: boolean;
  readonly flush: boolean;
  readonly maxSegments: number;
  readonly maxSegmentBytes: number;
  readonly queueDepth: number;
  /** what a read returns: every completed write applied */
  readonly current: Uint8Array;
  /** what survives a power cut for sure: every flushed write applied */
  readonly durable: Uint8Array;
  /** completed writes not yet flushed, in completion order: [sector, bytes] */
  unflushed: { sector: number; bytes: Uint8Array; seq: number }[] = [];
  /** requests in flight */
  readonly inFlight: FakeRequest[] = [];
  /** sectors whose requests fail with IOERR */
  readonly failSectors = new Set<number>();
  /** broken promises of the interface (too many segments, a submit while full that was taken…) */
  readonly violations: string[] = [];
  /** every request completed, in order: type and sector */
  readonly log: { type: number; sector: number; status: number }[] = [];
  private writesCompleted = 0;

  constructor(opts: FakeDiskOptions, private readonly dma: (addr: number, len: number) => Uint8Array) {
    this.capacity = opts.capacity;
    this.readOnly = opts.readOnly ?? false;
    this.flush = opts.flush ?? true;
    this.maxSegments = opts.maxSegments ?? 128;
    this.maxSegmentBytes = opts.maxSegmentBytes ?? 65536;
    this.queueDepth = opts.queueDepth ?? 8;
    this.current = new Uint8Array(this.capacity);
    this.durable = new Uint8Array(this.capacity);
  }

  submit(type: number, sector: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): boolean {
    if (this.inFlight.length >= this.queueDepth) return false;
    if (count > this.maxSegments) this.violations.push(`${count} segments > ${this.maxSegments}`);
    const a: number[] = [];
    const l: number[] = [];
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      if (lens[i] > this.maxSegmentBytes) this.violations.push(`segment of ${lens[i]} bytes > ${this.maxSegmentBytes}`);
      if (lens[i] % 512) this.violations.push(`segment of ${lens[i]} bytes, not whole sectors`);
      a.push(addrs[i]);
      l.push(lens[i]);
      bytes += lens[i];
    }
    if (type !== 4 && (sector * 512 + bytes > this.capacity || bytes === 0)) this.violations.push(`request at sector ${sector} of ${bytes} bytes`);
    this.inFlight.push({ type, sector, addrs: a, lens: l, done, covers: this.writesCompleted });
    return true;
  }

  /** Completes request `i` of {@link FakeDisk.inFlight} (its data moves now). */
  complete(i: number): void {
    const r = this.inFlight.splice(i, 1)[0];
    let status = 0;
    let bytes = 0;
    for (const n of r.lens) bytes += n;
    for (let s = r.sector; s < r.sector + Math.max(1, bytes / 512); s++) if (r.type !== 4 && this.failSectors.has(s)) status = 1;
    if (status === 0) {
      let off = r.sector * 512;
      if (r.type === 0) {
        for (let k = 0; k < r.addrs.length; k++) {
          this.dma(r.addrs[k], r.lens[k]).set(this.current.subarray(off, off + r.lens[k]));
          off += r.lens[k];
        }
      } else if (r.type === 1) {
        if (this.readOnly) status = 1;
        else {
          for (let k = 0; k < r.addrs.length; k++) {
            const data = this.dma(r.addrs[k], r.lens[k]).slice();
            this.current.set(data, off);
            if (this.flush) this.unflushed.push({ sector: off / 512, bytes: data, seq: this.writesCompleted });
            else this.durable.set(data, off);
            off += r.lens[k];
          }
          this.writesCompleted++;
        }
      } else if (r.type === 4) {
        // durable: every write completed before the flush was submitted
        const keep: typeof this.unflushed = [];
        for (const w of this.unflushed) {
          if (w.seq < r.covers) this.durable.set(w.bytes, w.sector * 512);
          else keep.push(w);
        }
        this.unflushed = keep;
      }
    }
    this.log.push({ type: r.type, sector: r.sector, status });
    r.done(status);
  }

  /** Completes up to `n` requests in flight, picked by `rng`. Returns how many. */
  completeRandom(rng: Prng, n: number): number {
    let done = 0;
    while (done < n && this.inFlight.length > 0) {
      this.complete(rng.below(this.inFlight.length));
      done++;
    }
    return done;
  }

  /**
   * The disk's content after a power cut now: the flushed writes, plus each
   * unflushed one with probability 1/2 (in completion order).
   */
  afterPowerCut(rng: Prng): Uint8Array {
    const img = this.durable.slice();
    for (const w of this.unflushed) if (rng.below(2) === 1) img.set(w.bytes, w.sector * 512);
    return img;
  }
}
