// SPDX-License-Identifier: Apache-2.0
/**
 * The register file of a simulated virtio-mmio version 2 device passed
 * through to the backend (virtio 1.2 section 4.2.2), shared by the
 * simulated devices a baojs *driver* drives in the tests
 * (test/sim/blk-device.ts, test/sim/net-device.ts). It sits behind the
 * simulated host's `mmioRead`/`mmioWrite` ({@link SimBao.attachMmio}) and
 * raises a level interrupt ({@link SimBao.setIrqLevel}) while
 * InterruptStatus is non-zero.
 *
 * Each queue is the project's device-side `SplitQueue` over the driver's
 * DMA region, so every chain the driver builds is checked as strictly as a
 * frontend's. What a device refuses (a bad access, DriverFeatures it did
 * not offer, a queue that cannot be enabled) is recorded in
 * {@link SimMmioDevice.violations}. A subclass gives the device: its
 * DeviceID, config space, QueueNotify and what a reset clears.
 */
import { GuestMemory } from '../../src/virtio/memory.ts';
import { QueueError, type DescriptorChain, type SplitQueue } from '../../src/virtio/queue.ts';
import { DeviceStatus, Feature, hasFeature, InterruptBit, MMIO_MAGIC, MmioReg, setFeature } from '../../src/virtio/spec.ts';
import type { SimBao, SimMmioDevice as SimMmioWindow } from './bao.ts';

/** Where a simulated device sits. */
export interface SimMmioPlacement {
  /** guest-physical base of the window in the backend */
  base: number;
  intid: number;
  /** the backend region holding the driver's rings */
  dma: string;
}

/** See the file comment. */
export abstract class SimMmioDevice implements SimMmioWindow {
  /** what the driver did that a device refuses */
  readonly violations: string[] = [];
  /** DriverFeatures as written, and the features offered */
  readonly driverFeatures = new Uint32Array(2);
  readonly offered = new Uint32Array(2);
  /** Status register value, ConfigGeneration, InterruptStatus */
  protected status = 0;
  protected generation = 0;
  protected isr = 0;
  protected readonly mem: GuestMemory;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;

  /**
   * @param queues the device's queues, by index
   * @param features feature bits offered
   */
  constructor(protected readonly sim: SimBao, private readonly at: SimMmioPlacement, protected readonly queues: SplitQueue[], features: readonly number[]) {
    this.mem = new GuestMemory(sim.regionBase(at.dma), sim.region(at.dma), at.dma);
    for (const bit of features) setFeature(this.offered, bit);
    sim.attachMmio(at.base, 0x200, this);
  }

  /** The Status register as the driver last set it (DEVICE_NEEDS_RESET included). */
  get deviceStatus(): number {
    return this.status;
  }

  /** DeviceID */
  protected abstract get deviceId(): number;
  /** The Version register (2: virtio-mmio version 2). */
  protected get version(): number {
    return 2;
  }

  /** Whether the device refuses FEATURES_OK for the features the driver wrote (beyond unoffered bits and no VERSION_1). */
  protected refusesFeatures(): boolean {
    return false;
  }

  /** A config space read at byte `offset` (past MmioReg.Config). */
  protected abstract readConfig(offset: number, width: number): number;

  /** A config space write (default: refused). */
  protected writeConfig(offset: number, _width: number, _value: number): void {
    this.violations.push(`config write at ${offset}`);
  }

  /** A QueueNotify write. */
  protected abstract notify(queue: number): void;

  /** A read of the Status register. */
  protected readStatus(): number {
    return this.status;
  }

  // ---- SimMmioWindow ----------------------------------------------------------

  read(off: number, width: number): number {
    if (off >= MmioReg.Config) return this.readConfig(off - MmioReg.Config, width);
    if (width !== 4) {
      this.violations.push(`${width}-byte read of control register 0x${off.toString(16)}`);
      return 0;
    }
    const q = this.queues[this.queueSel];
    switch (off) {
      case MmioReg.MagicValue: return MMIO_MAGIC;
      case MmioReg.Version: return this.version;
      case MmioReg.DeviceID: return this.deviceId;
      case MmioReg.VendorID: return 0x554d4551;
      case MmioReg.DeviceFeatures: return this.deviceFeaturesSel < 2 ? this.offered[this.deviceFeaturesSel] : 0;
      case MmioReg.QueueNumMax: return q ? q.numMax : 0;
      case MmioReg.QueueReady: return q && q.ready ? 1 : 0;
      case MmioReg.InterruptStatus: return this.isr;
      case MmioReg.Status: return this.readStatus();
      case MmioReg.ConfigGeneration: return this.generation;
      default:
        this.violations.push(`read of register 0x${off.toString(16)}`);
        return 0;
    }
  }

  write(off: number, width: number, value: number): void {
    if (off >= MmioReg.Config) {
      this.writeConfig(off - MmioReg.Config, width, value);
      return;
    }
    if (width !== 4) {
      this.violations.push(`${width}-byte write of control register 0x${off.toString(16)}`);
      return;
    }
    switch (off) {
      case MmioReg.DeviceFeaturesSel: this.deviceFeaturesSel = value; return;
      case MmioReg.DriverFeaturesSel: this.driverFeaturesSel = value; return;
      case MmioReg.DriverFeatures:
        if (this.driverFeaturesSel < 2) this.driverFeatures[this.driverFeaturesSel] = value;
        return;
      case MmioReg.QueueSel: this.queueSel = value; return;
      case MmioReg.QueueNotify: this.notify(value); return;
      case MmioReg.InterruptACK:
        this.isr &= ~value;
        if (this.isr === 0) this.sim.setIrqLevel(this.at.intid, false);
        return;
      case MmioReg.Status: this.writeStatus(value); return;
      default:
    }
    const q = this.queues[this.queueSel];
    if (!q) {
      this.violations.push(`write of register 0x${off.toString(16)} with QueueSel ${this.queueSel}`);
      return;
    }
    const lo = (a: number): number => Math.floor(a / 4294967296) * 4294967296 + value;
    const hi = (a: number): number => value * 4294967296 + (a % 4294967296);
    switch (off) {
      case MmioReg.QueueNum: q.num = value; return;
      case MmioReg.QueueDescLow: q.descAddr = lo(q.descAddr); return;
      case MmioReg.QueueDescHigh: q.descAddr = hi(q.descAddr); return;
      case MmioReg.QueueDriverLow: q.driverAddr = lo(q.driverAddr); return;
      case MmioReg.QueueDriverHigh: q.driverAddr = hi(q.driverAddr); return;
      case MmioReg.QueueDeviceLow: q.deviceAddr = lo(q.deviceAddr); return;
      case MmioReg.QueueDeviceHigh: q.deviceAddr = hi(q.deviceAddr); return;
      case MmioReg.QueueReady:
        q.ready = value === 1;
        if (q.ready) {
          try {
            q.enable(this.mem, hasFeature(this.driverFeatures, Feature.RING_EVENT_IDX), hasFeature(this.driverFeatures, Feature.INDIRECT_DESC));
          } catch (e) {
            this.violations.push((e as Error).message);
            this.setNeedsReset();
          }
        }
        return;
      default:
        this.violations.push(`write of register 0x${off.toString(16)}`);
    }
  }

  // ---- what the tests make the device do ------------------------------------------

  /** Sets DEVICE_NEEDS_RESET and sends a configuration change notification (2.1.2). */
  setNeedsReset(): void {
    this.status |= DeviceStatus.DEVICE_NEEDS_RESET;
    this.interrupt(InterruptBit.CONFIG);
  }

  // ---- for the device ---------------------------------------------------------------

  /** Sets `bit` in InterruptStatus and raises the line. */
  protected interrupt(bit: number): void {
    this.isr |= bit;
    this.sim.setIrqLevel(this.at.intid, true);
  }

  /**
   * Pops the next available chain of `q` into `chain`: true, or false when
   * there is none; null when the driver's ring is malformed (recorded in
   * `violations`, DEVICE_NEEDS_RESET set).
   */
  protected pop(q: SplitQueue, chain: DescriptorChain): boolean | null {
    try {
      return q.pop(chain);
    } catch (e) {
      this.violations.push(e instanceof QueueError ? e.message : String(e));
      this.setNeedsReset();
      return null;
    }
  }

  /** Whether the driver set DRIVER_OK and the device does not need a reset. */
  protected live(): boolean {
    return (this.status & DeviceStatus.DRIVER_OK) !== 0 && (this.status & DeviceStatus.DEVICE_NEEDS_RESET) === 0;
  }

  /** A write of the Status register: 0 resets; FEATURES_OK is refused for features not offered or without VERSION_1. */
  protected writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    if ((value & DeviceStatus.FEATURES_OK) !== 0 && (this.status & DeviceStatus.FEATURES_OK) === 0) {
      const f = this.driverFeatures;
      const extra = (f[0] & ~this.offered[0]) | (f[1] & ~this.offered[1]);
      if (this.refusesFeatures() || extra !== 0 || !hasFeature(f, Feature.VERSION_1)) {
        if (extra !== 0) this.violations.push('DriverFeatures has bits the device did not offer');
        value &= ~DeviceStatus.FEATURES_OK;
      }
    }
    this.status = value | (this.status & DeviceStatus.DEVICE_NEEDS_RESET);
  }

  /** A device reset (Status 0): registers, interrupt, queues, negotiated features. */
  protected reset(): void {
    this.status = 0;
    this.isr = 0;
    this.sim.setIrqLevel(this.at.intid, false);
    for (const q of this.queues) q.reset();
    this.driverFeatures.fill(0);
  }
}
