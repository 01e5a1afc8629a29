/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network plane: frames between two frontends' virtio-net ports
 * forwarded in C, without calling JS — the network counterpart of the
 * block data plane (dataplane.h).
 *
 * The TypeScript side stays the whole of every device and of the switch:
 * `NetDevice` (src/devices/net.ts: registers, negotiation, every drop,
 * count and log line, the receive queue of frames waiting for buffers) and
 * `EthernetSwitch` (src/net/switch.ts: learning, ageing, flooding, the
 * flood buckets, policy, the uplink). This file serves only the hot path:
 * on a QueueNotify of a port's transmitq (np_tx_process), each chain that
 *  - is a well-formed frame (every check of NetDevice.readFrame: readable
 *    buffers only, the 12-byte header, a frame of 14..MAX_FRAME bytes, an
 *    untagged one at most MAX_FRAME - 4, every buffer inside the shared
 *    region; with an offload, what its driver negotiated (CTRL.TX_*) and
 *    the checks of checkOffload in src/net/offload.ts, a GSO frame up to
 *    NP_GSO_MAX_FRAME bytes),
 *  - comes from a source address the switch learned on this port and still
 *    holds (not aged: the same test as EthernetSwitch.find),
 *  - goes to a unicast destination learned on another port, not aged,
 *    that policy lets this port reach (EthernetSwitch.mayForward), whose
 *    frames fit its MAX_FRAME (a GSO frame: its segments), which takes the
 *    frame's offload as it is (CTRL.RX_*: JS completes or cuts it for any
 *    other), and whose receiveq is the host's (CTRL.RX: JS holds no frame
 *    and no chain for it),
 *  - and fits that port's next receive chain, or with MRG_RXBUF the next
 *    chains it needs (device-writable buffers only, all inside its shared
 *    region),
 * is copied there behind a header with the offload's fields and
 * num_buffers (virtio 1.2 5.1.6.3.1, 5.1.6.4),
 * both chains are returned (the transmit chain with length 0, as
 * NetDevice does), the source's last-seen time refreshed (what the
 * switch's learning does for a known address), and the counters of both
 * ports kept. It stops before the first chain that does not qualify and
 * hands the QueueNotify to JS (the chain untouched: JS serves it and the
 * rest as it would have without the host). Each frontend whose driver
 * wants one gets one used buffer notification per QueueNotify. While
 * CTRL.RX is set, a QueueNotify of receiveq is answered here too: JS would
 * find nothing waiting for the new buffers.
 *
 * The MAC table is JS's, copied into `fdb` (enum np_fdb_word of abi.h,
 * linear probing, written by JS only) with the last-seen times in `seen`
 * (ms modulo 2^32, shared: JS writes them when it learns, this file when it
 * forwards). Learning, moves, flooding, the uplink and every drop stay in
 * JS: a frame that needs any of them is handed back.
 *
 * Pure C over byte arrays: no hypercalls, no QuickJS, so that the host's
 * own compiler can test it against the TypeScript path
 * (test/native/netplane.test.ts).
 */
#ifndef BAOJS_NETPLANE_H
#define BAOJS_NETPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"
#include "virtqueue.h"

/** Most ports of the switch with a network plane (EthernetSwitch's default maxPorts). */
#define NP_PORTS 32

/** One virtio-net port: its state words, its queues and the memory it may touch. */
struct np_port {
	uint32_t *st;        /**< NP_STATE_WORDS words (NULL: not a network plane port) */
	uint32_t *irq;       /**< the transport's data-plane words (DP_INT_STATUS, DP_CTRL) */
	struct vq rx;        /**< receiveq (queue 0) */
	struct vq tx;        /**< transmitq (queue 1) */
	uint32_t dm;         /**< the port's device model (for the caller's NOTIFY) */
};

/** The switch as the network plane sees it. */
struct np_switch {
	uint32_t *fdb;       /**< NP_FDB_ENTRY_WORDS words per entry */
	uint32_t fdb_mask;   /**< entries - 1 (entries: a power of 2) */
	uint32_t *seen;      /**< last-seen time of each table slot, ms modulo 2^32 */
	uint32_t seen_slots; /**< elements of seen */
	uint32_t age_ms;     /**< an entry older than this is unknown */
	struct np_port ports[NP_PORTS];
};

/** Result of np_tx_process(). */
enum np_result {
	NP_DONE = 0,     /**< every available transmit chain forwarded */
	NP_HANDBACK = 1, /**< stopped before a chain JS must serve (the QueueNotify goes to JS) */
};

/**
 * Serves port `port`'s transmitq after a QueueNotify at time `now_ms` (ms
 * of the host's clock, modulo 2^32). Bit p of *notify is set for each port
 * p whose driver wants a used buffer notification (its InterruptStatus bit
 * 0 is set already; the caller sends NOTIFY). Never reads or writes outside
 * the ports' shared regions and the arrays above.
 */
enum np_result np_tx_process(struct np_switch *sw, uint32_t port, uint32_t now_ms, uint32_t *notify);

/**
 * A QueueNotify of port `port`'s receiveq: true if the host answers it
 * (CTRL.RX set: no frame waits for the new buffers), false for JS.
 */
bool np_rx_kick(struct np_switch *sw, uint32_t port);

/**
 * The fdb entry of MAC (hi: bytes 0..1, lo: bytes 2..5), or NULL. Exposed
 * for the tests.
 */
const uint32_t *np_fdb_find(const struct np_switch *sw, uint32_t hi, uint32_t lo);

#endif
