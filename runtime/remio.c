/* SPDX-License-Identifier: Apache-2.0 */
/* The remio request loop (see remio.h); remio ABI: Bao src/core/remio.c, remio-abi.md. */
#include <stdio.h>
#include <string.h>
#include "remio.h"
#include "firmware.h"
#include "arch.h"

/* runtime.h: true when a hypervisor runs below the firmware (no remio hypercall can be made otherwise) */
extern bool host_under_hypervisor;

static struct rm_dm rm_dms[RM_DMS];
/* Slot index + 1 of each backend INTID's and each small DM id's DM (0: none): found without a scan (DMs are never removed). */
static uint8_t rm_by_intid[IRQ_MAX];
#define RM_DM_IDS 64
static uint8_t rm_by_dm[RM_DM_IDS];
_Static_assert(RM_DMS < 256, "rm_by_intid and rm_by_dm hold a slot index + 1 in a byte");
struct np_switch rm_net_switch;
/** Some DM stopped at its bound (see rm_resume). */
static bool rm_any_resume;

/**
 * A request taken and not completed yet, by request id (Bao keeps ids
 * unique while PROCESSING). After a watchdog stop rm_complete_taken()
 * completes them.
 */
struct rm_taken {
	uint32_t dm_plus_1; /**< dm_id + 1; 0: no request open under this id */
	uint32_t op;
	uint64_t addr;
};

static struct rm_taken rm_taken[RM_TRACKED_IDS];

/** A batch record's STATUS word when the loop completed the request before the JS call (src/host.ts RemioReq.STATUS). */
#define RM_REQ_COMPLETED 1u

/** Lines printed for hypercall errors per DM before the loop goes quiet (counted on). */
#define RM_ERROR_LINES 8

void rm_hypercall(uint32_t dm, uint64_t addr, uint64_t op, uint64_t value, uint64_t rid, struct remio_result *r)
{
	uint64_t t0 = arch_timer_ticks();
	hypercall_remio(dm, addr, op, value, rid, r);
	perf_hypercall(op, r->status, r, t0, arch_timer_ticks());
}

struct rm_dm *rm_dm_find(uint32_t dm)
{
	if (dm < RM_DM_IDS)
		return rm_by_dm[dm] ? &rm_dms[rm_by_dm[dm] - 1] : NULL;
	for (int i = 0; i < RM_DMS; i++)
		if (rm_dms[i].used && rm_dms[i].dm == dm)
			return &rm_dms[i];
	return NULL;
}

struct rm_dm *rm_dm_add(uint32_t dm, uint32_t intid)
{
	struct rm_dm *free_slot = NULL;
	for (int i = 0; i < RM_DMS; i++) {
		struct rm_dm *d = &rm_dms[i];
		if (!d->used) {
			if (!free_slot)
				free_slot = d;
			continue;
		}
		if (d->dm == dm)
			return d->intid == intid ? d : NULL;
		if (d->intid == intid)
			return NULL;
	}
	if (!free_slot || intid >= IRQ_MAX)
		return NULL;
	*free_slot = (struct rm_dm){ .used = true, .dm = dm, .intid = intid };
	uint8_t slot = (uint8_t)(free_slot - rm_dms + 1);
	rm_by_intid[intid] = slot;
	if (dm < RM_DM_IDS)
		rm_by_dm[dm] = slot;
	return free_slot;
}

static inline void rm_track(uint32_t dm, const struct remio_result *r)
{
	if (r->request_id < RM_TRACKED_IDS)
		rm_taken[r->request_id] = (struct rm_taken){ dm + 1, (uint32_t)r->op, r->addr };
}

void rm_untrack(uint32_t dm, uint32_t rid)
{
	if (rid < RM_TRACKED_IDS && rm_taken[rid].dm_plus_1 == dm + 1)
		rm_taken[rid].dm_plus_1 = 0;
}

static inline bool rm_tracked(uint32_t dm, uint32_t rid)
{
	return rid < RM_TRACKED_IDS && rm_taken[rid].dm_plus_1 == dm + 1;
}

/** Writes request `r` into record `q` (a WRITE's value masked to its width: Bao reports the whole source register). */
static void rm_record(uint32_t *q, const struct remio_result *r)
{
	uint64_t v = r->value;
	if (r->op == REMIO_OP_WRITE && (r->width == 1 || r->width == 2 || r->width == 4))
		v &= (UINT64_C(1) << (8 * r->width)) - 1;
	q[RQ_ADDR_LO] = (uint32_t)r->addr;
	q[RQ_ADDR_HI] = (uint32_t)(r->addr >> 32);
	q[RQ_OP] = (uint32_t)r->op;
	q[RQ_VALUE_LO] = (uint32_t)v;
	q[RQ_VALUE_HI] = (uint32_t)(v >> 32);
	q[RQ_WIDTH] = (uint32_t)r->width;
	q[RQ_REQUEST_ID] = (uint32_t)r->request_id;
	q[RQ_STATUS] = 0;
}

/** Counts (and, the first few times, prints) a non-zero hypercall status of DM `d`. */
static void rm_error(struct rm_dm *d, uint32_t *counter, const char *what, int64_t status)
{
	if (d->ask_errors + d->completion_errors < RM_ERROR_LINES)
		printf("baojs: remio: dm %u: %s failed with status %lld\n", (unsigned)d->dm, what, (long long)status);
	(*counter)++;
	if (d->blk.st)
		d->blk.st[DP_N_ERRORS]++;
}

/** Completes request `r` of `d` with `value` (0 for a WRITE). */
static inline void rm_answer(struct rm_dm *d, const struct remio_result *r, uint64_t value)
{
	struct remio_result c;
	rm_hypercall(d->dm, r->addr, r->op, value, r->request_id, &c);
	if (c.status != 0)
		rm_error(d, &d->completion_errors, "completion", c.status);
}

void rm_notify_dm(struct rm_dm *d)
{
	struct remio_result nr;
	rm_hypercall(d->dm, 0, REMIO_OP_NOTIFY, 0, 0, &nr);
	if (nr.status != 0)
		rm_error(d, &d->completion_errors, "NOTIFY", nr.status);
}

/**
 * A QueueNotify of virtio-net DM `d` (receiveq 0, transmitq 1): answered
 * when the network plane serves it whole (netplane.h), each frontend it
 * gave used buffers to notified as its driver wants. Returns false (the
 * chain that stopped it untouched) for JS.
 */
static bool rm_net_notify(struct rm_dm *d, const struct remio_result *r)
{
	uint32_t q = (uint32_t)r->value;
	if (q == 0 && np_rx_kick(&rm_net_switch, d->net_port)) {
		rm_answer(d, r, 0);
		return true;
	}
	if (q != 1)
		return false;
	uint32_t notify = 0;
	enum np_result res = np_tx_process(&rm_net_switch, d->net_port, (uint32_t)(timer_now_ns() / 1000000u), &notify);
	if (res == NP_DONE)
		rm_answer(d, r, 0);
	for (uint32_t i = 0; notify; i++, notify >>= 1) {
		struct rm_dm *o = (notify & 1) ? rm_dm_find(rm_net_switch.ports[i].dm) : NULL;
		if (o)
			rm_notify_dm(o);
	}
	return res == NP_DONE;
}

/** The console plane's sink: the UART, as host.writeBytes writes. */
static void rm_console_out(const uint8_t *bytes, size_t len)
{
	uart_write((const char *)bytes, len);
}

/**
 * A QueueNotify of a console's transmitq: its chains written and returned
 * by the console plane, then NOTIFY if the driver wants it. Returns false
 * if the plane handed it back (JS serves it).
 */
static bool rm_console_notify(struct rm_dm *d, const struct remio_result *r)
{
	bool notify = false;
	enum cp_result res = cp_tx_process(d->con, rm_console_out, &notify);
	if (res == CP_DONE)
		rm_answer(d, r, 0);
	if (notify)
		rm_notify_dm(d);
	return res == CP_DONE;
}

/**
 * Answers `r` in C if no JS is needed: the interrupt registers, a read the
 * register shadow holds, a QueueNotify the block data plane serves whole,
 * the network plane forwards whole or the console plane writes whole.
 * Returns false (nothing done) otherwise.
 */
static bool rm_serve_in_c(struct rm_dm *d, const struct remio_result *r)
{
	uint32_t *st = d->blk.st;
	uint64_t off = r->addr - d->window;
	uint64_t v;
	if (r->op == REMIO_OP_READ) {
		if (st && r->width == 4 && off == VIRTIO_MMIO_INTERRUPT_STATUS && (st[DP_CTRL] & DP_CTRL_IRQ_REGS)) {
			st[DP_N_INT_STATUS_READS]++;
			rm_answer(d, r, st[DP_INT_STATUS]);
			return true;
		}
		if (rs_read(&d->shadow, off, (uint32_t)r->width, &v)) {
			rm_answer(d, r, v);
			return true;
		}
		return false;
	}
	if (!st || r->op != REMIO_OP_WRITE || r->width != 4)
		return false;
	if (off == VIRTIO_MMIO_INTERRUPT_ACK && (st[DP_CTRL] & DP_CTRL_IRQ_REGS)) {
		st[DP_N_INT_ACKS]++;
		st[DP_INT_STATUS] &= ~(uint32_t)r->value;
		rm_answer(d, r, 0);
		return true;
	}
	/* the network plane follows the data plane's switch (Ctrl-] d turns both off) */
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY && d->net && (st[DP_CTRL] & DP_CTRL_IRQ_REGS))
		return rm_net_notify(d, r);
	/* the console plane follows the data plane's switch too; transmitq is queue 1 (virtio 1.2 5.3.2) */
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY && (uint32_t)r->value == 1 && d->con && (st[DP_CTRL] & DP_CTRL_IRQ_REGS) &&
	    (d->con->st[CP_CTRL] & CP_CTRL_TX))
		return rm_console_notify(d, r);
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY && (uint32_t)r->value == 0 && (st[DP_CTRL] & DP_CTRL_QUEUE) && (d->blk.disk || d->pt)) {
		bool notify = false;
		/* a RAM disk: served whole here; a range of a physical disk: placed on it, answered from its interrupt */
		enum dp_result res = d->pt ? (enum dp_result)pt_blk_process(d) : dp_blk_process(&d->blk, &notify);
		if (res == DP_DONE) {
			st[DP_N_KICKS]++;
			rm_answer(d, r, 0);
		}
		if (notify)
			rm_notify_dm(d);
		/* handed back: the chain stays in the queue, JS gets the QueueNotify itself */
		return res == DP_DONE;
	}
	return false;
}

/** True for a WRITE to the QueueNotify register of `d`'s virtio-mmio window. */
static inline bool rm_is_queue_notify(const struct rm_dm *d, const struct remio_result *r)
{
	return d->blk.st && r->op == REMIO_OP_WRITE && r->width == 4 && r->addr - d->window == VIRTIO_MMIO_QUEUE_NOTIFY;
}

/**
 * Answers `r` through the DM's direct client (host.remioDirect) if it is an
 * aligned 4-byte READ or WRITE in its range: one JS call (two for a write
 * with deferred work) instead of a batch. A QueueNotify is completed before
 * the call, as for a batch; anything else after it. Then NOTIFY if the
 * client raised the DM's interrupt meanwhile. Returns false (nothing done)
 * for any other request.
 */
static bool rm_serve_direct(struct rm_dm *d, const struct remio_result *r)
{
	if (r->width != 4 || (r->addr & 3) || r->addr - d->direct_base >= d->direct_size ||
	    (r->op != REMIO_OP_READ && r->op != REMIO_OP_WRITE))
		return false;
	uint32_t *s = d->direct_state;
	s[RD_REQUESTS]++;
	s[r->op == REMIO_OP_READ ? RD_READS : RD_WRITES]++;
	if (rm_is_queue_notify(d, r)) {
		rm_answer(d, r, 0); /* returns nothing: the vCPU resumes while JS serves the queue */
		rm_call_direct(d, RM_DIRECT_QUEUE_NOTIFY, r->addr, (uint32_t)r->value);
	} else {
		/* tracked while JS runs, as a batch's are: after a watchdog stop the clean-up completes it (and says so) */
		rm_track(d->dm, r);
		uint32_t v = rm_call_direct(d, r->op == REMIO_OP_WRITE ? RM_DIRECT_WRITE : RM_DIRECT_READ, r->addr, (uint32_t)r->value);
		if (rm_tracked(d->dm, (uint32_t)r->request_id)) {
			rm_untrack(d->dm, (uint32_t)r->request_id);
			rm_answer(d, r, r->op == REMIO_OP_READ ? v : 0);
		}
	}
	if (s[RD_NOTIFY]) {
		s[RD_NOTIFY] = 0;
		s[RD_NOTIFIES]++;
		rm_notify_dm(d);
	}
	return true;
}

/**
 * Hands the first `n` records of the batch to JS and completes those it
 * did not complete already (a READ with the value JS wrote), then sends
 * NOTIFY if JS asked for it.
 */
static void rm_flush(struct rm_dm *d, uint32_t n)
{
	int flags = rm_call_js(d, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t *q = d->reqs + i * REMIO_REQ_WORDS;
		uint32_t rid = q[RQ_REQUEST_ID];
		/*
		 * completed before the call (a QueueNotify: its id may already name a
		 * later request of this batch, Bao reuses a free id at once), or by
		 * the watchdog's clean-up
		 */
		if (q[RQ_STATUS] == RM_REQ_COMPLETED || !rm_tracked(d->dm, rid))
			continue;
		rm_untrack(d->dm, rid);
		struct remio_result r = { .addr = (uint64_t)q[RQ_ADDR_HI] << 32 | q[RQ_ADDR_LO], .op = q[RQ_OP], .request_id = rid };
		uint64_t v = r.op == REMIO_OP_READ && flags >= 0 ? (uint64_t)q[RQ_VALUE_HI] << 32 | q[RQ_VALUE_LO] : 0;
		rm_answer(d, &r, v);
	}
	if (flags > 0 && (flags & RM_CALL_NOTIFY))
		rm_notify_dm(d);
}

bool rm_console_rx(void)
{
	struct rm_dm *d = NULL;
	for (int i = 0; i < RM_DMS && !d; i++) {
		struct rm_dm *o = &rm_dms[i];
		if (o->used && o->con && (o->con->st[CP_CTRL] & CP_CTRL_RX) && o->blk.st && (o->blk.st[DP_CTRL] & DP_CTRL_IRQ_REGS))
			d = o;
	}
	/* a Ctrl-] last read by JS: it waits for the command byte */
	if (!d || console_last_read == CONSOLE_ESCAPE)
		return false;
	uint8_t buf[64];
	bool all = true;
	for (;;) {
		size_t n = console_peek(buf, sizeof buf);
		if (n == 0 || memchr(buf, CONSOLE_ESCAPE, n)) {
			all = n == 0;
			break;
		}
		bool notify = false;
		uint32_t took = cp_rx_deliver(d->con, buf, (uint32_t)n, &notify);
		console_consume(took);
		if (notify)
			rm_notify_dm(d);
		if (took < n) {
			all = false;
			break;
		}
	}
	return all;
}

bool rm_service(uint32_t intid)
{
	struct rm_dm *d = intid < IRQ_MAX && rm_by_intid[intid] ? &rm_dms[rm_by_intid[intid] - 1] : NULL;
	if (!d || !d->reqs || !host_under_hypervisor)
		return false;
	uint32_t n = 0;
	int k;
	for (k = 0; k < RM_BOUND; k++) {
		struct remio_result r;
		rm_hypercall(d->dm, 0, REMIO_OP_ASK, 0, 0, &r);
		if (r.status != 0) {
			if (r.status != REMIO_STATUS_EMPTY)
				rm_error(d, &d->ask_errors, "ASK", r.status);
			break;
		}
		/* in order: nothing is answered in C while an earlier request waits for JS */
		if (n == 0 && (rm_serve_in_c(d, &r) || (d->direct_size && rm_serve_direct(d, &r)))) {
			if (!r.more)
				break; /* see below */
			continue;
		}
		uint32_t *q = d->reqs + n * REMIO_REQ_WORDS;
		rm_record(q, &r);
		if (rm_is_queue_notify(d, &r)) {
			rm_answer(d, &r, 0); /* returns nothing: the vCPU resumes while JS serves the queue */
			q[RQ_STATUS] = RM_REQ_COMPLETED;
		} else {
			rm_track(d->dm, &r);
		}
		if (++n == d->records) {
			rm_flush(d, n);
			n = 0;
		}
		/*
		 * Nothing else was pending when Bao handed this one over: a later
		 * request raises the DM's interrupt again (Bao src/core/remio.c
		 * injects the backend interrupt for every request it queues, after
		 * queueing it), so the empty ASK that would end the loop is saved.
		 */
		if (!r.more)
			break;
	}
	if (n)
		rm_flush(d, n);
	if (k == RM_BOUND) {
		d->resume = true; /* more may be pending: after the others had their turn */
		rm_any_resume = true;
	}
	return true;
}

void rm_resume(void)
{
	if (!rm_any_resume)
		return;
	rm_any_resume = false;
	for (int i = 0; i < RM_DMS; i++) {
		if (rm_dms[i].used && rm_dms[i].resume) {
			rm_dms[i].resume = false;
			irq_set_pending(rm_dms[i].intid);
		}
	}
}

uint32_t rm_take(uint32_t dm, uint32_t *w, uint32_t max, int64_t *end)
{
	uint32_t n = 0;
	*end = 0; /* 0: stopped at the bound */
	while (n < max) {
		struct remio_result r;
		rm_hypercall(dm, 0, REMIO_OP_ASK, 0, 0, &r);
		if (r.status != 0) {
			*end = r.status;
			break;
		}
		rm_record(w + n * REMIO_REQ_WORDS, &r);
		rm_track(dm, &r);
		n++;
	}
	return n;
}

uint32_t rm_complete(uint32_t dm, uint32_t *w, uint32_t count)
{
	uint32_t failed = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t *q = w + i * REMIO_REQ_WORDS;
		uint64_t op = q[RQ_OP];
		uint64_t addr = (uint64_t)q[RQ_ADDR_HI] << 32 | q[RQ_ADDR_LO];
		uint64_t v = op == REMIO_OP_READ ? (uint64_t)q[RQ_VALUE_HI] << 32 | q[RQ_VALUE_LO] : 0;
		struct remio_result r;
		rm_hypercall(dm, addr, op, v, q[RQ_REQUEST_ID], &r);
		rm_untrack(dm, q[RQ_REQUEST_ID]);
		q[RQ_STATUS] = (uint32_t)(int32_t)r.status;
		if (r.status != 0)
			failed++;
	}
	return failed;
}

unsigned rm_complete_taken(void)
{
	unsigned n = 0;
	for (uint32_t id = 0; id < RM_TRACKED_IDS; id++) {
		struct rm_taken *t = &rm_taken[id];
		if (!t->dm_plus_1)
			continue;
		struct remio_result r;
		/* echo the op: a READ gets 0, a WRITE is completed without effect */
		rm_hypercall(t->dm_plus_1 - 1, t->addr, t->op, 0, id, &r);
		t->dm_plus_1 = 0;
		n++;
	}
	return n;
}
