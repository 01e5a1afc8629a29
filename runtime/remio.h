/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The remio request loop: the C half of every request's path.
 *
 * For each device model (DM) it serves, the main loop calls rm_service() on
 * the DM's backend interrupt. It takes the DM's requests with remio ASK
 * (Bao `src/core/remio.c`, remio-abi.md) until Bao answers EMPTY or says,
 * with a request, that no other was pending (more-pending 0: Bao raises
 * the interrupt again for each request it queues later), and:
 *  - answers in C what needs no JS: InterruptStatus reads and InterruptACK
 *    writes (virtio 1.2 4.2.2) from the shared InterruptStatus word,
 *    register reads without side effects from the transport's register
 *    shadow (regshadow.h), QueueNotify of a blk queue the block data plane
 *    serves (dataplane.h) or places on a physical disk (diskplane.h),
 *    QueueNotify of a virtio-net port whose frames the network plane
 *    forwards (netplane.h);
 *  - collects every other request, in order, into the DM's batch (records
 *    of REMIO_REQ_WORDS words, enum remio_req of abi.h: RQ_ADDR_LO ...) and hands the batch
 *    to JS in one call (rm_call_js(), implemented by the `host` binding),
 *    then completes each request with the value JS wrote (a READ) or none
 *    (a WRITE), and sends NOTIFY if JS asked for one.
 * Order: once a request of a batch waits for JS, every later request of
 * that pass goes to JS too, so requests are answered in the order Bao gave
 * them. A WRITE to QueueNotify is completed before JS runs (the frontend
 * vCPU resumes while the queue is served, as the Linux Bao I/O dispatcher's
 * fast path does): it returns nothing and changes no register a later read
 * could see before JS has run.
 *
 * Every request taken and not completed is tracked by request id, so that
 * after a watchdog stop of the JS call rm_complete_taken() completes it
 * (a READ with 0, a WRITE without effect) and no frontend vCPU stays parked.
 *
 * Bounded: at most RM_BOUND requests per rm_service(); a DM that reached
 * the bound is served again after the other interrupts (rm_resume()).
 */
#ifndef BAOJS_REMIO_H
#define BAOJS_REMIO_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"
#include "dataplane.h"
#include "diskplane.h"
#include "netplane.h"
#include "consoleplane.h"
#include "regshadow.h"

struct remio_result;

/** Most device models the loop serves. */
#define RM_DMS 16
/** Most requests one rm_service() takes before it yields to the main loop. */
#define RM_BOUND 256
/** Request ids below this are tracked (Bao's ids travel in 8-bit fields: remio-abi.md). */
#define RM_TRACKED_IDS 256

/** One device model the loop serves. */
struct rm_dm {
	bool used;
	uint32_t dm;      /**< Bao's dm_id */
	uint32_t intid;   /**< the DM's backend interrupt */
	uint32_t *reqs;   /**< the JS batch: `records` records of REMIO_REQ_WORDS words */
	uint32_t records;
	/** the block data plane and interrupt registers (st == NULL: none registered) */
	struct dp_blk blk;
	uint64_t window;  /**< guest-physical base of the virtio-mmio window (with blk.st) */
	struct pt_disk *pt; /**< the physical disk queue 0 is placed on (diskplane.h; with blk.st, blk.disk NULL) */
	struct rs_shadow shadow; /**< the transport's register shadow (w == NULL: none) */
	struct np_port *net; /**< the DM's port of the network plane (netplane.h; with blk.st), or NULL */
	uint32_t net_port;   /**< its index in rm_net_switch.ports */
	struct cp_port *con; /**< the DM's console plane (consoleplane.h; with blk.st), or NULL */
	/** host.remioDirect's range: its 4-byte accesses call the JS client itself (size 0: none) */
	uint64_t direct_base, direct_size;
	uint32_t *direct_state; /**< its RD_WORDS state words (abi.h rd_word), shared with the dispatcher */
	bool resume;      /**< stopped at RM_BOUND: serve again after the other interrupts */
	uint32_t ask_errors, completion_errors; /**< non-zero statuses other than an ending EMPTY */
	void *binding;    /**< the `host` binding's own record of this DM (its JS values) */
};

/**
 * Calls the DM's JS batch handler with the first `count` records of
 * d->reqs (implemented by the `host` binding, runtime/host.c). Returns
 * RM_CALL_* bits (abi.h, from `RemioServeResult` in src/host.ts), or -1 if the call threw or was stopped by the watchdog.
 */
int rm_call_js(struct rm_dm *d, uint32_t count);

/** What rm_call_direct() hands the direct client: a load, a store, or a store to QueueNotify. */
enum rm_direct_kind {
	RM_DIRECT_READ,
	RM_DIRECT_WRITE,
	/** a WRITE to the QueueNotify register of the DM's virtio-mmio window (already completed) */
	RM_DIRECT_QUEUE_NOTIFY,
};

/**
 * Calls the DM's direct client (host.remioDirect, runtime/host.c) for one
 * 4-byte access at guest-physical `addr`: `read(addr, 4, hi)`, or
 * `write(addr, 4, value, 0)` and `afterComplete()` if that returned true
 * (for RM_DIRECT_QUEUE_NOTIFY, `queueNotified(value)` instead if the
 * client has it: the two in one call), with direct_state[RD_IN_SERVICE]
 * set around the calls. An exception goes to the client's fault function.
 * Returns the value read (0 after an exception; 0 for a write).
 */
uint32_t rm_call_direct(struct rm_dm *d, enum rm_direct_kind kind, uint64_t addr, uint32_t value);

/** The network plane's view of the switch (netplane.h), filled by the `host` binding (host.netSwitch, host.netPort). */
extern struct np_switch rm_net_switch;

/** The DM with dm_id `dm`, or NULL. */
struct rm_dm *rm_dm_find(uint32_t dm);
/**
 * The DM with dm_id `dm` and interrupt `intid`, added if new. NULL if the
 * table is full, or if `dm` is known with another interrupt or `intid`
 * belongs to another DM.
 */
struct rm_dm *rm_dm_add(uint32_t dm, uint32_t intid);

/**
 * Serves DM `intid`'s pending requests (see the file comment). Returns
 * false if no DM with a JS batch handler has that interrupt: the main loop
 * then calls host.onIrq's handler.
 */
bool rm_service(uint32_t intid);

/**
 * The UART's interrupt: typed bytes into the bridged console's receive
 * buffers by its console plane (cp_rx_deliver) while it may take them and
 * they hold no Ctrl-] and follow none. Returns true when no byte is left
 * for JS (host.consoleRead), false when JS must read the UART.
 */
bool rm_console_rx(void);
/** Sends DM `d` a used buffer notification (remio NOTIFY), counting a failure. */
void rm_notify_dm(struct rm_dm *d);
/** Marks pending again the interrupts of DMs that stopped at RM_BOUND (end of a main-loop pass). */
void rm_resume(void);

/**
 * One remio hypercall of DM `dm`, reported to the request counters
 * (firmware perf.c) with its duration; `r` gets Bao's answer.
 */
void rm_hypercall(uint32_t dm, uint64_t addr, uint64_t op, uint64_t value, uint64_t rid, struct remio_result *r);

/**
 * Takes up to `max` requests of DM `dm` into `w` (records, a WRITE's value
 * masked to its width) for JS (host.remioBatch): ASK until EMPTY, another
 * status or the bound. *end gets the ASK status that ended it, 0 at the
 * bound. Returns the number taken. Each is tracked until completed.
 */
uint32_t rm_take(uint32_t dm, uint32_t *w, uint32_t max, int64_t *end);
/**
 * Completes records `0..count-1` of `w` for DM `dm` (host.remioComplete):
 * a READ with its VALUE words, other ops with 0; each status into the
 * record's STATUS word. Returns how many statuses were non-zero.
 */
uint32_t rm_complete(uint32_t dm, uint32_t *w, uint32_t count);
/** Forgets request `rid` of DM `dm` as completed by another path (host.remio). */
void rm_untrack(uint32_t dm, uint32_t rid);
/**
 * Completes every tracked request (a READ with 0, a WRITE without effect),
 * after a watchdog stop. Returns how many.
 */
unsigned rm_complete_taken(void);

#endif
