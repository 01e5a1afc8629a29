// SPDX-License-Identifier: Apache-2.0
/**
 * Block storage behind a virtio-blk device, in two shapes.
 *
 * {@link BlockBacking} is synchronous and byte-addressed: memory the
 * backend reaches directly (a RAM region). Buffers are in the frontend's
 * shared region: a backing reads into and writes from the region's bytes
 * at an offset, directly (zero copy), and must not keep them after
 * returning.
 *
 * {@link AsyncBlockBacking} is a disk whose requests complete later, from
 * an interrupt, in any order: a range of a physical disk the backend VM
 * owns (`disk.ts`). It gets the buffers as guest-physical addresses, which
 * the disk reads and writes by DMA.
 */
import type { Host } from '../host.ts';

/** A store of bytes addressed by offset; offsets and lengths are multiples of 512. */
export interface BlockBacking {
  /** size in bytes (a multiple of 512); the device reports it as capacity in 512-byte sectors */
  readonly capacity: number;
  /** true if writes, discards and write-zeroes must be refused */
  readonly readOnly: boolean;
  /** logical block size in bytes reported as blk_size (512 unless the medium says otherwise) */
  readonly blockSize: number;
  /** the device id string for VIRTIO_BLK_T_GET_ID (at most 20 bytes of ASCII) */
  readonly id: string;
  /**
   * The store's bytes when it is plain memory the host can reach (a buffer
   * of `host.region`): a blk device may then hand its request path to the
   * host's data plane ({@link Host.dataPlane}). Absent otherwise.
   */
  readonly ram?: ArrayBuffer;
  /**
   * Copies `length` bytes from `offset` into `dst` at `dstOffset` (inside
   * `dst`, which the caller checked). Returns false on an I/O error. (An
   * offset into one view of the region rather than a view per buffer: a
   * typed array costs QuickJS a constructor call.)
   */
  read(offset: number, dst: Uint8Array, dstOffset: number, length: number): boolean;
  /**
   * Copies `length` bytes of `src` from `srcOffset` (inside `src`, which
   * the caller checked) to `offset`. Returns false on an I/O error.
   */
  write(offset: number, src: Uint8Array, srcOffset: number, length: number): boolean;
  /** Makes previous writes durable. Returns false on an I/O error. */
  flush(): boolean;
  /** The range's content becomes unspecified (a hint). Returns false on an I/O error. */
  discard(offset: number, length: number): boolean;
  /** The range reads back as zeroes afterwards. Returns false on an I/O error. */
  writeZeroes(offset: number, length: number): boolean;
}

/**
 * A block store whose requests complete later (a range of a physical disk,
 * `DiskRangeBacking` in `disk.ts`). Offsets and lengths are multiples of
 * 512 and inside `capacity` (the device checked them).
 */
export interface AsyncBlockBacking {
  /** tells it apart from a {@link BlockBacking} */
  readonly async: true;
  /** size in bytes (a multiple of 512) */
  readonly capacity: number;
  /** true if writes must be refused */
  readonly readOnly: boolean;
  /** logical block size in bytes reported as blk_size */
  readonly blockSize: number;
  /** the device id string for VIRTIO_BLK_T_GET_ID (at most 20 bytes of ASCII) */
  readonly id: string;
  /**
   * true if a completed write may sit in a volatile cache until a flush
   * completes; false if each write is durable when it completes
   */
  readonly volatileCache: boolean;
  /**
   * Starts a read (BlkType.IN: the disk's bytes at `offset` into the
   * buffers) or a write (BlkType.OUT: the buffers to `offset`) of the first
   * `count` buffers: guest-physical addresses `addrs[i]` of the frontend's
   * shared region, `lens[i]` bytes each. The arrays may be reused once this
   * returns. `done(status)` is called exactly once, later (never from inside
   * `submit`), with a virtio-blk status (BlkStatus: OK, IOERR).
   */
  submit(type: number, offset: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): void;
  /**
   * Makes every write completed before the call durable; `done(status)`
   * once, when the disk has acknowledged its flush (from inside the call
   * when the disk has no volatile cache: nothing to wait for).
   */
  flush(done: (status: number) => void): void;
  /** Requests submitted until {@link AsyncBlockBacking.unplug} may reach the disk with one notification of it. */
  plug(): void;
  /** See {@link AsyncBlockBacking.plug}. */
  unplug(): void;
  /** Adds a function called after each burst of completions (the device sends its used buffer notification there). */
  onCompleted(listener: () => void): void;
}

/** Whether `b` is an {@link AsyncBlockBacking}. */
export function isAsyncBacking(b: BlockBacking | AsyncBlockBacking): b is AsyncBlockBacking {
  return (b as AsyncBlockBacking).async === true;
}

/**
 * A block store in a RAM region of the backend (`host.region(name)` of a
 * `backing` named in the platform description). Discard zeroes too (RAM
 * has nothing to unmap), which the virtio spec allows.
 */
export class RamBacking implements BlockBacking {
  readonly capacity: number;
  readonly blockSize = 512;
  private readonly bytes: Uint8Array;
  /** the region (see {@link BlockBacking.ram}) */
  readonly ram: ArrayBuffer;

  /**
   * @param buffer the region; its size rounded down to 512 bytes is the capacity
   * @param readOnly refuse writes
   * @param id GET_ID string, truncated to 20 bytes
   * @param host the host's {@link Host.copy}, if it has one: a copy without a view per request
   */
  constructor(buffer: ArrayBuffer, readonly readOnly = false, readonly id = 'baojs-ram', private readonly host: Pick<Host, 'copy'> = {}) {
    this.capacity = buffer.byteLength - (buffer.byteLength % 512);
    this.ram = buffer;
    this.bytes = new Uint8Array(buffer, 0, this.capacity);
  }

  read(offset: number, dst: Uint8Array, dstOffset: number, length: number): boolean {
    const cap = this.capacity;
    if (!(offset >= 0 && length >= 0 && offset <= cap && length <= cap - offset)) return false;
    if (this.host.copy) this.host.copy(dst, dstOffset, this.bytes, offset, length);
    // A fresh view rather than subarray(): no species constructor lookup.
    else dst.set(new Uint8Array(this.ram, offset, length), dstOffset);
    return true;
  }

  write(offset: number, src: Uint8Array, srcOffset: number, length: number): boolean {
    const cap = this.capacity;
    if (this.readOnly || !(offset >= 0 && length >= 0 && offset <= cap && length <= cap - offset)) return false;
    if (this.host.copy) this.host.copy(this.bytes, offset, src, srcOffset, length);
    else this.bytes.set(new Uint8Array(src.buffer, src.byteOffset + srcOffset, length), offset);
    return true;
  }

  flush(): boolean {
    return true;
  }

  discard(offset: number, length: number): boolean {
    return this.writeZeroes(offset, length);
  }

  writeZeroes(offset: number, length: number): boolean {
    if (this.readOnly || !this.inRange(offset, length)) return false;
    this.bytes.fill(0, offset, offset + length);
    return true;
  }

  private inRange(offset: number, length: number): boolean {
    return offset >= 0 && length >= 0 && offset <= this.capacity && length <= this.capacity - offset;
  }
}
