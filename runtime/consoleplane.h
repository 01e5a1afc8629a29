/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console plane: what a frontend prints on its virtio console written
 * to the UART in C, without calling JS — the console counterpart of the
 * block data plane (dataplane.h) and the network plane (netplane.h).
 *
 * The TypeScript device (src/devices/console.ts) stays the whole device:
 * registers, negotiation, receiveq, emergency writes, every buffer it
 * skips with a log line, and the console bridge (src/console-bridge.ts)
 * that decides where a console's output goes. It arms the plane through
 * the CTRL word of a shared state array (layout: enum cp_word of abi.h,
 * generated from `ConsolePortWord` in src/host.ts) while its transmitq is
 * live, served by the C virtqueue, idle in JS, and the console is the one
 * bridged to the UART. On a QueueNotify of transmitq (queue 1) the plane
 * serves every well-formed chain whose device-readable buffers all lie
 * inside the shared region: their bytes to the sink in chain order (empty
 * buffers skipped, device-writable ones ignored, as ConsoleDevice does),
 * the chain back with used length 0 (virtio 1.2 5.3.6.1). At the first
 * other chain — malformed, too long, or with a buffer outside the region —
 * it stops before it (nothing of it consumed) and the QueueNotify goes to
 * JS, which serves it exactly as without the plane (the log line, the
 * error count).
 *
 * Typed bytes (cp_rx_deliver) go straight into receiveq's buffers the same
 * way while CTRL.RX is set: the device is live, no input waits in its FIFO
 * (the bytes would overtake it) and the console is bridged; the remio loop
 * hands JS every byte it does not place, and every read that holds a
 * Ctrl-] or follows one (a command to the backend, src/main.ts).
 *
 * Pure C over byte arrays and a sink function: no hypercalls, no QuickJS,
 * so that the host's compiler can test it against the TypeScript device
 * (test/native/consoleplane.test.ts).
 */
#ifndef BAOJS_CONSOLEPLANE_H
#define BAOJS_CONSOLEPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "abi.h"
#include "virtqueue.h"

/* enum cp_word, CP_STATE_WORDS and the CP_CTRL_* bits: abi.h (scripts/gen-abi.ts). */

/** Where the plane writes the bytes: the UART in the firmware. */
typedef void (*cp_sink)(const uint8_t *bytes, size_t len);

/** One console's plane. */
struct cp_port {
	uint32_t *st;  /**< CP_STATE_WORDS words */
	uint32_t *irq; /**< the DM's data plane words: DP_INT_STATUS gets the used buffer bit */
	struct vq rx;  /**< receiveq (its QueueWord state words, the shared region) */
	struct vq tx;  /**< transmitq */
};

/** Result of cp_tx_process(). */
enum cp_result {
	CP_DONE = 0,     /**< every available chain written and returned */
	CP_HANDBACK = 1, /**< stopped before a chain JS must serve (the QueueNotify goes to JS) */
};

/**
 * Serves transmitq after a QueueNotify while CTRL.TX is set (else hands
 * back at once). Sets *notify when the driver wants a used buffer
 * notification (2.7.7; DP_INT_STATUS then has bit 0 set and the caller
 * sends NOTIFY). Never reads outside the shared region.
 */
enum cp_result cp_tx_process(struct cp_port *p, cp_sink out, bool *notify);

/**
 * Puts typed bytes[0, n) into receiveq's buffers while CTRL.RX is set, as
 * ConsoleDevice.input does when its FIFO is empty: chain by chain, each
 * non-empty device-writable buffer filled in order, the chain returned with
 * the bytes it got. Stops when the bytes or the chains run out, or before a
 * chain ConsoleDevice would treat otherwise (malformed, too long, a buffer
 * it would fill outside the shared region, no byte to take). Returns the
 * bytes placed; sets *notify as cp_tx_process() does.
 */
uint32_t cp_rx_deliver(struct cp_port *p, const uint8_t *bytes, uint32_t n, bool *notify);

#endif
