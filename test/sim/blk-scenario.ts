// SPDX-License-Identifier: Apache-2.0
/**
 * Seeded queues of virtio-blk requests in a shared region, a share of them
 * broken: the inputs of the differential tests of the block data plane
 * (test/native/dataplane.test.ts) and of the disk plane
 * (test/native/diskplane.test.ts) against the TypeScript device.
 */
import { DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS } from '../../src/host.ts';
import { DescFlag } from '../../src/virtio/spec.ts';
import { Prng } from './prng.ts';
import { writeDesc } from './vring.ts';

export const BASE = 0x6000_0000;
export const SHMEM = 64 * 1024;
export const DISK = 32 * 1024;
export const DATA = 0x4000;
/** Data buffers stay below this offset; the rings of a boundary layout lie above it. */
export const DATA_END = 0xe000;
export const NUM_MAX = 16;

/** A queue: the state words (layout, indices, negotiated flags), the shared region and the disk. */
export interface Scenario {
  seed: number;
  st: Uint32Array;
  shmem: Uint8Array;
  disk: Uint8Array;
  /** requests made available, and how many of them were given a defect */
  requests: number;
  broken: number;
}


/** The state words of a queue of Queue Size `num` with its rings at these offsets of the region at BASE. */
export function queueWords(num: number, desc: number, avail: number, used: number, flags: number): Uint32Array {
  const st = new Uint32Array(DATA_PLANE_WORDS);
  st[DataPlaneWord.SHMEM_LO] = BASE;
  st[DataPlaneWord.Q_NUM] = num;
  st[DataPlaneWord.Q_NUM_MAX] = NUM_MAX;
  st[DataPlaneWord.Q_DESC] = desc;
  st[DataPlaneWord.Q_AVAIL] = avail;
  st[DataPlaneWord.Q_USED] = used;
  st[DataPlaneWord.Q_FLAGS] = flags;
  return st;
}

/** One queue of random requests, a share of them broken. */
export function scenario(seed: number): Scenario {
  const prng = new Prng(seed);
  const r = (n: number): number => prng.below(n);
  const num = r(2) ? 8 : 16;
  // the rings apart at the region's start, or one of them ending at its last byte
  let DESC = 0;
  let AVAIL = 0x1000;
  let USED = 0x2000;
  let size = SHMEM;
  switch (r(4)) {
    case 1: USED = DATA_END; size = USED + 6 + 8 * num; break;
    case 2: AVAIL = DATA_END; size = AVAIL + 6 + 2 * num; break;
    case 3: DESC = DATA_END; size = DESC + 16 * num; break;
  }

  const shmem = new Uint8Array(size);
  const disk = new Uint8Array(DISK);
  for (let i = 0; i < size; i += 97) shmem[i] = r(256);
  for (let i = 0; i < DISK; i++) disk[i] = r(256);
  const dv = new DataView(shmem.buffer);
  const eventIdx = r(2) === 1;
  const indirect = r(3) !== 0;
  const readOnly = r(6) === 0;
  // a third of the queues hold only well-formed reads and writes
  const clean = r(3) === 0;
  let defects = 0;
  const broken = (p: number): boolean => {
    const yes = !clean && r(1000) < p;
    if (yes) defects++;
    return yes;
  };
  let brokenRequests = 0;
  const last = r(3) === 0 ? 65530 + r(6) : r(100);
  const usedIdx = r(3) === 0 ? 65533 + r(3) : r(100);
  let freeDesc = 0;
  let data = DATA;
  const alloc = (n: number): number => {
    const a = data;
    data += (n + 15) & ~15;
    return a;
  };
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next: number): void => writeDesc(dv, table + 16 * i, addr, len, flags, next);
  let added = 0;
  const want = 1 + r(num);
  while (added < want) {
    defects = 0;
    // the request's buffers: [gpa, len, writable]
    const types = [0, 0, 0, 0, 1, 1, 1, 1, 4, 8, 99];
    const type = clean ? r(2) : types[r(types.length)];
    let dataLen = 512 * r(9);
    if (broken(40)) dataLen += 1 + r(511);
    let sector = r(DISK / 512);
    if (broken(40)) sector = DISK / 512 - r(3);
    if (broken(10)) sector = 2 ** 33 + r(5);
    const hdr = alloc(16);
    dv.setUint32(hdr, type, true);
    dv.setUint32(hdr + 4, 0, true);
    dv.setUint32(hdr + 8, sector >>> 0, true);
    dv.setUint32(hdr + 12, Math.floor(sector / 2 ** 32), true);
    const bufs: [number, number, boolean][] = [];
    if (broken(30)) bufs.push([BASE + hdr, 8, false], [BASE + hdr + 8, 8, false]);
    else bufs.push([BASE + hdr, 16, false]);
    const write = type === 0 || type === 8 || (broken(30) && type === 1);
    if (dataLen > 0 && data + dataLen + 64 < DATA_END - 16 * 64) {
      const d = alloc(dataLen);
      if (type === 1) for (let i = 0; i < dataLen; i += 61) shmem[d + i] = r(256);
      const split = dataLen >= 1024 && r(2) ? 512 * (1 + r(dataLen / 512 - 1)) : dataLen;
      if (!write && bufs.length === 1 && d === hdr + 16 && r(3) === 0) bufs[0][1] += split; // header and data in one buffer
      else bufs.push([BASE + d, split, write]);
      if (split < dataLen) bufs.push([BASE + d + split, dataLen - split, write]);
    }
    const status = alloc(1);
    bufs.push([BASE + status, 1, true]);
    if (broken(20)) bufs[r(bufs.length)][0] = BASE - 4096 + r(4000);
    if (broken(20)) bufs[r(bufs.length)][0] = BASE + size - r(32);
    if (broken(10)) { // the last buffer ends at the region's last byte, or one byte past it
      const last = bufs[bufs.length - 1];
      last[0] = BASE + size - last[1] + r(2);
    }
    if (broken(15)) bufs.reverse(); // readable after writable
    const flagsOf = (b: [number, number, boolean]): number => (b[2] ? DescFlag.WRITE : 0);
    const useIndirect = (indirect || broken(30)) && r(2) === 1;
    let head: number;
    if (useIndirect) {
      if (freeDesc >= num) break;
      head = freeDesc++;
      // the table at the region's very end (when no ring is there), else among the data
      const atEnd = size === SHMEM && r(4) === 0;
      const table = atEnd ? size - 16 * bufs.length : alloc(16 * bufs.length);
      bufs.forEach((b, i) => desc(table, i, b[0], b[1], flagsOf(b) | (i + 1 < bufs.length ? DescFlag.NEXT : 0), i + 1));
      if (broken(20)) desc(table, r(bufs.length), BASE + table, 16, DescFlag.INDIRECT, 0); // nested
      if (broken(20)) dv.setUint16(table + 16 * r(bufs.length) + 14, bufs.length + r(3), true);
      let len = 16 * bufs.length;
      if (broken(20)) len += 1 + r(15);
      if (atEnd && broken(30)) len += 16; // one descriptor past the region's end
      desc(DESC, head, BASE + table, len, DescFlag.INDIRECT | (broken(15) ? DescFlag.NEXT : 0), 0);
    } else {
      if (freeDesc + bufs.length > num) break;
      const ids = bufs.map(() => freeDesc++);
      head = ids[0];
      bufs.forEach((b, i) => desc(DESC, ids[i], b[0], b[1], flagsOf(b) | (i + 1 < bufs.length ? DescFlag.NEXT : 0), ids[i + 1] ?? 0));
      if (broken(20)) dv.setUint16(DESC + 16 * ids[ids.length - 1] + 12, DescFlag.NEXT | DescFlag.WRITE, true); // runs on
      if (broken(15)) dv.setUint16(DESC + 16 * ids[r(ids.length)] + 14, ids[0], true); // a loop, if NEXT
      if (broken(15)) dv.setUint16(DESC + 16 * ids[r(ids.length)] + 14, r(2) ? num : num + r(100), true);
      else if (!clean && r(20) === 0 && freeDesc < num) {
        // the chain's last descriptor moved to index num - 1 (a next of Queue Size - 1)
        const lastId = ids[ids.length - 1];
        if (lastId !== num - 1) {
          shmem.copyWithin(DESC + 16 * (num - 1), DESC + 16 * lastId, DESC + 16 * lastId + 16);
          if (ids.length > 1) dv.setUint16(DESC + 16 * ids[ids.length - 2] + 14, num - 1, true);
          else head = num - 1;
          freeDesc = num;
        }
      }
    }
    if (broken(15)) head = r(2) ? num : num + r(10);
    dv.setUint16(AVAIL + 4 + 2 * ((last + added) & (num - 1)), head, true);
    added++;
    if (defects) brokenRequests++;
  }
  let availIdx = (last + added) & 0xffff;
  if (broken(15)) availIdx = (last + num + 1 + r(100)) & 0xffff;
  dv.setUint16(AVAIL, r(4) === 0 ? 1 : 0, true); // VIRTQ_AVAIL_F_NO_INTERRUPT sometimes
  dv.setUint16(AVAIL + 2, availIdx, true);
  dv.setUint16(AVAIL + 4 + 2 * num, (usedIdx + r(num + 2)) & 0xffff, true); // used_event
  dv.setUint16(USED + 2, usedIdx, true);

  const st = queueWords(num, DESC, AVAIL, USED, (eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) |
    (indirect ? DataPlaneQueueFlag.INDIRECT : 0) | (readOnly ? DataPlaneQueueFlag.READ_ONLY : 0));
  st[DataPlaneWord.Q_LAST_AVAIL] = last;
  st[DataPlaneWord.Q_USED_IDX] = usedIdx;
  // a device decides at the end of every batch it pushed: the last decision was at the current used index
  st[DataPlaneWord.Q_SIGNALLED_VALID] = r(2);
  st[DataPlaneWord.Q_SIGNALLED_USED] = st[DataPlaneWord.Q_SIGNALLED_VALID] ? usedIdx : 0;
  return { seed, st, shmem, disk, requests: added, broken: brokenRequests };
}
