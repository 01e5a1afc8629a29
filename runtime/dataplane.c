/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk data plane (see dataplane.h): the block executor over the
 * C virtqueue (virtqueue.h). blk requests per 5.2.6. The checks mirror
 * src/devices/blk-request.ts (parseBlkRequest) and
 * src/devices/blk.ts (doIn/doOut): where those would answer anything but
 * VIRTIO_BLK_S_OK, this file hands the chain back to them untouched.
 */
#include <string.h>
#include "dataplane.h"
#include "virtqueue.h"
#include "bulkcopy.h"

/**
 * Most buffers of a chain the data plane gathers; longer chains go to JS.
 * A chain has at most Queue Size - 1 direct buffers and one indirect table
 * of QueueNumMax (both at most 256 for blk): 1 MiB requests of 4 KiB pages
 * (258 buffers) stay in C. The arrays are static, not on the stack: the
 * data plane runs from the main loop only, never re-entered.
 */
#define DP_MAX_SEGS 1024

static struct vq_seg dp_segs[DP_MAX_SEGS];
static int64_t dp_offs[DP_MAX_SEGS]; /* each data buffer's offset in the region */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define BLK_HEADER 16u
#define SECTOR 512u

/** Offset of [gpa, gpa + len) in the shared region, or -1 if it is not wholly inside. */
static inline int64_t dp_check(const struct dp_blk *d, uint64_t gpa, uint64_t len)
{
	uint64_t base = dp_u64(d->st, DP_SHMEM_LO);
	uint64_t off = gpa - base; /* wraps to a huge value below the base */
	if (gpa < base || off > d->shmem_size || len > d->shmem_size - off)
		return -1;
	return (int64_t)off;
}

/**
 * Runs one gathered request if it is a well-formed IN or OUT that succeeds;
 * returns the used length (bytes written into the chain), or -1 to hand
 * the chain back. Every buffer is checked before any byte moves, so a
 * request handed back has changed nothing.
 */
static int64_t dp_execute(struct dp_blk *d, const struct vq_chain *c)
{
	uint32_t *st = d->st;
	const struct vq_seg *seg = c->seg;
	/* the status byte: the last byte of the last non-empty writable buffer */
	int64_t status_off = -1;
	for (uint32_t i = c->count; i-- > c->first_writable;) {
		if (seg[i].len) {
			status_off = dp_check(d, seg[i].addr + seg[i].len - 1, 1);
			break;
		}
	}
	/* the whole header in the first buffer (readable >= 16 means there is one) */
	if (status_off < 0 || c->readable < BLK_HEADER || seg[0].len < BLK_HEADER)
		return -1;
	int64_t hdr = dp_check(d, seg[0].addr, BLK_HEADER);
	if (hdr < 0)
		return -1;
	uint32_t type = vq_ld32(d->shmem + hdr);
	uint64_t sector = vq_ld64(d->shmem + hdr + 8);
	uint64_t cap = d->disk_size & ~(uint64_t)(SECTOR - 1);
	uint64_t readable_data = c->readable - BLK_HEADER;
	uint64_t writable_data = c->writable - 1;
	int64_t *offs = dp_offs;
	if (type == VIRTIO_BLK_T_IN) {
		uint64_t total = writable_data;
		if (readable_data != 0 || total % SECTOR || sector > cap / SECTOR || total > cap - sector * SECTOR)
			return -1;
		uint64_t left = total;
		for (uint32_t i = c->first_writable; i < c->count && left; i++) {
			uint64_t n = seg[i].len < left ? seg[i].len : left;
			if ((offs[i] = dp_check(d, seg[i].addr, n)) < 0)
				return -1;
			left -= n;
		}
		uint64_t off = sector * SECTOR;
		left = total;
		for (uint32_t i = c->first_writable; i < c->count && left; i++) {
			uint64_t n = seg[i].len < left ? seg[i].len : left;
			bulk_copy(d->shmem + offs[i], d->disk + off, n);
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
			if ((offs[i] = dp_check(d, seg[i].addr, seg[i].len)) < 0)
				return -1;
		uint64_t off = sector * SECTOR, skip = BLK_HEADER;
		for (uint32_t i = 0; i < c->first_writable; i++) {
			uint64_t len = seg[i].len;
			uint64_t s = skip < len ? skip : len; /* the header's bytes */
			skip -= s;
			len -= s;
			if (!len)
				continue;
			bulk_copy(d->disk + off, d->shmem + offs[i] + s, len);
			off += len;
		}
		d->shmem[status_off] = 0;
		st[DP_N_WRITES]++;
		dp_count64(st, DP_N_BYTES_WRITTEN_LO, total);
		return 1;
	}
	return -1;
}

enum dp_result dp_blk_process(struct dp_blk *d, bool *notify)
{
	uint32_t *st = d->st;
	struct vq q = dp_queue(st, d->shmem, d->shmem_size);
	enum dp_result res = vq_layout_ok(&q) ? DP_DONE : DP_HANDBACK;
	struct vq_chain c = { .seg = dp_segs };
	*notify = false;
	while (res == DP_DONE) {
		enum vq_result r = vq_peek(&q, &c, DP_MAX_SEGS);
		if (r == VQ_EMPTY)
			break;
		int64_t len;
		if (r != VQ_CHAIN || (len = dp_execute(d, &c)) < 0) {
			res = DP_HANDBACK; /* the chain stays for JS, untouched */
			break;
		}
		vq_consume(&q);
		vq_push(&q, c.head, (uint32_t)len);
		st[DP_N_CHAINS]++;
	}
	if (vq_needs_notification(&q)) {
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
