/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/remio.c (the remio request loop) on the host for
 * test/native/remio.test.ts, against a simulated hypervisor and a
 * simulated JS batch handler. Reads scenarios from stdin until EOF, each
 * (u32 words): the number of requests, then per request: window offset,
 * op, value, width, (unused); the batch's records; data-plane flags
 * (bit 0: the interrupt registers in C, bit 1: a register shadow holding
 * Status = 0xf, bit 2: a direct range over the window's first 0x100
 * bytes); InterruptStatus; the ASK that fails (index, or ~0) and
 * its status; the number of JS calls scripted, then per call: mode (0
 * answer, 1 throw, 2 watchdog stop) | NOTIFY wanted << 8.
 * Request ids are the lowest free, as Bao gives them: an id completed
 * early comes back within the same batch.
 * Serves the scenario's DM with one rm_service() and rm_resume(), then
 * writes a log of u32 words: [1 rid op value] a completion accepted,
 * [2 rid] a completion refused (not PROCESSING), [3] NOTIFY, [4 n rid…]
 * a JS call with its records, [5] the ASK that ended the loop, [6 intid]
 * an interrupt marked pending again; [9 kind offset value] a direct call (kind: enum rm_direct_kind)
 * (rm_call_direct, which follows the same scripted modes; a READ it
 * answers gets 0x2000 + offset); [7] when rm_service() served the
 * interrupt ([8] when not), then with a direct range [10 requests reads
 * writes notifies] its counters, then [0] at the end.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "harness_io.h"
#include "remio.h"
#include "firmware.h"

#define DM 1
#define INTID 40
#define WINDOW 0x0a000000u
#define MAX_REQ 1024

bool host_under_hypervisor = true;

struct req { uint32_t off, op, value, width, rid; };
static struct req reqs[MAX_REQ];
static uint32_t nreq, next_ask, asks, ask_error_at;
static int32_t ask_error_status;
static bool processing[256];
static uint32_t modes[64], nmodes, calls;

static void put(uint32_t v)
{
	write_all(&v, 4);
}

uint64_t timer_ticks(void)
{
	return 0;
}

uint64_t timer_now_ns(void)
{
	return 0;
}

void perf_hypercall(uint64_t op, int64_t status, const struct remio_result *r, uint64_t t0, uint64_t t1)
{
	(void)op, (void)status, (void)r, (void)t0, (void)t1;
}

void irq_set_pending(uint32_t intid)
{
	put(6);
	put(intid);
}

void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value, uint64_t rid, struct remio_result *out)
{
	memset(out, 0, sizeof *out);
	if (dm_id != DM) {
		out->status = -3;
		return;
	}
	if (op == 2) { /* ASK */
		if (asks++ == ask_error_at) {
			out->status = ask_error_status;
			put(5);
			return;
		}
		if (next_ask == nreq) {
			out->status = 1;
			put(5);
			return;
		}
		struct req *q = &reqs[next_ask++];
		/* the id: the lowest one free, as Bao and the test monitor give them (a completed id comes back at once) */
		uint32_t rid = 0;
		while (rid < 255 && processing[rid])
			rid++;
		processing[rid] = true;
		*out = (struct remio_result){ 0, WINDOW + q->off, q->op, q->value, q->width, rid, next_ask < nreq };
		return;
	}
	if (op == 3) { /* NOTIFY */
		put(3);
		return;
	}
	if (rid < 256 && processing[rid]) {
		processing[rid] = false;
		put(1);
		put((uint32_t)rid);
		put((uint32_t)op);
		put((uint32_t)value);
		(void)addr;
		return;
	}
	put(2);
	put((uint32_t)rid);
	out->status = -1;
}

int rm_call_js(struct rm_dm *d, uint32_t count)
{
	put(4);
	put(count);
	for (uint32_t i = 0; i < count; i++)
		put(d->reqs[i * REMIO_REQ_WORDS + RQ_REQUEST_ID]);
	uint32_t m = calls < nmodes ? modes[calls] : 0;
	calls++;
	if ((m & 0xff) == 1)
		return -1;
	if ((m & 0xff) == 2) {
		rm_complete_taken(); /* what the runtime does after a watchdog stop */
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t *q = d->reqs + i * REMIO_REQ_WORDS;
		if (q[RQ_OP] == 1) {
			q[RQ_VALUE_LO] = 0x1000 + q[RQ_REQUEST_ID];
			q[RQ_VALUE_HI] = 0;
		}
	}
	return (m >> 8) & 1 ? RM_CALL_NOTIFY : 0;
}

uint32_t rm_call_direct(struct rm_dm *d, enum rm_direct_kind kind, uint64_t addr, uint32_t value)
{
	bool write = kind != RM_DIRECT_READ;
	put(9);
	put(kind);
	put((uint32_t)(addr - WINDOW));
	put(value);
	uint32_t m = calls < nmodes ? modes[calls] : 0;
	calls++;
	if ((m & 0xff) == 1)
		return 0; /* the client threw: host.c hands it to the fault function */
	if ((m & 0xff) == 2) {
		rm_complete_taken(); /* what the runtime does after a watchdog stop */
		return 0;
	}
	if ((m >> 8) & 1)
		d->direct_state[RD_NOTIFY] = 1;
	return write ? 0 : 0x2000 + (uint32_t)(addr - WINDOW);
}

int main(void)
{
	static uint32_t batch[1024 * REMIO_REQ_WORDS];
	for (;;) {
		if (!read_all(&nreq, 4))
			return 0;
		if (nreq > MAX_REQ)
			return 2;
		for (uint32_t i = 0; i < nreq; i++)
			if (!read_all(&reqs[i], sizeof reqs[i]))
				return 2;
		uint32_t w[5];
		if (!read_all(w, sizeof w) || !read_all(&nmodes, 4) || nmodes > 64 || !read_all(modes, 4 * nmodes) || w[0] == 0 || w[0] > 1024)
			return 2;
		uint32_t records = w[0], flags = w[1];
		ask_error_at = w[3];
		ask_error_status = (int32_t)w[4];
		next_ask = asks = calls = 0;
		memset(processing, 0, sizeof processing);
		struct rm_dm *d = rm_dm_add(DM, INTID);
		if (!d)
			return 3;
		static uint32_t st[DP_WORDS], shadow[RS_WORDS];
		static uint8_t config[8];
		memset(st, 0, sizeof st);
		memset(shadow, 0, sizeof shadow);
		st[DP_WINDOW_LO] = WINDOW;
		st[DP_CTRL] = flags & 1 ? DP_CTRL_IRQ_REGS : 0;
		st[DP_INT_STATUS] = w[2];
		shadow[RS_CTRL] = flags & 2 ? RS_CTRL_VALID : 0;
		shadow[RS_READABLE_LO] = 1u << (VIRTIO_MMIO_STATUS / 4);
		shadow[RS_REGS + VIRTIO_MMIO_STATUS / 4] = 0xf;
		d->reqs = batch;
		d->records = records;
		d->blk = (struct dp_blk){ .st = st };
		d->window = WINDOW;
		d->shadow = (struct rs_shadow){ .w = shadow, .config = config, .config_size = sizeof config };
		static uint32_t direct[RD_WORDS];
		memset(direct, 0, sizeof direct);
		d->direct_state = direct;
		d->direct_base = WINDOW;
		d->direct_size = flags & 4 ? 0x100 : 0;
		put(rm_service(INTID) ? 7 : 8);
		rm_resume();
		if (flags & 4) {
			put(10);
			put(direct[RD_REQUESTS]);
			put(direct[RD_READS]);
			put(direct[RD_WRITES]);
			put(direct[RD_NOTIFIES]);
		}
		put(0);
		fflush(stdout);
	}
}

/* the disk plane (diskplane.c, linked with remio.c) is not used by these scenarios: no disk is registered */
uint32_t pt_mmio_read32(uint64_t addr)
{
	(void)addr;
	exit(9);
}

void pt_mmio_write32(uint64_t addr, uint32_t value)
{
	(void)addr, (void)value;
	exit(9);
}

void pt_irq_unmask(uint32_t intid)
{
	(void)intid;
	exit(9);
}
