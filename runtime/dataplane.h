/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk data plane in C: the happy path of a virtio-mmio blk
 * device's request queue, served without calling into JS, the way Linux's
 * vhost serves a virtqueue for a device model that stays in userspace.
 *
 * The TypeScript device (src/devices/blk.ts over src/virtio/) stays the
 * whole device: it owns the register file, feature negotiation, every
 * error, every log line and every request type. It arms the data plane
 * through a shared state array (layout: enum dp_word of abi.h, generated
 * from `DataPlaneWord` in src/host.ts) once the queue is live, and takes the
 * queue back whenever it needs it. The data plane answers only:
 *  - 4-byte reads of InterruptStatus and writes of InterruptACK (virtio 1.2
 *    4.2.2), from and into the shared InterruptStatus word;
 *  - QueueNotify of queue 0: well-formed VIRTIO_BLK_T_IN and _OUT requests
 *    (5.2.6) with every buffer inside the shared region and every sector
 *    inside the capacity.
 * Anything else — a malformed chain, a buffer outside the region, another
 * request type, a read-only disk written — is a *hand-back*: the data plane
 * stops before the chain (nothing of it consumed), disarms itself, and the
 * QueueNotify goes to JS, which answers the chain exactly as it would have
 * without a data plane (status byte, NEEDS_RESET, log line).
 *
 * Pure C over byte arrays: no hypercalls, no QuickJS, so that the host's
 * own compiler can test it (test/native/dataplane.test.ts).
 */
#ifndef BAOJS_DATAPLANE_H
#define BAOJS_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"
#include "virtqueue.h"

/* enum dp_word, DP_WORDS, DP_CTRL_* and DP_QF_* bits, VIRTIO_MMIO_* offsets: abi.h (scripts/gen-abi.ts). */

/** One device's data plane: the shared state and the memory it may touch. */
struct dp_blk {
	uint32_t *st;        /**< DP_WORDS words */
	uint8_t *shmem;      /**< the shared region (frontend buffers and rings) */
	uint64_t shmem_size; /**< bytes */
	uint8_t *disk;       /**< the backing store */
	uint64_t disk_size;  /**< bytes (capacity: rounded down to 512) */
};

/** The 64-bit value in state words lo (low half) and lo + 1 (high half). */
static inline uint64_t dp_u64(const uint32_t *st, enum dp_word lo)
{
	return (uint64_t)st[lo + 1] << 32 | st[lo];
}

/** Adds `v` to the 64-bit counter in state words lo, lo + 1 (of any state array: data plane, disk plane, network port). */
static inline void dp_count64(uint32_t *st, unsigned lo, uint64_t v)
{
	uint64_t b = dp_u64(st, lo) + v;
	st[lo] = (uint32_t)b;
	st[lo + 1] = (uint32_t)(b >> 32);
}

/**
 * Queue 0 of a data plane's state words `st` as the C virtqueue sees it:
 * its words from Q_NUM on, its rings in `shmem` (`shmem_size` bytes, at
 * the guest-physical address in SHMEM_LO/HI).
 */
static inline struct vq dp_queue(uint32_t *st, uint8_t *shmem, uint64_t shmem_size)
{
	return (struct vq){ .st = st + DP_Q_NUM, .shmem = shmem, .shmem_size = shmem_size, .shmem_base = dp_u64(st, DP_SHMEM_LO) };
}

/** Result of dp_blk_process(). */
enum dp_result {
	DP_DONE = 0,     /**< every available chain served */
	DP_HANDBACK = 1, /**< stopped before a chain JS must see; DP_CTRL_QUEUE cleared */
};

/**
 * Serves queue 0's available chains. Sets *notify when the driver wants a
 * used buffer notification (2.7.7; then DP_INT_STATUS has bit 0 set and the
 * caller sends NOTIFY). Never reads or writes outside `shmem` and `disk`.
 */
enum dp_result dp_blk_process(struct dp_blk *d, bool *notify);

#endif
