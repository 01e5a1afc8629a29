/* SPDX-License-Identifier: Apache-2.0 */
/* The console plane: see consoleplane.h. */
#include <string.h>
#include "consoleplane.h"
#include "dataplane.h"

/** Longest chain served here: the console's QueueNumMax (src/devices/console.ts); a longer one goes to JS. */
#define CP_MAX_SEGS 64

static struct vq_seg cp_segs[CP_MAX_SEGS];

/** Sets DP_INT_STATUS's used buffer bit and *notify if the driver wants a notification for what `q` returned. */
static void cp_notify_if_wanted(struct cp_port *p, struct vq *q, bool *notify)
{
	if (vq_needs_notification(q)) {
		p->irq[DP_INT_STATUS] |= 1; /* VIRTIO_MMIO_INT_VRING */
		p->st[CP_N_USED_NOTIFICATIONS]++;
		*notify = true;
	}
}

/** Whether every non-empty device-readable buffer of `c` lies inside the shared region. */
static bool cp_readable_inside(const struct vq *q, const struct vq_chain *c)
{
	for (uint32_t i = 0; i < c->first_writable; i++)
		if (c->seg[i].len != 0 && vq_check(q, c->seg[i].addr, c->seg[i].len) < 0)
			return false;
	return true;
}

enum cp_result cp_tx_process(struct cp_port *p, cp_sink out, bool *notify)
{
	uint32_t *st = p->st;
	struct vq *q = &p->tx;
	struct vq_chain c = { .seg = cp_segs };
	enum cp_result res = (st[CP_CTRL] & CP_CTRL_TX) && vq_layout_ok(q) ? CP_DONE : CP_HANDBACK;
	*notify = false;
	while (res == CP_DONE) {
		enum vq_result r = vq_peek(q, &c, CP_MAX_SEGS);
		if (r == VQ_EMPTY)
			break;
		if (r != VQ_CHAIN || !cp_readable_inside(q, &c)) {
			res = CP_HANDBACK; /* the chain stays for JS, untouched */
			break;
		}
		uint64_t bytes = 0;
		for (uint32_t i = 0; i < c.first_writable; i++) {
			const struct vq_seg *s = &c.seg[i];
			if (s->len == 0)
				continue;
			out(q->shmem + (s->addr - q->shmem_base), s->len);
			bytes += s->len;
		}
		vq_consume(q);
		vq_push(q, c.head, 0);
		st[CP_N_TX_CHAINS]++;
		dp_count64(st, CP_N_TX_BYTES_LO, bytes);
	}
	cp_notify_if_wanted(p, q, notify);
	st[res == CP_DONE ? CP_N_TX_KICKS : CP_N_HANDBACKS]++;
	return res;
}

/** Whether ConsoleDevice would fill `c` with up to `left` bytes in place: every buffer it would use inside the region, at least one byte taken. */
static bool cp_rx_chain_ok(const struct vq *q, const struct vq_chain *c, uint32_t left)
{
	uint32_t got = 0;
	for (uint32_t i = c->first_writable; i < c->count && left > 0; i++) {
		uint32_t len = c->seg[i].len;
		if (len == 0)
			continue;
		uint32_t k = len < left ? len : left;
		if (vq_check(q, c->seg[i].addr, k) < 0)
			return false;
		left -= k;
		got += k;
	}
	return got > 0;
}

uint32_t cp_rx_deliver(struct cp_port *p, const uint8_t *bytes, uint32_t n, bool *notify)
{
	uint32_t *st = p->st;
	struct vq *q = &p->rx;
	struct vq_chain c = { .seg = cp_segs };
	uint32_t at = 0;
	*notify = false;
	if (!(st[CP_CTRL] & CP_CTRL_RX) || !vq_layout_ok(q))
		return 0;
	while (at < n) {
		enum vq_result r = vq_peek(q, &c, CP_MAX_SEGS);
		if (r != VQ_CHAIN || !cp_rx_chain_ok(q, &c, n - at))
			break; /* no buffer, or one for JS: the bytes left go to JS */
		uint32_t written = 0;
		for (uint32_t i = c.first_writable; i < c.count && at < n; i++) {
			uint32_t len = c.seg[i].len;
			if (len == 0)
				continue;
			uint32_t k = len < n - at ? len : n - at;
			memcpy(q->shmem + (c.seg[i].addr - q->shmem_base), bytes + at, k);
			at += k;
			written += k;
		}
		vq_consume(q);
		vq_push(q, c.head, written);
		st[CP_N_RX_CHAINS]++;
		dp_count64(st, CP_N_RX_BYTES_LO, written);
	}
	cp_notify_if_wanted(p, q, notify);
	return at;
}
