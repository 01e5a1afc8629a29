/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The split virtqueue in C (see virtqueue.h). Every check mirrors
 * SplitQueue.enable/pop/push/needsNotification in src/virtio/queue.ts.
 */
#include <string.h>
#include "virtqueue.h"

#define DESC_SIZE 16u
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/** Offset of [gpa, gpa + len) in the region, or -1 if it is not wholly inside (GuestMemory.check). */
static inline int64_t vq_check(const struct vq *q, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - q->shmem_base; /* wraps to a huge value below the base */
	if (gpa < q->shmem_base || off > q->shmem_size || len > q->shmem_size - off)
		return -1;
	return (int64_t)off;
}

bool vq_layout_ok(const struct vq *q)
{
	const uint32_t *st = q->st;
	uint64_t n = st[VQ_NUM], size = q->shmem_size;
	uint64_t desc = st[VQ_DESC], avail = st[VQ_AVAIL], used = st[VQ_USED];
	return n >= 1 && n <= st[VQ_NUM_MAX] && n <= 32768 && (n & (n - 1)) == 0 && desc % 16 == 0 && avail % 2 == 0 &&
	       used % 4 == 0 && desc <= size && 16 * n <= size - desc && avail <= size && 6 + 2 * n <= size - avail &&
	       used <= size && 6 + 8 * n <= size - used;
}

/** The avail index, loaded with acquire: the ring entry and the chain it publishes are read after it. */
static inline uint16_t vq_avail_idx(const struct vq *q)
{
	return __atomic_load_n((const uint16_t *)(q->shmem + q->st[VQ_AVAIL] + 2), __ATOMIC_ACQUIRE);
}

/** Gathers the chain at `head` (SplitQueue.pop's walk); false where the reference throws or at max_segs. */
static bool vq_gather(const struct vq *q, uint16_t head, struct vq_chain *c, uint32_t max_segs)
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
		const uint8_t *p = q->shmem + table + (uint64_t)DESC_SIZE * idx;
		uint64_t addr = ld64(p);
		uint32_t len = ld32(p + 8);
		uint16_t flags = ld16(p + 12);
		uint16_t next = ld16(p + 14);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3: negotiated, not nested, not with NEXT, a whole number of descriptors up to QueueNumMax */
			if (!(st[VQ_FLAGS] & DP_QF_INDIRECT) || in_indirect || (flags & VIRTQ_DESC_F_NEXT) || len == 0 ||
			    len % DESC_SIZE || len / DESC_SIZE > st[VQ_NUM_MAX])
				return false;
			int64_t off = vq_check(q, addr, len);
			if (off < 0)
				return false;
			table = (uint64_t)off;
			table_size = ttl = len / DESC_SIZE;
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (c->count == max_segs)
			return false; /* the reference takes chains longer than the caller's array */
		struct vq_seg *s = &c->seg[c->count++];
		s->addr = addr;
		s->len = len;
		s->writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
		if (s->writable) {
			c->writable += len;
		} else {
			if (c->first_writable != c->count - 1)
				return false; /* device-readable after device-writable (2.7.4.2) */
			c->readable += len;
			c->first_writable = c->count;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return true;
		if (next >= table_size)
			return false;
		idx = next;
	}
}

enum vq_result vq_peek(struct vq *q, struct vq_chain *c, uint32_t max_segs)
{
	uint32_t *st = q->st;
	uint32_t n = st[VQ_NUM];
	uint16_t last = (uint16_t)st[VQ_LAST_AVAIL];
	uint16_t pending = (uint16_t)(vq_avail_idx(q) - last);
	if (pending == 0) {
		if (!(st[VQ_FLAGS] & DP_QF_EVENT_IDX))
			return VQ_EMPTY;
		/* avail_event: notify me at the next one; then look once more (2.7.10) */
		uint8_t *ae = q->shmem + st[VQ_USED] + 4 + 8 * n;
		memcpy(ae, &last, 2);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the avail_event store before the avail idx load */
		pending = (uint16_t)(vq_avail_idx(q) - last);
		if (pending == 0)
			return VQ_EMPTY;
	}
	if (pending > n)
		return VQ_HANDBACK;
	uint16_t head = ld16(q->shmem + st[VQ_AVAIL] + 4 + 2 * (last & (n - 1)));
	if (head >= n || !vq_gather(q, head, c, max_segs))
		return VQ_HANDBACK;
	return VQ_CHAIN;
}

void vq_consume(struct vq *q)
{
	q->st[VQ_LAST_AVAIL] = (uint16_t)(q->st[VQ_LAST_AVAIL] + 1);
}

void vq_push(struct vq *q, uint16_t head, uint32_t len)
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

bool vq_needs_notification(struct vq *q)
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
		uint16_t used_event = ld16(avail + 4 + 2 * n);
		return (uint16_t)(used - used_event - 1) < (uint16_t)(used - old);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used.idx visible before the avail flags are read */
	return (ld16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
}
