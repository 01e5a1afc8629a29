// SPDX-License-Identifier: Apache-2.0
/**
 * The contract between the virtio-mmio transport and a device
 * (blk, console, rng…). The transport knows nothing of what a block request
 * is; a device never sees an MMIO offset (the rust-vmm split).
 *
 * Every device has the same shape: device features, a configuration space,
 * one handler per queue, counters, reset.
 */
import type { GuestMemory } from './memory.ts';
import type { DescriptorChain, SplitQueue } from './queue.ts';
import type { FeatureWords } from './spec.ts';

/** What the transport gives a device when the driver sets DRIVER_OK. */
export interface DeviceContext {
  /** the device's shared region (the only memory a device may touch) */
  readonly mem: GuestMemory;
  /** the device's virtqueues, by queue index */
  readonly queues: readonly SplitQueue[];
  /** a scratch chain the device may reuse for every pop (no allocation per request) */
  readonly chain: DescriptorChain;
  /** the features the driver accepted (FEATURES_OK), two u32 words */
  readonly features: FeatureWords;
  /**
   * Sends a used buffer notification for `queue` if the driver wants one
   * (event idx / NO_INTERRUPT, virtio 1.2 section 2.7.7); call after a batch of pushes.
   */
  signalUsed(queue: SplitQueue): void;
  /**
   * Optional: the device is about to push to its queues outside a request
   * (an asynchronous completion): takes them back from a host data plane
   * that holds them ({@link Host.dataPlane}); the next {@link
   * DeviceContext.signalUsed} hands them over again.
   */
  takeQueues?(): void;
  /** Bumps ConfigGeneration and sends a configuration change notification (4.2.2). */
  configChanged(): void;
  /** Puts the device in DEVICE_NEEDS_RESET (2.1.2) with `reason` in the log; the device stops. */
  fail(reason: string): void;
  /** One line to the backend log, prefixed with the device name. */
  log(message: string): void;
}

/** Per-device counters, plain numbers, readable from JS. */
export interface DeviceCounters {
  /** chains taken from the avail rings */
  chains: number;
  /** requests answered with an error status, or chains returned unused */
  errors: number;
  [name: string]: number;
}

/** A virtio device model, driven by a transport. */
export interface VirtioDevice {
  /** virtio device ID (virtio 1.2 section 5: 2 block, 3 console, 4 entropy) */
  readonly deviceId: number;
  /** name for logs and counters, e.g. 'vda' */
  readonly name: string;
  /** device-specific feature bits the device offers (bits 0..23 and any others it owns) */
  readonly deviceFeatures: FeatureWords;
  /** number of virtqueues */
  readonly numQueues: number;
  /** QueueNumMax of queue `index`, a power of 2 ≤ 32768 */
  queueNumMax(index: number): number;
  /** the device configuration space, little-endian, read live by the transport (4.2.2 Config) */
  readonly config: Uint8Array;
  /**
   * Whether the driver may write `width` bytes at config offset `offset`.
   * Bytes are stored into {@link VirtioDevice.config} by the transport, then
   * {@link VirtioDevice.configWritten} is called. Absent: read-only config.
   */
  configWritable?(offset: number, width: number): boolean;
  /** The driver wrote `width` bytes at config offset `offset` (already stored). */
  configWritten?(offset: number, width: number): void;
  /**
   * Checks the driver's feature choice at FEATURES_OK. Returns null to
   * accept, or a reason to refuse (FEATURES_OK then reads back clear, 3.1.1).
   */
  acceptFeatures?(features: FeatureWords): string | null;
  /** DRIVER_OK: the device may start using `ctx` (queues are enabled). */
  activate(ctx: DeviceContext): void;
  /** Queue `index` may have new available buffers (a QueueNotify, or a rescan). */
  processQueue(index: number): void;
  /** Device reset (Status written 0, or after a failure): forget everything of the last driver. */
  /**
   * Optional: the driver reset queue `index` alone (VIRTIO_F_RING_RESET,
   * virtio 1.2 2.6.1): chains of it the device still holds must never be
   * returned, to this queue or to the one set up in its place.
   */
  queueReset?(index: number): void;
  reset(): void;
  /** counters since start (never reset by a device reset) */
  readonly counters: DeviceCounters;
}
