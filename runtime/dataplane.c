/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk data plane (see dataplane.h). Split virtqueue per virtio
 * 1.2 2.7; blk requests per 5.2.6. The checks mirror src/virtio/queue.ts
 * (SplitQueue.pop), src/devices/blk-request.ts (parseBlkRequest) and
 * src/devices/blk.ts (doIn/doOut): where those would answer anything but
 * VIRTIO_BLK_S_OK, this file hands the chain back to them untouched.
 */
#include <string.h>
#include "dataplane.h"

/** Most buffers of a chain the data plane gathers; longer chains go to JS. */
#define DP_MAX_SEGS 64
#define DESC_SIZE 16
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define BLK_HEADER 16u
#define SECTOR 512u

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

static inline void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/**
 * Copies `n` bytes between the disk and the shared region: on aarch64, 128
 * bytes per iteration through q0-q7 (10 instructions; the data plane runs
 * in the main loop with IRQs masked, so no handler sees these registers,
 * and they are caller-saved), the tail with memcpy.
 */
static inline void dp_copy(uint8_t *d, const uint8_t *s, uint64_t n)
{
#if defined(__aarch64__)
	uint64_t blocks = n >> 7;
	if (blocks) {
		__asm__ volatile("1:\n\t"
				 "ldp q0, q1, [%[s]], #128\n\t"
				 "ldp q2, q3, [%[s], #-96]\n\t"
				 "ldp q4, q5, [%[s], #-64]\n\t"
				 "ldp q6, q7, [%[s], #-32]\n\t"
				 "stp q0, q1, [%[d]], #128\n\t"
				 "stp q2, q3, [%[d], #-96]\n\t"
				 "stp q4, q5, [%[d], #-64]\n\t"
				 "stp q6, q7, [%[d], #-32]\n\t"
				 "subs %[b], %[b], #1\n\t"
				 "b.ne 1b"
				 : [d] "+r"(d), [s] "+r"(s), [b] "+r"(blocks)
				 :
				 : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "cc", "memory");
		n &= 127;
	}
#endif
	memcpy(d, s, n);
}

/** Offset of [gpa, gpa + len) in the shared region, or -1 if it is not wholly inside. */
static inline int64_t dp_check(const struct dp_blk *d, uint64_t gpa, uint64_t len)
{
	uint64_t base = (uint64_t)d->st[DP_SHMEM_HI] << 32 | d->st[DP_SHMEM_LO];
	uint64_t off = gpa - base; /* wraps to a huge value below the base */
	if (gpa < base || off > d->shmem_size || len > d->shmem_size - off)
		return -1;
	return (int64_t)off;
}

struct dp_seg {
	uint64_t addr;
	uint32_t len;
	bool writable;
};

/** A gathered chain: its buffers in order, split into readable then writable. */
struct dp_chain {
	uint16_t head;
	uint32_t count, first_writable;
	uint64_t readable, writable;
	struct dp_seg seg[DP_MAX_SEGS];
};

/**
 * Gathers the chain at `head` (SplitQueue.pop's walk). False for anything
 * the data plane leaves to JS: a structural error, a chain longer than
 * DP_MAX_SEGS, an indirect table outside the region.
 */
static bool dp_gather(const struct dp_blk *d, uint16_t head, struct dp_chain *c)
{
	const uint32_t *st = d->st;
	uint32_t n = st[DP_Q_NUM];
	uint64_t table = st[DP_Q_DESC];
	uint32_t table_size = n, ttl = n, idx = head;
	bool in_indirect = false;
	c->head = head;
	c->count = c->first_writable = 0;
	c->readable = c->writable = 0;
	for (;;) {
		if (ttl-- == 0)
			return false;
		const uint8_t *p = d->shmem + table + (uint64_t)DESC_SIZE * idx;
		uint64_t addr = ld64(p);
		uint32_t len = ld32(p + 8);
		uint16_t flags = ld16(p + 12);
		uint16_t next = ld16(p + 14);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (!(st[DP_Q_FLAGS] & DP_QF_INDIRECT) || in_indirect || (flags & VIRTQ_DESC_F_NEXT) ||
			    len == 0 || len % DESC_SIZE || len / DESC_SIZE > st[DP_Q_NUM_MAX])
				return false;
			int64_t off = dp_check(d, addr, len);
			if (off < 0)
				return false;
			table = (uint64_t)off;
			table_size = ttl = len / DESC_SIZE;
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (c->count == DP_MAX_SEGS)
			return false;
		struct dp_seg *s = &c->seg[c->count++];
		s->addr = addr;
		s->len = len;
		s->writable = (flags & VIRTQ_DESC_F_WRITE) != 0;
		if (s->writable) {
			c->writable += len;
		} else {
			if (c->first_writable != c->count - 1)
				return false; /* readable after writable */
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

/** Adds `v` to the 64-bit counter in words lo, lo + 1 of the state. */
static inline void dp_count64(uint32_t *st, enum dp_word lo, uint64_t v)
{
	uint64_t b = ((uint64_t)st[lo + 1] << 32 | st[lo]) + v;
	st[lo] = (uint32_t)b;
	st[lo + 1] = (uint32_t)(b >> 32);
}

/**
 * Runs one gathered request if it is a well-formed IN or OUT that succeeds;
 * returns the used length (bytes written into the chain), or -1 to hand
 * the chain back. Every buffer is checked before any byte moves, so a
 * request handed back has changed nothing.
 */
static int64_t dp_execute(struct dp_blk *d, const struct dp_chain *c)
{
	uint32_t *st = d->st;
	/* the status byte: the last byte of the last non-empty writable buffer */
	int64_t status_off = -1;
	for (uint32_t i = c->count; i-- > c->first_writable;) {
		if (c->seg[i].len) {
			status_off = dp_check(d, c->seg[i].addr + c->seg[i].len - 1, 1);
			break;
		}
	}
	/* the whole header in the first buffer (readable >= 16 means there is one) */
	if (status_off < 0 || c->readable < BLK_HEADER || c->seg[0].len < BLK_HEADER)
		return -1;
	int64_t hdr = dp_check(d, c->seg[0].addr, BLK_HEADER);
	if (hdr < 0)
		return -1;
	uint32_t type = ld32(d->shmem + hdr);
	uint64_t sector = ld64(d->shmem + hdr + 8);
	uint64_t cap = d->disk_size & ~(uint64_t)(SECTOR - 1);
	uint64_t readable_data = c->readable - BLK_HEADER;
	uint64_t writable_data = c->writable - 1;
	int64_t offs[DP_MAX_SEGS]; /* each data buffer's offset in the region */
	if (type == VIRTIO_BLK_T_IN) {
		uint64_t total = writable_data;
		if (readable_data != 0 || total % SECTOR || sector > cap / SECTOR || total > cap - sector * SECTOR)
			return -1;
		uint64_t left = total;
		for (uint32_t i = c->first_writable; i < c->count && left; i++) {
			uint64_t n = c->seg[i].len < left ? c->seg[i].len : left;
			if ((offs[i] = dp_check(d, c->seg[i].addr, n)) < 0)
				return -1;
			left -= n;
		}
		uint64_t off = sector * SECTOR;
		left = total;
		for (uint32_t i = c->first_writable; i < c->count && left; i++) {
			uint64_t n = c->seg[i].len < left ? c->seg[i].len : left;
			dp_copy(d->shmem + offs[i], d->disk + off, n);
			off += n;
			left -= n;
		}
		d->shmem[status_off] = 0; /* VIRTIO_BLK_S_OK */
		st[DP_N_READS]++;
		dp_count64(st, DP_N_BYTES_READ_LO, total);
		return (int64_t)total + 1;
	}
	if (type == VIRTIO_BLK_T_OUT) {
		uint64_t total = readable_data;
		if ((st[DP_Q_FLAGS] & DP_QF_READ_ONLY) || writable_data != 0 || total % SECTOR || sector > cap / SECTOR ||
		    total > cap - sector * SECTOR)
			return -1;
		for (uint32_t i = 0; i < c->first_writable; i++)
			if ((offs[i] = dp_check(d, c->seg[i].addr, c->seg[i].len)) < 0)
				return -1;
		uint64_t off = sector * SECTOR, skip = BLK_HEADER;
		for (uint32_t i = 0; i < c->first_writable; i++) {
			uint64_t len = c->seg[i].len;
			uint64_t s = skip < len ? skip : len; /* the header's bytes */
			skip -= s;
			len -= s;
			if (!len)
				continue;
			dp_copy(d->disk + off, d->shmem + offs[i] + s, len);
			off += len;
		}
		d->shmem[status_off] = 0;
		st[DP_N_WRITES]++;
		dp_count64(st, DP_N_BYTES_WRITTEN_LO, total);
		return 1;
	}
	return -1;
}

/** SplitQueue.needsNotification after chains were pushed (2.7.7, 2.7.10). */
static bool dp_needs_notification(struct dp_blk *d)
{
	uint32_t *st = d->st;
	uint32_t n = st[DP_Q_NUM];
	uint16_t used = (uint16_t)st[DP_Q_USED_IDX];
	if (st[DP_Q_FLAGS] & DP_QF_EVENT_IDX) {
		uint16_t old = (uint16_t)st[DP_Q_SIGNALLED_USED];
		bool valid = st[DP_Q_SIGNALLED_VALID] != 0;
		st[DP_Q_SIGNALLED_USED] = used;
		st[DP_Q_SIGNALLED_VALID] = 1;
		if (!valid)
			return true;
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx visible before used_event is read */
		uint16_t used_event = ld16(d->shmem + st[DP_Q_AVAIL] + 4 + 2 * n);
		return (uint16_t)(used - used_event - 1) < (uint16_t)(used - old);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (ld16(d->shmem + st[DP_Q_AVAIL]) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
}

/** The queue layout JS armed lies inside the region with virtio's alignments (SplitQueue.enable). */
static bool dp_layout_ok(const struct dp_blk *d)
{
	const uint32_t *st = d->st;
	uint64_t n = st[DP_Q_NUM], size = d->shmem_size;
	uint64_t desc = st[DP_Q_DESC], avail = st[DP_Q_AVAIL], used = st[DP_Q_USED];
	return n >= 1 && n <= 32768 && (n & (n - 1)) == 0 && desc % 16 == 0 && avail % 2 == 0 && used % 4 == 0 &&
	       desc <= size && 16 * n <= size - desc && avail <= size && 6 + 2 * n <= size - avail &&
	       used <= size && 6 + 8 * n <= size - used;
}

enum dp_result dp_blk_process(struct dp_blk *d, bool *notify)
{
	uint32_t *st = d->st;
	uint32_t n = st[DP_Q_NUM];
	uint8_t *avail = d->shmem + st[DP_Q_AVAIL];
	uint8_t *used = d->shmem + st[DP_Q_USED];
	enum dp_result res = dp_layout_ok(d) ? DP_DONE : DP_HANDBACK;
	bool pushed = false;
	struct dp_chain c;
	*notify = false;
	while (res == DP_DONE) {
		uint16_t last = (uint16_t)st[DP_Q_LAST_AVAIL];
		uint16_t pending = (uint16_t)(__atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE) - last);
		if (pending == 0 && (st[DP_Q_FLAGS] & DP_QF_EVENT_IDX)) {
			/* avail_event: kick me at the next one; then look once more (2.7.10) */
			st16(used + 4 + 8 * n, last);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			pending = (uint16_t)(__atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE) - last);
		}
		if (pending == 0)
			break;
		uint16_t head = ld16(avail + 4 + 2 * (last & (n - 1)));
		int64_t len;
		if (pending > n || head >= n || !dp_gather(d, head, &c) || (len = dp_execute(d, &c)) < 0) {
			res = DP_HANDBACK;
			break;
		}
		uint16_t u = (uint16_t)st[DP_Q_USED_IDX];
		uint8_t *elem = used + 4 + 8 * (u & (n - 1));
		st32(elem, head);
		st32(elem + 4, (uint32_t)len);
		u++;
		/* the data, the status byte and the element before the index (2.7.8) */
		__atomic_store_n((uint16_t *)(used + 2), u, __ATOMIC_RELEASE);
		st[DP_Q_USED_IDX] = u;
		st[DP_Q_LAST_AVAIL] = (uint16_t)(last + 1);
		st[DP_N_CHAINS]++;
		pushed = true;
	}
	if (pushed && dp_needs_notification(d)) {
		st[DP_INT_STATUS] |= 1; /* VIRTIO_MMIO_INT_VRING */
		st[DP_N_USED_NOTIFICATIONS]++;
		*notify = true;
	}
	if (res == DP_HANDBACK) {
		st[DP_CTRL] &= ~DP_CTRL_QUEUE;
		st[DP_N_HANDBACKS]++;
	}
	return res;
}
