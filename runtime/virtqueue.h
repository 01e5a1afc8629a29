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
 * Header-only (static inline: the block data plane runs it without a
 * call per step). Pure C over byte arrays: no hypercalls, no QuickJS, so
 * that the host's own compiler can test it (under ASan/UBSan).
 */
#ifndef BAOJS_VIRTQUEUE_H
#define BAOJS_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
/* vq_layout_ok(): defined below */

/**
 * Looks at the next available chain without consuming it: gathers up to
 * `max_segs` buffers into c->seg. VQ_EMPTY when there is none; VQ_HANDBACK
 * for an avail index more than Queue Size ahead, a bad head, any structural
 * error SplitQueue.pop() throws for, or more than `max_segs` buffers.
 */
/* vq_peek(): defined below */

/** Consumes the chain vq_peek() returned (last_avail_idx + 1). */
/* vq_consume(): defined below */

/**
 * Returns chain `head` to the driver with `len` bytes written: the element,
 * then used.idx with release (2.7.8). The buffers' bytes must be written
 * before the call.
 */
/* vq_push(): defined below */

/**
 * Whether the driver wants a used buffer notification for the chains
 * pushed since the last call (2.7.7; with VIRTIO_F_RING_EVENT_IDX 2.7.10's
 * vring_need_event). Call once after a batch of vq_push(); false if none
 * was pushed.
 */
/* vq_needs_notification(): defined below */

/* ---- the definitions: static inline, so that the data plane's loop has no calls ---- */

#define VQ_DESC_SIZE 16u
#define VQ_VIRTQ_DESC_F_NEXT 1u
#define VQ_VIRTQ_DESC_F_WRITE 2u
#define VQ_VIRTQ_DESC_F_INDIRECT 4u
#define VQ_VIRTQ_AVAIL_F_NO_INTERRUPT 1u

static inline __attribute__((always_inline)) uint16_t vq_ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t vq_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t vq_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/** Offset of [gpa, gpa + len) in the region, or -1 if it is not wholly inside (GuestMemory.check). */
static inline __attribute__((always_inline)) int64_t vq_check(const struct vq *q, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - q->shmem_base; /* wraps to a huge value below the base */
	if (gpa < q->shmem_base || off > q->shmem_size || len > q->shmem_size - off)
		return -1;
	return (int64_t)off;
}

static inline __attribute__((always_inline)) bool vq_layout_ok(const struct vq *q)
{
	const uint32_t *st = q->st;
	uint64_t n = st[VQ_NUM], size = q->shmem_size;
	uint64_t desc = st[VQ_DESC], avail = st[VQ_AVAIL], used = st[VQ_USED];
	return n >= 1 && n <= st[VQ_NUM_MAX] && n <= 32768 && (n & (n - 1)) == 0 && desc % 16 == 0 && avail % 2 == 0 &&
	       used % 4 == 0 && desc <= size && 16 * n <= size - desc && avail <= size && 6 + 2 * n <= size - avail &&
	       used <= size && 6 + 8 * n <= size - used;
}

/** The avail index, loaded with acquire: the ring entry and the chain it publishes are read after it. */
static inline __attribute__((always_inline)) uint16_t vq_avail_idx(const struct vq *q)
{
	return __atomic_load_n((const uint16_t *)(q->shmem + q->st[VQ_AVAIL] + 2), __ATOMIC_ACQUIRE);
}

/** Gathers the chain at `head` (SplitQueue.pop's walk); false where the reference throws or at max_segs. */
static inline __attribute__((always_inline)) bool vq_gather(const struct vq *q, uint16_t head, struct vq_chain *c, uint32_t max_segs)
{
	const uint32_t *st = q->st;
	uint32_t n = st[VQ_NUM];
	uint64_t table = st[VQ_DESC];
	uint32_t table_size = n, ttl = n, idx = head;
	bool in_indirect = false;
	c->head = head;
	c->count = c->first_writable = 0;
	c->readable = c->writable = 0;
	for (;;) {
		if (ttl-- == 0)
			return false; /* longer than Queue Size or its indirect table: a loop */
		const uint8_t *p = q->shmem + table + (uint64_t)VQ_DESC_SIZE * idx;
		uint64_t addr = vq_ld64(p);
		uint32_t len = vq_ld32(p + 8);
		uint16_t flags = vq_ld16(p + 12);
		uint16_t next = vq_ld16(p + 14);
		if (flags & VQ_VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3: negotiated, not nested, not with NEXT, a whole number of descriptors up to QueueNumMax */
			if (!(st[VQ_FLAGS] & DP_QF_INDIRECT) || in_indirect || (flags & VQ_VIRTQ_DESC_F_NEXT) || len == 0 ||
			    len % VQ_DESC_SIZE || len / VQ_DESC_SIZE > st[VQ_NUM_MAX])
				return false;
			int64_t off = vq_check(q, addr, len);
			if (off < 0)
				return false;
			table = (uint64_t)off;
			table_size = ttl = len / VQ_DESC_SIZE;
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (c->count == max_segs)
			return false; /* the reference takes chains longer than the caller's array */
		struct vq_seg *s = &c->seg[c->count++];
		s->addr = addr;
		s->len = len;
		s->writable = (flags & VQ_VIRTQ_DESC_F_WRITE) != 0;
		if (s->writable) {
			c->writable += len;
		} else {
			if (c->first_writable != c->count - 1)
				return false; /* device-readable after device-writable (2.7.4.2) */
			c->readable += len;
			c->first_writable = c->count;
		}
		if (!(flags & VQ_VIRTQ_DESC_F_NEXT))
			return true;
		if (next >= table_size)
			return false;
		idx = next;
	}
}

/**
 * Whether no chain is available (what vq_peek answers VQ_EMPTY for,
 * without gathering one): with event idx, avail_event is then published
 * as the next index and the ring looked at once more (2.7.10), so that the
 * driver notifies for the next chain it adds.
 */
static inline __attribute__((always_inline)) bool vq_empty(struct vq *q)
{
	uint32_t *st = q->st;
	uint16_t last = (uint16_t)st[VQ_LAST_AVAIL];
	if ((uint16_t)(vq_avail_idx(q) - last) != 0)
		return false;
	if (!(st[VQ_FLAGS] & DP_QF_EVENT_IDX))
		return true;
	/* avail_event: notify me at the next one; then look once more */
	uint8_t *ae = q->shmem + st[VQ_USED] + 4 + 8 * st[VQ_NUM];
	memcpy(ae, &last, 2);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the avail_event store before the avail idx load */
	return (uint16_t)(vq_avail_idx(q) - last) == 0;
}

static inline __attribute__((always_inline)) enum vq_result vq_peek(struct vq *q, struct vq_chain *c, uint32_t max_segs)
{
	uint32_t *st = q->st;
	uint32_t n = st[VQ_NUM];
	uint16_t last = (uint16_t)st[VQ_LAST_AVAIL];
	uint16_t pending = (uint16_t)(vq_avail_idx(q) - last);
	if (pending == 0) {
		if (vq_empty(q))
			return VQ_EMPTY;
		pending = (uint16_t)(vq_avail_idx(q) - last); /* added while avail_event was published */
	}
	if (pending > n)
		return VQ_HANDBACK;
	uint16_t head = vq_ld16(q->shmem + st[VQ_AVAIL] + 4 + 2 * (last & (n - 1)));
	if (head >= n || !vq_gather(q, head, c, max_segs))
		return VQ_HANDBACK;
	return VQ_CHAIN;
}

static inline __attribute__((always_inline)) void vq_consume(struct vq *q)
{
	q->st[VQ_LAST_AVAIL] = (uint16_t)(q->st[VQ_LAST_AVAIL] + 1);
}

static inline __attribute__((always_inline)) void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	uint32_t *st = q->st;
	uint32_t n = st[VQ_NUM];
	uint16_t u = (uint16_t)st[VQ_USED_IDX];
	uint8_t *used = q->shmem + st[VQ_USED];
	uint8_t *elem = used + 4 + 8 * (u & (n - 1));
	uint32_t id = head;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	u++;
	/* the buffers' bytes and the element before the index (2.7.8) */
	__atomic_store_n((uint16_t *)(used + 2), u, __ATOMIC_RELEASE);
	st[VQ_USED_IDX] = u;
	st[VQ_PUSHED] = 1;
}

static inline __attribute__((always_inline)) bool vq_needs_notification(struct vq *q)
{
	uint32_t *st = q->st;
	if (!st[VQ_PUSHED])
		return false;
	st[VQ_PUSHED] = 0;
	uint32_t n = st[VQ_NUM];
	uint16_t used = (uint16_t)st[VQ_USED_IDX];
	const uint8_t *avail = q->shmem + st[VQ_AVAIL];
	if (st[VQ_FLAGS] & DP_QF_EVENT_IDX) {
		uint16_t old = (uint16_t)st[VQ_SIGNALLED_USED];
		bool valid = st[VQ_SIGNALLED_VALID] != 0;
		st[VQ_SIGNALLED_USED] = used;
		st[VQ_SIGNALLED_VALID] = 1;
		if (!valid)
			return true;
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used.idx visible before used_event is read */
		uint16_t used_event = vq_ld16(avail + 4 + 2 * n);
		return (uint16_t)(used - used_event - 1) < (uint16_t)(used - old);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used.idx visible before the avail flags are read */
	return (vq_ld16(avail) & VQ_VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
}

#endif
