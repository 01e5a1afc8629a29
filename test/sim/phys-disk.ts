// SPDX-License-Identifier: Apache-2.0
/**
 * A simulated physical disk for the TypeScript reference of the disk plane
 * (test/native/diskplane.test.ts): a {@link PhysicalDisk} over bytes that
 * moves data by "DMA" into one shared region (guest-physical addresses),
 * completes requests in submission order when asked, and fails every
 * request touching a bad sector with IOERR (no data moved) — what the C
 * harness's simulated virtio-blk device does.
 */
import { DataPlaneQueueFlag, DataPlaneWord } from '../../src/host.ts';
import { BlkDevice } from '../../src/devices/blk.ts';
import { BlkStatus, BlkType } from '../../src/devices/blk-request.ts';
import { SharedDisk, type PhysicalDisk } from '../../src/devices/disk.ts';
import type { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError } from '../../src/virtio/queue.ts';
import { queueFromState } from './dataplane.ts';
import type { HostPlacedAnswer } from '../../src/drivers/virtio-blk.ts';

interface Pending { type: number; sector: number; bufs: [number, number][]; done: (status: number) => void }

/** See the file comment. */
export class SimPhysDisk implements PhysicalDisk {
  readonly readOnly = false;
  readonly flush = false;
  readonly pending: Pending[] = [];

  /**
   * @param bytes the disk
   * @param mem the region its DMA reaches
   * @param bad sectors that fail
   */
  constructor(readonly bytes: Uint8Array, private readonly mem: GuestMemory, readonly maxSegments: number,
    readonly maxSegmentBytes: number, private readonly bad: readonly number[], private readonly room = 64) {}

  get capacity(): number {
    return this.bytes.length;
  }

  submit(type: number, sector: number, addrs: Float64Array, lens: Uint32Array, count: number, done: (status: number) => void): boolean {
    if (this.pending.length >= this.room) return false;
    const bufs: [number, number][] = [];
    for (let i = 0; i < count; i++) bufs.push([addrs[i], lens[i]]);
    this.pending.push({ type, sector, bufs, done });
    return true;
  }

  /** Completes the oldest request. */
  completeOne(): void {
    const p = this.pending.shift()!;
    const bytes = p.bufs.reduce((n, b) => n + b[1], 0);
    let status: number = BlkStatus.OK;
    if (this.bad.some((s) => s >= p.sector && s < p.sector + bytes / 512)) status = BlkStatus.IOERR;
    if (status === BlkStatus.OK && p.type !== BlkType.FLUSH) {
      let off = p.sector * 512;
      for (const [addr, len] of p.bufs) {
        const o = this.mem.check(addr, len);
        if (o < 0) throw new Error(`DMA outside the region: 0x${addr.toString(16)}+${len}`);
        if (p.type === BlkType.IN) this.mem.u8.set(this.bytes.subarray(off, off + len), o);
        else this.bytes.set(this.mem.u8.subarray(o, o + len), off);
        off += len;
      }
    }
    p.done(status);
  }
}

/** What serving left behind. */
export interface AsyncOutcome { failed: boolean; lastAvail: number; usedIdx: number }

/**
 * Queue 0 of a virtio-blk device on a range of `phys` (from byte
 * `rangeBase`, the region's state words `st`, DataPlaneWord layout) served
 * by the TypeScript device: first the answers a disk plane handed to JS
 * (`answers`, as VirtioBlkDriver delivers them), then every available
 * chain, then every disk completion. Writes the indices back into `st`.
 */
export function serveAsyncFromState(st: Uint32Array, shmem: ArrayBuffer, phys: Uint8Array, rangeBase: number, rangeSize: number,
  segments: number, segmentBytes: number, bad: readonly number[], answers: readonly HostPlacedAnswer[]): AsyncOutcome {
  const { mem, q, flags } = queueFromState(st, shmem);
  const disk = new SimPhysDisk(phys, mem, segments, segmentBytes, bad);
  const shared = new SharedDisk(disk, 'pdisk');
  const dev = new BlkDevice('vdx', shared.range(rangeBase, rangeSize, (flags & DataPlaneQueueFlag.READ_ONLY) !== 0, 'vdx'), { queueNumMax: q.numMax });
  const out: AsyncOutcome = { failed: false, lastAvail: 0, usedIdx: 0 };
  dev.activate({
    mem, queues: [q], chain: new DescriptorChain(4), features: new Uint32Array(2),
    signalUsed() {},
    configChanged() {},
    fail() { out.failed = true; },
    log() {},
  });
  shared.interruptBegins();
  for (const a of answers) dev.hostPlacedDone(a.feHead, a.statusOff, a.written, a.type, a.status);
  shared.completed();
  try {
    dev.processQueue(0);
  } catch (e) {
    if (!(e instanceof QueueError)) throw e;
    out.failed = true;
  }
  while (disk.pending.length > 0) {
    shared.interruptBegins();
    disk.completeOne();
    shared.completed();
  }
  q.exportState(st);
  out.lastAvail = st[DataPlaneWord.Q_LAST_AVAIL];
  out.usedIdx = st[DataPlaneWord.Q_USED_IDX];
  return out;
}
