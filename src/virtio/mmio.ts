// SPDX-License-Identifier: Apache-2.0
/**
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2): the
 * register file a frontend sees in its remio window, feature negotiation,
 * the device status state machine and the virtqueue registers. It is an
 * {@link IoClient} of the dispatcher and drives one {@link VirtioDevice}.
 *
 * Defined answers for everything a driver may get wrong:
 * - control registers (offsets below 0x100) take 32-bit aligned accesses
 *   only (4.2.2.2); any other width or alignment reads 0 and ignores a
 *   write, with a log line;
 * - the configuration space (0x100 up) takes 8, 16, 32 and 64-bit accesses
 *   aligned to their width; others read 0 / are ignored and logged; bytes
 *   past the end of the device's config read 0;
 * - reads of write-only registers return 0, writes to read-only registers
 *   are ignored (both logged);
 * - queue registers of a queue that does not exist read 0 and ignore writes;
 *   a queue's layout registers are ignored while it is ready.
 *
 * A host may answer the reads that have no side effect from a register
 * shadow the transport keeps current ({@link VirtioMmioTransport.useRegShadow}).
 *
 * Queue processing happens in {@link VirtioMmioTransport.afterComplete},
 * after the dispatcher completed the request that caused it (QueueNotify,
 * QueueReady, DRIVER_OK): the frontend runs again before the backend works.
 */
import { WatchdogStop, type IoClient } from '../dispatcher/client.ts';
import {
  DataPlaneCtrl, DataPlaneQueueFlag, DataPlaneWord, DATA_PLANE_WORDS, RegShadowCtrl, RegShadowWord, REG_SHADOW_WORDS, type Host,
} from '../host.ts';
import { describeError, RateLimitedLog, type LogSink } from '../dispatcher/log.ts';
import type { DeviceContext, VirtioDevice } from './device.ts';
import type { GuestMemory } from './memory.ts';
import { DescriptorChain, QueueError, SplitQueue } from './queue.ts';
import {
  BAOJS_VENDOR_ID, DeviceStatus, Feature, hasFeature, InterruptBit, MMIO_MAGIC, MMIO_VERSION, MmioReg,
  setFeature, type FeatureWords,
} from './spec.ts';

/** Transport features baojs offers on every device (virtio 1.2 section 6). */
export const TRANSPORT_FEATURES: readonly number[] = [
  Feature.INDIRECT_DESC, Feature.RING_EVENT_IDX, Feature.VERSION_1, Feature.ACCESS_PLATFORM, Feature.RING_RESET,
];

/** Counters of one transport, plain numbers. */
export interface TransportCounters {
  /** register reads the transport answered (not those a host answered from the register shadow) */
  reads: number;
  /** register writes */
  writes: number;
  /** QueueNotify writes naming an existing queue */
  kicks: number;
  /** used buffer notifications sent */
  usedNotifications: number;
  /** configuration change notifications sent */
  configNotifications: number;
  /** accesses answered with the defined "bad access" answer */
  badAccesses: number;
  /** times the device entered DEVICE_NEEDS_RESET */
  needsReset: number;
  /** driver resets (Status written 0) */
  resets: number;
}

/** Options of {@link VirtioMmioTransport}. */
export interface TransportOptions {
  /** guest-physical base of the 0x200-byte window in the frontend (remio window) */
  base: number;
  /** raises the device's interrupt in the frontend (the dispatcher sends NOTIFY) */
  interrupt: () => void;
  /** where log lines go */
  log: LogSink;
  /** refuse FEATURES_OK unless the driver accepts VIRTIO_F_ACCESS_PLATFORM (default false: accept and warn) */
  requireAccessPlatform?: boolean;
}

const MAX_QUEUES = 32;

/**
 * The control registers whose read has no side effect and whose value the
 * register shadow holds ({@link VirtioMmioTransport.useRegShadow}). Not
 * InterruptStatus: its value is the data plane's INT_STATUS word, which the
 * host changes itself (and answers from there); not the write-only and
 * reserved offsets, whose reads are logged as bad accesses.
 */
const SHADOW_CONSTANT: readonly MmioReg[] = [
  MmioReg.MagicValue, MmioReg.Version, MmioReg.DeviceID, MmioReg.VendorID,
  MmioReg.SHMLenLow, MmioReg.SHMLenHigh, MmioReg.SHMBaseLow, MmioReg.SHMBaseHigh,
];
/** Shadowed registers whose value changes: {@link VirtioMmioTransport.syncShadow} rewrites them. */
const SHADOW_CHANGING: readonly MmioReg[] = [
  MmioReg.DeviceFeatures, MmioReg.QueueNumMax, MmioReg.QueueReady, MmioReg.Status, MmioReg.QueueReset, MmioReg.ConfigGeneration,
];

/**
 * One virtio-mmio device: the register file of 4.2.2 in front of a
 * {@link VirtioDevice}. Implements {@link DeviceContext} for that device.
 */
export class VirtioMmioTransport implements IoClient, DeviceContext {
  /** guest-physical base of the window */
  readonly base: number;
  /** the device's virtqueues */
  readonly queues: SplitQueue[] = [];
  /** scratch chain shared by the device's queue handlers */
  readonly chain = new DescriptorChain(16);
  /** features offered: device features plus {@link TRANSPORT_FEATURES} */
  readonly offered: FeatureWords = new Uint32Array(2);
  /** features the driver wrote (DriverFeatures); the negotiated set once FEATURES_OK holds */
  readonly features: FeatureWords = new Uint32Array(2);
  /** counters since start */
  readonly counters: TransportCounters = {
    reads: 0, writes: 0, kicks: 0, usedNotifications: 0, configNotifications: 0, badAccesses: 0, needsReset: 0, resets: 0,
  };

  /** the Status register as the driver set it (without DEVICE_NEEDS_RESET) */
  private status = 0;
  /** device-owned DEVICE_NEEDS_RESET */
  private needsReset = false;
  /**
   * State shared with a host data plane ({@link VirtioMmioTransport.useDataPlane});
   * InterruptStatus lives in its INT_STATUS word with or without one.
   */
  readonly dataPlane = new Uint32Array(DATA_PLANE_WORDS);
  /** a host data plane took this transport ({@link VirtioMmioTransport.useDataPlane}) */
  private dataPlaneRegistered = false;
  /** it may serve queue 0 (a blk device over RAM) */
  private dataPlaneQueueAllowed = false;
  /** a host data plane may serve queue 0 when it is live (false while turned off) */
  private dataPlaneQueue = false;
  /** {@link VirtioMmioTransport.setQueuePlaneEnabled} turned the host's queue serving off */
  private queuePlaneOff = false;
  private dataPlaneReadOnly = false;
  /** queue 0 is handed to the data plane (its SplitQueue is not to be used) */
  private armed = false;
  /** queue 0 was taken back by {@link VirtioMmioTransport.takeQueues}: hand it over at the next signalUsed */
  private rearm = false;
  /** more queue flags for the data plane ({@link VirtioMmioTransport.useDataPlane}) */
  private dataPlaneFlags: (() => number) | null = null;
  /**
   * The register shadow a host answers reads from ({@link
   * VirtioMmioTransport.useRegShadow}; {@link RegShadowWord} layout), kept
   * current by every change of a shadowed register.
   */
  readonly regShadow = new Uint32Array(REG_SHADOW_WORDS);
  /** a host took the register shadow */
  private regShadowRegistered = false;
  /** the host may answer from the shadow (false while the data plane is turned off) */
  private regShadowOn = false;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private configGeneration = 0;
  /** bit i: queue i to be processed after the current request completes */
  private pendingQueues = 0;
  private activated = false;
  /**
   * {@link VirtioMmioTransport.live}, kept in a field (set wherever
   * `activated`, `needsReset` or `status` change): the request path tests
   * it several times per request.
   */
  private running = false;
  private readonly logger: RateLimitedLog;

  /**
   * @param device the device model behind the registers
   * @param mem the device's shared region
   * @throws RangeError if the device has more than 32 queues
   */
  constructor(readonly device: VirtioDevice, readonly mem: GuestMemory, private readonly opts: TransportOptions) {
    if (device.numQueues > MAX_QUEUES) throw new RangeError(`${device.name}: at most ${MAX_QUEUES} queues`);
    this.base = opts.base;
    for (let i = 0; i < device.numQueues; i++) this.queues.push(new SplitQueue(i, device.queueNumMax(i)));
    this.offered[0] = device.deviceFeatures[0];
    this.offered[1] = device.deviceFeatures[1];
    for (const f of TRANSPORT_FEATURES) setFeature(this.offered, f);
    this.logger = new RateLimitedLog(opts.log, `${device.name}: `);
  }

  /** The Status register as the driver reads it (DEVICE_NEEDS_RESET included). */
  get deviceStatus(): number {
    return this.status | (this.needsReset ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
  }

  /** Whether the device is live: DRIVER_OK set, not FAILED, not DEVICE_NEEDS_RESET. */
  get live(): boolean {
    return this.activated && !this.needsReset && (this.status & DeviceStatus.FAILED) === 0;
  }

  /** One line to the log, prefixed with the device name (rate-limited). */
  log(message: string): void {
    this.logger.log(message);
  }

  // ---- IoClient ----------------------------------------------------------

  /** A frontend load from the window (see the file comment for bad accesses); {@link IoClient.read}. */
  read(addr: number, width: number, hi: Uint32Array): number {
    this.counters.reads++;
    const off = addr - this.base;
    if (width === 4 && (off & 3) === 0 && off >= 0 && off < MmioReg.Config) {
      // the registers of every interrupt and every status poll, without the call and the switch
      if (off === MmioReg.InterruptStatus) return this.dataPlane[DataPlaneWord.INT_STATUS];
      if (off === MmioReg.Status) return this.status | (this.needsReset ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
      return this.readRegister(off);
    }
    if (off >= MmioReg.Config) return this.readConfig(off - MmioReg.Config, width, hi);
    this.bad(`${width}-byte read at offset 0x${off.toString(16)}: control registers take aligned 32-bit accesses`);
    return 0;
  }

  /**
   * A frontend store to the window (see the file comment for bad accesses);
   * {@link IoClient.write}. Returns true when {@link
   * VirtioMmioTransport.afterComplete} has work: a queue to process, or
   * queue 0 to hand back to a host data plane.
   */
  write(addr: number, width: number, lo: number, hi: number): boolean {
    this.counters.writes++;
    const off = addr - this.base;
    if (width === 4 && (off & 3) === 0 && off >= 0 && off < MmioReg.Config) {
      // The registers of every request and every interrupt, without the call and the switch
      if (off === MmioReg.QueueNotify) {
        // queueNotify(lo), inlined for the common case: an existing queue of a live device
        if (lo < this.queues.length && this.running) {
          this.counters.kicks++;
          this.pendingQueues |= 1 << lo;
          return true;
        }
        this.queueNotify(lo >>> 0);
      } else if (off === MmioReg.InterruptACK) {
        this.dataPlane[DataPlaneWord.INT_STATUS] &= ~lo;
        return this.dataPlaneQueue && !this.armed;
      } else {
        this.writeRegister(off, lo >>> 0);
        this.syncShadow();
      }
    } else if (off >= MmioReg.Config) {
      this.writeConfig(off - MmioReg.Config, width, lo, hi);
    } else {
      this.bad(`${width}-byte write at offset 0x${off.toString(16)}: control registers take aligned 32-bit accesses`);
    }
    return this.pendingQueues !== 0 || (this.dataPlaneQueue && !this.armed);
  }

  /**
   * A QueueNotify of `v` that the host recognised and completed already
   * ({@link IoClient.queueNotified}): {@link VirtioMmioTransport.write}
   * and, if it has work, {@link VirtioMmioTransport.afterComplete}, in
   * one call from the host instead of two.
   */
  queueNotified(v: number): void {
    this.counters.writes++;
    if (v < this.queues.length && this.running) {
      this.counters.kicks++;
      if (this.pendingQueues === 0 && !this.dataPlaneQueue) {
        // The usual kick, nothing else pending and no queue lent to the host:
        // afterComplete's work for this one queue, without its call and loop.
        if (this.queues[v].enabled) {
          try {
            this.device.processQueue(v);
          } catch (e) {
            this.queueFailed(v, e);
          }
        }
        if (this.pendingQueues !== 0) this.afterComplete();
        return;
      }
      this.pendingQueues |= 1 << v;
    } else {
      this.queueNotify(v >>> 0);
    }
    if (this.pendingQueues !== 0 || (this.dataPlaneQueue && !this.armed)) this.afterComplete();
  }

  /** Processes the queues that the last request kicked or made ready. */
  afterComplete(): void {
    if (this.armed) this.disarm();
    while (this.pendingQueues !== 0) {
      let bits = this.pendingQueues;
      this.pendingQueues = 0;
      // only queues that exist have bits
      for (let i = 0; bits !== 0; i++, bits >>>= 1) {
        if ((bits & 1) === 0) continue;
        // runQueue(i), inlined: the live check, then the device's handler
        if (!this.running || !this.queues[i].enabled) continue;
        try {
          this.device.processQueue(i);
        } catch (e) {
          this.queueFailed(i, e);
        }
      }
    }
    if (this.dataPlaneQueue) this.arm();
  }

  /** The device's handler of queue `i` threw `e`: the device fails (DEVICE_NEEDS_RESET). */
  private queueFailed(i: number, e: unknown): void {
    this.fail(e instanceof QueueError ? e.message : `queue ${i} handler threw: ${describeError(e)}`);
  }

  /**
   * A JS exception escaped this device, or the watchdog stopped a call into
   * it ({@link WatchdogStop}): reset it and set DEVICE_NEEDS_RESET (taking
   * queue 0 back from a host data plane first).
   */
  fault(error: unknown): void {
    this.fail(error instanceof WatchdogStop ? error.message : `exception: ${describeError(error)}`);
  }

  // ---- DeviceContext -----------------------------------------------------

  /** See {@link DeviceContext.signalUsed}. */
  signalUsed(queue: SplitQueue): void {
    if (!this.running) return;
    if (queue.needsNotification()) {
      this.dataPlane[DataPlaneWord.INT_STATUS] |= InterruptBit.VRING;
      this.counters.usedNotifications++;
      this.opts.interrupt();
    }
    if (this.rearm) {
      this.rearm = false;
      if (this.dataPlaneQueue) this.arm();
    }
  }

  /** See {@link DeviceContext.takeQueues}. */
  takeQueues(): void {
    if (!this.armed) return;
    this.disarm();
    this.rearm = true;
  }

  /** See {@link DeviceContext.configChanged}. */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    this.syncShadow();
    if (this.status & DeviceStatus.DRIVER_OK) this.raiseConfigInterrupt();
  }

  /**
   * See {@link DeviceContext.fail}. Sets DEVICE_NEEDS_RESET, resets the
   * device model, stops the queues, and (after DRIVER_OK) sends a
   * configuration change notification as 2.1.2 requires. Idempotent until
   * the driver resets the device.
   */
  fail(reason: string): void {
    if (this.armed) this.disarm();
    if (this.needsReset) return;
    this.needsReset = true;
    this.running = false;
    this.counters.needsReset++;
    this.logger.log(`DEVICE_NEEDS_RESET: ${reason}`);
    this.pendingQueues = 0;
    for (const q of this.queues) q.disable();
    try {
      this.dataPlane[DataPlaneWord.GENERATION]++;
      this.device.reset();
    } catch (e) {
      this.logger.log(`reset after failure threw: ${describeError(e)}`);
    }
    this.syncShadow();
    if (this.status & DeviceStatus.DRIVER_OK) this.raiseConfigInterrupt();
  }

  // ---- host data plane ---------------------------------------------------

  /**
   * Lets the host's C virtqueue ({@link Host.vqAttach}) do the ring work of
   * every queue of this device ({@link SplitQueue.useHost}): the device
   * code is unchanged, errors are still answered by {@link SplitQueue}.
   * @returns whether the host took them
   */
  useHostQueues(host: Host): boolean {
    let all = true;
    for (const q of this.queues) all = q.useHost(host, this.mem) && all;
    return all;
  }

  /**
   * Lets a host data plane ({@link Host.dataPlane}) serve this transport:
   * fills in the window and shared-region words of {@link
   * VirtioMmioTransport.dataPlane}, lets the host answer InterruptStatus and
   * InterruptACK, calls `register(state)` and, if it returns true, hands
   * queue 0 to the host whenever the device is live (the transport takes it
   * back before any register write and any failure, and whenever the host
   * hands it back). The queue only for a device whose queue 0 the data
   * plane understands (virtio-blk over a RAM backing).
   * @param readOnly the disk refuses writes (the host hands write requests back)
   * @param queue false: the host answers the interrupt registers only (a device whose queues it does not know)
   * @param flags more {@link DataPlaneQueueFlag} bits, asked each time the queue is handed over (WRITETHROUGH)
   * @returns whether the host took it
   */
  useDataPlane(register: (state: Uint32Array) => boolean, readOnly: boolean, queue = true, flags?: () => number): boolean {
    const st = this.dataPlane;
    st[DataPlaneWord.WINDOW_LO] = this.base >>> 0;
    st[DataPlaneWord.WINDOW_HI] = Math.floor(this.base / 4294967296);
    st[DataPlaneWord.SHMEM_LO] = this.mem.base >>> 0;
    st[DataPlaneWord.SHMEM_HI] = Math.floor(this.mem.base / 4294967296);
    st[DataPlaneWord.CTRL] = DataPlaneCtrl.IRQ_REGS;
    if (!register(st)) {
      st[DataPlaneWord.CTRL] = 0;
      return false;
    }
    this.dataPlaneRegistered = true;
    this.dataPlaneQueueAllowed = queue;
    this.dataPlaneQueue = queue;
    this.dataPlaneReadOnly = readOnly;
    this.dataPlaneFlags = flags ?? null;
    this.arm();
    return true;
  }

  /**
   * Turns a registered data plane and register shadow off (every request
   * goes to JS, as without them) or back on. Returns false if the transport
   * has neither.
   */
  setDataPlaneEnabled(on: boolean): boolean {
    if (this.regShadowRegistered) {
      this.regShadowOn = on;
      this.syncShadow();
    }
    if (!this.dataPlaneRegistered) return this.regShadowRegistered;
    const st = this.dataPlane;
    if (!on) {
      if (this.armed) this.disarm();
      st[DataPlaneWord.CTRL] = 0;
      this.dataPlaneQueue = false;
    } else {
      st[DataPlaneWord.CTRL] = DataPlaneCtrl.IRQ_REGS;
      this.dataPlaneQueue = this.dataPlaneQueueAllowed && !this.queuePlaneOff;
      if (this.dataPlaneQueue) this.arm();
    }
    return true;
  }

  /**
   * Turns only the host's serving of queue 0 off (the device's TypeScript
   * serves every QueueNotify, as it does for a device the host data plane
   * does not know) or back on; the interrupt registers and the register
   * shadow stay with the host. What a block request costs through the
   * path every TypeScript device has. Returns false if the host serves no
   * queue of this transport.
   */
  setQueuePlaneEnabled(on: boolean): boolean {
    if (!this.dataPlaneRegistered || !this.dataPlaneQueueAllowed) return false;
    this.queuePlaneOff = !on;
    if (!on) {
      if (this.armed) this.disarm();
      this.dataPlaneQueue = false;
    } else if (this.dataPlane[DataPlaneWord.CTRL] !== 0) {
      this.dataPlaneQueue = true;
      this.arm();
    }
    return true;
  }

  /** Whether a host data plane or register shadow took this transport: 'on', 'off' (turned off), or null (none). */
  get dataPlaneState(): 'on' | 'off' | null {
    if (this.dataPlaneRegistered) return this.dataPlane[DataPlaneWord.CTRL] !== 0 ? 'on' : 'off';
    if (this.regShadowRegistered) return this.regShadow[RegShadowWord.CTRL] !== 0 ? 'on' : 'off';
    return null;
  }

  /**
   * Lets a host answer the register reads that have no side effect
   * ({@link Host.regShadow}): fills in {@link VirtioMmioTransport.regShadow}
   * (the values of the registers in SHADOW_CONSTANT and SHADOW_CHANGING,
   * their READABLE bits, the config length), marks it valid and calls
   * `register(shadow, config)` with the device's config bytes. From then on
   * every change of a shadowed register rewrites its word before control
   * returns to the host ({@link VirtioMmioTransport.setDataPlaneEnabled}
   * turns it off and on with the data plane).
   * @returns whether the host took it
   */
  useRegShadow(register: (shadow: Uint32Array, config: Uint8Array) => boolean): boolean {
    const s = this.regShadow;
    let lo = 0;
    let hi = 0;
    for (const off of [...SHADOW_CONSTANT, ...SHADOW_CHANGING]) {
      const i = off >>> 2;
      if (i < 32) lo |= 1 << i;
      else hi |= 1 << (i - 32);
      s[RegShadowWord.REGS + i] = this.readRegister(off) >>> 0;
    }
    s[RegShadowWord.READABLE_LO] = lo >>> 0;
    s[RegShadowWord.READABLE_HI] = hi >>> 0;
    s[RegShadowWord.CONFIG_LEN] = this.device.config.length;
    s[RegShadowWord.CTRL] = RegShadowCtrl.VALID;
    if (!register(s, this.device.config)) {
      s[RegShadowWord.CTRL] = 0;
      return false;
    }
    this.regShadowRegistered = true;
    this.regShadowOn = true;
    return true;
  }

  /**
   * Rewrites the shadowed registers whose value changes (SHADOW_CHANGING)
   * from the transport's state. Called after every control register write,
   * configuration change and failure: the only ways their values change.
   * Cheap enough for those paths (QueueNotify and InterruptACK, the hot
   * writes, change none of them and skip it). The shadow is invalid while
   * it is rewritten, so a call the watchdog stops half-way leaves it
   * invalid (every read to JS) rather than half-current.
   */
  private syncShadow(): void {
    if (!this.regShadowRegistered) return;
    const s = this.regShadow;
    s[RegShadowWord.CTRL] = 0;
    for (let i = 0; i < SHADOW_CHANGING.length; i++) {
      const off = SHADOW_CHANGING[i];
      s[RegShadowWord.REGS + (off >>> 2)] = this.readRegister(off) >>> 0;
    }
    if (this.regShadowOn) s[RegShadowWord.CTRL] = RegShadowCtrl.VALID;
  }

  /** Hands queue 0 to the data plane if the device is live and the queue enabled. */
  private arm(): void {
    if (this.armed || !this.live || this.queues.length === 0 || !this.queues[0].enabled) return;
    const st = this.dataPlane;
    this.queues[0].exportState(st);
    if (this.dataPlaneReadOnly) st[DataPlaneWord.Q_FLAGS] |= DataPlaneQueueFlag.READ_ONLY;
    if (this.dataPlaneFlags) st[DataPlaneWord.Q_FLAGS] |= this.dataPlaneFlags();
    st[DataPlaneWord.CTRL] |= DataPlaneCtrl.QUEUE;
    this.armed = true;
  }

  /** Takes queue 0 back from the data plane (where the host left it). */
  private disarm(): void {
    const st = this.dataPlane;
    st[DataPlaneWord.CTRL] &= ~DataPlaneCtrl.QUEUE;
    this.armed = false;
    this.queues[0].importState(st);
  }

  // ---- registers ---------------------------------------------------------

  private readRegister(off: number): number {
    switch (off) {
      // the registers a running driver reads first: fewer comparisons
      case MmioReg.InterruptStatus: return this.dataPlane[DataPlaneWord.INT_STATUS];
      case MmioReg.Status: return this.status | (this.needsReset ? DeviceStatus.DEVICE_NEEDS_RESET : 0);
      case MmioReg.ConfigGeneration: return this.configGeneration;
      case MmioReg.MagicValue: return MMIO_MAGIC;
      case MmioReg.Version: return MMIO_VERSION;
      case MmioReg.DeviceID: return this.device.deviceId;
      case MmioReg.VendorID: return BAOJS_VENDOR_ID;
      case MmioReg.DeviceFeatures: return this.deviceFeaturesSel < 2 ? this.offered[this.deviceFeaturesSel] : 0;
      case MmioReg.QueueNumMax: return this.queueSel < this.queues.length ? this.queues[this.queueSel].numMax : 0;
      case MmioReg.QueueReady: return this.queueSel < this.queues.length && this.queues[this.queueSel].ready ? 1 : 0;
      case MmioReg.SHMLenLow:
      case MmioReg.SHMLenHigh:
      case MmioReg.SHMBaseLow:
      case MmioReg.SHMBaseHigh:
        // No shared memory regions: length -1 (4.2.2); the base reads -1 too.
        return 0xffffffff;
      case MmioReg.QueueReset: {
        const q = this.queueSel < this.queues.length ? this.queues[this.queueSel] : null;
        return q && hasFeature(this.features, Feature.RING_RESET) && (this.status & DeviceStatus.FEATURES_OK) && q.wasReset ? 1 : 0;
      }
      case MmioReg.DeviceFeaturesSel:
      case MmioReg.DriverFeatures:
      case MmioReg.DriverFeaturesSel:
      case MmioReg.QueueSel:
      case MmioReg.QueueNum:
      case MmioReg.QueueNotify:
      case MmioReg.InterruptACK:
      case MmioReg.QueueDescLow:
      case MmioReg.QueueDescHigh:
      case MmioReg.QueueDriverLow:
      case MmioReg.QueueDriverHigh:
      case MmioReg.QueueDeviceLow:
      case MmioReg.QueueDeviceHigh:
      case MmioReg.SHMSel:
        this.bad(`read of write-only register 0x${off.toString(16)}`);
        return 0;
      default:
        this.bad(`read of reserved offset 0x${off.toString(16)}`);
        return 0;
    }
  }

  private writeRegister(off: number, v: number): void {
    // the queue's state may change: take it back (afterComplete hands it over again)
    if (this.armed) this.disarm();
    switch (off) {
      case MmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = v; return;
      case MmioReg.DriverFeaturesSel: this.driverFeaturesSel = v; return;
      case MmioReg.DriverFeatures:
        if (this.status & DeviceStatus.FEATURES_OK) {
          this.bad('DriverFeatures written after FEATURES_OK: ignored');
        } else if (this.driverFeaturesSel < 2) {
          this.features[this.driverFeaturesSel] = v;
        } else if (v !== 0) {
          this.bad(`DriverFeatures word ${this.driverFeaturesSel} = 0x${v.toString(16)}: no such features, ignored`);
        }
        return;
      case MmioReg.QueueSel: this.queueSel = v; return;
      case MmioReg.QueueNotify: this.queueNotify(v); return;
      case MmioReg.InterruptACK: this.dataPlane[DataPlaneWord.INT_STATUS] &= ~v; return;
      case MmioReg.Status: this.writeStatus(v & 0xff); return;
      case MmioReg.SHMSel: return; // no shared memory regions to select
      case MmioReg.QueueNum:
      case MmioReg.QueueReady:
      case MmioReg.QueueDescLow:
      case MmioReg.QueueDescHigh:
      case MmioReg.QueueDriverLow:
      case MmioReg.QueueDriverHigh:
      case MmioReg.QueueDeviceLow:
      case MmioReg.QueueDeviceHigh:
      case MmioReg.QueueReset:
        this.writeQueueRegister(off, v);
        return;
      case MmioReg.MagicValue:
      case MmioReg.Version:
      case MmioReg.DeviceID:
      case MmioReg.VendorID:
      case MmioReg.DeviceFeatures:
      case MmioReg.QueueNumMax:
      case MmioReg.InterruptStatus:
      case MmioReg.SHMLenLow:
      case MmioReg.SHMLenHigh:
      case MmioReg.SHMBaseLow:
      case MmioReg.SHMBaseHigh:
      case MmioReg.ConfigGeneration:
        this.bad(`write of read-only register 0x${off.toString(16)}: ignored`);
        return;
      default:
        this.bad(`write to reserved offset 0x${off.toString(16)}: ignored`);
    }
  }

  private writeQueueRegister(off: number, v: number): void {
    if (this.queueSel >= this.queues.length) {
      this.bad(`write to queue register 0x${off.toString(16)} of missing queue ${this.queueSel}: ignored`);
      return;
    }
    const q = this.queues[this.queueSel];
    if (off === MmioReg.QueueReady) {
      if (v === 0) {
        q.ready = false;
        q.disable();
      } else if (!q.ready) {
        q.ready = true;
        q.wasReset = false;
        if (this.status & DeviceStatus.FEATURES_OK) this.enableQueue(q);
      }
      return;
    }
    if (off === MmioReg.QueueReset) {
      if (!hasFeature(this.features, Feature.RING_RESET) || !(this.status & DeviceStatus.FEATURES_OK)) {
        this.bad('QueueReset without VIRTIO_F_RING_RESET negotiated: ignored');
      } else if (v === 1) {
        q.reset();
        q.wasReset = true;
        this.pendingQueues &= ~(1 << q.index);
        // answers of requests still in flight (a host's disk plane, an asynchronous backing) must not reach the new ring
        if (q.index === 0) this.dataPlane[DataPlaneWord.GENERATION]++;
        try {
          this.device.queueReset?.(q.index);
        } catch (e) {
          this.fail(`queue ${q.index} reset threw: ${describeError(e)}`);
        }
      }
      return;
    }
    if (q.ready) {
      this.bad(`queue ${q.index}: layout register 0x${off.toString(16)} written while QueueReady: ignored`);
      return;
    }
    switch (off) {
      case MmioReg.QueueNum: q.num = v; return;
      case MmioReg.QueueDescLow: q.descAddr = setLow(q.descAddr, v); return;
      case MmioReg.QueueDescHigh: q.descAddr = setHigh(q.descAddr, v); return;
      case MmioReg.QueueDriverLow: q.driverAddr = setLow(q.driverAddr, v); return;
      case MmioReg.QueueDriverHigh: q.driverAddr = setHigh(q.driverAddr, v); return;
      case MmioReg.QueueDeviceLow: q.deviceAddr = setLow(q.deviceAddr, v); return;
      case MmioReg.QueueDeviceHigh: q.deviceAddr = setHigh(q.deviceAddr, v); return;
    }
  }

  /** Enables a ready queue's rings; after DRIVER_OK also rescans it (no lost kick). */
  private enableQueue(q: SplitQueue): void {
    try {
      q.enable(this.mem, hasFeature(this.features, Feature.RING_EVENT_IDX), hasFeature(this.features, Feature.INDIRECT_DESC));
    } catch (e) {
      this.fail(describeError(e));
      return;
    }
    // A kick may have come before the queue was ready: look at the avail ring anyway.
    if (this.live) this.pendingQueues |= 1 << q.index;
  }

  private queueNotify(v: number): void {
    // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index (4.2.2).
    if (v >= this.queues.length) {
      this.bad(`QueueNotify for missing queue ${v}: ignored`);
      return;
    }
    this.counters.kicks++;
    // this.live, inlined; if not live, the rescan at DRIVER_OK / QueueReady picks the kick up
    if (!this.activated || this.needsReset || (this.status & DeviceStatus.FAILED) !== 0) return;
    this.pendingQueues |= 1 << v;
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.resetDevice();
      return;
    }
    const driverBits = v & ~DeviceStatus.DEVICE_NEEDS_RESET;
    if (this.status & ~driverBits) {
      this.bad(`Status 0x${v.toString(16)} clears bits of 0x${this.status.toString(16)}: only a write of 0 resets; kept`);
    }
    const added = driverBits & ~this.status;
    let next = this.status | added;
    if (added & DeviceStatus.FEATURES_OK) {
      const why = this.checkFeatures();
      if (why) {
        this.logger.log(`FEATURES_OK refused: ${why}`);
        next &= ~(DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK);
      }
    }
    if ((added & DeviceStatus.DRIVER_OK) && !(next & DeviceStatus.FEATURES_OK)) {
      this.bad('DRIVER_OK without FEATURES_OK: ignored');
      next &= ~DeviceStatus.DRIVER_OK;
    }
    this.status = next;
    this.running = this.live;
    if ((added & DeviceStatus.DRIVER_OK) && (next & DeviceStatus.DRIVER_OK)) this.activate();
    if (added & DeviceStatus.FAILED) this.logger.log('driver set FAILED');
  }

  /** Returns why the driver's features cannot be accepted, or null. */
  private checkFeatures(): string | null {
    const f = this.features;
    if ((f[0] & ~this.offered[0]) || (f[1] & ~this.offered[1])) {
      return `driver features 0x${hex8(f[1])}${hex8(f[0])} not a subset of offered 0x${hex8(this.offered[1])}${hex8(this.offered[0])}`;
    }
    if (!hasFeature(f, Feature.VERSION_1)) return 'VIRTIO_F_VERSION_1 not accepted (virtio-mmio version 2 is a modern device)';
    if (!hasFeature(f, Feature.ACCESS_PLATFORM)) {
      if (this.opts.requireAccessPlatform) return 'VIRTIO_F_ACCESS_PLATFORM not accepted';
      this.logger.log('warning: VIRTIO_F_ACCESS_PLATFORM not accepted; buffers outside the shared region will fail');
    }
    return this.device.acceptFeatures ? this.device.acceptFeatures(f) : null;
  }

  private activate(): void {
    for (const q of this.queues) {
      if (q.ready && !q.enabled && !this.needsReset) this.enableQueue(q);
    }
    if (this.needsReset) {
      // Failed before DRIVER_OK (e.g. a ring outside the region): tell the driver now (2.1.2).
      this.raiseConfigInterrupt();
      return;
    }
    try {
      this.device.activate(this);
    } catch (e) {
      this.fail(`activate threw: ${describeError(e)}`);
      return;
    }
    this.activated = true;
    this.running = this.live;
    // Rescan every ready queue: kicks before DRIVER_OK are not lost.
    for (const q of this.queues) if (q.enabled) this.pendingQueues |= 1 << q.index;
  }

  private resetDevice(): void {
    this.counters.resets++;
    this.status = 0;
    this.needsReset = false;
    this.activated = false;
    this.running = false;
    this.dataPlane[DataPlaneWord.INT_STATUS] = 0;
    this.features[0] = 0;
    this.features[1] = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.pendingQueues = 0;
    for (const q of this.queues) q.reset();
    this.logger.refill();
    try {
      this.dataPlane[DataPlaneWord.GENERATION]++;
      this.device.reset();
    } catch (e) {
      this.fail(`reset threw: ${describeError(e)}`);
    }
  }

  private raiseConfigInterrupt(): void {
    this.dataPlane[DataPlaneWord.INT_STATUS] |= InterruptBit.CONFIG;
    this.counters.configNotifications++;
    this.opts.interrupt();
  }

  // ---- configuration space ----------------------------------------------

  /** A config space read at byte `off`: returns the low 32 bits, the high ones of an 8-byte read into `hi[0]`. */
  private readConfig(off: number, width: number, hi: Uint32Array): number {
    const cfg = this.device.config;
    if ((off & (width - 1)) !== 0) {
      this.bad(`unaligned ${width}-byte config read at 0x${off.toString(16)}`);
      return 0;
    }
    if (off + width > cfg.length) {
      this.bad(`config read at 0x${off.toString(16)}+${width} beyond ${cfg.length} bytes`);
      return 0;
    }
    if (width === 8) hi[0] = le32(cfg, off + 4, 4);
    return le32(cfg, off, width < 4 ? width : 4);
  }

  private writeConfig(off: number, width: number, lo: number, hi: number): void {
    const cfg = this.device.config;
    if ((off & (width - 1)) !== 0 || off + width > cfg.length || !this.device.configWritable || !this.device.configWritable(off, width)) {
      this.bad(`${width}-byte config write at 0x${off.toString(16)}: not writable, ignored`);
      return;
    }
    for (let i = 0; i < width; i++) cfg[off + i] = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
    if (this.device.configWritten) this.device.configWritten(off, width);
  }

  private bad(message: string): void {
    this.counters.badAccesses++;
    this.logger.log(message);
  }
}

function setLow(cur: number, v: number): number {
  return Math.floor(cur / 4294967296) * 4294967296 + v;
}

function setHigh(cur: number, v: number): number {
  return v * 4294967296 + (cur % 4294967296);
}

function le32(b: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[off + i];
  return v >>> 0;
}

function hex8(v: number): string {
  const s = (v >>> 0).toString(16);
  return '00000000'.slice(s.length) + s;
}
