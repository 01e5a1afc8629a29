/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network plane (see netplane.h) over the C virtqueue (virtqueue.h).
 * Frames per virtio 1.2 5.1.6; the checks mirror src/devices/net.ts
 * (NetDevice.readFrame, popReceive, writeFrame) and src/net/switch.ts
 * (EthernetSwitch.forward, find, mayForward): where those would drop,
 * count, log, learn, flood or queue, this file hands the chain back.
 */
#include <string.h>
#include "dataplane.h"
#include "netplane.h"

/** Bytes of struct virtio_net_hdr with VIRTIO_F_VERSION_1 (5.1.6). */
#define NP_HDR 12u
/** Bytes of an Ethernet header, of an 802.1Q tag; the tag's TPID. */
#define NP_ETH_HLEN 14u
#define NP_VLAN_HLEN 4u
/** virtio_net_hdr flags bit VIRTIO_NET_HDR_F_NEEDS_CSUM, offset of flags and gso_type, of num_buffers. */
#define NP_HDR_F_NEEDS_CSUM 1u
#define NP_HDR_FLAGS 0u
#define NP_HDR_GSO_TYPE 1u
#define NP_HDR_NUM_BUFFERS 10u

/**
 * Most buffers of a chain the plane gathers; longer chains go to JS
 * (Linux sends a frame as the header and up to MAX_SKB_FRAGS + 1 buffers).
 * Static: the plane runs from the main loop only, never re-entered.
 */
#define NP_MAX_SEGS 64

static struct vq_seg np_tx_segs[NP_MAX_SEGS];
static struct vq_seg np_rx_segs[NP_MAX_SEGS];
static int64_t np_tx_offs[NP_MAX_SEGS];
static int64_t np_rx_offs[NP_MAX_SEGS];

/** The fdb hash of a MAC (src/net/switch.ts fdbHash: the same arithmetic). */
static inline uint32_t np_hash(uint32_t hi, uint32_t lo, uint32_t mask)
{
	return ((lo ^ hi * 0x85ebca6bu) * 0x9e3779b1u) >> 16 & mask;
}

const uint32_t *np_fdb_find(const struct np_switch *sw, uint32_t hi, uint32_t lo)
{
	uint32_t want = hi | (uint32_t)NP_FDB_VALID;
	uint32_t i = np_hash(hi, lo, sw->fdb_mask);
	for (uint32_t probes = 0; probes <= sw->fdb_mask; probes++, i = (i + 1) & sw->fdb_mask) {
		const uint32_t *e = sw->fdb + (uint64_t)i * NP_FDB_ENTRY_WORDS;
		if (!(e[NP_FDB_MAC_HI] & NP_FDB_VALID))
			return NULL;
		if (e[NP_FDB_MAC_HI] == want && e[NP_FDB_MAC_LO] == lo)
			return e;
	}
	return NULL;
}

/** The port a learned, not aged entry names, or -1; its seen slot into *slot. */
static inline int64_t np_lookup(const struct np_switch *sw, const uint8_t *mac, uint32_t now_ms, uint32_t *slot)
{
	uint32_t hi = (uint32_t)mac[0] << 8 | mac[1];
	uint32_t lo = (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
	const uint32_t *e = np_fdb_find(sw, hi, lo);
	if (!e || e[NP_FDB_SLOT] >= sw->seen_slots || e[NP_FDB_PORT] >= NP_PORTS)
		return -1;
	/* EthernetSwitch.find: older than the ageing time is unknown (JS forgets it at its next look) */
	if ((uint32_t)(now_ms - sw->seen[e[NP_FDB_SLOT]]) > sw->age_ms)
		return -1;
	*slot = e[NP_FDB_SLOT];
	return e[NP_FDB_PORT];
}


/**
 * Copies the frame of transmit chain `t` (after its header) into the
 * buffers of receive chain `r` (after a header with num_buffers 1). The
 * offsets were checked; `len` is the frame's bytes, r's writable bytes at
 * least NP_HDR + len.
 */
static void np_copy(const struct vq *txq, const struct vq_chain *t, const struct vq *rxq, const struct vq_chain *r, uint32_t len)
{
	uint32_t ri = 0, rpos = 0; /* receive buffer, bytes of it used */
	/* the header: all zero but num_buffers = 1 (no offload negotiated: flags 0, gso_type NONE) */
	uint8_t hdr[NP_HDR] = { 0 };
	hdr[NP_HDR_NUM_BUFFERS] = 1;
	uint32_t hdone = 0;
	while (hdone < NP_HDR) {
		uint32_t room = r->seg[ri].len - rpos;
		uint32_t n = NP_HDR - hdone < room ? NP_HDR - hdone : room;
		memcpy(rxq->shmem + np_rx_offs[ri] + rpos, hdr + hdone, n);
		hdone += n;
		rpos += n;
		if (rpos == r->seg[ri].len) {
			ri++;
			rpos = 0;
		}
	}
	uint32_t skip = NP_HDR, left = len;
	for (uint32_t ti = 0; ti < t->count && left; ti++) {
		uint32_t tlen = t->seg[ti].len, tpos = 0;
		if (skip >= tlen) {
			skip -= tlen;
			continue;
		}
		tpos = skip;
		skip = 0;
		while (tpos < tlen && left) {
			while (rpos == r->seg[ri].len) {
				ri++;
				rpos = 0;
			}
			uint32_t n = tlen - tpos;
			if (n > r->seg[ri].len - rpos)
				n = r->seg[ri].len - rpos;
			if (n > left)
				n = left;
			memcpy(rxq->shmem + np_rx_offs[ri] + rpos, txq->shmem + np_tx_offs[ti] + tpos, n);
			tpos += n;
			rpos += n;
			left -= n;
		}
	}
}

/**
 * Forwards transmit chain `t` of port `in` if it qualifies (see
 * netplane.h); returns the receiving port, or -1 to hand the chain back.
 * Nothing is written before every check passed.
 */
static int64_t np_forward(struct np_switch *sw, uint32_t in, const struct vq_chain *t, uint32_t now_ms, struct vq_chain *r)
{
	struct np_port *p = &sw->ports[in];
	struct vq *txq = &p->tx;
	/* NetDevice.readFrame: readable buffers only, a header, 14..MAX_FRAME bytes of frame */
	if (t->first_writable != t->count || t->readable < NP_HDR)
		return -1;
	uint64_t len = t->readable - NP_HDR;
	uint32_t max_frame = p->st[NP_MAX_FRAME];
	if (len < NP_ETH_HLEN || len > max_frame)
		return -1;
	/* every buffer inside the region (JS drops the whole chain for one outside it) */
	for (uint32_t i = 0; i < t->count; i++)
		if (t->seg[i].len && (np_tx_offs[i] = vq_check(txq, t->seg[i].addr, t->seg[i].len)) < 0)
			return -1;
	/* the header and the frame's first 14 (+ 2 of a tag) bytes, which may straddle buffers */
	uint8_t head[NP_HDR + NP_ETH_HLEN + 2] = { 0 };
	uint32_t got = 0;
	for (uint32_t i = 0; i < t->count && got < sizeof head; i++) {
		uint32_t n = t->seg[i].len;
		if (n > sizeof head - got)
			n = sizeof head - got;
		if (n)
			memcpy(head + got, txq->shmem + np_tx_offs[i], n);
		got += n;
	}
	if ((head[NP_HDR_FLAGS] & NP_HDR_F_NEEDS_CSUM) || head[NP_HDR_GSO_TYPE] != 0)
		return -1;
	const uint8_t *eth = head + NP_HDR;
	bool tagged = eth[12] == 0x81 && eth[13] == 0x00;
	if (len > max_frame - NP_VLAN_HLEN && !tagged)
		return -1;
	/* EthernetSwitch.forward: a unicast source known on this port, a unicast destination known elsewhere */
	const uint8_t *dst = eth, *src = eth + 6;
	if ((src[0] & 1) || (dst[0] & 1))
		return -1;
	uint32_t src_slot, dst_slot;
	if (np_lookup(sw, src, now_ms, &src_slot) != (int64_t)in)
		return -1; /* not learned here (or all-zero, never learned): JS learns or drops */
	int64_t out = np_lookup(sw, dst, now_ms, &dst_slot);
	if (out < 0 || out == (int64_t)in)
		return -1;
	struct np_port *o = &sw->ports[out];
	if (!o->st || !(o->st[NP_CTRL] & NP_CTRL_RX))
		return -1;
	/* mayForward: two isolated ports never talk */
	if ((p->st[NP_CTRL] & o->st[NP_CTRL] & NP_CTRL_ISOLATED))
		return -1;
	/* NetDevice.deliver: the receiving port's MTU */
	uint32_t o_max = o->st[NP_MAX_FRAME];
	if (len > o_max || (len > o_max - NP_VLAN_HLEN && !tagged))
		return -1;
	/* NetDevice.popReceive: the next receive chain, device-writable, inside the region, big enough for the frame */
	struct vq *rxq = &o->rx;
	if (!vq_layout_ok(rxq))
		return -1;
	if (vq_peek(rxq, r, NP_MAX_SEGS) != VQ_CHAIN || r->first_writable != 0 || r->writable < NP_HDR + len)
		return -1;
	for (uint32_t i = 0; i < r->count; i++)
		if (r->seg[i].len && (np_rx_offs[i] = vq_check(rxq, r->seg[i].addr, r->seg[i].len)) < 0)
			return -1;
	np_copy(txq, t, rxq, r, (uint32_t)len);
	sw->seen[src_slot] = now_ms; /* EthernetSwitch.learn of a known address: refreshed */
	return out;
}

enum np_result np_tx_process(struct np_switch *sw, uint32_t port, uint32_t now_ms, uint32_t *notify)
{
	*notify = 0;
	if (port >= NP_PORTS || !sw->ports[port].st)
		return NP_HANDBACK;
	struct np_port *p = &sw->ports[port];
	uint32_t *st = p->st;
	if (!(st[NP_CTRL] & NP_CTRL_TX) || !vq_layout_ok(&p->tx))
		return NP_HANDBACK;
	struct vq_chain t = { .seg = np_tx_segs }, r = { .seg = np_rx_segs };
	uint32_t touched = 0; /* ports whose receiveq got chains */
	enum np_result res = NP_DONE;
	for (;;) {
		enum vq_result v = vq_peek(&p->tx, &t, NP_MAX_SEGS);
		if (v == VQ_EMPTY)
			break;
		int64_t out;
		if (v != VQ_CHAIN || (out = np_forward(sw, port, &t, now_ms, &r)) < 0) {
			res = NP_HANDBACK; /* the chain stays for JS, untouched */
			break;
		}
		struct np_port *o = &sw->ports[out];
		uint32_t len = (uint32_t)(t.readable - NP_HDR);
		vq_consume(&o->rx);
		vq_push(&o->rx, r.head, NP_HDR + len);
		vq_consume(&p->tx);
		vq_push(&p->tx, t.head, 0);
		st[NP_N_TX_FRAMES]++;
		dp_count64(st, NP_N_TX_BYTES_LO, len);
		o->st[NP_N_RX_FRAMES]++;
		dp_count64(o->st, NP_N_RX_BYTES_LO, len);
		touched |= UINT32_C(1) << out;
	}
	if (res == NP_DONE)
		st[NP_N_TX_KICKS]++;
	else
		st[NP_N_HANDBACKS]++;
	/* one decision per queue that got used buffers: transmitq here, each receiveq reached */
	if (vq_needs_notification(&p->tx))
		*notify |= UINT32_C(1) << port;
	for (uint32_t i = 0; touched; i++, touched >>= 1)
		if ((touched & 1) && vq_needs_notification(&sw->ports[i].rx))
			*notify |= UINT32_C(1) << i;
	for (uint32_t i = 0, m = *notify; m; i++, m >>= 1) {
		if (!(m & 1))
			continue;
		sw->ports[i].irq[DP_INT_STATUS] |= 1; /* VIRTIO_MMIO_INT_VRING */
		sw->ports[i].st[NP_N_USED_NOTIFICATIONS]++;
	}
	return res;
}

bool np_rx_kick(struct np_switch *sw, uint32_t port)
{
	if (port >= NP_PORTS || !sw->ports[port].st || !(sw->ports[port].st[NP_CTRL] & NP_CTRL_RX))
		return false;
	sw->ports[port].st[NP_N_RX_KICKS]++;
	return true;
}
