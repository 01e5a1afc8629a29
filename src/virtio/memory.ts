// SPDX-License-Identifier: Apache-2.0
/**
 * Guest memory: the one place where a frontend guest-physical address (GPA)
 * becomes something the backend can read or write.
 *
 * Bao maps a remio device's shared-memory region at the same GPA in the
 * frontend and in the backend (Bao `src/core/remio.c` refuses a
 * configuration where base, size or id differ; `remio-abi.md`), so
 * translation is a bounds check: an address is usable only if the whole
 * range `[addr, addr + len)` lies inside the region. Everything else —
 * including addresses that are valid RAM of the backend itself — is refused
 * here, so a frontend can never make the backend touch its own memory.
 *
 * Views are zero copy: they alias the `ArrayBuffer` that `Host.region()`
 * returns over the real region.
 */

/** Thrown by the checking accessors of {@link GuestMemory} for a range outside the region. */
export class GuestMemoryError extends Error {
  /**
   * @param addr the guest-physical address asked for (may be inexact above 2^53)
   * @param len the length asked for, bytes
   */
  constructor(readonly addr: number, readonly len: number, region: string) {
    super(`guest range 0x${hex(addr)}+${len} is outside shared region ${region}`);
    this.name = 'GuestMemoryError';
  }
}

function hex(n: number): string {
  return Number.isFinite(n) && n >= 0 ? n.toString(16) : String(n);
}

/** 2^32, to join 32-bit halves of a 64-bit guest address. */
const TWO32 = 4294967296;

/**
 * True if this engine's typed arrays are little-endian (every supported
 * target and host is): the rings can then be read through
 * {@link GuestMemory.u16} / {@link GuestMemory.u32} instead of DataView
 * calls, which cost QuickJS several times more.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Joins the 32-bit halves of a 64-bit guest address into a number.
 * Addresses at or above 2^53 are not exact, but every one of them lies
 * above any region a platform can describe, so a bounds check on the result
 * still refuses them.
 * @param lo low 32 bits (unsigned)
 * @param hi high 32 bits (unsigned)
 */
export function joinAddress(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/**
 * A device's view of one shared-memory region.
 *
 * Shapes: `base` and `size` in bytes; every accessor takes a guest-physical
 * address. `check()` never throws; the other accessors throw
 * {@link GuestMemoryError} on a range outside the region. Multi-byte values
 * are little-endian (virtio 1.2 section 1.4: rings and headers are le).
 */
export class GuestMemory {
  /** size of the region, bytes */
  readonly size: number;
  /** bytes of the whole region (zero copy over the host region) */
  readonly u8: Uint8Array;
  /** DataView of the whole region (zero copy) */
  readonly dv: DataView;
  /** the region as native-endian u16s (element i = bytes 2i, 2i+1); little-endian only where {@link LITTLE_ENDIAN} */
  readonly u16: Uint16Array;
  /** the region as native-endian u32s (element i = bytes 4i..4i+3); little-endian only where {@link LITTLE_ENDIAN} */
  readonly u32: Uint32Array;

  /**
   * @param base guest-physical address of the region's first byte
   * @param buffer the region itself, e.g. `host.region('shmem:vda')`
   * @param name for messages
   * @param size bytes of the region (default and maximum: the whole buffer)
   * @throws RangeError if base is not a non-negative safe integer or size is
   *   bad (regions are below 4 GiB)
   */
  constructor(readonly base: number, readonly buffer: ArrayBuffer, readonly name = 'shmem', size = buffer.byteLength) {
    if (!Number.isSafeInteger(base) || base < 0) throw new RangeError(`bad region base ${base}`);
    if (!Number.isSafeInteger(size) || size < 0 || size > buffer.byteLength || size > 0xffffffff) throw new RangeError(`bad region size ${size}`);
    this.size = size;
    this.u8 = new Uint8Array(buffer, 0, size);
    this.dv = new DataView(buffer, 0, size);
    this.u16 = new Uint16Array(buffer, 0, Math.floor(size / 2));
    this.u32 = new Uint32Array(buffer, 0, Math.floor(size / 4));
  }

  /**
   * Offset inside the region of `[addr, addr + len)`, or -1 if any byte of
   * it is outside the region, if `addr`/`len` are not non-negative integers,
   * or if `addr + len` wraps (any such sum is beyond 2^53 and out of range).
   * A zero-length range is valid anywhere from `base` to `base + size`.
   */
  check(addr: number, len: number): number {
    const off = addr - this.base;
    // `off` is exact while addr < 2^53; larger addrs give off > size below.
    // Valid values are integers in [0, size], size < 2^32, so `x >>> 0 === x`
    // tests all of it at once (false for negatives, fractions, NaN and
    // anything at or above 2^32) without a call into Math.
    if ((off >>> 0) !== off || (len >>> 0) !== len || len > this.size - off) return -1;
    return off;
  }

  /**
   * Offset of `[addr, addr + len)` inside the region.
   * @throws GuestMemoryError if the range is not inside the region
   */
  offset(addr: number, len: number): number {
    const off = this.check(addr, len);
    if (off < 0) throw new GuestMemoryError(addr, len, this.name);
    return off;
  }

  /**
   * A byte view of `[addr, addr + len)`, aliasing the region (no copy).
   * @throws GuestMemoryError if the range is not inside the region
   */
  bytes(addr: number, len: number): Uint8Array {
    const off = this.check(addr, len);
    if (off < 0) throw new GuestMemoryError(addr, len, this.name);
    // A fresh view (the region's views start at byte 0 of the buffer): the
    // same bytes as u8.subarray(), without its species constructor lookup.
    return new Uint8Array(this.buffer, off, len);
  }

  /**
   * A DataView of `[addr, addr + len)`, aliasing the region (no copy).
   * @throws GuestMemoryError if the range is not inside the region
   */
  view(addr: number, len: number): DataView {
    return new DataView(this.buffer, this.offset(addr, len), len);
  }

  /** Reads a u8 at `addr`. @throws GuestMemoryError outside the region */
  read8(addr: number): number {
    return this.u8[this.offset(addr, 1)];
  }

  /** Reads a little-endian u16 at `addr`. @throws GuestMemoryError outside the region */
  read16(addr: number): number {
    return this.dv.getUint16(this.offset(addr, 2), true);
  }

  /** Reads a little-endian u32 at `addr`. @throws GuestMemoryError outside the region */
  read32(addr: number): number {
    return this.dv.getUint32(this.offset(addr, 4), true);
  }

  /** Writes a u8 at `addr`. @throws GuestMemoryError outside the region */
  write8(addr: number, v: number): void {
    this.u8[this.offset(addr, 1)] = v;
  }

  /** Writes a little-endian u16 at `addr`. @throws GuestMemoryError outside the region */
  write16(addr: number, v: number): void {
    this.dv.setUint16(this.offset(addr, 2), v, true);
  }

  /** Writes a little-endian u32 at `addr`. @throws GuestMemoryError outside the region */
  write32(addr: number, v: number): void {
    this.dv.setUint32(this.offset(addr, 4), v, true);
  }
}
