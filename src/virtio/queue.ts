// SPDX-License-Identifier: Apache-2.0
/**
 * The device side of a split virtqueue (virtio 1.2 section 2.7).
 *
 * A queue is three areas the driver places in guest memory: the descriptor
 * table (16 bytes per entry), the available ring (driver → device) and the
 * used ring (device → driver). For baojs all three, and every buffer, must
 * lie inside the device's shared region; {@link GuestMemory} checks that.
 *
 * What this file guarantees against a hostile or buggy driver:
 * - a descriptor chain is followed for at most Queue Size descriptors (an
 *   indirect table: at most its own length, itself at most QueueNumMax),
 *   so loops end;
 * - `next` indices, ring indices and the avail index are range-checked;
 * - indirect tables only when VIRTIO_F_INDIRECT_DESC was negotiated, never
 *   nested, never combined with NEXT;
 * - device-readable descriptors must come before device-writable ones;
 * - used_event / avail_event are read or written only when
 *   VIRTIO_F_RING_EVENT_IDX was negotiated.
 * A structural violation throws {@link QueueError}; the transport answers it
 * with DEVICE_NEEDS_RESET (2.1.2), as QEMU's `virtio_error()` does. Buffer
 * addresses are *not* checked here: the device checks each buffer when it
 * touches it, so that one bad buffer fails one request, not the device.
 */
import { DataPlaneQueueFlag, DataPlaneWord, QueueChainWord, QueueWord, QUEUE_CHAIN_WORDS, QUEUE_WORDS, VQ_POP_DRAINED, type Host } from '../host.ts';
import type { GuestMemory } from './memory.ts';
import { DescFlag, Vring, vringNeedEvent, VIRTQ_AVAIL_F_NO_INTERRUPT } from './spec.ts';

/** A queue's state, as {@link SplitQueue.status} reports it. */
export interface QueueStatus {
  index: number;
  /** Queue Size (0: not set) */
  size: number;
  enabled: boolean;
  hostServed: boolean;
  /** the available ring's idx as the driver published it (u16) */
  availIdx: number;
  /** next avail index to consume, next used index to produce (u16) */
  lastAvail: number;
  usedIdx: number;
  /** completions collected for the host, not in the used ring yet */
  usedPending: number;
}

/** A structural error of a virtqueue or descriptor chain: the device needs a reset. */
export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

/** Bytes of one descriptor: le64 addr, le32 len, le16 flags, le16 next (2.7.5). */
const DESC_SIZE = Vring.DESC_SIZE;
/** 2^32, to join the halves of a descriptor's address. */
const TWO32 = 4294967296;

/**
 * The buffers of one descriptor chain, in chain order, as the device sees
 * them after indirect tables are flattened. Reused from request to request
 * (arrays grow on demand, never shrink), so popping allocates nothing in
 * the steady state. A pop from a queue the host's C virtqueue serves lends
 * the chain that queue's segment arrays ({@link SplitQueue.pop}): the
 * buffers are valid until the next pop, as with the chain's own arrays.
 */
export class DescriptorChain {
  /** index of the head descriptor: the id written to the used ring */
  head = 0;
  /** number of buffers */
  count = 0;
  /** guest-physical address of each buffer (not yet bounds-checked) */
  addr: Float64Array;
  /** length of each buffer, bytes */
  len: Uint32Array;
  /** 1 if the buffer is device-writable (VIRTQ_DESC_F_WRITE) */
  writable: Uint8Array;
  /** index of the first writable buffer (== count if none) */
  firstWritable = 0;
  /** total bytes in device-readable buffers */
  readableBytes = 0;
  /** total bytes in device-writable buffers */
  writableBytes = 0;

  /** length of the arrays (a field: a typed array's length is a getter call in QuickJS) */
  capacity: number;

  constructor(capacity = 16) {
    this.capacity = capacity;
    this.addr = new Float64Array(capacity);
    this.len = new Uint32Array(capacity);
    this.writable = new Uint8Array(capacity);
  }

  /** Empties the chain for a new head. */
  reset(head: number): void {
    this.head = head;
    this.count = 0;
    this.firstWritable = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
  }

  /** Appends one buffer. */
  push(addr: number, len: number, writable: boolean): void {
    if (this.count === this.capacity) this.grow();
    const i = this.count++;
    this.addr[i] = addr;
    this.len[i] = len;
    this.writable[i] = writable ? 1 : 0;
    if (writable) this.writableBytes += len;
    else {
      this.readableBytes += len;
      this.firstWritable = this.count;
    }
  }

  /** Doubles the arrays, keeping the first `count` buffers. */
  grow(): void {
    const n = this.capacity * 2;
    this.capacity = n;
    const a = new Float64Array(n); a.set(this.addr); this.addr = a;
    const l = new Uint32Array(n); l.set(this.len); this.len = l;
    const w = new Uint8Array(n); w.set(this.writable); this.writable = w;
  }
}

/**
 * One split virtqueue, device side.
 *
 * Life cycle: the transport writes `num`, `descAddr`, `driverAddr` (avail
 * ring) and `deviceAddr` (used ring) from the driver's register writes, then
 * {@link SplitQueue.enable} checks them against guest memory. The device
 * then calls {@link SplitQueue.pop} until it returns false, {@link
 * SplitQueue.push} for each finished chain, and {@link
 * SplitQueue.needsNotification} to decide on a used buffer notification.
 */
export class SplitQueue {
  /** Queue Size chosen by the driver (QueueNum), a power of 2 up to numMax; 0 = not set */
  num = 0;
  /** guest-physical address of the descriptor table (QueueDescLow/High) */
  descAddr = 0;
  /** guest-physical address of the available ring (QueueDriverLow/High) */
  driverAddr = 0;
  /** guest-physical address of the used ring (QueueDeviceLow/High) */
  deviceAddr = 0;
  /** QueueReady as the driver wrote it */
  ready = false;
  /** true after a QueueReset until the queue is enabled again (2.6.1) */
  wasReset = false;
  /** true once {@link SplitQueue.enable} accepted the layout */
  enabled = false;
  /**
   * Bumped by every {@link SplitQueue.enable}: a device that holds popped
   * chains across calls (virtio-net's mergeable receive buffers) drops them
   * when it changes (the queue was reset, its chains belong to no ring).
   */
  generation = 0;

  /** next avail ring index to consume (u16, free-running) */
  lastAvailIdx = 0;
  /** next used ring index to produce (u16, free-running) */
  usedIdx = 0;
  /** chains popped since the last used-ring push, for accounting */
  private pushedSinceSignal = false;
  private signalledUsed = 0;
  private signalledValid = false;

  private mem: GuestMemory | null = null;
  private dv: DataView | null = null;
  private descOff = 0;
  private availOff = 0;
  private usedOff = 0;
  private eventIdx = false;
  private indirect = false;

  // ---- the host's C virtqueue ({@link SplitQueue.useHost}) ----
  /** the queue's handle in the host, -1: this class walks the rings itself */
  private hv = -1;
  private host: Host | null = null;
  /** the queue's state while the host serves it ({@link QueueWord} layout): the indices live here, not in the fields */
  private hvState: Uint32Array | null = null;
  private hvChains: Uint32Array | null = null;
  private hvAddr: Float64Array | null = null;
  private hvLen: Uint32Array | null = null;
  private hvWritable: Uint8Array | null = null;
  private hvUsed: Uint32Array | null = null;
  /** length of the host's segment arrays (lent to the chain by {@link SplitQueue.pop}) */
  private hvCapacity = 0;
  /** (head, len) pairs in hvUsed not yet given to the host */
  private usedCount = 0;
  /** a notification the host asked for while flushing a full hvUsed */
  private notifyOwed = false;

  /**
   * True after a {@link SplitQueue.pop} that returned a chain if the host
   * found the avail ring empty after it ({@link VQ_POP_DRAINED}; with
   * VIRTIO_F_RING_EVENT_IDX avail_event published): the driver notifies
   * for the next chain, so a device serving a QueueNotify may stop there
   * instead of popping once more. Always false where this class walks the
   * rings itself (the next pop then answers).
   */
  drained = false;

  /**
   * @param index queue index (QueueSel value)
   * @param numMax largest Queue Size the device offers (QueueNumMax), power of 2 ≤ 32768
   */
  constructor(readonly index: number, readonly numMax: number) {}

  /** Back to the state after a device reset: not ready, addresses 0, indices 0. */
  reset(): void {
    this.num = 0;
    this.descAddr = 0;
    this.driverAddr = 0;
    this.deviceAddr = 0;
    this.ready = false;
    this.wasReset = false;
    this.disable();
  }

  /**
   * Lets the host's C virtqueue ({@link Host.vqAttach}) do this queue's
   * ring work from now on: {@link SplitQueue.pop} hands out the chains the
   * host gathers (one per call, its buffers lent, not copied), {@link
   * SplitQueue.push} collects completions that {@link
   * SplitQueue.needsNotification} gives to the host in one call.
   * Chains the host leaves to the reference (malformed, very long) are
   * popped by this class's own walk, so every error is answered as without
   * the host. While the host serves the queue its indices live in the
   * state words, not in `lastAvailIdx`/`usedIdx`.
   * @param mem the device's shared region (the host checks rings and tables against its first `mem.size` bytes)
   * @returns false if the host has no C virtqueue
   */
  useHost(host: Host, mem: GuestMemory): boolean {
    if (!host.vqAttach || !host.vqPop || !host.vqPush || this.hv >= 0) return false;
    const segs = 2 * this.numMax;
    this.hvState = new Uint32Array(QUEUE_WORDS);
    this.hvChains = new Uint32Array(QUEUE_CHAIN_WORDS);
    this.hvAddr = new Float64Array(segs);
    this.hvLen = new Uint32Array(segs);
    this.hvWritable = new Uint8Array(segs);
    this.hvCapacity = segs;
    this.hvUsed = new Uint32Array(2 * this.numMax);
    this.hv = host.vqAttach(this.hvState, mem.buffer, mem.base, mem.size, this.hvChains, this.hvAddr, this.hvLen, this.hvWritable, this.hvUsed);
    this.host = host;
    return true;
  }

  /**
   * The queue's state for the metrics record (src/metrics.ts): Queue Size,
   * whether it is enabled and served by the host's C virtqueue, the avail
   * index the driver published, the next avail index to consume and the
   * next used index (from the host's state words when it serves the
   * queue), chains gathered by the host and not handed out yet, and
   * completions not given to the host yet.
   */
  status(): QueueStatus {
    const hs = this.hvState;
    const availIdx = this.enabled ? this.dv!.getUint16(this.availOff + 2, true) : 0;
    return {
      index: this.index,
      size: this.num,
      enabled: this.enabled,
      hostServed: this.hv >= 0,
      availIdx,
      lastAvail: hs !== null ? hs[QueueWord.LAST_AVAIL] : this.lastAvailIdx,
      usedIdx: hs !== null ? hs[QueueWord.USED_IDX] : this.usedIdx,
      usedPending: this.usedCount,
    };
  }

  /** Whether the host's C virtqueue serves this queue ({@link SplitQueue.useHost}). */
  get hostServed(): boolean {
    return this.hv >= 0;
  }

  /**
   * The state words the host's C virtqueue serves this queue from
   * ({@link QueueWord} layout; null unless {@link SplitQueue.useHost}):
   * what a host plane that takes chains of this queue itself shares
   * ({@link Host.netPort}).
   */
  get hostState(): Uint32Array | null {
    return this.hvState;
  }

  /**
   * Whether the host's C virtqueue may take chains of this queue for
   * another owner: no completion waits to be given to it (a chain is
   * taken from the host only when {@link SplitQueue.pop} hands it out).
   */
  get hostIdle(): boolean {
    return this.usedCount === 0;
  }

  /** Stops using the rings (state kept for the registers); indices back to 0. */
  disable(): void {
    // completions collected for the host reach the used ring: a request served is never lost
    if (this.enabled && this.usedCount > 0) this.host!.vqPush!(this.hv, this.usedCount);
    // no layout for the host either: a plane that serves this queue in C (the console's, the
    // network's) hands a kick of a disabled queue to JS, which ignores it
    if (this.hvState !== null) this.hvState[QueueWord.NUM] = 0;
    this.usedCount = 0;
    this.notifyOwed = false;
    this.enabled = false;
    this.mem = null;
    this.dv = null;
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
    this.pushedSinceSignal = false;
    this.signalledValid = false;
  }

  /**
   * Checks the driver's layout and starts using the rings.
   * Alignments per 2.7 (descriptor table 16, available ring 2, used ring 4);
   * sizes 16·N, 6+2·N and 6+8·N bytes, all inside `mem`.
   * @param eventIdx VIRTIO_F_RING_EVENT_IDX negotiated
   * @param indirect VIRTIO_F_INDIRECT_DESC negotiated
   * @throws QueueError naming the bad field
   */
  enable(mem: GuestMemory, eventIdx: boolean, indirect: boolean): void {
    const n = this.num;
    if (n < 1 || n > this.numMax || (n & (n - 1)) !== 0) throw new QueueError(`queue ${this.index}: QueueNum ${n} is not a power of 2 in 1..${this.numMax}`);
    if (this.descAddr % 16) throw new QueueError(`queue ${this.index}: descriptor table 0x${this.descAddr.toString(16)} not 16-byte aligned`);
    if (this.driverAddr % 2) throw new QueueError(`queue ${this.index}: available ring 0x${this.driverAddr.toString(16)} not 2-byte aligned`);
    if (this.deviceAddr % 4) throw new QueueError(`queue ${this.index}: used ring 0x${this.deviceAddr.toString(16)} not 4-byte aligned`);
    const d = mem.check(this.descAddr, DESC_SIZE * n);
    const a = mem.check(this.driverAddr, 6 + 2 * n);
    const u = mem.check(this.deviceAddr, 6 + 8 * n);
    if (d < 0) throw new QueueError(`queue ${this.index}: descriptor table 0x${this.descAddr.toString(16)} outside ${mem.name}`);
    if (a < 0) throw new QueueError(`queue ${this.index}: available ring 0x${this.driverAddr.toString(16)} outside ${mem.name}`);
    if (u < 0) throw new QueueError(`queue ${this.index}: used ring 0x${this.deviceAddr.toString(16)} outside ${mem.name}`);
    this.mem = mem;
    this.dv = mem.dv;
    this.descOff = d;
    this.availOff = a;
    this.usedOff = u;
    this.eventIdx = eventIdx;
    this.indirect = indirect;
    this.generation++;
    // Pick up where the rings are: a driver starts both indices at 0, but a
    // queue re-enabled after a reset must not see stale entries either.
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
    this.pushedSinceSignal = false;
    this.signalledValid = false;
    const st = this.hvState;
    if (st !== null) {
      st.fill(0);
      st[QueueWord.NUM] = n;
      st[QueueWord.NUM_MAX] = this.numMax;
      st[QueueWord.DESC] = d;
      st[QueueWord.AVAIL] = a;
      st[QueueWord.USED] = u;
      st[QueueWord.FLAGS] = (eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) | (indirect ? DataPlaneQueueFlag.INDIRECT : 0);
    }
    this.enabled = true;
  }

  /**
   * Hands the queue to a host data plane: writes its layout and indices into
   * the {@link DataPlaneWord} words of `st` (Q_NUM … Q_SIGNALLED_VALID). The
   * queue must be enabled; until {@link SplitQueue.importState} it must not
   * be used.
   */
  exportState(st: Uint32Array): void {
    const hs = this.hvState;
    if (hs !== null) {
      for (let i = 0; i < QUEUE_WORDS; i++) st[DataPlaneWord.Q_NUM + i] = hs[i];
      return;
    }
    st[DataPlaneWord.Q_NUM] = this.num;
    st[DataPlaneWord.Q_NUM_MAX] = this.numMax;
    st[DataPlaneWord.Q_DESC] = this.descOff;
    st[DataPlaneWord.Q_AVAIL] = this.availOff;
    st[DataPlaneWord.Q_USED] = this.usedOff;
    st[DataPlaneWord.Q_FLAGS] = (this.eventIdx ? DataPlaneQueueFlag.EVENT_IDX : 0) | (this.indirect ? DataPlaneQueueFlag.INDIRECT : 0);
    st[DataPlaneWord.Q_LAST_AVAIL] = this.lastAvailIdx;
    st[DataPlaneWord.Q_USED_IDX] = this.usedIdx;
    st[DataPlaneWord.Q_SIGNALLED_USED] = this.signalledUsed;
    st[DataPlaneWord.Q_SIGNALLED_VALID] = this.signalledValid ? 1 : 0;
    st[DataPlaneWord.Q_PUSHED] = this.pushedSinceSignal ? 1 : 0;
  }

  /** Takes the queue back from a host data plane: the indices it left in `st` (see {@link SplitQueue.exportState}). */
  importState(st: Uint32Array): void {
    const hs = this.hvState;
    if (hs !== null) {
      for (let i = QueueWord.LAST_AVAIL; i < QUEUE_WORDS; i++) hs[i] = st[DataPlaneWord.Q_NUM + i];
      return;
    }
    this.lastAvailIdx = st[DataPlaneWord.Q_LAST_AVAIL] & 0xffff;
    this.usedIdx = st[DataPlaneWord.Q_USED_IDX] & 0xffff;
    this.signalledUsed = st[DataPlaneWord.Q_SIGNALLED_USED] & 0xffff;
    this.signalledValid = st[DataPlaneWord.Q_SIGNALLED_VALID] !== 0;
    this.pushedSinceSignal = st[DataPlaneWord.Q_PUSHED] !== 0;
  }

  /** Number of chains the driver has made available and the device has not popped. @throws QueueError if the avail index moved by more than Queue Size */
  availableCount(): number {
    if (!this.enabled) return 0;
    const availIdx = this.dv!.getUint16(this.availOff + 2, true);
    const pending = (availIdx - this.lastAvailIdx) & 0xffff;
    if (pending > this.num) throw new QueueError(`queue ${this.index}: avail idx ${availIdx} is ${pending} ahead of ${this.lastAvailIdx} (Queue Size ${this.num})`);
    return pending;
  }

  /**
   * Takes the next available chain into `chain`. Returns false when the
   * ring is empty; with VIRTIO_F_RING_EVENT_IDX it then publishes
   * avail_event = the next index it wants to be notified about, and looks
   * once more to close the race with a driver adding buffers meanwhile.
   * @throws QueueError for a bad head index or a malformed chain (the entry is consumed)
   */
  pop(chain: DescriptorChain): boolean {
    if (!this.enabled) return false;
    if (this.hv < 0) {
      this.drained = false;
      return this.walk(chain);
    }
    // one chain per call: its buffers are at the start of the host's arrays, lent to `chain` (no copy)
    const n = this.host!.vqPop!(this.hv, 1);
    if (n <= 0) {
      this.drained = false;
      return n < 0 && this.walkForHost(chain);
    }
    this.drained = n > VQ_POP_DRAINED;
    const rec = this.hvChains!;
    // lent once per change of queue (the four are always lent together)
    if (chain.addr !== this.hvAddr) {
      chain.addr = this.hvAddr!;
      chain.len = this.hvLen!;
      chain.writable = this.hvWritable!;
      chain.capacity = this.hvCapacity;
    }
    chain.head = rec[QueueChainWord.HEAD];
    chain.count = rec[QueueChainWord.COUNT];
    chain.firstWritable = rec[QueueChainWord.FIRST_WRITABLE];
    chain.readableBytes = rec[QueueChainWord.READABLE];
    chain.writableBytes = rec[QueueChainWord.WRITABLE];
    return true;
  }

  /**
   * The chain the host left to the reference ({@link Host.vqPop} -1): this
   * class's own walk over the host's indices, which it then writes back
   * (also when the walk throws: the entry is consumed, as without the host).
   */
  private walkForHost(chain: DescriptorChain): boolean {
    const st = this.hvState!;
    this.lastAvailIdx = st[QueueWord.LAST_AVAIL];
    try {
      return this.walk(chain);
    } finally {
      st[QueueWord.LAST_AVAIL] = this.lastAvailIdx;
    }
  }

  /**
   * {@link SplitQueue.pop} by walking the rings in TypeScript: the
   * reference every other implementation (the host's C virtqueue, the block
   * data plane) is tested against. Written to be read, not to be fast: the
   * firmware runs it only for chains the C virtqueue hands back.
   */
  private walk(chain: DescriptorChain): boolean {
    const dv = this.dv!;
    const n = this.num;
    if (this.availableCount() === 0) {
      if (!this.eventIdx) return false;
      // avail_event = the next index we want to be notified about, then look once more (2.7.10)
      dv.setUint16(this.usedOff + 4 + 8 * n, this.lastAvailIdx, true);
      if (this.availableCount() === 0) return false;
    }
    const head = dv.getUint16(this.availOff + 4 + 2 * (this.lastAvailIdx & (n - 1)), true);
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    chain.reset(head);
    if (head >= n) throw this.broken(chain, `head index ${head} >= Queue Size ${n}`);
    // the descriptor table being walked: the queue's, or one indirect table (2.7.5.3)
    let table = this.descOff;
    let tableSize = n;
    let ttl = n;
    let idx = head;
    let inIndirect = false;
    for (;;) {
      if (ttl-- === 0) throw this.broken(chain, `chain at head ${head} is longer than ${inIndirect ? 'its indirect table' : 'Queue Size'} (a loop?)`);
      const p = table + DESC_SIZE * idx;
      const addr = dv.getUint32(p + 4, true) * TWO32 + dv.getUint32(p, true);
      const len = dv.getUint32(p + 8, true);
      const flags = dv.getUint16(p + 12, true);
      const next = dv.getUint16(p + 14, true);
      if (flags & DescFlag.INDIRECT) {
        if (!this.indirect) throw this.broken(chain, 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (inIndirect) throw this.broken(chain, 'indirect descriptor inside an indirect table');
        if (flags & DescFlag.NEXT) throw this.broken(chain, 'indirect descriptor with NEXT set');
        if (len === 0 || len % DESC_SIZE) throw this.broken(chain, `indirect table length ${len} is not a non-zero multiple of 16`);
        const entries = len / DESC_SIZE;
        if (entries > this.numMax) throw this.broken(chain, `indirect table of ${entries} descriptors exceeds ${this.numMax}`);
        const off = this.mem!.check(addr, len);
        if (off < 0) throw this.broken(chain, `indirect table 0x${addr.toString(16)}+${len} outside ${this.mem!.name}`);
        table = off;
        tableSize = entries;
        ttl = entries;
        idx = 0;
        inIndirect = true;
        continue;
      }
      const writable = (flags & DescFlag.WRITE) !== 0;
      // device-readable buffers come first (2.7.4.2)
      if (!writable && chain.firstWritable !== chain.count) throw this.broken(chain, 'device-readable descriptor after a device-writable one');
      chain.push(addr, len, writable);
      if (!(flags & DescFlag.NEXT)) return true;
      if (next >= tableSize) throw this.broken(chain, `next index ${next} >= ${tableSize}`);
      idx = next;
    }
  }

  /** The error for a malformed chain, which leaves `chain` empty. */
  private broken(chain: DescriptorChain, what: string): QueueError {
    chain.count = 0;
    return new QueueError(`queue ${this.index}: ${what}`);
  }

  /**
   * Returns a chain to the driver through the used ring.
   * @param head the chain's head index (DescriptorChain.head)
   * @param len bytes the device wrote into the chain's writable buffers
   */
  push(head: number, len: number): void {
    if (!this.enabled) return;
    if (this.hv >= 0) {
      const used = this.hvUsed!;
      let k = this.usedCount;
      if (2 * k === used.length) {
        // full: give them to the host now, and remember its verdict for needsNotification
        if (this.host!.vqPush!(this.hv, k) !== 0) this.notifyOwed = true;
        k = 0;
      }
      used[2 * k] = head;
      used[2 * k + 1] = len;
      this.usedCount = k + 1;
      return;
    }
    const p = this.usedOff + 4 + 8 * (this.usedIdx & (this.num - 1));
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    const dv = this.dv!;
    dv.setUint32(p, head, true);
    dv.setUint32(p + 4, len >>> 0, true);
    // (the element before the index: TypeScript's stores are in program order on one CPU;
    // the firmware's C virtqueue stores used.idx with release)
    dv.setUint16(this.usedOff + 2, this.usedIdx, true);
    this.pushedSinceSignal = true;
  }

  /**
   * Whether the driver wants a used buffer notification for what was
   * pushed since the last call (2.7.7): with VIRTIO_F_RING_EVENT_IDX, if
   * the used index passed used_event; otherwise unless the avail ring has
   * VIRTQ_AVAIL_F_NO_INTERRUPT. Returns false if nothing was pushed.
   */
  needsNotification(): boolean {
    if (!this.enabled) return false;
    if (this.hv >= 0) {
      const k = this.usedCount;
      this.usedCount = 0;
      const owed = this.notifyOwed;
      this.notifyOwed = false;
      return this.host!.vqPush!(this.hv, k) !== 0 || owed;
    }
    if (!this.pushedSinceSignal) return false;
    this.pushedSinceSignal = false;
    const dv = this.dv!;
    if (this.eventIdx) {
      const old = this.signalledUsed;
      const valid = this.signalledValid;
      this.signalledUsed = this.usedIdx;
      this.signalledValid = true;
      if (!valid) return true;
      const usedEvent = dv.getUint16(this.availOff + 4 + 2 * this.num, true);
      return vringNeedEvent(usedEvent, this.usedIdx, old);
    }
    const flags = dv.getUint16(this.availOff, true);
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }
}
