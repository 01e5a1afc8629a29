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

/** Bytes of struct virtio_net_hdr with VIRTIO_F_VERSION_1 (5.1.6; abi.h from src/devices/net-spec.ts). */
#define NP_HDR NET_HDR_SIZE
/** Bytes of an Ethernet header, of an 802.1Q tag; the tag's TPID. */
#define NP_ETH_HLEN 14u
#define NP_VLAN_HLEN 4u
/*
 * virtio_net_hdr's fields (NET_HDR_*), its flag NEEDS_CSUM (NET_HDR_F_*)
 * and gso_type values (NET_GSO_*): abi.h, from src/devices/net-spec.ts
 * and src/net/offload.ts.
 */
/** Frame bytes the offload check reads at most: an 802.1Q-tagged Ethernet header, IPv4 with options, TCP with options. */
#define NP_PEEK (18u + 60u + 60u)

/**
 * Most buffers of a transmit chain the plane gathers; longer chains go to
 * JS (Linux sends a frame as the header and up to MAX_SKB_FRAGS + 1
 * buffers). Receive chains: most chains one frame fills (Linux posts
 * mergeable buffers of 1.5 to 4 KiB: a 64 KiB GSO frame takes up to 44)
 * and most buffers they have in all. Static: the plane runs from the main
 * loop only, never re-entered.
 */
#define NP_MAX_SEGS 64
#define NP_RX_CHAINS 64
#define NP_RX_SEGS 256

static struct vq_seg np_tx_segs[NP_MAX_SEGS];
static int64_t np_tx_offs[NP_MAX_SEGS];
static struct vq_seg np_rx_segs[NP_RX_SEGS];
static int64_t np_rx_offs[NP_RX_SEGS];

/** The offload fields of one frame's header (FrameOffload, src/net/offload.ts). */
struct np_off {
	uint32_t flags, gso_type, hdr_len, gso_size, csum_start, csum_offset;
};

/** The receive chains one frame fills: heads, first buffer of each in np_rx_segs, writable bytes. */
struct np_rx {
	uint32_t count;
	uint16_t head[NP_RX_CHAINS];
	uint32_t first[NP_RX_CHAINS + 1];
	uint64_t bytes[NP_RX_CHAINS];
};

static struct np_rx np_rx;

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


static inline void np_st16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/**
 * checkOffload of src/net/offload.ts, in C: checks the offload transmit
 * header `o` asks for a frame of `len` bytes whose first min(len, NP_PEEK)
 * bytes are `f`, for a port whose CTRL word is `ctrl` (TX_* bits: what its
 * driver negotiated) and whose frames without GSO are at most `max_frame`.
 * Normalises `o` as the TypeScript does. Returns the NP_CTRL_RX_* bits a
 * receiving port needs to take the frame as it is, or -1 where JS drops it.
 */
static int64_t np_check_offload(const uint8_t *f, uint64_t len, struct np_off *o, uint32_t ctrl, uint32_t max_frame)
{
	bool needs = o->flags & NET_HDR_F_NEEDS_CSUM;
	o->flags = needs ? NET_HDR_F_NEEDS_CSUM : 0;
	if (needs) {
		if (!(ctrl & NP_CTRL_TX_CSUM))
			return -1;
		if (o->csum_start < NP_ETH_HLEN || (uint64_t)o->csum_start + o->csum_offset + 2 > len)
			return -1;
	} else {
		o->csum_start = 0;
		o->csum_offset = 0;
	}
	if (o->gso_type == 0) {
		o->hdr_len = 0;
		o->gso_size = 0;
		return needs ? NP_CTRL_RX_CSUM : 0;
	}
	bool v4 = o->gso_type == NET_GSO_TCPV4;
	uint32_t want = v4 ? NP_CTRL_TX_TSO4 : o->gso_type == NET_GSO_TCPV6 ? NP_CTRL_TX_TSO6 : 0;
	if (!want || !(ctrl & want) || !needs || o->gso_size == 0)
		return -1;
	uint32_t l3 = NP_ETH_HLEN, l4;
	uint32_t type = (uint32_t)f[12] << 8 | f[13];
	if (type == 0x8100) {
		if (len < 18)
			return -1;
		type = (uint32_t)f[16] << 8 | f[17];
		l3 = 18;
	}
	if (v4) {
		if (type != 0x0800 || len < l3 + 20)
			return -1;
		uint32_t ihl = (f[l3] & 15u) * 4;
		if (f[l3] >> 4 != 4 || ihl < 20 || len < l3 + ihl)
			return -1;
		if (f[l3 + 9] != 6 || ((f[l3 + 6] & 0x3fu) | f[l3 + 7]) != 0)
			return -1; /* not TCP, or a fragment */
		if (((uint64_t)f[l3 + 2] << 8 | f[l3 + 3]) != len - l3)
			return -1;
		l4 = l3 + ihl;
	} else {
		if (type != 0x86dd || len < l3 + 40 || f[l3] >> 4 != 6 || f[l3 + 6] != 6)
			return -1;
		if (((uint64_t)f[l3 + 4] << 8 | f[l3 + 5]) != len - l3 - 40)
			return -1;
		l4 = l3 + 40;
	}
	if (o->csum_start != l4 || o->csum_offset != 16 || len < l4 + 20)
		return -1;
	uint32_t thl = (uint32_t)(f[l4 + 12] >> 4) * 4;
	if (thl < 20 || len < l4 + thl)
		return -1;
	uint32_t hdr_len = l4 + thl;
	if (hdr_len + o->gso_size > max_frame)
		return -1;
	if ((len - hdr_len + o->gso_size - 1) / o->gso_size > NP_GSO_MAX_SEGS)
		return -1;
	o->hdr_len = hdr_len;
	return NP_CTRL_RX_CSUM | (v4 ? NP_CTRL_RX_TSO4 : NP_CTRL_RX_TSO6);
}

/**
 * NetDevice.fillReceive's chains for one frame of `need` bytes (header
 * included), in C: the next available receive chains of `q`, one without
 * MRG_RXBUF, else as many as the bytes need; each device-writable only, at
 * least a header long, every buffer inside the region. False where JS
 * would wait, drop or return a chain (nothing consumed): too few chains
 * available, a bad one, more than NP_RX_CHAINS or NP_RX_SEGS.
 */
static bool np_take_rx(struct vq *q, uint64_t need, bool mrg, struct np_rx *rx)
{
	uint32_t *st = q->st;
	uint32_t n = st[VQ_NUM];
	uint16_t last = (uint16_t)st[VQ_LAST_AVAIL];
	uint16_t pending = (uint16_t)(vq_avail_idx(q) - last);
	if (pending > n)
		return false;
	uint32_t max = mrg ? NP_RX_CHAINS : 1, seg = 0, k = 0;
	uint64_t have = 0;
	for (; have < need; k++) {
		if (k == max || k >= pending)
			return false;
		uint16_t head = vq_ld16(q->shmem + st[VQ_AVAIL] + 4 + 2 * ((uint16_t)(last + k) & (n - 1)));
		struct vq_chain c = { .seg = np_rx_segs + seg };
		if (head >= n || !vq_gather(q, head, &c, NP_RX_SEGS - seg))
			return false;
		if (c.first_writable != 0 || c.writable < NP_HDR)
			return false;
		for (uint32_t i = 0; i < c.count; i++)
			if (c.seg[i].len && (np_rx_offs[seg + i] = vq_check(q, c.seg[i].addr, c.seg[i].len)) < 0)
				return false;
		rx->head[k] = head;
		rx->first[k] = seg;
		rx->bytes[k] = c.writable;
		seg += c.count;
		have += c.writable;
	}
	rx->count = k;
	rx->first[k] = seg;
	return true;
}

/**
 * Copies header `hdr` and the frame of transmit chain `t` (after its
 * header, `len` bytes) into the receive chains np_take_rx() took, whose
 * buffers are in np_rx_segs (NetDevice.writeFrame:
 * each chain filled before the next). The offsets were checked and the
 * chains hold NP_HDR + len bytes.
 */
static void np_copy(const struct vq *txq, const struct vq_chain *t, const struct vq *rxq, const uint8_t *hdr, uint32_t len)
{
	const struct vq_seg *rs = np_rx_segs;
	uint32_t ri = 0, rpos = 0; /* receive buffer (in np_rx_segs), bytes of it used */
	uint32_t hdone = 0;
	while (hdone < NP_HDR) {
		while (rpos == rs[ri].len) {
			ri++;
			rpos = 0;
		}
		uint32_t room = rs[ri].len - rpos;
		uint32_t n = NP_HDR - hdone < room ? NP_HDR - hdone : room;
		memcpy(rxq->shmem + np_rx_offs[ri] + rpos, hdr + hdone, n);
		hdone += n;
		rpos += n;
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
			while (rpos == rs[ri].len) {
				ri++;
				rpos = 0;
			}
			uint32_t n = tlen - tpos;
			if (n > rs[ri].len - rpos)
				n = rs[ri].len - rpos;
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
static int64_t np_forward(struct np_switch *sw, uint32_t in, const struct vq_chain *t, uint32_t now_ms, struct np_rx *rx)
{
	struct np_port *p = &sw->ports[in];
	struct vq *txq = &p->tx;
	uint32_t ctrl = p->st[NP_CTRL];
	/* NetDevice.readFrame: readable buffers only, a header, 14..MAX_FRAME bytes of frame (a GSO frame's limit with HOST_TSO) */
	if (t->first_writable != t->count || t->readable < NP_HDR)
		return -1;
	uint64_t len = t->readable - NP_HDR;
	uint32_t max_frame = p->st[NP_MAX_FRAME];
	uint32_t limit = (ctrl & (NP_CTRL_TX_TSO4 | NP_CTRL_TX_TSO6)) && max_frame < NP_GSO_MAX_FRAME ? NP_GSO_MAX_FRAME : max_frame;
	if (len < NP_ETH_HLEN || len > limit)
		return -1;
	/* every buffer inside the region (JS drops the whole chain for one outside it) */
	for (uint32_t i = 0; i < t->count; i++)
		if (t->seg[i].len && (np_tx_offs[i] = vq_check(txq, t->seg[i].addr, t->seg[i].len)) < 0)
			return -1;
	/* the header and the frame's first bytes (what the offload check reads), which may straddle buffers */
	uint8_t head[NP_HDR + NP_PEEK] = { 0 };
	uint32_t want = NP_HDR + NP_ETH_HLEN + 2, got = 0;
	for (uint32_t i = 0; i < t->count && got < want; i++) {
		uint32_t n = t->seg[i].len;
		if (n > want - got)
			n = want - got;
		if (n)
			memcpy(head + got, txq->shmem + np_tx_offs[i], n);
		got += n;
		if (got == want && want < sizeof head && head[NET_HDR_GSO_TYPE] != 0) {
			/* GSO: read on, up to the TCP header, from the same buffer (a partial checksum alone needs none of it) */
			want = sizeof head;
			uint32_t more = t->seg[i].len - n;
			if (more > want - got)
				more = want - got;
			if (more)
				memcpy(head + got, txq->shmem + np_tx_offs[i] + n, more);
			got += more;
		}
	}
	const uint8_t *eth = head + NP_HDR;
	struct np_off off = { 0 };
	int64_t needs = 0;
	if ((head[NET_HDR_FLAGS] & NET_HDR_F_NEEDS_CSUM) || head[NET_HDR_GSO_TYPE] != 0) {
		off.flags = head[NET_HDR_FLAGS];
		off.gso_type = head[NET_HDR_GSO_TYPE];
		off.gso_size = (uint32_t)head[NET_HDR_GSO_SIZE] | (uint32_t)head[NET_HDR_GSO_SIZE + 1] << 8;
		off.csum_start = (uint32_t)head[NET_HDR_CSUM_START] | (uint32_t)head[NET_HDR_CSUM_START + 1] << 8;
		off.csum_offset = (uint32_t)head[NET_HDR_CSUM_OFFSET] | (uint32_t)head[NET_HDR_CSUM_OFFSET + 1] << 8;
		needs = np_check_offload(eth, len, &off, ctrl, max_frame);
		if (needs < 0)
			return -1;
	}
	bool tagged = eth[12] == 0x81 && eth[13] == 0x00;
	bool gso = off.gso_type != 0;
	if (!gso && (len > max_frame || (len > max_frame - NP_VLAN_HLEN && !tagged)))
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
	/* EthernetSwitch.give: an offload the port does not take is completed or cut by JS */
	uint32_t o_ctrl = o->st[NP_CTRL];
	if ((uint32_t)needs & ~o_ctrl)
		return -1;
	/* NetDevice.deliver: the receiving port's MTU (a GSO frame's segments) */
	uint32_t o_max = o->st[NP_MAX_FRAME];
	if (gso ? len > NP_GSO_MAX_FRAME || off.hdr_len + off.gso_size > o_max : len > o_max || (len > o_max - NP_VLAN_HLEN && !tagged))
		return -1;
	/* NetDevice.fillReceive: the next receive chains, device-writable, inside the region, enough for the frame */
	struct vq *rxq = &o->rx;
	if (!vq_layout_ok(rxq) || !np_take_rx(rxq, NP_HDR + len, o_ctrl & NP_CTRL_MRG_RXBUF, rx))
		return -1;
	/* NetDevice.writeFrame's header: the offload as checked, num_buffers */
	uint8_t hdr[NP_HDR];
	hdr[NET_HDR_FLAGS] = (uint8_t)off.flags;
	hdr[NET_HDR_GSO_TYPE] = (uint8_t)off.gso_type;
	np_st16(hdr + NET_HDR_HDR_LEN, off.hdr_len);
	np_st16(hdr + NET_HDR_GSO_SIZE, off.gso_size);
	np_st16(hdr + NET_HDR_CSUM_START, off.csum_start);
	np_st16(hdr + NET_HDR_CSUM_OFFSET, off.csum_offset);
	np_st16(hdr + NET_HDR_NUM_BUFFERS, rx->count);
	np_copy(txq, t, rxq, hdr, (uint32_t)len);
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
	struct vq_chain t = { .seg = np_tx_segs };
	uint32_t touched = 0; /* ports whose receiveq got chains */
	enum np_result res = NP_DONE;
	for (;;) {
		enum vq_result v = vq_peek(&p->tx, &t, NP_MAX_SEGS);
		if (v == VQ_EMPTY)
			break;
		int64_t out;
		if (v != VQ_CHAIN || (out = np_forward(sw, port, &t, now_ms, &np_rx)) < 0) {
			res = NP_HANDBACK; /* the chain stays for JS, untouched */
			break;
		}
		struct np_port *o = &sw->ports[out];
		uint32_t len = (uint32_t)(t.readable - NP_HDR);
		/* each chain with the bytes written into it: the earlier ones full, the last one the rest */
		uint64_t left = NP_HDR + len;
		for (uint32_t k = 0; k < np_rx.count; k++) {
			uint64_t used = left < np_rx.bytes[k] ? left : np_rx.bytes[k];
			vq_consume(&o->rx);
			vq_push(&o->rx, np_rx.head[k], (uint32_t)used);
			left -= used;
		}
		vq_consume(&p->tx);
		vq_push(&p->tx, t.head, 0);
		st[NP_N_TX_FRAMES]++;
		dp_count64(st, NP_N_TX_BYTES_LO, len);
		o->st[NP_N_RX_FRAMES]++;
		o->st[NP_N_RX_CHAINS] += np_rx.count;
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
