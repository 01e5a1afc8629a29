// SPDX-License-Identifier: Apache-2.0
/**
 * Parsing a virtio-blk request out of a descriptor chain (virtio 1.2
 * section 5.2.6). Parsing only: nothing here touches the backing store.
 *
 * A request is `struct virtio_blk_req { le32 type; le32 reserved; le64
 * sector; u8 data[]; u8 status; }`: the 16-byte header in the first
 * device-readable bytes, then data (device-readable for OUT, DISCARD,
 * WRITE_ZEROES; device-writable for IN, GET_ID), then the status byte as the
 * last device-writable byte. The driver may split this across buffers in
 * any way (2.7.4).
 */
import { LITTLE_ENDIAN, type GuestMemory } from '../virtio/memory.ts';
import type { DescriptorChain } from '../virtio/queue.ts';
import { readFromChain } from '../virtio/sg.ts';

/** Request types (5.2.6). */
export const enum BlkType {
  IN = 0,
  OUT = 1,
  FLUSH = 4,
  GET_ID = 8,
  GET_LIFETIME = 10,
  DISCARD = 11,
  WRITE_ZEROES = 13,
  SECURE_ERASE = 14,
}

/** Status byte values (5.2.6). */
export const enum BlkStatus {
  OK = 0,
  IOERR = 1,
  UNSUPP = 2,
}

/** Bytes of the request header (type, reserved, sector). */
export const BLK_HEADER_SIZE = 16;
/** Bytes of a discard / write-zeroes segment (le64 sector, le32 num_sectors, le32 flags). */
export const BLK_SEGMENT_SIZE = 16;
/** Bytes of a sector: capacity and `sector` are in these units regardless of blk_size (5.2.4). */
export const SECTOR_SIZE = 512;
/** Bytes of the GET_ID answer (5.2.6). */
export const BLK_ID_BYTES = 20;

/** How a chain failed to be a request. */
export const enum BlkParse {
  /** a request: see the fields */
  OK = 0,
  /** no device-writable status byte inside the region: the request cannot be answered */
  NO_STATUS = 1,
  /** a status byte exists but the header is short, unreadable or outside the region: answer IOERR */
  BAD_HEADER = 2,
}

/** One parsed request. Reused for every chain; fields valid after {@link parseBlkRequest} returns OK. */
export class BlkRequest {
  /** BlkType value (any u32; unknown types are answered UNSUPP) */
  type = 0;
  /** first 512-byte sector (exact below 2^53; larger values are out of any capacity) */
  sector = 0;
  /** guest-physical address of the status byte */
  statusAddr = -1;
  /** bytes of device-readable data after the header (OUT, DISCARD, WRITE_ZEROES) */
  readableData = 0;
  /** bytes of device-writable data before the status byte (IN, GET_ID) */
  writableData = 0;
  /** why parsing failed, for the log */
  error = '';
}

const header = new Uint8Array(BLK_HEADER_SIZE);
const headerView = new DataView(header.buffer);

/**
 * Parses the chain into `req`. Never throws.
 * @returns {@link BlkParse} OK, NO_STATUS or BAD_HEADER
 */
export function parseBlkRequest(mem: GuestMemory, chain: DescriptorChain, req: BlkRequest): BlkParse {
  // The status byte: the last byte of the last non-empty device-writable
  // buffer (5.2.6), -1 if there is none or it lies outside the region.
  let statusAddr = -1;
  for (let i = chain.count - 1; i >= chain.firstWritable; i--) {
    const len = chain.len[i];
    if (len === 0) continue;
    // mem.check(addr + len - 1, 1) on the offset: an int for a byte inside the region (an
    // address at or above 2^31 is a float in QuickJS, and float-and-int arithmetic a slow path)
    const last = chain.addr[i] - mem.base + (len - 1);
    if ((last >>> 0) === last && last < mem.size) statusAddr = mem.base + last;
    break;
  }
  req.statusAddr = statusAddr;
  if (statusAddr < 0) {
    req.error = chain.writableBytes === 0 ? 'no device-writable status byte' : 'status byte outside the shared region';
    return BlkParse.NO_STATUS;
  }
  if (chain.readableBytes < BLK_HEADER_SIZE) {
    req.error = `device-readable part is ${chain.readableBytes} bytes, a header needs ${BLK_HEADER_SIZE}`;
    return BlkParse.BAD_HEADER;
  }
  // The usual layout: the whole header in the first buffer, read in place
  // (mem.check(addr, 16) inlined: an offset in [0, size - 16], see there).
  const off = chain.addr[0] - mem.base;
  if (chain.len[0] >= BLK_HEADER_SIZE && (off >>> 0) === off && off <= mem.size - BLK_HEADER_SIZE && (off & 3) === 0 && LITTLE_ENDIAN) {
    const u32 = mem.u32;
    const w = off >>> 2;
    req.type = u32[w];
    // a sector below 2^32 stays an int (an int times the float 2^32 would make it a float, and
    // every operation on it after that a slow one in QuickJS)
    const hi = u32[w + 3];
    req.sector = hi === 0 ? u32[w + 2] : u32[w + 2] + hi * 4294967296;
  } else {
    let got: number;
    try {
      got = readFromChain(mem, chain, 0, header);
    } catch {
      got = -1;
    }
    if (got !== BLK_HEADER_SIZE) {
      req.error = 'request header outside the shared region';
      return BlkParse.BAD_HEADER;
    }
    req.type = headerView.getUint32(0, true);
    req.sector = headerView.getUint32(8, true) + headerView.getUint32(12, true) * 4294967296;
  }
  req.readableData = chain.readableBytes - BLK_HEADER_SIZE;
  req.writableData = chain.writableBytes - 1;
  req.error = '';
  return BlkParse.OK;
}
