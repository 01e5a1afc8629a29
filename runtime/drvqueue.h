/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver side of a split virtqueue in C (virtio 1.2 2.7): placing
 * chains, publishing them with the notification decision, and reaping the
 * used ring — the same algorithm, step for step, as `DriverQueue` in
 * src/drivers/virtio-mmio.ts, over the same state: the TypeScript queue
 * keeps its indices in DRIVER_QUEUE_WORDS words (enum dq_word of abi.h,
 * generated from `DriverQueueWord` in src/host.ts) and its bookkeeping in
 * four arrays (free-list links, chain lengths, writable bytes, tokens), and
 * hands them to the host (host.diskPlane), so that C and TypeScript can add
 * and reap chains of one queue in turn. `DriverQueue` is the reference;
 * test/native/drvqueue.test.ts runs both on seeded operation sequences
 * (with a device that returns chains out of order, and one that writes
 * impossible used entries) and requires identical state, arrays and ring
 * bytes.
 *
 * Memory ordering (2.7.13): descriptors and avail entries are stored before
 * avail.idx, which is stored with release; a full barrier separates that
 * store from the load of used_event / used flags (Linux's
 * virtqueue_kick_prepare); used.idx is loaded with acquire before the used
 * elements it publishes; a full barrier separates the store of avail_event
 * from the second load of used.idx.
 *
 * Header-only, pure C over byte arrays (no MMIO: the caller writes
 * QueueNotify when dq_kick() says so), so that the host's compiler can test
 * it under ASan/UBSan.
 */
#ifndef BAOJS_DRVQUEUE_H
#define BAOJS_DRVQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "abi.h"

/** One driver-side queue: the shared state and arrays, and the DMA region its rings lie in. */
struct dq {
	uint32_t *st;           /**< DRIVER_QUEUE_WORDS words */
	uint8_t *dma;           /**< the DMA region */
	uint64_t dma_size;      /**< bytes */
	uint16_t *next;         /**< free-list and chain links, Queue Size entries */
	uint16_t *chain_count;  /**< descriptors of the chain headed by i; 0: no chain */
	double *writable;       /**< device-writable bytes of the chain headed by i */
	double *tokens;         /**< the token of the chain headed by i */
};

#define DQ_DESC_SIZE 16u
#define DQ_F_NEXT 1u
#define DQ_F_WRITE 2u
#define DQ_F_INDIRECT 4u
#define DQ_USED_F_NO_NOTIFY 1u

static inline void dq_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void dq_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void dq_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t dq_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t dq_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/**
 * The state words describe rings the TypeScript queue could have made: a
 * Queue Size that is a power of 2 up to 32768, every ring and indirect
 * table inside the DMA region, indices in range. Checked once, when the
 * host takes the queue.
 */
static inline bool dq_layout_ok(const struct dq *q)
{
	const uint32_t *st = q->st;
	uint64_t n = st[DQ_NUM], size = q->dma_size;
	uint64_t desc = st[DQ_DESC], avail = st[DQ_AVAIL], used = st[DQ_USED];
	uint64_t ind = st[DQ_INDIRECT], entries = st[DQ_INDIRECT_ENTRIES];
	return n >= 1 && n <= 32768 && (n & (n - 1)) == 0 && desc % 16 == 0 && avail % 2 == 0 && used % 4 == 0 &&
	       desc <= size && 16 * n <= size - desc && avail <= size && 6 + 2 * n <= size - avail && used <= size &&
	       6 + 8 * n <= size - used && (entries == 0 || (entries >= 2 && entries <= n && ind % 16 == 0 && ind <= size &&
	       16 * entries * n <= size - ind)) && st[DQ_FREE_HEAD] < n && st[DQ_NUM_FREE] <= n && st[DQ_IN_FLIGHT] <= n;
}

/** Writes descriptor `p` (DriverQueue's writeDesc). */
static inline void dq_write_desc(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	dq_st64(p, addr);
	dq_st32(p + 8, len);
	dq_st16(p + 12, flags);
	dq_st16(p + 14, next);
}

/** Records a chain placed at `head` and puts it into the available ring (DriverQueue.placed). */
static inline void dq_placed(struct dq *q, uint16_t head, uint16_t descriptors, double writable, double token)
{
	uint32_t *st = q->st;
	q->chain_count[head] = descriptors;
	q->writable[head] = writable;
	q->tokens[head] = token;
	uint32_t idx = st[DQ_AVAIL_IDX];
	dq_st16(q->dma + st[DQ_AVAIL] + 4 + 2 * (idx & (st[DQ_NUM] - 1)), head);
	st[DQ_AVAIL_IDX] = (idx + 1) & 0xffff;
	st[DQ_IN_FLIGHT]++;
}

/**
 * Whether a chain of `count` buffers fits now (one descriptor if it goes
 * into an indirect table): DriverQueue.fits.
 */
static inline bool dq_fits(const struct dq *q, uint32_t count)
{
	uint32_t need = count > 1 && count <= q->st[DQ_INDIRECT_ENTRIES] ? 1 : count;
	return need <= q->st[DQ_NUM_FREE];
}

/**
 * Places one chain (DriverQueue.add): buffers 0..count-1 of addrs/lens,
 * those from `writable_from` on device-writable; into the indirect table of
 * the head it takes when 2 <= count <= INDIRECT_ENTRIES. Returns false,
 * changing nothing, if it does not fit now or `count` is outside
 * 1..Queue Size. The device sees it after dq_kick().
 */
static inline bool dq_add(struct dq *q, const uint64_t *addrs, const uint32_t *lens, uint32_t writable_from, uint32_t count, double token)
{
	uint32_t *st = q->st;
	uint32_t n = st[DQ_NUM];
	if (count < 1 || count > n)
		return false;
	uint16_t head = (uint16_t)st[DQ_FREE_HEAD];
	double writable = 0;
	uint32_t entries = st[DQ_INDIRECT_ENTRIES];
	if (count > 1 && count <= entries) {
		if (st[DQ_NUM_FREE] == 0)
			return false;
		uint64_t table = st[DQ_INDIRECT] + (uint64_t)DQ_DESC_SIZE * entries * head;
		for (uint32_t i = 0; i < count; i++) {
			bool last = i == count - 1, w = i >= writable_from;
			dq_write_desc(q->dma + table + DQ_DESC_SIZE * i, addrs[i], lens[i], (uint16_t)((w ? DQ_F_WRITE : 0) | (last ? 0 : DQ_F_NEXT)),
				      (uint16_t)(last ? 0 : i + 1));
			if (w)
				writable += lens[i];
		}
		uint64_t dma_base = (uint64_t)st[DQ_DMA_HI] << 32 | st[DQ_DMA_LO];
		dq_write_desc(q->dma + st[DQ_DESC] + DQ_DESC_SIZE * head, dma_base + table, DQ_DESC_SIZE * count, DQ_F_INDIRECT, 0);
		st[DQ_FREE_HEAD] = q->next[head];
		st[DQ_NUM_FREE]--;
		dq_placed(q, head, 1, writable, token);
		return true;
	}
	if (count > st[DQ_NUM_FREE])
		return false;
	uint16_t d = head;
	for (uint32_t i = 0; i < count; i++) {
		bool last = i == count - 1, w = i >= writable_from;
		dq_write_desc(q->dma + st[DQ_DESC] + DQ_DESC_SIZE * d, addrs[i], lens[i], (uint16_t)((w ? DQ_F_WRITE : 0) | (last ? 0 : DQ_F_NEXT)),
			      last ? 0 : q->next[d]);
		if (w)
			writable += lens[i];
		if (!last)
			d = q->next[d];
	}
	st[DQ_FREE_HEAD] = q->next[d];
	st[DQ_NUM_FREE] -= count;
	dq_placed(q, head, (uint16_t)count, writable, token);
	return true;
}

/** vring_need_event (2.7.10): whether the device asked for a notification in (old, new_idx]. */
static inline bool dq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/**
 * Publishes the chains added since the last kick (DriverQueue.kick).
 * Returns true if the caller must write QueueNotify (KICKS counted).
 */
static inline bool dq_kick(struct dq *q)
{
	uint32_t *st = q->st;
	uint16_t old = (uint16_t)st[DQ_PUBLISHED_IDX], now = (uint16_t)st[DQ_AVAIL_IDX];
	if (old == now)
		return false;
	__atomic_store_n((uint16_t *)(q->dma + st[DQ_AVAIL] + 2), now, __ATOMIC_RELEASE);
	st[DQ_PUBLISHED_IDX] = now;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	const uint8_t *used = q->dma + st[DQ_USED];
	bool needed = st[DQ_EVENT_IDX] ? dq_need_event(dq_ld16(used + 4 + 8 * st[DQ_NUM]), now, old)
				       : (dq_ld16(used) & DQ_USED_F_NO_NOTIFY) == 0;
	if (!needed)
		return false;
	st[DQ_KICKS]++;
	return true;
}

/** Returns the chain headed by `head` to the free list (DriverQueue.release). */
static inline void dq_release(struct dq *q, uint16_t head)
{
	uint32_t *st = q->st;
	uint16_t count = q->chain_count[head], tail = head;
	for (uint16_t i = 1; i < count; i++)
		tail = q->next[tail];
	q->next[tail] = (uint16_t)st[DQ_FREE_HEAD];
	st[DQ_FREE_HEAD] = head;
	st[DQ_NUM_FREE] += count;
	q->chain_count[head] = 0;
	st[DQ_IN_FLIGHT]--;
}

/** One chain the device returned: its head, its token, the bytes it wrote (bounded by the chain's writable bytes). */
struct dq_used {
	uint16_t head;
	uint32_t len;
	double token;
};

/** What dq_reap_next() found. */
enum dq_reap_result {
	DQ_REAPED = 0,    /**< one chain, in *u, released */
	DQ_NONE = 1,      /**< nothing more (with event idx: used_event asked for the next entry, looked once more) */
	DQ_BROKEN_IDX = 2,/**< used.idx more entries ahead than chains in flight: *bad_idx, *bad_arg = used.idx, in flight */
	DQ_BROKEN_ID = 3, /**< an entry names no chain in flight: *bad_idx, *bad_arg = the entry's index, its id */
};

/**
 * Takes the next chain the device returned (one step of DriverQueue.reap,
 * whose loop it follows: a used.idx read once per run of entries, the
 * check against the chains in flight for each run, used_event and a
 * second look when the ring is empty). `*seen` carries the used.idx of the
 * current run between calls: 0xffffffff before the first.
 */
static inline enum dq_reap_result dq_reap_next(struct dq *q, uint32_t *seen, struct dq_used *u, uint32_t *bad_idx, uint32_t *bad_arg)
{
	uint32_t *st = q->st;
	uint32_t n = st[DQ_NUM];
	uint8_t *used = q->dma + st[DQ_USED];
	const uint16_t *used_idx = (const uint16_t *)(used + 2);
	for (;;) {
		uint16_t last = (uint16_t)st[DQ_LAST_USED];
		if (*seen == 0xffffffffu || *seen == last) {
			uint16_t idx = __atomic_load_n(used_idx, __ATOMIC_ACQUIRE);
			if (idx == last) {
				if (!st[DQ_EVENT_IDX]) {
					*seen = 0xffffffffu;
					return DQ_NONE;
				}
				dq_st16(q->dma + st[DQ_AVAIL] + 4 + 2 * n, idx);
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
				if (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) == idx) {
					*seen = 0xffffffffu;
					return DQ_NONE;
				}
				*seen = 0xffffffffu;
				continue;
			}
			uint16_t ahead = (uint16_t)(idx - last);
			if (ahead > st[DQ_IN_FLIGHT]) {
				*bad_idx = idx;
				*bad_arg = st[DQ_IN_FLIGHT];
				return DQ_BROKEN_IDX;
			}
			*seen = idx;
		}
		const uint8_t *e = used + 4 + 8 * (last & (n - 1));
		uint32_t id = dq_ld32(e), len = dq_ld32(e + 4);
		if (id >= n || q->chain_count[id] == 0) {
			*bad_idx = last;
			*bad_arg = id;
			return DQ_BROKEN_ID;
		}
		st[DQ_LAST_USED] = (uint16_t)(last + 1);
		if (len > q->writable[id])
			len = (uint32_t)q->writable[id];
		u->head = (uint16_t)id;
		u->len = len;
		u->token = q->tokens[id];
		dq_release(q, (uint16_t)id);
		return DQ_REAPED;
	}
}

#endif
