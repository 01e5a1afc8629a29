// SPDX-License-Identifier: Apache-2.0
/**
 * The host's C virtqueue ({@link Host.vqAttach}, `vqPop`, `vqPush`) for the
 * simulated host, built on the TypeScript reference `SplitQueue` walking
 * the same state words: what runtime/virtqueue.h promises, so that every
 * unit test of a device exercises `SplitQueue`'s host-backed path (batches,
 * hand-backs, collected completions) in Node and in QuickJS. The C queue
 * itself is held to the reference by test/native/virtqueue.test.ts.
 * Pure JS: runs inside QuickJS too.
 */
import { DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS, QueueChainWord, QueueWord, QUEUE_CHAIN_WORDS, QUEUE_WORDS, VQ_POP_DRAINED } from '../../src/host.ts';
import { GuestMemory } from '../../src/virtio/memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from '../../src/virtio/queue.ts';

const TWO32 = 4294967296;

interface Attached {
  state: Uint32Array;
  mem: GuestMemory;
  chains: Uint32Array;
  segAddr: Float64Array;
  segLen: Uint32Array;
  segWritable: Uint8Array;
  used: Uint32Array;
}

/** The attached queues of one simulated host. */
export class SimVirtqueues {
  private readonly queues: Attached[] = [];
  private readonly dp = new Uint32Array(DATA_PLANE_WORDS);
  private readonly chain = new DescriptorChain(16);
  /** chains handed out, and chains left to the caller's reference (hand-backs) */
  popped = 0;
  handedBack = 0;

  /** See {@link Host.vqAttach}. */
  attach(state: Uint32Array, shmem: ArrayBuffer, shmemBase: number, shmemSize: number, chains: Uint32Array,
    segAddr: Float64Array, segLen: Uint32Array, segWritable: Uint8Array, used: Uint32Array): number {
    if (state.length < QUEUE_WORDS) throw new RangeError(`vqAttach: state needs ${QUEUE_WORDS} words`);
    if (!(shmemSize >= 0 && shmemSize <= shmem.byteLength)) throw new RangeError('vqAttach: shmemBase/shmemSize outside the region');
    if (chains.length < QUEUE_CHAIN_WORDS || used.length < 2) throw new RangeError('vqAttach: chains or used holds no record');
    this.queues.push({ state, mem: new GuestMemory(shmemBase, shmem, 'shmem', shmemSize), chains, segAddr, segLen, segWritable, used });
    return this.queues.length - 1;
  }

  /** See {@link Host.vqPop}. */
  pop(handle: number, max: number): number {
    const a = this.get(handle);
    const q = this.reference(a);
    if (q === null) return -1;
    const maxChains = Math.min(max, Math.floor(a.chains.length / QUEUE_CHAIN_WORDS));
    const maxSegs = Math.min(a.segAddr.length, a.segLen.length, a.segWritable.length);
    const c = this.chain;
    let n = 0;
    let segs = 0;
    let handBack = false;
    let drained = false;
    while (n < maxChains) {
      const before = q.lastAvailIdx;
      let ok: boolean;
      try {
        ok = q.pop(c);
      } catch (e) {
        if (!(e instanceof QueueError)) throw e;
        q.lastAvailIdx = before; // nothing of it consumed: the caller's reference takes it
        handBack = true;
        break;
      }
      if (!ok) {
        drained = true; // the walk found the ring empty (avail_event published, looked once more)
        break;
      }
      if (c.count > maxSegs - segs || c.readableBytes >= TWO32 || c.writableBytes >= TWO32) {
        q.lastAvailIdx = before;
        handBack = true;
        break;
      }
      const r = n * QUEUE_CHAIN_WORDS;
      a.chains[r + QueueChainWord.HEAD] = c.head;
      a.chains[r + QueueChainWord.FIRST_SEG] = segs;
      a.chains[r + QueueChainWord.COUNT] = c.count;
      a.chains[r + QueueChainWord.FIRST_WRITABLE] = c.firstWritable;
      a.chains[r + QueueChainWord.READABLE] = c.readableBytes;
      a.chains[r + QueueChainWord.WRITABLE] = c.writableBytes;
      for (let i = 0; i < c.count; i++, segs++) {
        a.segAddr[segs] = c.addr[i];
        a.segLen[segs] = c.len[i];
        a.segWritable[segs] = c.writable[i];
      }
      n++;
    }
    // all it could take: is the ring empty after them (runtime/virtqueue.h vq_empty)?
    if (n === maxChains && n > 0 && !handBack) drained = this.emptyAfter(q);
    this.save(q, a);
    this.popped += n;
    if (n === 0 && handBack) {
      this.handedBack++;
      return -1;
    }
    return n > 0 && drained ? n + VQ_POP_DRAINED : n;
  }

  /** Whether no chain is available, by the reference's own empty pop (which publishes avail_event and looks once more). */
  private emptyAfter(q: SplitQueue): boolean {
    try {
      if (q.availableCount() !== 0) return false;
    } catch {
      return false; // an avail index too far ahead: the next pop's to report
    }
    if (q.pop(this.chain)) throw new Error('vqPop: a chain appeared in a single-threaded simulation');
    return true;
  }

  /** See {@link Host.vqPush}. */
  push(handle: number, count: number): number {
    const a = this.get(handle);
    if (count < 0 || 2 * count > a.used.length) throw new RangeError(`vqPush: ${count} completions, the used array holds ${a.used.length >>> 1}`);
    const q = this.reference(a);
    if (q === null) throw new RangeError("vqPush: the queue's layout words are not an enabled queue's");
    for (let i = 0; i < count; i++) q.push(a.used[2 * i], a.used[2 * i + 1]);
    const notify = q.needsNotification();
    this.save(q, a);
    return notify ? 1 : 0;
  }

  private get(handle: number): Attached {
    const a = this.queues[handle];
    if (a === undefined) throw new RangeError('vq: no queue with that handle');
    return a;
  }

  /** A reference queue over the layout and indices of `a`'s state words, or null if they are not a valid layout. */
  private reference(a: Attached): SplitQueue | null {
    const st = a.state;
    const q = new SplitQueue(0, st[QueueWord.NUM_MAX]);
    q.num = st[QueueWord.NUM];
    q.descAddr = a.mem.base + st[QueueWord.DESC];
    q.driverAddr = a.mem.base + st[QueueWord.AVAIL];
    q.deviceAddr = a.mem.base + st[QueueWord.USED];
    try {
      q.enable(a.mem, (st[QueueWord.FLAGS] & DataPlaneQueueFlag.EVENT_IDX) !== 0, (st[QueueWord.FLAGS] & DataPlaneQueueFlag.INDIRECT) !== 0);
    } catch (e) {
      if (e instanceof QueueError) return null;
      throw e;
    }
    const dp = this.dp;
    for (let i = 0; i < QUEUE_WORDS; i++) dp[DataPlaneWord.Q_NUM + i] = st[i];
    q.importState(dp);
    return q;
  }

  /** Writes the reference queue's indices back into `a`'s state words. */
  private save(q: SplitQueue, a: Attached): void {
    const dp = this.dp;
    q.exportState(dp);
    for (let i = QueueWord.LAST_AVAIL; i < QUEUE_WORDS; i++) a.state[i] = dp[DataPlaneWord.Q_NUM + i];
  }
}
