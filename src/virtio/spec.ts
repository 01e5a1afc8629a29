// SPDX-License-Identifier: Apache-2.0
/**
 * Numbers from the virtio 1.2 specification that the transport, the queues
 * and the devices share. Names follow the specification.
 */

/** Device status bits (virtio 1.2 section 2.1). */
export const enum DeviceStatus {
  ACKNOWLEDGE = 1,
  DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8,
  DEVICE_NEEDS_RESET = 64,
  FAILED = 128,
}

/** Device-independent feature bits (virtio 1.2 section 6). */
export const enum Feature {
  /** descriptors may point to indirect tables (2.7.5.3) */
  INDIRECT_DESC = 28,
  /** used_event / avail_event notification suppression (2.7.7, 2.7.10) */
  RING_EVENT_IDX = 29,
  /** compliance with virtio 1.x; mandatory for virtio-mmio version 2 here */
  VERSION_1 = 32,
  /** the device reaches memory through platform translation/restriction (Bao shared region) */
  ACCESS_PLATFORM = 33,
  RING_PACKED = 34,
  IN_ORDER = 35,
  NOTIFICATION_DATA = 38,
  /** per-queue reset through QueueReset (2.6.1) */
  RING_RESET = 40,
}

/** Virtio device IDs (virtio 1.2 section 5). */
export const enum DeviceId {
  /** virtio-net (5.1) */
  NET = 1,
  BLOCK = 2,
  CONSOLE = 3,
  ENTROPY = 4,
  /** virtio-vsock (5.10) */
  SOCKET = 19,
  /** virtio-gpio (5.19) */
  GPIO = 41,
}

/** virtio-mmio register offsets (virtio 1.2 section 4.2.2, table "MMIO Device Register Layout"). */
export const enum MmioReg {
  MagicValue = 0x000,
  Version = 0x004,
  DeviceID = 0x008,
  VendorID = 0x00c,
  DeviceFeatures = 0x010,
  DeviceFeaturesSel = 0x014,
  DriverFeatures = 0x020,
  DriverFeaturesSel = 0x024,
  QueueSel = 0x030,
  QueueNumMax = 0x034,
  QueueNum = 0x038,
  QueueReady = 0x044,
  QueueNotify = 0x050,
  InterruptStatus = 0x060,
  InterruptACK = 0x064,
  Status = 0x070,
  QueueDescLow = 0x080,
  QueueDescHigh = 0x084,
  QueueDriverLow = 0x090,
  QueueDriverHigh = 0x094,
  QueueDeviceLow = 0x0a0,
  QueueDeviceHigh = 0x0a4,
  SHMSel = 0x0ac,
  SHMLenLow = 0x0b0,
  SHMLenHigh = 0x0b4,
  SHMBaseLow = 0x0b8,
  SHMBaseHigh = 0x0bc,
  QueueReset = 0x0c0,
  ConfigGeneration = 0x0fc,
  Config = 0x100,
}

/** "virt" in little-endian: the MagicValue register (4.2.2). */
export const MMIO_MAGIC = 0x74726976;
/** virtio-mmio version 2 (non-legacy, 4.2.2). */
export const MMIO_VERSION = 2;
/** VendorID reported by baojs devices: "BAOJ" read as a little-endian u32. */
export const BAOJS_VENDOR_ID = 0x4a4f4142;
/** Size of a virtio-mmio window, bytes (the register block is 0x100 + config). */
export const MMIO_WINDOW_SIZE = 0x200;

/** InterruptStatus bits (4.2.2). */
export const enum InterruptBit {
  /** used buffer notification */
  VRING = 1,
  /** configuration change notification */
  CONFIG = 2,
}

/** Split virtqueue descriptor flags (2.7.5). */
export const enum DescFlag {
  NEXT = 1,
  WRITE = 2,
  INDIRECT = 4,
}

/**
 * Split virtqueue layout, bytes (virtio 1.2 sections 2.7.5, 2.7.6, 2.7.8):
 * a descriptor is le64 addr, le32 len, le16 flags, le16 next; the available
 * and used rings start with le16 flags and le16 idx, then their entries (an
 * avail entry is a le16 head, a used entry le32 id and le32 len), then the
 * le16 used_event (avail ring) or avail_event (used ring).
 */
export const enum Vring {
  DESC_SIZE = 16,
  /** offset of `flags` in either ring */
  FLAGS = 0,
  /** offset of `idx` in either ring */
  IDX = 2,
  /** offset of the first entry in either ring */
  RING = 4,
  AVAIL_ENTRY = 2,
  USED_ENTRY = 8,
  /** alignment of the descriptor table, the available ring, the used ring (2.7) */
  DESC_ALIGN = 16,
  AVAIL_ALIGN = 2,
  USED_ALIGN = 4,
}

/** Available ring flag: driver asks for no used buffer notifications (2.7.6). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: device asks for no available buffer notifications (2.7.8). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/**
 * Event-index test (virtio 1.2 section 2.7.10, `vring_need_event`): whether
 * moving an index from `oldIdx` to `newIdx` passes `eventIdx`. All u16.
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

/**
 * A 64-bit feature set as two u32 words, `[bits 0..31, bits 32..63]`.
 * Helpers below read and set one bit; no BigInt.
 */
export type FeatureWords = Uint32Array;

/** Whether feature bit `bit` (0..63) is set in `f`. */
export function hasFeature(f: FeatureWords, bit: number): boolean {
  return ((f[bit >> 5] >>> (bit & 31)) & 1) === 1;
}

/** Sets feature bit `bit` (0..63) in `f`. */
export function setFeature(f: FeatureWords, bit: number): void {
  f[bit >> 5] = (f[bit >> 5] | (1 << (bit & 31))) >>> 0;
}

/** Clears feature bit `bit` (0..63) in `f`. */
export function clearFeature(f: FeatureWords, bit: number): void {
  f[bit >> 5] = (f[bit >> 5] & ~(1 << (bit & 31))) >>> 0;
}
