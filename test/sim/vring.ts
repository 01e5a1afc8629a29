// SPDX-License-Identifier: Apache-2.0
/**
 * Writing split-virtqueue structures (virtio 1.2 2.7.5) into a region by
 * hand, for tests that lay out queues a driver model would not: seeded,
 * broken, at the region's edges. Pure JS: runs inside QuickJS too.
 */

/**
 * Writes the descriptor at byte offset `at` of `dv`'s region: buffer at
 * guest-physical `gpa` (below 2^53), `len` bytes, `flags` (VIRTQ_DESC_F_*),
 * `next` (le64 addr, le32 len, le16 flags, le16 next).
 */
export function writeDesc(dv: DataView, at: number, gpa: number, len: number, flags: number, next: number): void {
  dv.setUint32(at, gpa >>> 0, true);
  dv.setUint32(at + 4, Math.floor(gpa / 2 ** 32), true);
  dv.setUint32(at + 8, len >>> 0, true);
  dv.setUint16(at + 12, flags, true);
  dv.setUint16(at + 14, next, true);
}
