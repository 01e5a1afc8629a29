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

/* enum dp_word, DP_WORDS, DP_CTRL_* and DP_QF_* bits, VIRTIO_MMIO_* offsets: abi.h (scripts/gen-abi.ts). */

/** One device's data plane: the shared state and the memory it may touch. */
struct dp_blk {
	uint32_t *st;        /**< DP_WORDS words */
	uint8_t *shmem;      /**< the shared region (frontend buffers and rings) */
	uint64_t shmem_size; /**< bytes */
	uint8_t *disk;       /**< the backing store */
	uint64_t disk_size;  /**< bytes (capacity: rounded down to 512) */
};

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
