/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk data plane in C: the happy path of a virtio-mmio blk
 * device's request queue, served without calling into JS, the way Linux's
 * vhost serves a virtqueue for a device model that stays in userspace.
 *
 * The TypeScript device (src/devices/blk.ts over src/virtio/) stays the
 * whole device: it owns the register file, feature negotiation, every
 * error, every log line and every request type. It arms the data plane
 * through a shared state array (layout: enum dp_word, mirrored by
 * `DataPlaneWord` in src/host.ts) once the queue is live, and takes the
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

/** Words of the shared state array (u32 each; src/host.ts DataPlaneWord). */
enum dp_word {
	DP_CTRL = 0,          /**< DP_CTRL_* bits, written by JS */
	DP_INT_STATUS,        /**< the transport's InterruptStatus (JS and C) */
	DP_WINDOW_LO,         /**< guest-physical address of the virtio-mmio window */
	DP_WINDOW_HI,
	DP_SHMEM_LO,          /**< guest-physical address of the shared region's first byte */
	DP_SHMEM_HI,
	DP_Q_NUM,             /**< Queue Size (power of 2) */
	DP_Q_NUM_MAX,         /**< QueueNumMax (bound of an indirect table) */
	DP_Q_DESC,            /**< descriptor table: byte offset in the shared region */
	DP_Q_AVAIL,           /**< available ring: byte offset in the shared region */
	DP_Q_USED,            /**< used ring: byte offset in the shared region */
	DP_Q_FLAGS,           /**< DP_QF_* bits */
	DP_Q_LAST_AVAIL,      /**< next avail index to consume (u16) */
	DP_Q_USED_IDX,        /**< next used index to produce (u16) */
	DP_Q_SIGNALLED_USED,  /**< used index at the last notification decision (event idx) */
	DP_Q_SIGNALLED_VALID, /**< 1 once DP_Q_SIGNALLED_USED holds a value */
	/* counters, written by C only (wrap at 2^32; bytes as two words) */
	DP_N_INT_STATUS_READS,
	DP_N_INT_ACKS,
	DP_N_KICKS,
	DP_N_CHAINS,
	DP_N_READS,
	DP_N_WRITES,
	DP_N_BYTES_READ_LO,
	DP_N_BYTES_READ_HI,
	DP_N_BYTES_WRITTEN_LO,
	DP_N_BYTES_WRITTEN_HI,
	DP_N_USED_NOTIFICATIONS,
	DP_N_HANDBACKS,
	DP_N_ERRORS,          /**< remio completions and NOTIFYs of the data plane that failed */
	DP_WORDS
};

/** DP_CTRL bits. */
#define DP_CTRL_IRQ_REGS 1u /**< answer InterruptStatus reads and InterruptACK writes */
#define DP_CTRL_QUEUE    2u /**< serve QueueNotify of queue 0 (cleared by a hand-back) */

/** DP_Q_FLAGS bits. */
#define DP_QF_EVENT_IDX 1u /**< VIRTIO_F_RING_EVENT_IDX negotiated */
#define DP_QF_INDIRECT  2u /**< VIRTIO_F_INDIRECT_DESC negotiated */
#define DP_QF_READ_ONLY 4u /**< the disk is read-only (writes are handed back) */

/** virtio-mmio register offsets the data plane answers (virtio 1.2, 4.2.2). */
#define DP_REG_QUEUE_NOTIFY     0x50
#define DP_REG_INTERRUPT_STATUS 0x60
#define DP_REG_INTERRUPT_ACK    0x64

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
