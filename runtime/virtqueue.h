/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device side of a split virtqueue in C (virtio 1.2 2.7): the queue
 * mechanics every device shares — gathering a descriptor chain with every
 * check the TypeScript reference makes, returning chains through the used
 * ring, and used buffer notification suppression — for the block data plane
 * (dataplane.c) and, through the `host` binding (host.vqPop/vqPush), for
 * every TypeScript device.
 *
 * The TypeScript `SplitQueue` (src/virtio/queue.ts) is the reference and
 * stays the owner of every error: where it would throw a QueueError, or
 * where a chain does not fit the caller's segment array, this code stops
 * *before* the chain (nothing of it consumed) and reports VQ_HANDBACK; the
 * reference then pops that chain itself and answers exactly as without C.
 * test/native/virtqueue.test.ts runs both on seeded queues, well-formed and
 * broken, and requires identical chains, indices and ring writes.
 *
 * State: QUEUE_WORDS words (enum vq_word of abi.h, generated from
 * `QueueWord` in src/host.ts): the layout the transport checked (ring
 * offsets in the shared region), the negotiated features and the indices.
 *
 * Memory ordering (2.7.7, 2.7.8, 2.7.10): the avail index is loaded with
 * acquire (the ring entries and descriptors it publishes are read after
 * it); used elements and every byte written into the buffers are stored
 * before used.idx, which is stored with release; a full barrier separates
 * the used.idx store (or the avail_event store) from the following load of
 * used_event / avail flags (or of the avail index), as Linux's
 * virtqueue_kick_prepare and vhost's vhost_notify do on the other side.
 * TypeScript's typed-array stores give no ordering on a weakly ordered
 * CPU; this file is where the firmware gets it.
 *
 * Pure C over byte arrays: no hypercalls, no QuickJS, so that the host's
 * own compiler can test it (under ASan/UBSan).
 */
#ifndef BAOJS_VIRTQUEUE_H
#define BAOJS_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"

/* enum vq_word, QUEUE_WORDS, VQ_F_* bits: abi.h (scripts/gen-abi.ts). */

/** One queue: its state words and the shared region its rings and buffers must lie in. */
struct vq {
	uint32_t *st;        /**< QUEUE_WORDS words */
	uint8_t *shmem;      /**< the shared region */
	uint64_t shmem_size; /**< bytes */
	uint64_t shmem_base; /**< guest-physical address of shmem[0] */
};

/** One buffer of a chain. */
struct vq_seg {
	uint64_t addr;  /**< guest-physical address (not checked: the device checks each buffer it touches) */
	uint32_t len;   /**< bytes */
	bool writable;  /**< VIRTQ_DESC_F_WRITE */
};

/** A gathered chain: its buffers in order, readable ones first. */
struct vq_chain {
	uint16_t head;           /**< head descriptor index: the id for the used ring */
	uint32_t count;          /**< buffers in seg */
	uint32_t first_writable; /**< index of the first writable buffer (== count if none) */
	uint64_t readable;       /**< bytes in readable buffers */
	uint64_t writable;       /**< bytes in writable buffers */
	struct vq_seg *seg;      /**< the caller's array */
};

/** What vq_peek() found. */
enum vq_result {
	VQ_CHAIN = 0,    /**< a well-formed chain, in the caller's chain (not consumed yet) */
	VQ_EMPTY = 1,    /**< no chain available (with event idx: avail_event published, ring checked again) */
	VQ_HANDBACK = 2, /**< the next chain must go to the reference: malformed, or longer than max_segs */
};

/**
 * The layout in the state words is one SplitQueue.enable() accepts:
 * Queue Size a power of 2 up to QueueNumMax, alignments 16/2/4, every ring
 * inside the region.
 */
bool vq_layout_ok(const struct vq *q);

/**
 * Looks at the next available chain without consuming it: gathers up to
 * `max_segs` buffers into c->seg. VQ_EMPTY when there is none; VQ_HANDBACK
 * for an avail index more than Queue Size ahead, a bad head, any structural
 * error SplitQueue.pop() throws for, or more than `max_segs` buffers.
 */
enum vq_result vq_peek(struct vq *q, struct vq_chain *c, uint32_t max_segs);

/** Consumes the chain vq_peek() returned (last_avail_idx + 1). */
void vq_consume(struct vq *q);

/**
 * Returns chain `head` to the driver with `len` bytes written: the element,
 * then used.idx with release (2.7.8). The buffers' bytes must be written
 * before the call.
 */
void vq_push(struct vq *q, uint16_t head, uint32_t len);

/**
 * Whether the driver wants a used buffer notification for the chains
 * pushed since the last call (2.7.7; with VIRTIO_F_RING_EVENT_IDX 2.7.10's
 * vring_need_event). Call once after a batch of vq_push(); false if none
 * was pushed.
 */
bool vq_needs_notification(struct vq *q);

#endif
