// SPDX-License-Identifier: Apache-2.0
/**
 * A bounded byte FIFO over one preallocated ring: no allocation after
 * construction. The console's input FIFO and the send and receive buffers
 * of vsock streams.
 */
export class ByteFifo {
  private readonly buf: Uint8Array;
  private head = 0;
  /** bytes held */
  length = 0;

  /** @param capacity bytes the FIFO holds at most */
  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Bytes that can still be pushed. */
  get free(): number {
    return this.capacity - this.length;
  }

  /** Appends as much of `src` as fits; returns the bytes taken. */
  push(src: Uint8Array): number {
    const n = Math.min(src.length, this.capacity - this.length);
    const cap = this.capacity;
    const tail = (this.head + this.length) % cap;
    const first = Math.min(n, cap - tail);
    this.buf.set(src.subarray(0, first), tail);
    if (n > first) this.buf.set(src.subarray(first, n), 0);
    this.length += n;
    return n;
  }

  /**
   * Copies up to `dst.length` bytes from the front into `dst` without
   * removing them; returns the bytes copied.
   */
  peek(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.length);
    const cap = this.capacity;
    const first = Math.min(n, cap - this.head);
    dst.set(this.buf.subarray(this.head, this.head + first), 0);
    if (n > first) dst.set(this.buf.subarray(0, n - first), first);
    return n;
  }

  /** Drops `n` bytes (at most {@link ByteFifo.length}) from the front. */
  skip(n: number): void {
    const k = Math.min(n, this.length);
    this.head = (this.head + k) % this.capacity;
    this.length -= k;
    if (this.length === 0) this.head = 0;
  }

  /** Moves up to `dst.length` bytes from the front into `dst`; returns the bytes moved. */
  shift(dst: Uint8Array): number {
    const n = this.peek(dst);
    this.skip(n);
    return n;
  }

  /** Empties the FIFO. */
  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}
