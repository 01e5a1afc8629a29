/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The disk plane (see diskplane.h). Frontend requests per virtio 1.2
 * 5.2.6; the checks mirror BlkDevice's asynchronous path
 * (src/devices/blk.ts doIn/doOut) and SharedDisk.io (src/devices/disk.ts):
 * where those would do anything but submit the request unchanged to the
 * physical disk, this file hands the chain back to them untouched.
 */
#include <string.h>
#include "diskplane.h"
#include "firmware.h"
#include "remio.h"
#include "virtqueue.h"

static struct pt_disk pt_disks[PT_DISKS];
/** One past the highest slot in use: pt_poll's loop, run before every sleep, ends there. */
static int pt_slots;

#define PT_T_IN 0u
#define PT_T_OUT 1u
#define PT_HEADER 16u
#define PT_SECTOR 512u
/** Status byte the driver stores before submitting (VirtioBlkDriver's STATUS_UNWRITTEN). */
#define PT_STATUS_UNWRITTEN 0xffu
/** Most data buffers of one placed request (SharedDisk's bound). */
#define PT_MAX_SEGS 1024u
/** Most buffers of a frontend chain looked at; longer chains go to JS. */
#define PT_MAX_CHAIN 1024u

static struct vq_seg pt_chain_segs[PT_MAX_CHAIN];
static uint64_t pt_addrs[PT_MAX_SEGS + 2];
static uint32_t pt_lens[PT_MAX_SEGS + 2];

/** The disk whose interrupt is `intid`, or NULL. */
static struct pt_disk *pt_disk_of(uint32_t intid)
{
	for (int i = 0; i < PT_DISKS; i++)
		if (pt_disks[i].used && pt_disks[i].intid == intid)
			return &pt_disks[i];
	return NULL;
}

struct pt_disk *pt_disk_add(const struct pt_disk *init)
{
	struct dq q = init->q;
	uint32_t n = q.st[DQ_NUM];
	if (!dq_layout_ok(&q))
		return NULL;
	uint64_t hdr = init->st[PT_HEADERS], sts = init->st[PT_STATUSES];
	if (hdr % 8 || hdr > q.dma_size || (uint64_t)PT_HEADER * n > q.dma_size - hdr || sts > q.dma_size || n > q.dma_size - sts)
		return NULL;
	if (pt_disk_of(init->intid))
		return NULL;
	for (int i = 0; i < PT_DISKS; i++) {
		if (!pt_disks[i].used) {
			pt_disks[i] = *init;
			pt_disks[i].used = true;
			if (i >= pt_slots)
				pt_slots = i + 1;
			return &pt_disks[i];
		}
	}
	return NULL;
}

void pt_disk_remove(struct pt_disk *p)
{
	p->used = false;
	while (pt_slots > 0 && !pt_disks[pt_slots - 1].used)
		pt_slots--;
}

struct pt_disk *pt_disk_get(uint32_t h)
{
	return h < PT_DISKS && pt_disks[h].used ? &pt_disks[h] : NULL;
}

uint32_t pt_disk_handle(const struct pt_disk *p)
{
	return (uint32_t)(p - pt_disks);
}

/** The frontend's queue 0 as the C virtqueue sees it (the data plane's words). */
static inline struct vq pt_frontend_queue(struct rm_dm *d)
{
	return dp_queue(d->blk.st, d->blk.shmem, d->blk.shmem_size);
}

/**
 * Places the request in chain `c` of frontend `d` on disk `p`, or returns
 * false having changed nothing (the chain goes to JS).
 */
static bool pt_place(struct rm_dm *d, struct pt_disk *p, const struct vq *fq, const struct vq_chain *c)
{
	uint32_t *st = d->blk.st, *pst = p->st;
	const struct vq_seg *seg = c->seg;
	if (!(pst[PT_CTRL] & 1) || pst[PT_BACKLOG])
		return false;
	/* the status byte: the last byte of the last non-empty writable buffer */
	int64_t status_off = -1;
	for (uint32_t i = c->count; i-- > c->first_writable;) {
		if (seg[i].len) {
			status_off = vq_check(fq, seg[i].addr + seg[i].len - 1, 1);
			break;
		}
	}
	if (status_off < 0 || c->readable < PT_HEADER || seg[0].len < PT_HEADER)
		return false;
	int64_t hdr = vq_check(fq, seg[0].addr, PT_HEADER);
	if (hdr < 0)
		return false;
	uint32_t type = vq_ld32(d->blk.shmem + hdr);
	uint64_t sector = vq_ld64(d->blk.shmem + hdr + 8);
	uint64_t cap = dp_u64(st, DP_RANGE_SIZE_LO), base = dp_u64(st, DP_RANGE_BASE_LO);
	uint64_t readable_data = c->readable - PT_HEADER, writable_data = c->writable - 1;
	uint64_t seg_bytes = pst[PT_SEGMENT_BYTES], max_segs = pst[PT_MAX_SEGMENTS];
	if (max_segs > PT_MAX_SEGS)
		max_segs = PT_MAX_SEGS;
	uint32_t k = 1; /* pt_addrs[0] is the header */
	uint64_t total;
	if (type == PT_T_IN) {
		total = writable_data;
		if (readable_data != 0 || total == 0 || total % PT_SECTOR || sector > cap / PT_SECTOR || total > cap - sector * PT_SECTOR)
			return false;
		uint64_t left = total;
		for (uint32_t i = c->first_writable; i < c->count && left; i++) {
			uint64_t n = seg[i].len < left ? seg[i].len : left;
			if (vq_check(fq, seg[i].addr, n) < 0)
				return false;
			if (!n)
				continue;
			if (n > seg_bytes || k > max_segs)
				return false;
			pt_addrs[k] = seg[i].addr;
			pt_lens[k++] = (uint32_t)n;
			left -= n;
		}
	} else if (type == PT_T_OUT) {
		total = readable_data;
		if ((st[DP_Q_FLAGS] & (DP_QF_READ_ONLY | DP_QF_WRITETHROUGH)) || writable_data != 0 || total == 0 || total % PT_SECTOR ||
		    sector > cap / PT_SECTOR || total > cap - sector * PT_SECTOR)
			return false;
		uint64_t skip = PT_HEADER;
		for (uint32_t i = 0; i < c->first_writable; i++) {
			if (vq_check(fq, seg[i].addr, seg[i].len) < 0)
				return false;
			uint64_t len = seg[i].len, s = skip < len ? skip : len;
			skip -= s;
			len -= s;
			if (!len)
				continue;
			if (len > seg_bytes || k > max_segs)
				return false;
			pt_addrs[k] = seg[i].addr + s;
			pt_lens[k++] = (uint32_t)len;
		}
	} else {
		return false;
	}
	uint32_t count = k + 1;
	if (!dq_fits(&p->q, count))
		return false;
	uint32_t *qst = p->q.st;
	uint16_t head = (uint16_t)qst[DQ_FREE_HEAD];
	uint64_t dma_base = (uint64_t)qst[DQ_DMA_HI] << 32 | qst[DQ_DMA_LO];
	uint8_t *h = p->q.dma + pst[PT_HEADERS] + PT_HEADER * head;
	dq_st32(h, type);
	dq_st32(h + 4, 0);
	dq_st64(h + 8, base / PT_SECTOR + sector);
	p->q.dma[pst[PT_STATUSES] + head] = PT_STATUS_UNWRITTEN;
	pt_addrs[0] = dma_base + pst[PT_HEADERS] + PT_HEADER * head;
	pt_lens[0] = PT_HEADER;
	pt_addrs[k] = dma_base + pst[PT_STATUSES] + head;
	pt_lens[k] = 1;
	if (!dq_add(&p->q, pt_addrs, pt_lens, type == PT_T_IN ? 1 : k, count, -(double)head - 1))
		return false;
	uint32_t *r = p->reqs + PT_REQ_RECORD_WORDS * head;
	r[PT_REQ_DM] = d->dm + 1;
	r[PT_REQ_FE_HEAD] = c->head;
	r[PT_REQ_WRITTEN] = type == PT_T_IN ? (uint32_t)total + 1 : 1;
	r[PT_REQ_STATUS_OFF] = (uint32_t)status_off;
	r[PT_REQ_GENERATION] = st[DP_GENERATION];
	r[PT_REQ_TYPE] = type;
	st[DP_N_DISK_REQUESTS]++;
	st[DP_N_IN_FLIGHT]++;
	if (type == PT_T_IN) {
		st[DP_N_READS]++;
		dp_count64(st, DP_N_BYTES_READ_LO, total);
	} else {
		st[DP_N_WRITES]++;
		dp_count64(st, DP_N_BYTES_WRITTEN_LO, total);
	}
	return true;
}

int pt_blk_process(struct rm_dm *d)
{
	uint32_t *st = d->blk.st;
	struct pt_disk *p = d->pt;
	struct vq q = pt_frontend_queue(d);
	int res = vq_layout_ok(&q) ? DP_DONE : DP_HANDBACK;
	struct vq_chain c = { .seg = pt_chain_segs };
	while (res == DP_DONE) {
		enum vq_result r = vq_peek(&q, &c, PT_MAX_CHAIN);
		if (r == VQ_EMPTY)
			break;
		if (r != VQ_CHAIN || !pt_place(d, p, &q, &c)) {
			res = DP_HANDBACK; /* the chain stays for JS, untouched */
			break;
		}
		vq_consume(&q);
		st[DP_N_CHAINS]++;
	}
	if (dq_kick(&p->q))
		pt_mmio_write32(p->mmio + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	if (res == DP_HANDBACK) {
		st[DP_CTRL] &= ~DP_CTRL_QUEUE;
		st[DP_N_HANDBACKS]++;
	}
	return res;
}

/** Appends an event record for JS; false if the array is full. */
static inline uint32_t *pt_event(struct pt_disk *p)
{
	uint32_t n = p->st[PT_EVENTS];
	if (n >= p->q.st[DQ_NUM])
		return NULL;
	p->st[PT_EVENTS] = n + 1;
	return p->events + PT_EVENT_RECORD_WORDS * n;
}

bool pt_irq(uint32_t intid)
{
	struct pt_disk *p = pt_disk_of(intid);
	if (!p || !(p->st[PT_CTRL] & 1))
		return false;
	uint32_t *pst = p->st;
	pst[PT_N_INTERRUPTS]++;
	/* acknowledged in IRQ context already (pt_irq_ack), or read now */
	uint32_t isr = p->acked;
	p->acked = 0;
	if (!isr) {
		isr = pt_mmio_read32(p->mmio + VIRTIO_MMIO_INTERRUPT_STATUS);
		if (isr)
			pt_mmio_write32(p->mmio + VIRTIO_MMIO_INTERRUPT_ACK, isr);
	}
	pst[PT_ISR] |= isr;
	bool js = (isr & ~1u) != 0 || pst[PT_EVENTS] != 0 || pst[PT_BROKEN] != 0;
	struct rm_dm *touched[RM_DMS];
	unsigned ntouched = 0;
	uint32_t reaped = 0;
	if ((isr & 1u) && !pst[PT_BROKEN]) {
		uint32_t seen = 0xffffffffu, bad_idx = 0, bad_arg = 0;
		uint32_t num = p->q.st[DQ_NUM];
		for (;;) {
			if (pst[PT_EVENTS] >= num) {
				js = true; /* the rest stays in the ring for JS */
				break;
			}
			struct dq_used u;
			enum dq_reap_result rr = dq_reap_next(&p->q, &seen, &u, &bad_idx, &bad_arg);
			if (rr == DQ_NONE)
				break;
			if (rr != DQ_REAPED) {
				pst[PT_BROKEN] = rr == DQ_BROKEN_IDX ? PT_BROKEN_USED_IDX : PT_BROKEN_USED_ID;
				pst[PT_BROKEN_IDX] = bad_idx;
				pst[PT_BROKEN_ARG] = bad_arg;
				js = true;
				break;
			}
			reaped++;
			pst[PT_N_REAPED]++;
			if (u.token >= 0) {
				uint32_t *e = pt_event(p);
				e[PT_EV_TOKEN] = (uint32_t)u.token;
				e[PT_EV_LEN] = u.len;
				js = true;
				continue;
			}
			uint32_t *r = p->reqs + PT_REQ_RECORD_WORDS * u.head;
			uint8_t status = p->q.dma[pst[PT_STATUSES] + u.head];
			struct rm_dm *d = r[PT_REQ_DM] ? rm_dm_find(r[PT_REQ_DM] - 1) : NULL;
			uint32_t *fst = d ? d->blk.st : NULL;
			if (fst && fst[DP_N_IN_FLIGHT])
				fst[DP_N_IN_FLIGHT]--;
			if (fst && r[PT_REQ_GENERATION] != fst[DP_GENERATION]) {
				fst[DP_N_DISK_STALE]++; /* the frontend reset its device since: nobody waits for it */
				r[PT_REQ_DM] = 0;
				continue;
			}
			if (fst && status == 0 && (fst[DP_CTRL] & DP_CTRL_QUEUE) && r[PT_REQ_STATUS_OFF] < d->blk.shmem_size) {
				struct vq fq = pt_frontend_queue(d);
				d->blk.shmem[r[PT_REQ_STATUS_OFF]] = 0; /* VIRTIO_BLK_S_OK */
				vq_push(&fq, (uint16_t)r[PT_REQ_FE_HEAD], r[PT_REQ_WRITTEN]);
				r[PT_REQ_DM] = 0;
				pst[PT_N_ANSWERED]++;
				unsigned i = 0;
				while (i < ntouched && touched[i] != d)
					i++;
				if (i == ntouched && ntouched < RM_DMS)
					touched[ntouched++] = d;
				continue;
			}
			/* an error, or the queue is JS's now: JS answers it */
			uint32_t *e = pt_event(p);
			e[PT_EV_TOKEN] = PT_EVENT_HOST;
			e[PT_EV_LEN] = u.len;
			e[PT_EV_DM] = r[PT_REQ_DM] ? r[PT_REQ_DM] - 1 : 0xffffffffu;
			e[PT_EV_FE_HEAD] = r[PT_REQ_FE_HEAD];
			e[PT_EV_WRITTEN] = r[PT_REQ_WRITTEN];
			e[PT_EV_STATUS_OFF] = r[PT_REQ_STATUS_OFF];
			e[PT_EV_GENERATION] = r[PT_REQ_GENERATION];
			e[PT_EV_TYPE] = r[PT_REQ_TYPE];
			e[PT_EV_STATUS] = status;
			r[PT_REQ_DM] = 0;
			if (fst)
				fst[DP_N_DISK_HANDED]++;
			js = true;
		}
	}
	for (unsigned i = 0; i < ntouched; i++) {
		struct rm_dm *d = touched[i];
		struct vq fq = pt_frontend_queue(d);
		if (vq_needs_notification(&fq)) {
			d->blk.st[DP_INT_STATUS] |= 1; /* VIRTIO_MMIO_INT_VRING */
			d->blk.st[DP_N_USED_NOTIFICATIONS]++;
			rm_notify_dm(d);
		}
	}
	if (pst[PT_BACKLOG] && reaped)
		js = true; /* room freed: JS submits what waits */
	if (js) {
		pst[PT_N_JS_CALLS]++;
		return false;
	}
	if (p->masked) {
		p->masked = false;
		pt_irq_unmask(intid);
	}
	return true;
}

/** pt_poll's rare case: disk `p` returned chains with no interrupt taken for them yet. */
static __attribute__((noinline)) void pt_poll_found(struct pt_disk *p)
{
	p->st[PT_N_POLLED]++;
	p->acked |= 1u; /* VIRTIO_MMIO_INT_VRING: pt_irq reaps */
	irq_set_pending(p->intid);
}

uint64_t pt_poll(void)
{
	bool waiting = false, found = false;
	for (int i = 0; i < pt_slots; i++) {
		struct pt_disk *p = &pt_disks[i];
		if (!p->used || !p->q.st[DQ_IN_FLIGHT] || !(p->st[PT_CTRL] & 1) || p->st[PT_BROKEN])
			continue;
		const uint16_t *used_idx = (const uint16_t *)(p->q.dma + p->q.st[DQ_USED] + 2);
		if (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != (uint16_t)p->q.st[DQ_LAST_USED]) {
			pt_poll_found(p);
			found = true;
		} else {
			waiting = true;
		}
	}
	/* the counter read only while chains are in flight: the usual idle pass makes no call */
	return found ? 0 : waiting ? timer_now_ns() + PT_POLL_NS : UINT64_MAX;
}

bool pt_irq_ack(uint32_t intid)
{
	struct pt_disk *p = pt_disk_of(intid);
	if (!p)
		return false;
	if (!(p->st[PT_CTRL] & 1)) {
		p->masked = true;
		return false;
	}
	uint32_t isr = pt_mmio_read32(p->mmio + VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		pt_mmio_write32(p->mmio + VIRTIO_MMIO_INTERRUPT_ACK, isr);
	p->acked |= isr;
	return true;
}
