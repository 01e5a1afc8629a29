// SPDX-License-Identifier: Apache-2.0
/**
 * Queue 0 of a virtio-blk device served from a data plane's state words
 * (`DataPlaneWord` layout) by the TypeScript device itself: a SplitQueue
 * over the layout and indices in the words, a BlkDevice over `disk`. The
 * reference the C data plane is held to (test/native/dataplane.test.ts) and
 * the serving host of the hand-off tests (test/unit/dataplane-handoff.test.ts).
 */
import { DataPlaneQueueFlag, DataPlaneWord } from '../../src/host.ts';
import { RamBacking } from '../../src/devices/backing.ts';
import { BlkDevice } from '../../src/devices/blk.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';

/** What serving the queue left behind, besides the bytes and the words. */
export interface ServeOutcome {
  /** the device failed (DEVICE_NEEDS_RESET: a malformed chain, no status byte) */
  failed: boolean;
  /** a used buffer notification is due */
  notified: boolean;
}

/**
 * Queue 0 as a SplitQueue over the layout, features and indices in a data
 * plane's state words `st`, its rings in `shmem` (the shared region at
 * the words' SHMEM address).
 */
export function queueFromState(st: Uint32Array, shmem: ArrayBuffer): { mem: GuestMemory; q: SplitQueue; flags: number } {
  const base = st[DataPlaneWord.SHMEM_LO] + st[DataPlaneWord.SHMEM_HI] * 2 ** 32;
  const flags = st[DataPlaneWord.Q_FLAGS];
  const mem = new GuestMemory(base, shmem, 'shmem');
  const q = new SplitQueue(0, st[DataPlaneWord.Q_NUM_MAX]);
  q.num = st[DataPlaneWord.Q_NUM];
  q.descAddr = base + st[DataPlaneWord.Q_DESC];
  q.driverAddr = base + st[DataPlaneWord.Q_AVAIL];
  q.deviceAddr = base + st[DataPlaneWord.Q_USED];
  q.enable(mem, (flags & DataPlaneQueueFlag.EVENT_IDX) !== 0, (flags & DataPlaneQueueFlag.INDIRECT) !== 0);
  q.importState(st);
  return { mem, q, flags };
}

/**
 * Serves every available chain of queue 0, in place in `shmem` and `disk`,
 * from the indices in `st`, and writes the indices back into `st`.
 */
export function serveFromState(st: Uint32Array, shmem: ArrayBuffer, disk: ArrayBuffer): ServeOutcome {
  const { mem, q, flags } = queueFromState(st, shmem);
  const out: ServeOutcome = { failed: false, notified: false };
  const dev = new BlkDevice('vdx', new RamBacking(disk, (flags & DataPlaneQueueFlag.READ_ONLY) !== 0), { queueNumMax: q.numMax });
  dev.activate({
    mem, queues: [q], chain: new DescriptorChain(4), features: new Uint32Array(2),
    signalUsed(queue) { if (queue.needsNotification()) out.notified = true; },
    configChanged() {},
    fail() { out.failed = true; },
    log() {},
  });
  try {
    dev.processQueue(0);
  } catch (e) {
    if (!(e instanceof QueueError)) throw e;
    out.failed = true;
  }
  q.exportState(st);
  return out;
}
