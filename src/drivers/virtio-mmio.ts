// SPDX-License-Identifier: Apache-2.0
/**
 * The driver side of virtio-mmio version 2 (virtio 1.2 sections 4.2.2, 3.1
 * and 2.7): baojs driving a virtio device that the hypervisor passed
 * through to the backend VM (on QEMU a `virtio-blk-device` or
 * `virtio-net-device` window mapped into the backend only). Device-specific
 * drivers (`virtio-blk.ts`) are built on it.
 *
 * - {@link VirtioMmioDriver}: probe (MagicValue, Version 2, DeviceID,
 *   VendorID), reset, feature negotiation, queue set-up, DRIVER_OK, config
 *   space reads and writes under ConfigGeneration, the interrupt
 *   (InterruptStatus, InterruptACK, used buffers, configuration change,
 *   DEVICE_NEEDS_RESET) and giving up on a broken device.
 * - {@link DriverQueue}: one split virtqueue from the driver's side: a
 *   free-descriptor list, direct descriptor chains or one indirect table per
 *   chain (VIRTIO_F_INDIRECT_DESC), avail publication and
 *   QueueNotify (with VIRTQ_USED_F_NO_NOTIFY or VIRTIO_F_RING_EVENT_IDX
 *   suppression), the used ring walked with every entry checked.
 * - {@link DmaArena}: a bump allocator over one backend region for the
 *   rings and the driver's own buffers (request headers, status bytes).
 *
 * Addresses handed to the device are backend guest-physical addresses
 * (`host.regionBase`): what the device uses for DMA when the hypervisor
 * maps the backend's memory at the same addresses for it (Bao's
 * passthrough, QEMU without an IOMMU).
 *
 * What the device writes is untrusted: a used entry naming a descriptor
 * that is not the head of a chain in flight, or more used entries than
 * chains in flight, makes the driver give up on the device (reset it, set
 * FAILED, fail every request in flight, one log line); nothing is thrown
 * out of {@link VirtioMmioDriver.onInterrupt}.
 *
 * Memory ordering. JavaScript has no barrier primitive, and typed-array
 * stores are in program order only as this CPU sees them. The driver
 * writes a chain's descriptors and its avail entry, then avail.idx, then
 * (unless suppressed) stores to QueueNotify through `host.mmioWrite`, and
 * reads used.idx only after `host.mmioRead` of InterruptStatus. The
 * spec's ordering (2.7.13: descriptors and ring entry before idx, idx
 * before the notification, a full barrier before reading the device's
 * suppression flags; used.idx before the used entries) therefore holds
 * only as far as the host's MMIO accessors order normal memory against
 * the device access. On the firmware (runtime/host.c) `mmioWrite` is a
 * plain volatile store and `mmioRead` a plain volatile load, with no
 * DMB/DSB: correct under QEMU TCG (a device access traps to QEMU, which
 * then reads the rings), not guaranteed on hardware, where Linux's
 * `writel` issues `dma_wmb` before the store and `readl` `dma_rmb` after
 * the load. A device that polls the avail ring without a notification
 * could see avail.idx before the entry on hardware.
 */
import { describeError, RateLimitedLog } from '../dispatcher/log.ts';
import { DriverQueueWord, DRIVER_QUEUE_WORDS, type Host } from '../host.ts';
import { GuestMemory } from '../virtio/memory.ts';
import {
  DescFlag, DeviceStatus, Feature, hasFeature, InterruptBit, MMIO_MAGIC, MMIO_VERSION, MmioReg, setFeature,
  vringNeedEvent, Vring, VIRTQ_USED_F_NO_NOTIFY, type FeatureWords,
} from '../virtio/spec.ts';

/** 2^32, to split 64-bit addresses into register halves. */
const TWO32 = 4294967296;
/** Status reads after a reset before the driver gives up waiting for 0 (4.2.3.1). */
const RESET_POLLS = 100000;
/** ConfigGeneration retries before a config read gives up (4.2.2.2, 2.5.1). */
const CONFIG_TRIES = 64;
/** Alignment of each ring area (a page: the device may map them separately). */
const RING_PAGE = 4096;

/** 8-digit hexadecimal of a u32, for messages. */
function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

/**
 * Writes one descriptor (2.7.5: le64 addr, le32 len, le16 flags, le16 next)
 * at byte offset `p` of `dv`.
 * @param addr guest-physical address, an integer below 2^53
 * @param len bytes (u32)
 */
function writeDesc(dv: DataView, p: number, addr: number, len: number, flags: number, next: number): void {
  dv.setUint32(p, addr % TWO32, true);
  dv.setUint32(p + 4, Math.floor(addr / TWO32), true);
  dv.setUint32(p + 8, len >>> 0, true);
  dv.setUint16(p + 12, flags, true);
  dv.setUint16(p + 14, next, true);
}

/**
 * A bump allocator over one backend memory region (`host.region(name)`)
 * whose guest-physical addresses a passthrough device uses for DMA. Never
 * frees: rings and per-request buffers are allocated once, at probe.
 * Several drivers on one region share one arena.
 */
export class DmaArena {
  /** the region (bounds-checked views; `mem.base` is its guest-physical address) */
  readonly mem: GuestMemory;
  private next = 0;

  /** @throws RangeError for a name the platform description does not have */
  constructor(host: Host, readonly name: string) {
    this.mem = new GuestMemory(host.regionBase(name), host.region(name), name);
  }

  /** Bytes allocated so far, alignment padding included. */
  get used(): number {
    return this.next;
  }

  /**
   * `size` bytes at a guest-physical address aligned to `align`, zeroed.
   * @param size bytes, a positive integer
   * @param align a power of 2 (the address itself is aligned, not the offset)
   * @returns the guest-physical address
   * @throws RangeError for a bad size or alignment, or when the region is full (naming it)
   */
  alloc(size: number, align: number): number {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`DMA region ${this.name}: bad size ${size}`);
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) throw new RangeError(`DMA region ${this.name}: alignment ${align} is not a power of 2`);
    const base = this.mem.base;
    const addr = Math.ceil((base + this.next) / align) * align;
    const off = addr - base;
    if (off + size > this.mem.size) {
      throw new RangeError(`DMA region ${this.name}: ${size} bytes aligned to ${align} do not fit (${this.mem.size - this.next} of ${this.mem.size} bytes left)`);
    }
    this.next = off + size;
    this.mem.u8.fill(0, off, off + size);
    return addr;
  }
}

/** Called for each chain the device returned: the token given to {@link DriverQueue.add}, bytes the device wrote. */
export type UsedHandler = (token: number, len: number) => void;
/** Called for each chain in flight when the driver gives up on the device: its token. */
export type LostHandler = (token: number) => void;

/**
 * One split virtqueue, driver side (virtio 1.2 section 2.7). The rings
 * live in a {@link DmaArena}; the driver's own bookkeeping (free list,
 * chain lengths, tokens) lives in its own arrays, never in memory the
 * device can write. The indices and counts live in {@link DriverQueue.st}
 * ({@link DriverQueueWord}) so that a host's disk plane (runtime/drvqueue.h,
 * {@link Host.diskPlane}), which runs the same algorithm in C, can add and
 * reap chains between two calls into JS: this class is its reference.
 */
export class DriverQueue {
  /** Queue Size chosen (a power of 2 ≤ QueueNumMax) */
  readonly num: number;
  /** guest-physical addresses of the descriptor table, available ring, used ring */
  readonly descAddr: number;
  readonly availAddr: number;
  readonly usedAddr: number;
  /** the queue's indices and counts ({@link DriverQueueWord}), shared with a host's disk plane */
  readonly st = new Uint32Array(DRIVER_QUEUE_WORDS);
  /** handler of the chains the device returns ({@link VirtioMmioDriver.onInterrupt}) */
  onUsed: UsedHandler | null = null;
  /** handler of the chains in flight when the driver gives up ({@link VirtioMmioDriver.fail}) */
  onLost: LostHandler | null = null;

  private readonly dv: DataView;
  private readonly descOff: number;
  private readonly availOff: number;
  private readonly usedOff: number;
  /** free-list and chain links (the `next` the driver wrote, kept where the device cannot change it) */
  readonly next: Uint16Array;
  /** descriptors in the chain whose head is i; 0: i is not the head of a chain in flight */
  readonly chainCount: Uint16Array;
  /** bytes of device-writable buffers in the chain whose head is i */
  readonly writableBytes: Float64Array;
  /** the token of the chain whose head is i */
  readonly tokens: Float64Array;
  /** indirect tables ({@link DriverQueue.useIndirect}): one of `indirectEntries` descriptors per head */
  private indirectAddr = 0;
  private indirectOff = 0;
  private indirectEntries = 0;

  /**
   * @param index queue index (QueueSel)
   * @param num Queue Size, a power of 2 in 1..32768
   * @param arena where the rings are allocated
   * @param eventIdx VIRTIO_F_RING_EVENT_IDX negotiated
   * @param indirectAllowed VIRTIO_F_INDIRECT_DESC negotiated
   * @param notify writes QueueNotify for this queue
   * @param broken called when the device wrote something impossible into the used ring
   * @throws RangeError for a bad size or a full arena
   */
  constructor(readonly index: number, num: number, private readonly arena: DmaArena, private readonly eventIdx: boolean,
    private readonly indirectAllowed: boolean, private readonly notify: () => void, private readonly broken: (reason: string) => void) {
    if (!Number.isInteger(num) || num < 1 || num > 32768 || (num & (num - 1)) !== 0) throw new RangeError(`queue ${index}: size ${num} is not a power of 2 in 1..32768`);
    this.num = num;
    this.descAddr = arena.alloc(Vring.DESC_SIZE * num, Math.max(Vring.DESC_ALIGN, RING_PAGE));
    this.availAddr = arena.alloc(Vring.RING + Vring.AVAIL_ENTRY * num + 2, Vring.AVAIL_ALIGN);
    this.usedAddr = arena.alloc(Vring.RING + Vring.USED_ENTRY * num + 2, Math.max(Vring.USED_ALIGN, RING_PAGE));
    const mem = arena.mem;
    this.dv = mem.dv;
    this.descOff = mem.offset(this.descAddr, Vring.DESC_SIZE * num);
    this.availOff = mem.offset(this.availAddr, Vring.RING + Vring.AVAIL_ENTRY * num + 2);
    this.usedOff = mem.offset(this.usedAddr, Vring.RING + Vring.USED_ENTRY * num + 2);
    this.next = new Uint16Array(num);
    for (let i = 0; i < num; i++) this.next[i] = i + 1 < num ? i + 1 : 0;
    this.chainCount = new Uint16Array(num);
    this.writableBytes = new Float64Array(num);
    this.tokens = new Float64Array(num);
    const st = this.st;
    st[DriverQueueWord.NUM] = num;
    st[DriverQueueWord.DESC] = this.descOff;
    st[DriverQueueWord.AVAIL] = this.availOff;
    st[DriverQueueWord.USED] = this.usedOff;
    st[DriverQueueWord.DMA_LO] = mem.base % TWO32;
    st[DriverQueueWord.DMA_HI] = Math.floor(mem.base / TWO32);
    st[DriverQueueWord.EVENT_IDX] = eventIdx ? 1 : 0;
    st[DriverQueueWord.NUM_FREE] = num;
  }

  /** Chains added and not yet returned (or lost). */
  get inFlight(): number {
    return this.st[DriverQueueWord.IN_FLIGHT];
  }

  /** QueueNotify writes made. */
  get kicks(): number {
    return this.st[DriverQueueWord.KICKS];
  }

  /** Whether chains of 2..{@link DriverQueue.indirectSize} buffers go into indirect tables (0: none). */
  get indirectSize(): number {
    return this.indirectEntries;
  }

  /** Descriptors free now: a direct chain of that many fits. */
  get free(): number {
    return this.st[DriverQueueWord.NUM_FREE];
  }

  /** Whether a chain of `count` buffers fits now (one descriptor if it goes into an indirect table). */
  fits(count: number): boolean {
    return (count > 1 && count <= this.indirectEntries ? 1 : count) <= this.st[DriverQueueWord.NUM_FREE];
  }

  /**
   * From now on, chains of 2..`entries` buffers go into an indirect table
   * (2.7.5.3) and take one descriptor of the queue: one table of `entries`
   * descriptors per head is allocated from the arena (16 · entries · Queue
   * Size bytes). Call once, before the first {@link DriverQueue.add}.
   * @returns false (nothing allocated) without VIRTIO_F_INDIRECT_DESC
   * @throws RangeError for `entries` outside 2..Queue Size (2.7.5.3.1: no chain longer than the Queue Size), a second call, or a full arena
   */
  useIndirect(entries: number): boolean {
    if (!this.indirectAllowed) return false;
    if (!Number.isInteger(entries) || entries < 2 || entries > this.num) throw new RangeError(`queue ${this.index}: indirect tables of ${entries} descriptors (2..${this.num})`);
    if (this.indirectEntries !== 0) throw new RangeError(`queue ${this.index}: indirect tables already set up`);
    const bytes = Vring.DESC_SIZE * entries * this.num;
    this.indirectAddr = this.arena.alloc(bytes, Vring.DESC_ALIGN);
    this.indirectOff = this.arena.mem.offset(this.indirectAddr, bytes);
    this.indirectEntries = entries;
    this.st[DriverQueueWord.INDIRECT] = this.indirectOff;
    this.st[DriverQueueWord.INDIRECT_ENTRIES] = entries;
    return true;
  }

  /**
   * Places one chain of `count` direct descriptors (buffers `0..count-1`
   * of `addrs`/`lens`; those from `writableFrom` on device-writable) and
   * its avail entry. The device sees it after {@link DriverQueue.kick}.
   * @param addrs guest-physical address of each buffer (integers below 2^53)
   * @param lens bytes of each buffer (u32)
   * @param writableFrom index of the first device-writable buffer (`count`: none)
   * @param token returned with the chain ({@link UsedHandler}); any number
   * @returns false, changing nothing, if fewer than `count` descriptors are free
   * @throws RangeError for a count outside 1..Queue Size (it could never fit)
   */
  add(addrs: Float64Array | readonly number[], lens: Uint32Array | readonly number[], writableFrom: number, count: number, token: number): boolean {
    if (!Number.isInteger(count) || count < 1 || count > this.num) throw new RangeError(`queue ${this.index}: a chain of ${count} buffers (Queue Size ${this.num})`);
    if (count > 1 && count <= this.indirectEntries) return this.addIndirect(addrs, lens, writableFrom, count, token);
    const st = this.st;
    if (count > st[DriverQueueWord.NUM_FREE]) return false;
    const dv = this.dv;
    const head = st[DriverQueueWord.FREE_HEAD];
    let d = head;
    let writable = 0;
    for (let i = 0; i < count; i++) {
      const last = i === count - 1;
      const w = i >= writableFrom;
      writeDesc(dv, this.descOff + Vring.DESC_SIZE * d, addrs[i], lens[i], (w ? DescFlag.WRITE : 0) | (last ? 0 : DescFlag.NEXT), last ? 0 : this.next[d]);
      if (w) writable += lens[i];
      if (!last) d = this.next[d];
    }
    st[DriverQueueWord.FREE_HEAD] = this.next[d];
    st[DriverQueueWord.NUM_FREE] -= count;
    this.placed(head, count, writable, token);
    return true;
  }

  /** {@link DriverQueue.add} of a chain into the indirect table of the head it takes. */
  private addIndirect(addrs: Float64Array | readonly number[], lens: Uint32Array | readonly number[], writableFrom: number, count: number, token: number): boolean {
    const st = this.st;
    if (st[DriverQueueWord.NUM_FREE] === 0) return false;
    const dv = this.dv;
    const head = st[DriverQueueWord.FREE_HEAD];
    const table = this.indirectOff + Vring.DESC_SIZE * this.indirectEntries * head;
    let writable = 0;
    for (let i = 0; i < count; i++) {
      const last = i === count - 1;
      const w = i >= writableFrom;
      writeDesc(dv, table + Vring.DESC_SIZE * i, addrs[i], lens[i], (w ? DescFlag.WRITE : 0) | (last ? 0 : DescFlag.NEXT), last ? 0 : i + 1);
      if (w) writable += lens[i];
    }
    const tableAddr = this.indirectAddr + Vring.DESC_SIZE * this.indirectEntries * head;
    writeDesc(dv, this.descOff + Vring.DESC_SIZE * head, tableAddr, Vring.DESC_SIZE * count, DescFlag.INDIRECT, 0);
    st[DriverQueueWord.FREE_HEAD] = this.next[head];
    st[DriverQueueWord.NUM_FREE]--;
    this.placed(head, 1, writable, token);
    return true;
  }

  /** Records a chain placed at `head` and puts it into the available ring (published by {@link DriverQueue.kick}). */
  private placed(head: number, descriptors: number, writable: number, token: number): void {
    this.chainCount[head] = descriptors;
    this.writableBytes[head] = writable;
    this.tokens[head] = token;
    const st = this.st;
    const idx = st[DriverQueueWord.AVAIL_IDX];
    this.dv.setUint16(this.availOff + Vring.RING + Vring.AVAIL_ENTRY * (idx & (this.num - 1)), head, true);
    st[DriverQueueWord.AVAIL_IDX] = (idx + 1) & 0xffff;
    st[DriverQueueWord.IN_FLIGHT]++;
  }

  /**
   * Publishes the chains added since the last kick (avail.idx, after their
   * entries: see the file comment on ordering) and writes QueueNotify
   * unless the device suppressed it (VIRTQ_USED_F_NO_NOTIFY, or with
   * VIRTIO_F_RING_EVENT_IDX an avail_event not passed; 2.7.10).
   * @returns true if QueueNotify was written
   */
  kick(): boolean {
    const st = this.st;
    const old = st[DriverQueueWord.PUBLISHED_IDX];
    const now = st[DriverQueueWord.AVAIL_IDX];
    if (old === now) return false;
    const dv = this.dv;
    dv.setUint16(this.availOff + Vring.IDX, now, true);
    st[DriverQueueWord.PUBLISHED_IDX] = now;
    const needed = this.eventIdx
      ? vringNeedEvent(dv.getUint16(this.usedOff + Vring.RING + Vring.USED_ENTRY * this.num, true), now, old)
      : (dv.getUint16(this.usedOff + Vring.FLAGS, true) & VIRTQ_USED_F_NO_NOTIFY) === 0;
    if (!needed) return false;
    st[DriverQueueWord.KICKS]++;
    this.notify();
    return true;
  }

  /**
   * Walks the used ring from the last entry seen: frees each returned
   * chain and calls `cb(token, len)` (len bounded by the chain's writable
   * bytes). With VIRTIO_F_RING_EVENT_IDX, asks for an interrupt at the next
   * entry (used_event) and looks once more. An entry that names no chain in
   * flight, or a used.idx more than the chains in flight ahead, calls the
   * queue's `broken` handler and stops.
   * @returns chains returned
   */
  reap(cb: UsedHandler): number {
    const dv = this.dv;
    const st = this.st;
    const mask = this.num - 1;
    let n = 0;
    for (;;) {
      const idx = dv.getUint16(this.usedOff + Vring.IDX, true);
      let last = st[DriverQueueWord.LAST_USED];
      if (idx === last) {
        if (!this.eventIdx) return n;
        dv.setUint16(this.availOff + Vring.RING + Vring.AVAIL_ENTRY * this.num, idx, true);
        if (dv.getUint16(this.usedOff + Vring.IDX, true) === idx) return n;
        continue;
      }
      const ahead = (idx - last) & 0xffff;
      if (ahead > st[DriverQueueWord.IN_FLIGHT]) {
        this.broken(`queue ${this.index}: used.idx ${idx} is ${ahead} entries past ${last} with ${st[DriverQueueWord.IN_FLIGHT]} chains in flight`);
        return n;
      }
      while (last !== idx) {
        const p = this.usedOff + Vring.RING + Vring.USED_ENTRY * (last & mask);
        const id = dv.getUint32(p, true);
        let len = dv.getUint32(p + 4, true);
        if (id >= this.num || this.chainCount[id] === 0) {
          this.broken(`queue ${this.index}: used entry ${last} names descriptor ${id}, not the head of a chain in flight`);
          return n;
        }
        last = (last + 1) & 0xffff;
        st[DriverQueueWord.LAST_USED] = last;
        if (len > this.writableBytes[id]) len = this.writableBytes[id];
        const token = this.tokens[id];
        this.release(id);
        n++;
        cb(token, len);
        // (a callback may reap too: go on from where the state says)
        last = st[DriverQueueWord.LAST_USED];
      }
    }
  }

  /**
   * Frees every chain in flight and calls `cb(token)` for each, in head
   * order: for a device that was reset and will not return them.
   * @returns chains released
   */
  drain(cb: LostHandler): number {
    let n = 0;
    for (let h = 0; h < this.num; h++) {
      if (this.chainCount[h] === 0) continue;
      const token = this.tokens[h];
      this.release(h);
      n++;
      cb(token);
    }
    return n;
  }

  /** Returns the chain whose head is `head` to the free list. */
  private release(head: number): void {
    const st = this.st;
    const count = this.chainCount[head];
    let tail = head;
    for (let i = 1; i < count; i++) tail = this.next[tail];
    this.next[tail] = st[DriverQueueWord.FREE_HEAD];
    st[DriverQueueWord.FREE_HEAD] = head;
    st[DriverQueueWord.NUM_FREE] += count;
    this.chainCount[head] = 0;
    st[DriverQueueWord.IN_FLIGHT]--;
  }

}

/** Options of {@link VirtioMmioDriver}. */
export interface VirtioMmioDriverOptions {
  /** for logs and errors, e.g. 'disk0' */
  name: string;
  /** guest-physical base of the device's virtio-mmio window in the backend */
  base: number;
  /** the device's interrupt (GIC INTID); the caller routes it to {@link VirtioMmioDriver.onInterrupt} */
  intid: number;
  /** DMA memory: a backend region's name (a new arena over all of it) or an arena shared with other drivers */
  dma: string | DmaArena;
  /** where log lines go (default: dropped) */
  log?: (msg: string) => void;
}

/**
 * The driver of one virtio-mmio version 2 device. Construction probes it
 * (and throws if it is not one); the device-specific driver then calls
 * {@link VirtioMmioDriver.reset}, {@link VirtioMmioDriver.negotiate},
 * {@link VirtioMmioDriver.setupQueue} per queue, its own config set-up,
 * and {@link VirtioMmioDriver.driverOk} (virtio 1.2 3.1.1).
 */
export class VirtioMmioDriver {
  readonly name: string;
  readonly base: number;
  readonly intid: number;
  /** DeviceID and VendorID read at probe */
  readonly deviceId: number;
  readonly vendorId: number;
  /** features the device offers (DeviceFeatures), read by negotiate */
  readonly deviceFeatures: FeatureWords = new Uint32Array(2);
  /** the negotiated features, once FEATURES_OK held */
  readonly features: FeatureWords = new Uint32Array(2);
  readonly arena: DmaArena;
  readonly queues: DriverQueue[] = [];
  /** interrupts handled */
  interrupts = 0;
  /** InterruptStatus bits the host acknowledged in its interrupt handler ({@link Host.passthroughIsr}), or null: the driver acknowledges and unmasks */
  private hostIsr: Uint32Array | null = null;
  /** why the driver gave up on the device ('' while it has not) */
  failure = '';
  /** called on a configuration change notification that is not DEVICE_NEEDS_RESET */
  onConfigChange: (() => void) | null = null;
  /** called once when the driver gives up on the device ({@link VirtioMmioDriver.fail}), before the chains in flight are released */
  onGiveUp: (() => void) | null = null;

  private readonly log: RateLimitedLog;

  /**
   * Probes the window: MagicValue, Version, DeviceID, VendorID (4.2.2).
   * @throws Error naming the register when it is not a virtio-mmio version 2 device, or an MMIO error from the host
   */
  constructor(private readonly host: Host, opts: VirtioMmioDriverOptions) {
    this.name = opts.name;
    this.base = opts.base;
    this.intid = opts.intid;
    this.log = new RateLimitedLog(opts.log ?? (() => {}), `${opts.name}: `);
    const magic = this.rd(MmioReg.MagicValue);
    if (magic !== MMIO_MAGIC) throw new Error(`${this.name}: MagicValue ${hex(magic)} at ${hex(this.base)} is not a virtio-mmio device (${hex(MMIO_MAGIC)})`);
    const version = this.rd(MmioReg.Version);
    if (version === 1) throw new Error(`${this.name}: Version 1 (legacy virtio-mmio) is not supported: the device must offer Version ${MMIO_VERSION} (QEMU: -global virtio-mmio.force-legacy=false)`);
    if (version !== MMIO_VERSION) throw new Error(`${this.name}: Version ${version} is not virtio-mmio version ${MMIO_VERSION}`);
    this.deviceId = this.rd(MmioReg.DeviceID);
    if (this.deviceId === 0) throw new Error(`${this.name}: DeviceID 0: no device behind the window`);
    this.vendorId = this.rd(MmioReg.VendorID);
    this.arena = typeof opts.dma === 'string' ? new DmaArena(host, opts.dma) : opts.dma;
  }

  /** Whether the driver gave up on the device ({@link VirtioMmioDriver.fail}). */
  get failed(): boolean {
    return this.failure !== '';
  }

  /** The Status register. */
  get status(): number {
    return this.rd(MmioReg.Status);
  }

  /**
   * Resets the device (Status 0) and waits until Status reads 0 (4.2.3.1).
   * @throws Error if it does not within a bounded number of reads
   */
  reset(): void {
    this.wr(MmioReg.Status, 0);
    for (let i = 0; i < RESET_POLLS; i++) if (this.rd(MmioReg.Status) === 0) return;
    throw new Error(`${this.name}: Status still ${hex(this.rd(MmioReg.Status))} after a reset (${RESET_POLLS} reads)`);
  }

  /**
   * Steps 2-6 of 3.1.1: ACKNOWLEDGE, DRIVER, reads DeviceFeatures (64 bits),
   * writes DriverFeatures = offered ∩ (`wanted` + VERSION_1 +
   * ACCESS_PLATFORM), sets FEATURES_OK and reads it back.
   * @param wanted feature bits (0..63) the device-specific driver can use
   * @returns the negotiated set ({@link VirtioMmioDriver.features})
   * @throws Error if the device does not offer VIRTIO_F_VERSION_1 or refuses FEATURES_OK (Status FAILED set)
   */
  negotiate(wanted: readonly number[]): FeatureWords {
    this.wr(MmioReg.Status, DeviceStatus.ACKNOWLEDGE);
    this.wr(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
    const dev = this.deviceFeatures;
    this.wr(MmioReg.DeviceFeaturesSel, 0);
    dev[0] = this.rd(MmioReg.DeviceFeatures);
    this.wr(MmioReg.DeviceFeaturesSel, 1);
    dev[1] = this.rd(MmioReg.DeviceFeatures);
    if (!hasFeature(dev, Feature.VERSION_1)) {
      this.giveUp();
      throw new Error(`${this.name}: the device does not offer VIRTIO_F_VERSION_1 (DeviceFeatures ${hex(dev[1])}:${hex(dev[0])})`);
    }
    const f = this.features;
    f[0] = f[1] = 0;
    // ACCESS_PLATFORM: the device's DMA goes through the platform's translation,
    // which is what it does anyway; a device that offers it may refuse a driver without it (6.1)
    for (const bit of [...wanted, Feature.VERSION_1, Feature.ACCESS_PLATFORM]) if (hasFeature(dev, bit)) setFeature(f, bit);
    this.wr(MmioReg.DriverFeaturesSel, 0);
    this.wr(MmioReg.DriverFeatures, f[0]);
    this.wr(MmioReg.DriverFeaturesSel, 1);
    this.wr(MmioReg.DriverFeatures, f[1]);
    this.wr(MmioReg.Status, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
    if ((this.rd(MmioReg.Status) & DeviceStatus.FEATURES_OK) === 0) {
      this.giveUp();
      throw new Error(`${this.name}: the device refused FEATURES_OK for DriverFeatures ${hex(f[1])}:${hex(f[0])}`);
    }
    return f;
  }

  /**
   * Sets up queue `index` (4.2.3.2): QueueNumMax, a Queue Size that is the
   * largest power of 2 ≤ min(QueueNumMax, `wanted`), the three ring areas
   * from the arena, QueueReady.
   * @param wanted largest Queue Size wanted
   * @throws Error if the queue does not exist or is already live; RangeError if the arena is full
   */
  setupQueue(index: number, wanted: number): DriverQueue {
    this.wr(MmioReg.QueueSel, index);
    if (this.rd(MmioReg.QueueReady) !== 0) throw new Error(`${this.name}: queue ${index} is already ready after a reset`);
    const max = this.rd(MmioReg.QueueNumMax);
    if (max === 0) throw new Error(`${this.name}: queue ${index} does not exist (QueueNumMax 0)`);
    let num = 1;
    while (num * 2 <= Math.min(max, wanted, 32768)) num *= 2;
    const q = new DriverQueue(index, num, this.arena, hasFeature(this.features, Feature.RING_EVENT_IDX),
      hasFeature(this.features, Feature.INDIRECT_DESC), () => this.wr(MmioReg.QueueNotify, index), (reason) => this.fail(reason));
    this.wr(MmioReg.QueueNum, num);
    this.wr64(MmioReg.QueueDescLow, q.descAddr);
    this.wr64(MmioReg.QueueDriverLow, q.availAddr);
    this.wr64(MmioReg.QueueDeviceLow, q.usedAddr);
    this.wr(MmioReg.QueueReady, 1);
    this.queues[index] = q;
    return q;
  }

  /**
   * Sets DRIVER_OK (3.1.1 step 8) and enables the device's interrupt.
   * @throws Error if the device then reports DEVICE_NEEDS_RESET or FAILED
   */
  driverOk(): void {
    const ok = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK;
    this.wr(MmioReg.Status, ok);
    const st = this.rd(MmioReg.Status);
    if ((st & (DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.FAILED)) !== 0) {
      this.giveUp();
      throw new Error(`${this.name}: Status ${hex(st)} after DRIVER_OK`);
    }
    // the host acknowledges the device in its interrupt handler where it can: the line is never masked
    if (this.hostIsr === null && this.host.passthroughIsr) {
      const isr = new Uint32Array(1);
      try {
        if (this.host.passthroughIsr(this.intid, this.base, isr)) this.hostIsr = isr;
      } catch (e) {
        this.log.log(`passthroughIsr(${this.intid}) refused: ${describeError(e)}; the interrupt is masked and unmasked per interrupt`);
      }
    }
    this.host.irqEnable(this.intid);
  }

  /**
   * Reads `width` bytes (1, 2 or 4, aligned) of the device's configuration
   * space at `offset`, under ConfigGeneration (2.5.1, 4.2.2.2).
   * @throws Error if ConfigGeneration keeps changing
   */
  readConfig(offset: number, width: 1 | 2 | 4): number {
    return this.configLoop(offset, width, false);
  }

  /**
   * Reads a 64-bit field as two 32-bit reads under one ConfigGeneration
   * (4.2.2.2: 64-bit fields take two 32-bit accesses). Exact below 2^53.
   * @throws Error as {@link VirtioMmioDriver.readConfig}
   */
  readConfig64(offset: number): number {
    return this.configLoop(offset, 4, true);
  }

  /** Writes `width` bytes of the configuration space at `offset`. */
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void {
    this.host.mmioWrite(this.base + MmioReg.Config + offset, width, value >>> 0);
  }

  /**
   * The device's interrupt (call it for {@link VirtioMmioDriverOptions.intid};
   * the firmware delivers it masked). Reads InterruptStatus, writes
   * InterruptACK, walks every queue's used ring on a used buffer
   * notification, reads Status on a configuration change (DEVICE_NEEDS_RESET:
   * {@link VirtioMmioDriver.fail}; otherwise `onConfigChange`), then
   * unmasks the interrupt with `irqEnable` (not needed where the host
   * acknowledges the device itself, {@link Host.passthroughIsr}). Never throws: an MMIO error or a
   * handler's exception makes the driver give up on the device.
   * @param hostIsr InterruptStatus bits a host's disk plane read and
   *   acknowledged before this call ({@link Host.diskPlane}), handled with
   *   what the register says now
   * @returns the InterruptStatus bits handled
   */
  onInterrupt(hostIsr = 0): number {
    this.interrupts++;
    let isr = hostIsr;
    const acked = this.hostIsr;
    if (acked !== null) {
      isr |= acked[0];
      acked[0] = 0;
    }
    try {
      const read = this.rd(MmioReg.InterruptStatus);
      if (read !== 0) this.wr(MmioReg.InterruptACK, read);
      isr |= read;
      if (!this.failed && (isr & InterruptBit.VRING) !== 0) {
        for (const q of this.queues) if (q && q.onUsed && !this.failed) q.reap(q.onUsed);
      }
      if (!this.failed && (isr & InterruptBit.CONFIG) !== 0) {
        const st = this.rd(MmioReg.Status);
        if ((st & DeviceStatus.DEVICE_NEEDS_RESET) !== 0) this.fail(`the device set DEVICE_NEEDS_RESET (Status ${hex(st)})`);
        else if (this.onConfigChange) this.onConfigChange();
      }
    } catch (e) {
      this.fail(`interrupt handling threw: ${describeError(e)}`);
    }
    if (acked === null) {
      try {
        this.host.irqEnable(this.intid);
      } catch (e) {
        this.log.log(`irqEnable(${this.intid}) threw: ${describeError(e)}`);
      }
    }
    return isr;
  }

  /**
   * Gives up on the device (3.1.1: FAILED): logs `reason` once, resets the
   * device so that it stops using the rings and buffers, sets FAILED, and
   * releases every chain in flight through the queues' `onLost`. Later
   * calls do nothing.
   */
  fail(reason: string): void {
    if (this.failed) return;
    this.failure = reason;
    if (this.onGiveUp) {
      try {
        this.onGiveUp();
      } catch (e) {
        this.log.log(`a give-up handler threw: ${describeError(e)}`);
      }
    }
    this.log.log(`giving up on the device: ${reason}; failing ${this.queues.reduce((n, q) => n + (q ? q.inFlight : 0), 0)} requests in flight`);
    this.giveUp();
    for (const q of this.queues) {
      if (!q) continue;
      const lost = q.onLost;
      q.drain((token) => {
        if (!lost) return;
        try {
          lost(token);
        } catch (e) {
          this.log.log(`a lost-request handler threw: ${describeError(e)}`);
        }
      });
    }
  }

  /** One line to the driver's log (rate-limited). */
  logLine(msg: string): void {
    this.log.log(msg);
  }

  /** Resets the device (no wait) and sets FAILED; MMIO errors are logged. */
  private giveUp(): void {
    try {
      this.wr(MmioReg.Status, 0);
      this.wr(MmioReg.Status, DeviceStatus.FAILED);
    } catch (e) {
      this.log.log(`could not reset the device: ${describeError(e)}`);
    }
  }

  private configLoop(offset: number, width: number, wide: boolean): number {
    const at = this.base + MmioReg.Config + offset;
    for (let i = 0; i < CONFIG_TRIES; i++) {
      const gen = this.rd(MmioReg.ConfigGeneration);
      const lo = this.host.mmioRead(at, width);
      const hi = wide ? this.host.mmioRead(at + 4, 4) : 0;
      if (this.rd(MmioReg.ConfigGeneration) === gen) return hi * TWO32 + lo;
    }
    throw new Error(`${this.name}: ConfigGeneration changed during ${CONFIG_TRIES} reads of config offset ${offset}`);
  }

  private rd(off: MmioReg): number {
    return this.host.mmioRead(this.base + off, 4);
  }

  private wr(off: MmioReg, value: number): void {
    this.host.mmioWrite(this.base + off, 4, value >>> 0);
  }

  /** Writes a 64-bit address into a Low/High register pair. */
  private wr64(low: MmioReg, addr: number): void {
    this.host.mmioWrite(this.base + low, 4, addr % TWO32);
    this.host.mmioWrite(this.base + low + 4, 4, Math.floor(addr / TWO32));
  }
}
