/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request cost counters of the backend, in generic-timer ticks
 * (CNTVCT_EL0 at CNTFRQ_EL0 Hz; under QEMU `-icount shift=0` one ns of
 * guest time is one guest instruction, and QEMU's counter runs at 62.5 MHz,
 * so a tick is 16 instructions).
 *
 * A service window runs from the IRQ handler's entry for a device model's
 * INTID to the end of the main loop's work for it (the C data plane, then
 * the JS call if one is needed), or to the start of its first NOTIFY
 * hypercall if it makes one: QEMU's icount clock
 * is global, and once NOTIFY raises the frontend's interrupt QEMU runs the
 * frontend's vCPU, whose instructions the counter would then include (before
 * that, the frontend's vCPU only waits for the completion). Within it
 * host.remioBatch(), host.remioComplete() and host.remio() report every
 * hypercall: its duration (trap to EL2, the hypervisor's work, return), the
 * requests ASK hands out and the first completion (with the batch, after the
 * ASK that found the queue empty). A window that served exactly one request is added to the
 * bucket of that request's kind (register read, register write,
 * QueueNotify); others are counted as batched. The counters cost about
 * 300 instructions per window with its hypercalls (`npm run profile`:
 * perf_window_begin/end, perf_hypercall and their counter reads).
 */
#include "firmware.h"
#include "platform.h"
#include "abi.h"
#include "arch.h"


struct perf_window {
	bool open;
	uint32_t intid;
	uint64_t irq, completed, notified;
	uint64_t js, js_start, js_hyp;
	uint64_t hyp, hypercalls, requests;
	enum perf_kind kind;
};

static uint64_t perf_irq_ticks[IRQ_MAX];
/** When the backend last finished a piece of work (a window, a call into JS): an interrupt taken while it was busy is charged from then */
static uint64_t perf_last_end;

void perf_work_done(void)
{
	perf_last_end = arch_timer_ticks();
}
static struct perf_window win;
static struct perf_dm perf_dms[PERF_DMS];
static uint64_t perf_first_served;

/** Index + 1 of each INTID's slot in perf_dms (0: none yet), so that a window's end finds it without a scan. */
static uint8_t perf_dm_index[IRQ_MAX];
_Static_assert(PERF_DMS < 256, "perf_dm_index holds a slot index + 1 in a byte");

struct perf_dm *perf_dm_for(uint32_t intid)
{
	return intid < IRQ_MAX && perf_dm_index[intid] ? &perf_dms[perf_dm_index[intid] - 1] : NULL;
}

static struct perf_dm *perf_dm_slot(uint32_t intid)
{
	struct perf_dm *d = perf_dm_for(intid);
	for (int i = 0; !d && intid < IRQ_MAX && i < PERF_DMS; i++) {
		if (!perf_dms[i].used) {
			d = &perf_dms[i];
			d->used = true;
			d->intid = intid;
			perf_dm_index[intid] = (uint8_t)(i + 1);
		}
	}
	return d;
}

uint64_t perf_first_served_ticks(void)
{
	return perf_first_served;
}

void perf_irq(uint32_t intid, uint64_t now)
{
	if (intid < IRQ_MAX && !perf_irq_ticks[intid])
		perf_irq_ticks[intid] = now;
}

void perf_window_begin(uint32_t intid)
{
	uint64_t now = arch_timer_ticks();
	/* field by field: a struct assignment here became a memset call */
	win.open = true;
	win.intid = intid;
	win.completed = win.notified = 0;
	win.js = win.js_start = win.js_hyp = 0;
	win.hyp = win.hypercalls = win.requests = 0;
	win.kind = PERF_READ;
	win.irq = intid < IRQ_MAX && perf_irq_ticks[intid] ? perf_irq_ticks[intid] : now;
	/*
	 * Taken while the backend was still busy with other work (an earlier
	 * window: the frontend's vCPU runs on as soon as its request is
	 * completed, e.g. a QueueNotify completed before its queue is served;
	 * the console's input; a timer): that work is not this window's.
	 */
	if (win.irq < perf_last_end)
		win.irq = perf_last_end;
	if (intid < IRQ_MAX)
		perf_irq_ticks[intid] = 0;
}

/** Slots of perf_classify's cache of write addresses (a power of 2). */
#define PERF_CLASS_SLOTS 16

/**
 * The kind of the request at `addr` with `op`: a QueueNotify, another write,
 * or a read. A write's kind is looked up in the platform's devices once per
 * address and then found in a small direct-mapped cache: a frontend writes
 * a few registers (QueueNotify, InterruptACK) over and over.
 */
static enum perf_kind perf_classify(uint64_t addr, uint64_t op)
{
	static const struct {
		const char *name;
		uint64_t id, dm, key, win, win_size, backend_intid, frontend_intid, shmem_id, shmem_base, shmem_size, frontend;
	} devs[] = { PLAT_DEVICES };
	/* addr + 1: 0 marks an empty slot */
	static uint64_t cached_addr[PERF_CLASS_SLOTS];
	static uint8_t cached_kind[PERF_CLASS_SLOTS];
	if (op == REMIO_OP_READ)
		return PERF_READ;
	size_t slot = (size_t)(addr >> 2) & (PERF_CLASS_SLOTS - 1);
	if (cached_addr[slot] == addr + 1)
		return (enum perf_kind)cached_kind[slot];
	enum perf_kind kind = PERF_WRITE;
	for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
		if (addr == devs[i].win + VIRTIO_MMIO_QUEUE_NOTIFY)
			kind = PERF_NOTIFY;
	cached_addr[slot] = addr + 1;
	cached_kind[slot] = (uint8_t)kind;
	return kind;
}

void perf_hypercall(uint64_t op, int64_t status, const struct remio_result *r, uint64_t t0, uint64_t t1)
{
	if (!win.open || win.notified)
		return;
	if (op == REMIO_OP_NOTIFY) {
		win.notified = t0;
		return;
	}
	win.hyp += t1 - t0;
	if (win.js_start)
		win.js_hyp += t1 - t0;
	win.hypercalls++;
	if (status != 0)
		return;
	if (op == REMIO_OP_ASK) {
		if (win.requests++ == 0)
			win.kind = perf_classify(r->addr, r->op);
	} else if ((op == REMIO_OP_READ || op == REMIO_OP_WRITE) && !win.completed) {
		win.completed = t1;
	}
}

void perf_js(bool begin)
{
	if (!win.open)
		return;
	uint64_t now = arch_timer_ticks();
	if (begin) {
		win.js_start = now;
	} else if (win.js_start) {
		/* up to the first NOTIFY: the window ends there */
		win.js += (win.notified && win.notified < now ? win.notified : now) - win.js_start;
		win.js_start = 0;
	}
}

void perf_window_end(void)
{
	if (!win.open)
		return;
	uint64_t now = arch_timer_ticks();
	uint64_t end = win.notified ? win.notified : now;
	win.open = false;
	perf_last_end = now;
	if (win.requests && !perf_first_served)
		perf_first_served = win.completed ? win.completed : end;
	struct perf_dm *d = perf_dm_slot(win.intid);
	if (!d)
		return;
	d->windows++;
	d->window_ticks += end - win.irq;
	if (win.requests != 1 || !win.completed) {
		d->batched_windows++;
		d->batched_requests += win.requests;
		return;
	}
	uint64_t *k = d->k[win.kind];
	/* time in JS, less the hypercalls it made (the C data plane's are C) */
	uint64_t js = win.js > win.js_hyp ? win.js - win.js_hyp : 0;
	k[PERF_COUNT]++;
	k[PERF_TO_COMPLETION] += win.completed - win.irq;
	k[PERF_TOTAL] += end - win.irq;
	k[PERF_JS] += js;
	k[PERF_HYP] += win.hyp;
	k[PERF_C] += (end - win.irq) - js - win.hyp;
	k[PERF_HYPERCALLS] += win.hypercalls;
}
