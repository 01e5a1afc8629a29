// SPDX-License-Identifier: Apache-2.0
/**
 * A bounded byte FIFO over one preallocated ring: no allocation after
 * construction. The console's input FIFO and the send and receive buffers
 * of vsock streams.
 */
/** Copies of at most this many bytes go byte by byte: cheaper than the view a TypedArray.set needs (an allocation). */
const SMALL_COPY = 16;

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

  /**
   * Appends as much of `src[start, end)` (default: all of it; clamped to
   * `src`) as fits; returns the bytes taken. A few bytes (a typed
   * character) are copied one by one: no view is allocated for them.
   */
  push(src: Uint8Array, start = 0, end = src.length): number {
    const cap = this.capacity;
    if (start < 0) start = 0;
    if (end > src.length) end = src.length;
    let n = end - start;
    if (n > cap - this.length) n = cap - this.length;
    if (!(n > 0)) return 0;
    const buf = this.buf;
    let tail = this.head + this.length;
    if (tail >= cap) tail -= cap;
    const first = n < cap - tail ? n : cap - tail;
    if (n <= SMALL_COPY) {
      for (let i = 0; i < first; i++) buf[tail + i] = src[start + i];
      for (let i = first; i < n; i++) buf[i - first] = src[start + i];
    } else {
      buf.set(start === 0 && first === src.length ? src : src.subarray(start, start + first), tail);
      if (n > first) buf.set(src.subarray(start + first, start + n), 0);
    }
    this.length += n;
    return n;
  }

  /**
   * Moves up to `max` bytes from the front into `dst` at byte `at`; returns
   * the bytes moved. A few bytes are copied one by one (no view allocated).
   * @throws RangeError if `at` is negative or `dst` holds fewer than the
   *   bytes to move from `at` (nothing is moved then)
   */
  shiftTo(dst: Uint8Array, at: number, max: number): number {
    const n = max < this.length ? max : this.length;
    if (!(n > 0)) return 0;
    if (!(at >= 0) || n > dst.length - at) throw new RangeError(`${n} bytes at ${at} of a ${dst.length}-byte array`);
    const cap = this.capacity;
    const buf = this.buf;
    const head = this.head;
    const first = n < cap - head ? n : cap - head;
    if (n <= SMALL_COPY) {
      for (let i = 0; i < first; i++) dst[at + i] = buf[head + i];
      for (let i = first; i < n; i++) dst[at + i] = buf[i - first];
    } else {
      dst.set(buf.subarray(head, head + first), at);
      if (n > first) dst.set(buf.subarray(0, n - first), at + first);
    }
    this.length -= n;
    if (this.length === 0) this.head = 0;
    else this.head = head + n >= cap ? head + n - cap : head + n;
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
