// SPDX-License-Identifier: Apache-2.0
/**
 * A virtio driver model: the frontend side of a virtio-mmio device, as
 * Linux's `virtio_mmio.c` + `virtio_ring.c` behave with a
 * `restricted-dma-pool` in the device's shared region. Every register
 * access goes through the simulated Bao as a trapped load/store of the
 * frontend vCPU; rings and buffers are written straight into the shared
 * region (the frontend's mapping of it). Shared by all device tests.
 */
import type { DeviceModel } from '../../src/config/platform.ts';
import { DescFlag, DeviceStatus, Feature, MmioReg, vringNeedEvent } from '../../src/virtio/spec.ts';
import type { SimBao } from './../sim/bao.ts';

/** A buffer for a chain: guest-physical address and length. */
export interface Buf {
  addr: number;
  len: number;
}

/**
 * The restricted DMA pool: a first-fit allocator over the shared region
 * (Linux's swiotlb pool at the region's address).
 */
export class DmaPool {
  private free: { addr: number; len: number }[];
  private readonly used = new Map<number, number>();

  constructor(readonly base: number, readonly size: number) {
    this.free = [{ addr: base, len: size }];
  }

  /** Allocates `len` bytes aligned to `align`. @throws Error when the pool is exhausted */
  alloc(len: number, align = 16): number {
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      const start = Math.ceil(f.addr / align) * align;
      const end = start + Math.max(len, 1);
      if (end <= f.addr + f.len) {
        const pieces: { addr: number; len: number }[] = [];
        if (start > f.addr) pieces.push({ addr: f.addr, len: start - f.addr });
        if (end < f.addr + f.len) pieces.push({ addr: end, len: f.addr + f.len - end });
        this.free.splice(i, 1, ...pieces);
        this.used.set(start, end - start);
        return start;
      }
    }
    throw new Error(`DMA pool exhausted (${len} bytes)`);
  }

  /** Frees an allocation. @throws Error for an address not allocated */
  release(addr: number): void {
    const len = this.used.get(addr);
    if (len === undefined) throw new Error(`free of unallocated 0x${addr.toString(16)}`);
    this.used.delete(addr);
    this.free.push({ addr, len });
    this.free.sort((a, b) => a.addr - b.addr);
    const merged: { addr: number; len: number }[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.addr + last.len === f.addr) last.len += f.len;
      else merged.push({ ...f });
    }
    this.free = merged;
  }

  /** Bytes allocated now. */
  get inUse(): number {
    let n = 0;
    for (const v of this.used.values()) n += v;
    return n;
  }
}

/** The frontend's mapping of the shared region. */
export class FrontendMemory {
  readonly u8: Uint8Array;
  readonly dv: DataView;

  constructor(readonly base: number, buffer: ArrayBuffer) {
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
  }

  private off(addr: number, len: number): number {
    const o = addr - this.base;
    if (o < 0 || o + len > this.u8.length) throw new Error(`frontend access 0x${addr.toString(16)}+${len} outside the shared region`);
    return o;
  }

  r8(a: number): number { return this.u8[this.off(a, 1)]; }
  r16(a: number): number { return this.dv.getUint16(this.off(a, 2), true); }
  r32(a: number): number { return this.dv.getUint32(this.off(a, 4), true); }
  w8(a: number, v: number): void { this.u8[this.off(a, 1)] = v; }
  w16(a: number, v: number): void { this.dv.setUint16(this.off(a, 2), v, true); }
  w32(a: number, v: number): void { this.dv.setUint32(this.off(a, 4), v >>> 0, true); }
  w64(a: number, v: number): void {
    this.w32(a, v % 4294967296);
    this.w32(a + 4, Math.floor(v / 4294967296));
  }
  /** Copies bytes out. */
  read(a: number, len: number): Uint8Array { const o = this.off(a, len); return this.u8.slice(o, o + len); }
  /** Copies bytes in. */
  write(a: number, data: Uint8Array): void { this.u8.set(data, this.off(a, data.length)); }
  fill(a: number, len: number, v: number): void { const o = this.off(a, len); this.u8.fill(v, o, o + len); }
}

/** Options of {@link VirtioMmioDriver.probe}. */
export interface ProbeOptions {
  /** feature bits to accept if offered (default: everything offered) */
  accept?: (bit: number) => boolean;
}

/** One split virtqueue, driver side (Linux `virtio_ring.c`, split layout). */
export class DriverQueue {
  readonly descAddr: number;
  readonly availAddr: number;
  readonly usedAddr: number;
  private freeList: number[] = [];
  private availIdx = 0;
  private lastUsed = 0;
  private added = 0;
  /** per head: indirect table allocation to free, or -1 */
  private readonly indirectOf = new Map<number, number>();
  private readonly chainLen = new Map<number, number>();

  constructor(
    readonly drv: VirtioMmioDriver,
    readonly index: number,
    readonly num: number,
    readonly eventIdx: boolean,
    readonly indirect: boolean,
  ) {
    const pool = drv.pool;
    this.descAddr = pool.alloc(16 * num, 16);
    this.availAddr = pool.alloc(6 + 2 * num, 2);
    this.usedAddr = pool.alloc(6 + 8 * num, 4);
    const m = drv.mem;
    m.fill(this.descAddr, 16 * num, 0);
    m.fill(this.availAddr, 6 + 2 * num, 0);
    m.fill(this.usedAddr, 6 + 8 * num, 0);
    for (let i = 0; i < num; i++) this.freeList.push(i);
  }

  /** Gives the rings and outstanding indirect tables back to the pool (after a device reset). */
  release(): void {
    const pool = this.drv.pool;
    pool.release(this.descAddr);
    pool.release(this.availAddr);
    pool.release(this.usedAddr);
    for (const t of this.indirectOf.values()) pool.release(t);
    this.indirectOf.clear();
  }

  /** Free descriptors. */
  get numFree(): number {
    return this.freeList.length;
  }

  /** Writes descriptor `i` of the table at `table`. */
  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const m = this.drv.mem;
    const p = table + 16 * i;
    m.w64(p, addr);
    m.w32(p + 8, len);
    m.w16(p + 12, flags);
    m.w16(p + 14, next);
  }

  /**
   * Adds a chain of device-readable `out` buffers then device-writable `in`
   * buffers and makes it available. With `useIndirect` (and the feature
   * negotiated) the chain goes into an indirect table from the pool.
   * Returns the head index. @throws Error when out of descriptors
   */
  add(out: Buf[], inb: Buf[], useIndirect = false): number {
    const total = out.length + inb.length;
    const bufs = [...out.map((b) => ({ ...b, w: false })), ...inb.map((b) => ({ ...b, w: true }))];
    if (useIndirect && this.indirect && total > 0) {
      const table = this.drv.pool.alloc(16 * total, 16);
      bufs.forEach((b, i) => this.writeDesc(table, i, b.addr, b.len, (b.w ? DescFlag.WRITE : 0) | (i + 1 < total ? DescFlag.NEXT : 0), i + 1 < total ? i + 1 : 0));
      const head = this.takeDesc();
      this.writeDesc(this.descAddr, head, table, 16 * total, DescFlag.INDIRECT, 0);
      this.indirectOf.set(head, table);
      this.chainLen.set(head, 1);
      this.publish(head);
      return head;
    }
    if (total > this.freeList.length) throw new Error(`queue ${this.index}: ${total} descriptors wanted, ${this.freeList.length} free`);
    const ids = bufs.map(() => this.takeDesc());
    bufs.forEach((b, i) => this.writeDesc(this.descAddr, ids[i], b.addr, b.len, (b.w ? DescFlag.WRITE : 0) | (i + 1 < total ? DescFlag.NEXT : 0), i + 1 < total ? ids[i + 1] : 0));
    this.chainLen.set(ids[0], total);
    this.publish(ids[0]);
    return ids[0];
  }

  private takeDesc(): number {
    const d = this.freeList.shift();
    if (d === undefined) throw new Error(`queue ${this.index}: no free descriptor`);
    return d;
  }

  /** Puts `head` in the avail ring and bumps avail idx (raw: for hand-made chains too). */
  publish(head: number): void {
    const m = this.drv.mem;
    m.w16(this.availAddr + 4 + 2 * (this.availIdx % this.num), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    m.w16(this.availAddr + 2, this.availIdx);
    this.added++;
  }

  /** Sets the avail idx directly (for malformed-ring tests). */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.drv.mem.w16(this.availAddr + 2, this.availIdx);
  }

  /** Reserves a descriptor index for a hand-made chain (it is not returned by getUsed). */
  reserve(): number {
    return this.takeDesc();
  }

  /** Whether a kick is needed now (Linux `virtqueue_kick_prepare_split`). */
  kickPrepare(): boolean {
    const m = this.drv.mem;
    const newIdx = this.availIdx;
    const oldIdx = (newIdx - this.added) & 0xffff;
    this.added = 0;
    if (this.eventIdx) return vringNeedEvent(m.r16(this.usedAddr + 4 + 8 * this.num), newIdx, oldIdx);
    return (m.r16(this.usedAddr) & 1) === 0;
  }

  /** Kicks (QueueNotify) if needed; returns whether it did. */
  kick(): boolean {
    if (!this.kickPrepare()) return false;
    this.drv.notify(this.index);
    return true;
  }

  /** Kicks unconditionally. */
  forceKick(): void {
    this.added = 0;
    this.drv.notify(this.index);
  }

  /** The used ring's idx. */
  get usedIdx(): number {
    return this.drv.mem.r16(this.usedAddr + 2);
  }

  /** Takes one used element (frees its descriptors), or null. Re-arms used_event with event idx. */
  getUsed(): { id: number; len: number } | null {
    const m = this.drv.mem;
    if (this.usedIdx === this.lastUsed) return null;
    const p = this.usedAddr + 4 + 8 * (this.lastUsed % this.num);
    const id = m.r32(p);
    const len = m.r32(p + 4);
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    if (this.eventIdx) m.w16(this.availAddr + 4 + 2 * this.num, this.lastUsed);
    const count = this.chainLen.get(id);
    if (count !== undefined) {
      this.chainLen.delete(id);
      let d = id;
      for (let i = 0; i < count; i++) {
        this.freeList.push(d);
        d = m.r16(this.descAddr + 16 * d + 14);
      }
      const table = this.indirectOf.get(id);
      if (table !== undefined) {
        this.indirectOf.delete(id);
        this.drv.pool.release(table);
      }
    }
    return { id, len };
  }

  /** Sets VIRTQ_AVAIL_F_NO_INTERRUPT (without event idx). */
  setNoInterrupt(on: boolean): void {
    this.drv.mem.w16(this.availAddr, on ? 1 : 0);
  }

  /** Writes used_event (with event idx). */
  setUsedEvent(v: number): void {
    this.drv.mem.w16(this.availAddr + 4 + 2 * this.num, v & 0xffff);
  }
}

/** The transport half of a driver: registers, feature negotiation, queues, interrupts. */
export class VirtioMmioDriver {
  readonly mem: FrontendMemory;
  readonly pool: DmaPool;
  readonly base: number;
  /** negotiated features, two u32 words */
  readonly features = new Uint32Array(2);
  readonly queues: DriverQueue[] = [];
  /** InterruptStatus bits seen by {@link VirtioMmioDriver.handleInterrupt} */
  interruptsSeen = 0;

  /**
   * @param sim the simulated Bao
   * @param model the device's platform entry
   * @param vcpu the frontend vCPU that does the accesses
   */
  constructor(readonly sim: SimBao, readonly model: DeviceModel, readonly vcpu = 0) {
    this.base = model.window.base;
    // The frontend's mapping of the shared region: the same buffer as the backend's.
    this.mem = new FrontendMemory(model.shmem.base, sim.region(`shmem:${model.name}`));
    this.pool = new DmaPool(model.shmem.base, model.shmem.size);
  }

  /** A 32-bit register read (Linux readl), checking that the upper bits came back zero. */
  readl(off: number): number {
    const v = this.sim.load(this.vcpu, this.base + off, 4);
    if (v.hi !== 0) throw new Error(`readl 0x${off.toString(16)}: upper register bits 0x${v.hi.toString(16)} not zero`);
    return v.lo;
  }

  /** A 32-bit register write (Linux writel). */
  writel(off: number, v: number): void {
    this.sim.store(this.vcpu, this.base + off, 4, v >>> 0);
  }

  /** A config-space read of `width` bytes at config offset `off` (64-bit returns a number < 2^53). */
  readConfig(off: number, width: 1 | 2 | 4 | 8): number {
    const v = this.sim.load(this.vcpu, this.base + MmioReg.Config + off, width);
    if (width < 8 && v.hi !== 0) throw new Error('config read: upper bits not zero');
    return v.hi * 4294967296 + v.lo;
  }

  /** A config-space write. */
  writeConfig(off: number, width: 1 | 2 | 4 | 8, lo: number, hi = 0): void {
    this.sim.store(this.vcpu, this.base + MmioReg.Config + off, width, lo, hi);
  }

  /** The Status register. */
  status(): number {
    return this.readl(MmioReg.Status);
  }

  /** Writes `bits` into Status (Linux `vm_set_status`: status | new bits). */
  addStatus(bits: number): void {
    this.writel(MmioReg.Status, this.status() | bits);
  }

  /** Device reset: Status = 0, then wait for it to read 0 (4.2.3.1). */
  reset(): void {
    this.writel(MmioReg.Status, 0);
    if (this.status() !== 0) throw new Error('device did not reset');
    for (const q of this.queues) if (q) q.release();
    this.queues.length = 0;
  }

  /** The 64-bit DeviceFeatures. */
  deviceFeatures(): Uint32Array {
    const f = new Uint32Array(2);
    for (let sel = 0; sel < 2; sel++) {
      this.writel(MmioReg.DeviceFeaturesSel, sel);
      f[sel] = this.readl(MmioReg.DeviceFeatures);
    }
    return f;
  }

  /** Whether the negotiated features have `bit`. */
  has(bit: number): boolean {
    return ((this.features[bit >> 5] >>> (bit & 31)) & 1) === 1;
  }

  /**
   * Linux's probe up to FEATURES_OK (3.1.1): checks MagicValue, Version 2
   * and the device ID, resets, ACKNOWLEDGE, DRIVER, negotiates, FEATURES_OK
   * and reads it back.
   * @throws Error if any step fails
   */
  probe(deviceId: number, options: ProbeOptions = {}): void {
    if (this.readl(MmioReg.MagicValue) !== 0x74726976) throw new Error('bad MagicValue');
    if (this.readl(MmioReg.Version) !== 2) throw new Error('not virtio-mmio version 2');
    const id = this.readl(MmioReg.DeviceID);
    if (id !== deviceId) throw new Error(`device ID ${id}, expected ${deviceId}`);
    this.reset();
    this.addStatus(DeviceStatus.ACKNOWLEDGE);
    this.addStatus(DeviceStatus.DRIVER);
    const offered = this.deviceFeatures();
    const accept = options.accept ?? (() => true);
    this.features[0] = 0;
    this.features[1] = 0;
    for (let bit = 0; bit < 64; bit++) {
      if (((offered[bit >> 5] >>> (bit & 31)) & 1) && accept(bit)) this.features[bit >> 5] |= 1 << (bit & 31);
    }
    for (let sel = 0; sel < 2; sel++) {
      this.writel(MmioReg.DriverFeaturesSel, sel);
      this.writel(MmioReg.DriverFeatures, this.features[sel]);
    }
    this.addStatus(DeviceStatus.FEATURES_OK);
    if (!(this.status() & DeviceStatus.FEATURES_OK)) throw new Error('device refused FEATURES_OK');
  }

  /**
   * Sets up queue `index` (Linux `vm_setup_vq`): QueueSel, QueueReady must
   * be 0, QueueNumMax, rings from the pool, addresses, QueueReady = 1.
   */
  setupQueue(index: number, num?: number): DriverQueue {
    this.writel(MmioReg.QueueSel, index);
    if (this.readl(MmioReg.QueueReady) !== 0) throw new Error(`queue ${index} already ready`);
    const max = this.readl(MmioReg.QueueNumMax);
    if (max === 0) throw new Error(`queue ${index} not available`);
    const n = Math.min(num ?? max, max);
    const q = new DriverQueue(this, index, n, this.has(Feature.RING_EVENT_IDX), this.has(Feature.INDIRECT_DESC));
    this.writel(MmioReg.QueueNum, n);
    this.writeAddr(MmioReg.QueueDescLow, q.descAddr);
    this.writeAddr(MmioReg.QueueDriverLow, q.availAddr);
    this.writeAddr(MmioReg.QueueDeviceLow, q.usedAddr);
    this.writel(MmioReg.QueueReady, 1);
    this.queues[index] = q;
    return q;
  }

  /** Writes a 64-bit address into a Low/High register pair. */
  writeAddr(lowReg: number, addr: number): void {
    this.writel(lowReg, addr % 4294967296);
    this.writel(lowReg + 4, Math.floor(addr / 4294967296));
  }

  /** DRIVER_OK. */
  driverOk(): void {
    this.addStatus(DeviceStatus.DRIVER_OK);
  }

  /** QueueNotify for `index`. */
  notify(index: number): void {
    this.writel(MmioReg.QueueNotify, index);
  }

  /**
   * The interrupt handler (Linux `vm_interrupt`): if NOTIFY injected this
   * device's interrupt, read InterruptStatus and ACK it. Returns the bits (0 if none).
   */
  handleInterrupt(): number {
    if (!this.sim.takeFrontendIrq(this.model.frontendIntid)) return 0;
    const bits = this.readl(MmioReg.InterruptStatus);
    if (bits) this.writel(MmioReg.InterruptACK, bits);
    this.interruptsSeen |= bits;
    return bits;
  }

  /** Whether DEVICE_NEEDS_RESET is set. */
  needsReset(): boolean {
    return (this.status() & DeviceStatus.DEVICE_NEEDS_RESET) !== 0;
  }
}
