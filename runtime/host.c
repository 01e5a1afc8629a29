/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native ES module `host`: the firmware's implementation of the Host
 * interface (src/host.ts; declared for the bundle in runtime/host.d.ts).
 * The list of exports below and the members of Host are checked against
 * each other by test/native/host-binding.test.ts.
 */
#include <stdio.h>
#include <string.h>
#include "runtime.h"
#include "firmware.h"
#include "platform.h"
#include "arch.h"
#include "dataplane.h"
#include "inetsum.h"
#include "regshadow.h"
#include "remio.h"
#include "bulkcopy.h"
#include "virtqueue.h"

JSValue host_irq_handler; /* set to JS_UNDEFINED by runtime_start */
JSValue host_watchdog_handler; /* set to JS_UNDEFINED by runtime_start */
bool host_exit_requested;
int host_exit_code;
bool host_under_hypervisor;
struct host_timer host_timers[HOST_TIMERS];
unsigned host_timers_active;
static uint32_t host_timer_next_id = 1;

struct host_region { const char *name; uint64_t base; uint64_t size; };
static const struct host_region host_regions[] = { BACKEND_REGIONS };
static const struct host_region host_mmio[] = { BACKEND_MMIO_REGIONS };


static const struct host_region *host_find_region(JSContext *ctx, JSValueConst name_val)
{
	const char *name = JS_ToCString(ctx, name_val);
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof host_regions / sizeof host_regions[0]; i++) {
		if (strcmp(host_regions[i].name, name) == 0) {
			JS_FreeCString(ctx, name);
			return &host_regions[i];
		}
	}
	JS_ThrowRangeError(ctx, "host.region: no region named '%s' in the platform description", name);
	JS_FreeCString(ctx, name);
	return NULL;
}

/** Returns a pointer to the bytes of typed array `v` and its length in bytes, or NULL (exception set): JS_GetTypedArrayBytes (runtime/patches/quickjs-bare-metal.patch), no reference to the buffer taken. */
static uint8_t *host_typed_array_bytes(JSContext *ctx, JSValueConst v, size_t *len)
{
	return JS_GetTypedArrayBytes(ctx, len, v);
}

/**
 * The words of typed array `v` if it is 4-byte aligned and holds at least
 * `words` of them, else NULL with an exception set (a RangeError naming
 * host.`fn` and its argument `what`).
 */
static uint32_t *host_word_array(JSContext *ctx, JSValueConst v, uint32_t words, const char *fn, const char *what)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, v, &len);
	if (!p)
		return NULL;
	if (((uintptr_t)p & 3) || len < (size_t)words * 4) {
		JS_ThrowRangeError(ctx, "host.%s: %s needs a 4-byte aligned array of %u words", fn, what, (unsigned)words);
		return NULL;
	}
	return (uint32_t *)p;
}

static JSValue host_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
	if (!s)
		return JS_EXCEPTION;
	uart_write(s, len);
	JS_FreeCString(ctx, s);
	return JS_UNDEFINED;
}

/**
 * host.writeBytes(bytes[, start, end]): bytes[start, end) of a typed array
 * (default: all of it) to the UART as they are; a range outside the view
 * throws RangeError.
 */
static JSValue host_write_bytes(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, argv[0], &len);
	if (!p)
		return JS_EXCEPTION;
	uint32_t start = 0, end = (uint32_t)len;
	if (argc > 1 && !JS_IsUndefined(argv[1]) && JS_ToUint32(ctx, &start, argv[1]))
		return JS_EXCEPTION;
	if (argc > 2 && !JS_IsUndefined(argv[2]) && JS_ToUint32(ctx, &end, argv[2]))
		return JS_EXCEPTION;
	if (start > end || end > len)
		return JS_ThrowRangeError(ctx, "host.writeBytes: %u..%u outside a view of %u bytes", (unsigned)start, (unsigned)end, (unsigned)len);
	uart_write((const char *)p + start, end - start);
	return JS_UNDEFINED;
}

static JSValue host_now_ns(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return JS_NewFloat64(ctx, (double)timer_now_ns());
}

static JSValue host_add_timer(JSContext *ctx, int argc, JSValueConst *argv, bool periodic)
{
	double ms = 0;
	if (!JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "host.%s: callback is not a function", periodic ? "setInterval" : "setTimeout");
	if (argc > 1 && JS_ToFloat64(ctx, &ms, argv[1]))
		return JS_EXCEPTION;
	if (!(ms >= 0))
		ms = 0;
	if (ms > 1e9)
		ms = 1e9;
	for (int i = 0; i < HOST_TIMERS; i++) {
		struct host_timer *t = &host_timers[i];
		if (t->id)
			continue;
		uint64_t ns = (uint64_t)(ms * 1e6);
		t->id = host_timer_next_id++;
		if (host_timer_next_id == 0)
			host_timer_next_id = 1;
		t->deadline_ns = timer_now_ns() + ns;
		t->period_ns = periodic ? (ns ? ns : 1000000) : 0;
		t->fn = JS_DupValue(ctx, argv[0]);
		host_timers_active++;
		return JS_NewUint32(ctx, t->id);
	}
	return JS_ThrowRangeError(ctx, "host: more than %d timers", HOST_TIMERS);
}

static JSValue host_set_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return host_add_timer(ctx, argc, argv, false);
}

static JSValue host_set_interval(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return host_add_timer(ctx, argc, argv, true);
}

static JSValue host_clear_timer(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t id;
	if (JS_ToUint32(ctx, &id, argv[0]))
		return JS_EXCEPTION;
	for (int i = 0; id && i < HOST_TIMERS; i++) {
		if (host_timers[i].id == id) {
			host_timers[i].id = 0;
			host_timers_active--;
			JS_FreeValue(ctx, host_timers[i].fn);
		}
	}
	return JS_UNDEFINED;
}

static JSValue host_irq_enable(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t intid;
	if (JS_ToUint32(ctx, &intid, argv[0]))
		return JS_EXCEPTION;
	if (intid == PLAT_TIMER_INTID || intid == PLAT_UART_INTID || intid > irqc_max_intid() || !irqc_enable(intid))
		return JS_ThrowRangeError(ctx, "host.irqEnable: INTID %u cannot be delivered to JS", (unsigned)intid);
	return JS_UNDEFINED;
}

/** Replaces the handler in `*slot` with function `fn` (host.onIrq, host.onWatchdog); TypeError for anything else. */
static JSValue host_set_handler(JSContext *ctx, JSValueConst fn, JSValue *slot, const char *name)
{
	if (!JS_IsFunction(ctx, fn))
		return JS_ThrowTypeError(ctx, "host.%s: handler is not a function", name);
	JS_FreeValue(ctx, *slot);
	*slot = JS_DupValue(ctx, fn);
	return JS_UNDEFINED;
}

static JSValue host_on_irq(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return host_set_handler(ctx, argv[0], &host_irq_handler, "onIrq");
}

static JSValue host_on_watchdog(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return host_set_handler(ctx, argv[0], &host_watchdog_handler, "onWatchdog");
}

static JSValue host_set_watchdog_ms(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	double ms;
	if (JS_ToFloat64(ctx, &ms, argv[0]))
		return JS_EXCEPTION;
	int32_t old = ms >= 0 && ms <= 0xffffffffu && ms == (uint32_t)ms ? runtime_set_call_budget_ms((uint32_t)ms) : -1;
	if (old < 0)
		return JS_ThrowRangeError(ctx, "host.setWatchdogMs: %g ms outside 10..60000", ms);
	return JS_NewInt32(ctx, old);
}

static JSValue host_region(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const struct host_region *r = host_find_region(ctx, argv[0]);
	if (!r)
		return JS_EXCEPTION;
	return JS_NewArrayBuffer(ctx, (uint8_t *)r->base, r->size, NULL, NULL, 0);
}

static JSValue host_region_base(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const struct host_region *r = host_find_region(ctx, argv[0]);
	if (!r)
		return JS_EXCEPTION;
	return JS_NewFloat64(ctx, (double)r->base);
}

/**
 * Device register accesses are ordered against the memory the device
 * reads and writes by DMA, as Linux's writel/readl order them: a write
 * after every earlier store to memory (DMB OSHST, Arm ARM B2.3.12; riscv
 * FENCE W,O: the rings and buffers a QueueNotify publishes), a read before
 * every later load from memory (DMB OSHLD; FENCE I,R: the used ring an
 * InterruptStatus read announces). Elsewhere, a full fence.
 */
static inline void host_mmio_wmb(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshst" ::: "memory");
#elif defined(__riscv)
	__asm__ volatile("fence w,o" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void host_mmio_rmb(void)
{
#if defined(__aarch64__)
	__asm__ volatile("dmb oshld" ::: "memory");
#elif defined(__riscv)
	__asm__ volatile("fence i,r" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

uint32_t pt_mmio_read32(uint64_t addr)
{
	uint32_t v = *(volatile uint32_t *)addr;
	host_mmio_rmb();
	return v;
}

void pt_mmio_write32(uint64_t addr, uint32_t value)
{
	host_mmio_wmb();
	*(volatile uint32_t *)addr = value;
}

void pt_irq_unmask(uint32_t intid)
{
	irqc_enable(intid);
}

/** Checks an MMIO access against the platform's device regions; throws RangeError otherwise. */
static bool host_mmio_check(JSContext *ctx, JSValueConst addr_v, JSValueConst width_v, uint64_t *addr, uint32_t *width)
{
	double a;
	if (JS_ToFloat64(ctx, &a, addr_v) || JS_ToUint32(ctx, width, width_v))
		return false;
	if (!(a >= 0 && a < 9007199254740992.0) || (*width != 1 && *width != 2 && *width != 4 && *width != 8)) {
		JS_ThrowRangeError(ctx, "host.mmio: bad address or width");
		return false;
	}
	*addr = (uint64_t)a;
	if (*addr % *width) {
		JS_ThrowRangeError(ctx, "host.mmio: address 0x%llx not aligned to %u", (unsigned long long)*addr, (unsigned)*width);
		return false;
	}
	for (size_t i = 0; i < sizeof host_mmio / sizeof host_mmio[0]; i++)
		if (*addr >= host_mmio[i].base && *addr + *width <= host_mmio[i].base + host_mmio[i].size)
			return true;
	JS_ThrowRangeError(ctx, "host.mmio: 0x%llx is outside the device regions of the platform description",
			   (unsigned long long)*addr);
	return false;
}

static JSValue host_mmio_read(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint64_t addr, v;
	uint32_t width;
	if (!host_mmio_check(ctx, argv[0], argv[1], &addr, &width))
		return JS_EXCEPTION;
	switch (width) {
	case 1: v = *(volatile uint8_t *)addr; break;
	case 2: v = *(volatile uint16_t *)addr; break;
	case 4: v = *(volatile uint32_t *)addr; break;
	default: v = *(volatile uint64_t *)addr; break;
	}
	host_mmio_rmb();
	if (width == 8 && argc > 2 && !JS_IsUndefined(argv[2])) {
		size_t len;
		uint8_t *p = host_typed_array_bytes(ctx, argv[2], &len);
		if (!p)
			return JS_EXCEPTION;
		if (len >= 4)
			memcpy(p, &(uint32_t){ (uint32_t)(v >> 32) }, 4);
	}
	return JS_NewUint32(ctx, (uint32_t)v);
}

static JSValue host_mmio_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint64_t addr;
	uint32_t width, lo, hi = 0;
	if (!host_mmio_check(ctx, argv[0], argv[1], &addr, &width))
		return JS_EXCEPTION;
	if (JS_ToUint32(ctx, &lo, argv[2]) || (argc > 3 && JS_ToUint32(ctx, &hi, argv[3])))
		return JS_EXCEPTION;
	host_mmio_wmb();
	switch (width) {
	case 1: *(volatile uint8_t *)addr = (uint8_t)lo; break;
	case 2: *(volatile uint16_t *)addr = (uint16_t)lo; break;
	case 4: *(volatile uint32_t *)addr = lo; break;
	default: *(volatile uint64_t *)addr = (uint64_t)hi << 32 | lo; break;
	}
	return JS_UNDEFINED;
}

/* ---- the remio loop (remio.c) and the data plane (dataplane.c) ---------- */

static JSValue host_remio(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, op, vlo, vhi, rid;
	double addr;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToFloat64(ctx, &addr, argv[1]) || JS_ToUint32(ctx, &op, argv[2]) ||
	    JS_ToUint32(ctx, &vlo, argv[3]) || JS_ToUint32(ctx, &vhi, argv[4]) || JS_ToUint32(ctx, &rid, argv[5]))
		return JS_EXCEPTION;
	if (!host_under_hypervisor)
		return JS_ThrowRangeError(ctx, "host.remio: no hypervisor below the firmware");
	struct remio_result r;
	rm_hypercall(dm, (uint64_t)addr, op, (uint64_t)vhi << 32 | vlo, rid, &r);
	/* a completion of a request remioBatch took (tests and rare paths complete that way) */
	if (op == REMIO_OP_READ || op == REMIO_OP_WRITE)
		rm_untrack(dm, rid);
	if (r.status == 0 && op == REMIO_OP_ASK && argc > 6) {
		size_t len;
		uint8_t *p = host_typed_array_bytes(ctx, argv[6], &len);
		if (!p)
			return JS_EXCEPTION;
		if (len < 32)
			return JS_ThrowRangeError(ctx, "host.remio: out needs 8 words");
		uint32_t w[8] = {
			(uint32_t)r.addr, (uint32_t)(r.addr >> 32), (uint32_t)r.op, (uint32_t)r.value,
			(uint32_t)(r.value >> 32), (uint32_t)r.width, (uint32_t)r.request_id, (uint32_t)r.more,
		};
		memcpy(p, w, sizeof w);
	}
	return JS_NewInt32(ctx, (int32_t)r.status);
}

/** The records of `v` (a typed array, 4-byte aligned) and how many it holds, or NULL (exception set). */
static uint32_t *host_remio_records(JSContext *ctx, JSValueConst v, const char *fn, uint32_t *records)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, v, &len);
	if (!p)
		return NULL;
	if (((uintptr_t)p & 3) != 0 || len / (REMIO_REQ_WORDS * 4) == 0) {
		JS_ThrowRangeError(ctx, "host.%s: reqs needs a 4-byte aligned array of %d-word records", fn, REMIO_REQ_WORDS);
		return NULL;
	}
	size_t n = len / (REMIO_REQ_WORDS * 4);
	*records = n > 0xffffffffu ? 0xffffffffu : (uint32_t)n;
	return (uint32_t *)p;
}

/** The JS values the remio loop's DM uses, kept alive while the firmware runs. */
struct host_dm {
	JSContext *ctx;
	JSValue handler;  /**< host.remioServe's batch handler */
	JSValue reqs;     /**< its records */
	JSValue dp[3];    /**< host.dataPlane's state array and regions */
	JSValue shadow[2];/**< host.regShadow's shadow array and config bytes */
	/** host.remioDirect's client (`this`), the fault function, the state array, and the `hi` array handed to read */
	JSValue direct[4];
	/** the names of the client's methods it calls (HA_*) */
	JSAtom atoms[4];
	/** where each method was last found (a lookup on a client of the same shape skips the shape lookup) */
	JSPropertyCache method_cache[4];
};

enum { HD_THIS, HD_FAULT, HD_STATE, HD_HI };
enum { HA_READ, HA_WRITE, HA_AFTER, HA_NOTIFIED, HA_COUNT };
_Static_assert(HA_COUNT == sizeof(((struct host_dm *)0)->atoms) / sizeof(JSAtom), "one atom per method name");
_Static_assert(HA_COUNT == sizeof(((struct host_dm *)0)->method_cache) / sizeof(JSPropertyCache), "one cache per method name");

static struct host_dm host_dms[RM_DMS];
static unsigned host_dms_used;

int rm_call_js(struct rm_dm *d, uint32_t count)
{
	struct host_dm *h = d->binding;
	JSValue arg = JS_NewUint32(h->ctx, count);
	int32_t flags = 0;
	perf_js(true);
	bool ok = runtime_call_int(h->ctx, h->handler, 1, &arg, &flags);
	perf_js(false);
	return ok ? (flags & 0x7fffffff) : -1;
}

/*
 * host.remioServe(dmId, intid, reqs, handler): the remio loop serves DM dmId
 * (remio.h) and hands what needs JS to handler(count) in `reqs`. Returns
 * true. Throws RangeError for short records or a DM/interrupt taken,
 * TypeError for a handler that is not a function.
 */
static JSValue host_remio_serve(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, intid, records;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToUint32(ctx, &intid, argv[1]))
		return JS_EXCEPTION;
	if (intid >= IRQ_MAX || intid == PLAT_TIMER_INTID || intid == PLAT_UART_INTID)
		return JS_ThrowRangeError(ctx, "host.remioServe: intid %u cannot be a device model's", (unsigned)intid);
	uint32_t *w = host_remio_records(ctx, argv[2], "remioServe", &records);
	if (!w)
		return JS_EXCEPTION;
	if (!JS_IsFunction(ctx, argv[3]))
		return JS_ThrowTypeError(ctx, "host.remioServe: handler is not a function");
	struct rm_dm *d = rm_dm_add(dm, intid);
	if (!d || d->reqs)
		return JS_ThrowRangeError(ctx, "host.remioServe: DM %u or interrupt %u is served already, or more than %d DMs",
					  (unsigned)dm, (unsigned)intid, RM_DMS);
	struct host_dm *h = &host_dms[host_dms_used++];
	*h = (struct host_dm){ .ctx = ctx, .handler = JS_DupValue(ctx, argv[3]), .reqs = JS_DupValue(ctx, argv[2]),
			       .dp = { JS_UNDEFINED, JS_UNDEFINED, JS_UNDEFINED }, .shadow = { JS_UNDEFINED, JS_UNDEFINED } };
	for (int i = 0; i < 4; i++)
		h->direct[i] = JS_UNDEFINED;
	d->binding = h;
	d->reqs = w;
	d->records = records;
	return JS_TRUE;
}

/** Hands exception `exc` (consumed; undefined after a watchdog stop, reported already) to the DM's fault function. */
static void host_direct_fault(struct host_dm *h, JSValue exc)
{
	if (!JS_IsUndefined(exc))
		runtime_call(h->ctx, h->direct[HD_FAULT], 1, (JSValueConst *)&exc);
	JS_FreeValue(h->ctx, exc);
}

/**
 * Method `method` (HA_*) of the DM's direct client, looked up at each call
 * as the dispatcher's batch handler does (a method replaced after the
 * registration is the one called), through the method's property cache
 * (JS_GetPropertyCached, runtime/patches/quickjs-bare-metal.patch): on a
 * client of an unchanged shape the lookup is a few compares. JS_EXCEPTION
 * after handing a throwing getter's exception to the fault function.
 */
static JSValue host_direct_method(struct host_dm *h, int method)
{
	JSValue fn = JS_GetPropertyCached(h->ctx, h->direct[HD_THIS], h->atoms[method], &h->method_cache[method]);
	if (JS_IsException(fn))
		host_direct_fault(h, JS_GetException(h->ctx));
	return fn;
}

/**
 * Calls `fn` (consumed) with the DM's direct client as `this`. An
 * exception, `fn` not being a function included, goes to the client's
 * fault function. Returns the result (undefined after an exception).
 */
static JSValue host_direct_call(struct host_dm *h, JSValue fn, int argc, JSValueConst *argv)
{
	JSValue exc;
	JSValue r = runtime_call_this(h->ctx, fn, h->direct[HD_THIS], argc, argv, &exc);
	JS_FreeValue(h->ctx, fn);
	if (!JS_IsException(r))
		return r;
	host_direct_fault(h, exc);
	return JS_UNDEFINED;
}

uint32_t rm_call_direct(struct rm_dm *d, enum rm_direct_kind kind, uint64_t addr, uint32_t value)
{
	bool write = kind != RM_DIRECT_READ;
	struct host_dm *h = d->binding;
	JSContext *ctx = h->ctx;
	uint32_t *s = d->direct_state;
	/* guest-physical addresses below 2^31 are ints: QuickJS's fast paths in the client's arithmetic */
	JSValue argv[4] = { JS_NewInt64(ctx, (int64_t)addr), JS_NewInt32(ctx, 4),
			    write ? JS_NewUint32(ctx, value) : h->direct[HD_HI], JS_NewInt32(ctx, 0) };
	uint32_t v = 0;
	s[RD_IN_SERVICE] = 1;
	perf_js(true);
	if (kind == RM_DIRECT_QUEUE_NOTIFY) {
		/* queueNotified(value), if the client has it: write and afterComplete in one call */
		JSValue notified = host_direct_method(h, HA_NOTIFIED);
		if (JS_IsFunction(ctx, notified)) {
			JS_FreeValue(ctx, host_direct_call(h, notified, 1, (JSValueConst *)&argv[2]));
			perf_js(false);
			s[RD_IN_SERVICE] = 0;
			return 0;
		}
		JS_FreeValue(ctx, notified);
	}
	JSValue fn = host_direct_method(h, write ? HA_WRITE : HA_READ);
	JSValue r = JS_IsException(fn) ? JS_UNDEFINED : host_direct_call(h, fn, write ? 4 : 3, argv);
	if (!write) {
		int32_t i = 0;
		if (JS_VALUE_GET_TAG(r) == JS_TAG_INT)
			i = JS_VALUE_GET_INT(r);
		else if (JS_IsNumber(r) && JS_ToInt32(ctx, &i, r))
			i = 0;
		v = (uint32_t)i; /* ToInt32: the low 32 bits, as a store into the batch's Uint32Array keeps */
	} else if (JS_VALUE_GET_TAG(r) == JS_TAG_BOOL && JS_VALUE_GET_BOOL(r)) {
		/* deferred work: afterComplete, if the client has one (as the batch handler asks) */
		JSValue after = host_direct_method(h, HA_AFTER);
		if (JS_IsFunction(ctx, after)) {
			JS_FreeValue(ctx, host_direct_call(h, after, 0, NULL));
		} else {
			JS_FreeValue(ctx, after);
		}
	}
	JS_FreeValue(ctx, r);
	perf_js(false);
	s[RD_IN_SERVICE] = 0;
	return v;
}

/*
 * host.remioDirect(dmId, base, size, client, state, fault): the remio loop
 * answers the 4-byte accesses to [base, base + size) of DM dmId by calling
 * client.read / write / afterComplete itself (remio.c rm_serve_direct).
 * Returns true. Throws RangeError for a DM not served by remioServe or with
 * a range already, an empty range, a short state array; TypeError for a
 * client without read and write methods or a fault that is not a function.
 */
static JSValue host_remio_direct(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm;
	int64_t base, size;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToInt64(ctx, &base, argv[1]) || JS_ToInt64(ctx, &size, argv[2]))
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	if (!d || !d->reqs)
		return JS_ThrowRangeError(ctx, "host.remioDirect: DM %u is not served by host.remioServe", (unsigned)dm);
	if (d->direct_size)
		return JS_ThrowRangeError(ctx, "host.remioDirect: DM %u has a range already", (unsigned)dm);
	if (base < 0 || size <= 0)
		return JS_ThrowRangeError(ctx, "host.remioDirect: empty or negative range");
	uint32_t *st = host_word_array(ctx, argv[4], RD_WORDS, "remioDirect", "state");
	if (!st)
		return JS_EXCEPTION;
	static const char *const names[2] = { "read", "write" };
	for (int i = 0; i < 2; i++) {
		JSValue fn = JS_GetPropertyStr(ctx, argv[3], names[i]);
		bool ok = JS_IsFunction(ctx, fn);
		JS_FreeValue(ctx, fn);
		if (!ok)
			return JS_ThrowTypeError(ctx, "host.remioDirect: client.%s is not a function", names[i]);
	}
	if (!JS_IsFunction(ctx, argv[5]))
		return JS_ThrowTypeError(ctx, "host.remioDirect: fault is not a function");
	JSValue len2 = JS_NewInt32(ctx, 2);
	JSValue hi = JS_NewTypedArray(ctx, 1, &len2, JS_TYPED_ARRAY_UINT32);
	if (JS_IsException(hi))
		return JS_EXCEPTION;
	struct host_dm *h = d->binding;
	h->direct[HD_THIS] = JS_DupValue(ctx, argv[3]);
	h->direct[HD_FAULT] = JS_DupValue(ctx, argv[5]);
	h->direct[HD_STATE] = JS_DupValue(ctx, argv[4]);
	h->direct[HD_HI] = hi;
	h->atoms[HA_READ] = JS_NewAtom(ctx, "read");
	h->atoms[HA_WRITE] = JS_NewAtom(ctx, "write");
	h->atoms[HA_AFTER] = JS_NewAtom(ctx, "afterComplete");
	h->atoms[HA_NOTIFIED] = JS_NewAtom(ctx, "queueNotified");
	memset(h->method_cache, 0, sizeof(h->method_cache));
	d->direct_state = st;
	d->direct_base = (uint64_t)base;
	d->direct_size = (uint64_t)size;
	return JS_TRUE;
}

/** A device model's interrupt as a C function (host.remioRaiser): its DM and its dispatcher's state words. */
struct host_raiser {
	struct rm_dm *d;
	uint32_t *st; /**< RD_WORDS words (abi.h rd_word), kept alive by `arr` */
	JSValue arr;
};

static struct host_raiser host_raisers[RM_DMS];
static int host_raisers_used;

/*
 * The function host.remioRaiser returns (magic: its host_raisers slot):
 * while the DM is served (state[IN_SERVICE]) the NOTIFY waits for the end
 * of the service (state[NOTIFY], sent by the remio loop or the dispatcher);
 * otherwise NOTIFY now, counted in state[NOTIFIES] (a failure is counted
 * and printed by rm_notify_dm; without a hypervisor a RangeError, as
 * host.remio's). What the dispatcher's own raise closure does, without a
 * JS frame.
 */
static JSValue host_raise(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic)
{
	struct host_raiser *r = &host_raisers[magic];
	if (r->st[RD_IN_SERVICE]) {
		r->st[RD_NOTIFY] = 1;
	} else {
		if (!host_under_hypervisor)
			return JS_ThrowRangeError(ctx, "host.remioRaiser: no hypervisor below the firmware");
		rm_notify_dm(r->d);
		r->st[RD_NOTIFIES]++;
	}
	return JS_UNDEFINED;
}

/*
 * host.remioRaiser(dmId, state): the DM's interrupt as a function of no
 * arguments (host_raise). Throws RangeError for a DM not served by
 * host.remioServe, a state shorter than RD_WORDS or more DMs than
 * RM_DMS.
 */
static JSValue host_remio_raiser(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm;
	if (JS_ToUint32(ctx, &dm, argv[0]))
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	if (!d || !d->reqs)
		return JS_ThrowRangeError(ctx, "host.remioRaiser: DM %u is not served by host.remioServe", (unsigned)dm);
	uint32_t *st = host_word_array(ctx, argv[1], RD_WORDS, "remioRaiser", "state");
	if (!st)
		return JS_EXCEPTION;
	if (host_raisers_used == RM_DMS)
		return JS_ThrowRangeError(ctx, "host.remioRaiser: more than %d device models", RM_DMS);
	int slot = host_raisers_used++;
	host_raisers[slot] = (struct host_raiser){ .d = d, .st = st, .arr = JS_DupValue(ctx, argv[1]) };
	return JS_NewCFunctionMagic(ctx, host_raise, "raise", 0, JS_CFUNC_generic_magic, slot);
}

/** The bytes of ArrayBuffer `v` if they are exactly one region of the platform, or NULL (exception set). */
static uint8_t *host_region_bytes(JSContext *ctx, JSValueConst v, const char *what, uint64_t *size)
{
	size_t len;
	uint8_t *p = JS_GetArrayBuffer(ctx, &len, v);
	if (!p)
		return NULL;
	for (size_t i = 0; i < sizeof host_regions / sizeof host_regions[0]; i++) {
		if ((uintptr_t)p == host_regions[i].base && len == host_regions[i].size) {
			*size = len;
			return p;
		}
	}
	JS_ThrowRangeError(ctx, "host.dataPlane: %s is not a region of host.region()", what);
	return NULL;
}

/*
 * host.dataPlane(dmId, intid, state, shmem, disk): registers a virtio-blk
 * data plane for DM dmId (backend interrupt intid), which host.remioServe
 * serves already; `state` is a Uint32Array of DP_WORDS words (dataplane.h),
 * shmem and disk are host.region() buffers (disk null: another device,
 * whose interrupt registers only are answered). Returns true. Throws
 * RangeError for bad arguments, a DM not served by remioServe, or a second
 * registration.
 */
static JSValue host_data_plane(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, intid;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToUint32(ctx, &intid, argv[1]))
		return JS_EXCEPTION;
	uint32_t *stp = host_word_array(ctx, argv[2], DP_WORDS, "dataPlane", "state");
	if (!stp)
		return JS_EXCEPTION;
	struct dp_blk blk = { .st = stp };
	if (!(blk.shmem = host_region_bytes(ctx, argv[3], "shmem", &blk.shmem_size)))
		return JS_EXCEPTION;
	/* no disk: the interrupt registers only */
	if (!JS_IsNull(argv[4]) && !(blk.disk = host_region_bytes(ctx, argv[4], "disk", &blk.disk_size)))
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	if (!d || !d->reqs || d->intid != intid)
		return JS_ThrowRangeError(ctx, "host.dataPlane: DM %u on interrupt %u is not served by host.remioServe",
					  (unsigned)dm, (unsigned)intid);
	if (d->blk.st)
		return JS_ThrowRangeError(ctx, "host.dataPlane: DM %u has one already", (unsigned)dm);
	struct host_dm *h = d->binding;
	d->blk = blk;
	d->window = (uint64_t)blk.st[DP_WINDOW_HI] << 32 | blk.st[DP_WINDOW_LO];
	h->dp[0] = JS_DupValue(ctx, argv[2]);
	h->dp[1] = JS_DupValue(ctx, argv[3]);
	h->dp[2] = JS_DupValue(ctx, argv[4]);
	return JS_TRUE;
}

/*
 * host.regShadow(dmId, shadow, config): registers the register shadow of
 * DM dmId's transport (regshadow.h): `shadow` a Uint32Array of RS_WORDS
 * words, `config` the device's configuration space (a Uint8Array read live;
 * both kept alive). The remio loop answers the DM's reads from them.
 * Returns true. Throws RangeError for a short or misaligned shadow, a DM
 * without a data plane, or a second registration.
 */
static JSValue host_reg_shadow(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm;
	if (JS_ToUint32(ctx, &dm, argv[0]))
		return JS_EXCEPTION;
	size_t config_len;
	uint32_t *w = host_word_array(ctx, argv[1], RS_WORDS, "regShadow", "shadow");
	if (!w)
		return JS_EXCEPTION;
	uint8_t *config = host_typed_array_bytes(ctx, argv[2], &config_len);
	if (!config)
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	if (!d || !d->blk.st)
		return JS_ThrowRangeError(ctx, "host.regShadow: DM %u has no data plane", dm);
	if (d->shadow.w)
		return JS_ThrowRangeError(ctx, "host.regShadow: DM %u has one already", dm);
	struct host_dm *h = d->binding;
	d->shadow = (struct rs_shadow){ .w = w, .config = config,
					.config_size = config_len > 0xffffffffu ? 0xffffffffu : (uint32_t)config_len };
	h->shadow[0] = JS_DupValue(ctx, argv[1]);
	h->shadow[1] = JS_DupValue(ctx, argv[2]);
	return JS_TRUE;
}

/**
 * Whether the 0x100 bytes of virtio-mmio registers at guest-physical `mmio`
 * lie in a passthrough device window of the platform and `intid` can be a
 * passthrough device's interrupt (not the timer's or the UART's, within the
 * GIC's lines).
 */
static bool host_pt_device_ok(uint64_t mmio, uint32_t intid)
{
	if (intid == PLAT_TIMER_INTID || intid == PLAT_UART_INTID || intid > irqc_max_intid())
		return false;
	for (size_t i = 0; i < sizeof host_mmio / sizeof host_mmio[0]; i++)
		if (mmio >= host_mmio[i].base && mmio + 0x100 <= host_mmio[i].base + host_mmio[i].size)
			return true;
	return false;
}

/** JS values a disk plane keeps alive. */
static JSValue host_pt_refs[PT_DISKS][9];

/** The elements of typed array argv[i] (elements of `elem` bytes, aligned) and their number, or NULL (exception set). */
static void *host_pt_array(JSContext *ctx, JSValueConst v, size_t elem, uint64_t want, const char *what)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, v, &len);
	if (!p)
		return NULL;
	if (((uintptr_t)p & (elem - 1)) || len / elem < want) {
		JS_ThrowRangeError(ctx, "host.diskPlane: %s needs an aligned array of %llu %u-byte elements", what,
				   (unsigned long long)want, (unsigned)elem);
		return NULL;
	}
	return p;
}

/*
 * host.diskPlane(state, queue, dma, next, chainCount, writable, tokens, reqs,
 * events): registers a disk plane (diskplane.h, src/host.ts); returns its
 * handle. Throws RangeError for short or misaligned arrays, a DMA buffer
 * that is not a region, a bad queue layout, an interrupt that is not a
 * passthrough device's or taken, or a full table.
 */
static JSValue host_disk_plane(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct pt_disk p = { 0 };
	if (!(p.st = host_pt_array(ctx, argv[0], 4, PT_STATE_WORDS, "state")) ||
	    !(p.q.st = host_pt_array(ctx, argv[1], 4, DRIVER_QUEUE_WORDS, "queue")))
		return JS_EXCEPTION;
	uint64_t num = p.q.st[DQ_NUM];
	if (num < 1 || num > 32768)
		return JS_ThrowRangeError(ctx, "host.diskPlane: Queue Size %llu", (unsigned long long)num);
	if (!(p.q.dma = host_region_bytes(ctx, argv[2], "dma", &p.q.dma_size)) ||
	    !(p.q.next = host_pt_array(ctx, argv[3], 2, num, "next")) ||
	    !(p.q.chain_count = host_pt_array(ctx, argv[4], 2, num, "chainCount")) ||
	    !(p.q.writable = host_pt_array(ctx, argv[5], 8, num, "writable")) ||
	    !(p.q.tokens = host_pt_array(ctx, argv[6], 8, num, "tokens")) ||
	    !(p.reqs = host_pt_array(ctx, argv[7], 4, num * PT_REQ_RECORD_WORDS, "reqs")) ||
	    !(p.events = host_pt_array(ctx, argv[8], 4, num * PT_EVENT_RECORD_WORDS, "events")))
		return JS_EXCEPTION;
	p.mmio = (uint64_t)p.st[PT_MMIO_HI] << 32 | p.st[PT_MMIO_LO];
	p.intid = p.st[PT_INTID];
	if (!host_pt_device_ok(p.mmio, p.intid))
		return JS_ThrowRangeError(ctx, "host.diskPlane: window 0x%llx or INTID %u is not a passthrough device's",
					  (unsigned long long)p.mmio, (unsigned)p.intid);
	struct pt_disk *d = pt_disk_add(&p);
	if (!d)
		return JS_ThrowRangeError(ctx, "host.diskPlane: bad queue layout or slots, INTID %u taken, or more than %d disks",
					  (unsigned)p.intid, PT_DISKS);
	uint32_t h = pt_disk_handle(d);
	for (int i = 0; i < 9; i++)
		host_pt_refs[h][i] = JS_DupValue(ctx, argv[i]);
	return JS_NewUint32(ctx, h);
}

/*
 * host.diskRange(dmId, disk): links DM dmId's data plane (registered with a
 * null disk) to disk plane `disk`. Returns true. Throws RangeError for an
 * unknown DM or disk, a DM with a RAM disk, or a second link.
 */
static JSValue host_disk_range(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, h;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToUint32(ctx, &h, argv[1]))
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	struct pt_disk *p = pt_disk_get(h);
	if (!d || !d->blk.st || d->blk.disk || d->pt || !p)
		return JS_ThrowRangeError(ctx, "host.diskRange: DM %u (a data plane without a disk, not linked yet) or disk %u unknown",
					  (unsigned)dm, (unsigned)h);
	d->pt = p;
	return JS_TRUE;
}

/** Passthrough virtio-mmio devices acknowledged in IRQ context (host.passthroughIsr). */
static struct {
	uint32_t intid;
	uint64_t mmio;
	volatile uint32_t *isr;
	JSValue ref;
} host_pt_isr[8];
static unsigned host_pt_isr_used;

bool pt_virtio_ack(uint32_t intid)
{
	for (unsigned i = 0; i < host_pt_isr_used; i++) {
		if (host_pt_isr[i].intid != intid)
			continue;
		uint32_t isr = pt_mmio_read32(host_pt_isr[i].mmio + VIRTIO_MMIO_INTERRUPT_STATUS);
		if (isr)
			pt_mmio_write32(host_pt_isr[i].mmio + VIRTIO_MMIO_INTERRUPT_ACK, isr);
		*host_pt_isr[i].isr |= isr;
		return true;
	}
	return false;
}

/*
 * host.passthroughIsr(intid, mmio, isr): from now on the IRQ handler
 * acknowledges the virtio-mmio device at guest-physical `mmio` on its
 * passthrough interrupt `intid` itself (reads InterruptStatus, writes the
 * bits to InterruptACK) and ORs the bits into isr[0]; the line is never
 * masked. Registering the same device again replaces its word. Returns
 * true. Throws RangeError for a window or INTID that is not a passthrough
 * device's or is another registered device's, a short array, or a full table.
 */
static JSValue host_passthrough_isr(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t intid;
	int64_t mmio;
	if (JS_ToUint32(ctx, &intid, argv[0]) || JS_ToInt64(ctx, &mmio, argv[1]))
		return JS_EXCEPTION;
	size_t len;
	uint8_t *w = host_typed_array_bytes(ctx, argv[2], &len);
	if (!w)
		return JS_EXCEPTION;
	unsigned slot = host_pt_isr_used;
	bool taken = false;
	for (unsigned i = 0; i < host_pt_isr_used; i++) {
		if (host_pt_isr[i].intid == intid && host_pt_isr[i].mmio == (uint64_t)mmio)
			slot = i; /* the same device again (a new driver for it): its new word replaces the old */
		else if (host_pt_isr[i].intid == intid || host_pt_isr[i].mmio == (uint64_t)mmio)
			taken = true;
	}
	if (mmio < 0 || !host_pt_device_ok((uint64_t)mmio, intid) || ((uintptr_t)w & 3) || len < 4 ||
	    taken || slot == sizeof host_pt_isr / sizeof host_pt_isr[0])
		return JS_ThrowRangeError(ctx, "host.passthroughIsr: window 0x%llx or INTID %u refused (not a passthrough device's, another device's, or the table is full)",
					  (unsigned long long)mmio, (unsigned)intid);
	if (slot < host_pt_isr_used)
		JS_FreeValue(ctx, host_pt_isr[slot].ref);
	else
		host_pt_isr_used++;
	host_pt_isr[slot] = (typeof(host_pt_isr[0])){ .intid = intid, .mmio = (uint64_t)mmio, .isr = (volatile uint32_t *)w,
						       .ref = JS_DupValue(ctx, argv[2]) };
	return JS_TRUE;
}

/** JS values the network plane keeps alive: the switch's fdb and seen arrays, each port's state and queue words. */
static JSValue host_np_switch_refs[2];
static JSValue host_np_port_refs[NP_PORTS][3];

/*
 * host.netSwitch(fdb, seen, ageMs): the switch's MAC table copy for the
 * network plane (netplane.h, src/host.ts). Returns true. Throws RangeError
 * for a table that is not a power of 2 of entries (at most 65536), a
 * misaligned array, or a second call.
 */
static JSValue host_net_switch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t fdb_len, seen_len;
	uint32_t age_ms;
	uint8_t *fdb = host_typed_array_bytes(ctx, argv[0], &fdb_len);
	if (!fdb)
		return JS_EXCEPTION;
	uint8_t *seen = host_typed_array_bytes(ctx, argv[1], &seen_len);
	if (!seen || JS_ToUint32(ctx, &age_ms, argv[2]))
		return JS_EXCEPTION;
	size_t entries = fdb_len / (NP_FDB_ENTRY_WORDS * 4);
	if (((uintptr_t)fdb & 3) || ((uintptr_t)seen & 3) || entries == 0 || entries > 65536 || (entries & (entries - 1)) ||
	    fdb_len != entries * NP_FDB_ENTRY_WORDS * 4)
		return JS_ThrowRangeError(ctx, "host.netSwitch: fdb needs a power of 2 (at most 65536) of %d-word entries", NP_FDB_ENTRY_WORDS);
	if (rm_net_switch.fdb)
		return JS_ThrowRangeError(ctx, "host.netSwitch: registered already");
	rm_net_switch.fdb = (uint32_t *)fdb;
	rm_net_switch.fdb_mask = (uint32_t)entries - 1;
	rm_net_switch.seen = (uint32_t *)seen;
	rm_net_switch.seen_slots = (uint32_t)(seen_len / 4);
	rm_net_switch.age_ms = age_ms;
	host_np_switch_refs[0] = JS_DupValue(ctx, argv[0]);
	host_np_switch_refs[1] = JS_DupValue(ctx, argv[1]);
	return JS_TRUE;
}

/*
 * host.netPort(dmId, state, rxq, txq): DM dmId's virtio-net device is port
 * state[NP_PORT] of the network plane, its receiveq and transmitq state
 * words `rxq` and `txq` (the arrays of host.vqAttach). Returns true. Throws
 * RangeError for short or misaligned arrays, a DM without a data plane, a
 * port out of range or taken, or no host.netSwitch yet.
 */
static JSValue host_net_port(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm;
	if (JS_ToUint32(ctx, &dm, argv[0]))
		return JS_EXCEPTION;
	uint32_t *w[3];
	const uint32_t want[3] = { NP_STATE_WORDS, QUEUE_WORDS, QUEUE_WORDS };
	for (int i = 0; i < 3; i++) {
		size_t len;
		uint8_t *p = host_typed_array_bytes(ctx, argv[1 + i], &len);
		if (!p)
			return JS_EXCEPTION;
		if (((uintptr_t)p & 3) || len < want[i] * 4)
			return JS_ThrowRangeError(ctx, "host.netPort: argument %d needs a 4-byte aligned array of %u words", 2 + i, (unsigned)want[i]);
		w[i] = (uint32_t *)p;
	}
	struct rm_dm *d = rm_dm_find(dm);
	uint32_t port = w[0][NP_PORT];
	if (!rm_net_switch.fdb || !d || !d->blk.st || d->net || port >= NP_PORTS || rm_net_switch.ports[port].st)
		return JS_ThrowRangeError(ctx, "host.netPort: DM %u (with a data plane, no port yet) or port %u (below %d, free) refused, or no host.netSwitch",
					  (unsigned)dm, (unsigned)port, NP_PORTS);
	uint64_t base = dp_u64(d->blk.st, DP_SHMEM_LO);
	struct np_port *np = &rm_net_switch.ports[port];
	*np = (struct np_port){
		.st = w[0], .irq = d->blk.st, .dm = dm,
		.rx = { .st = w[1], .shmem = d->blk.shmem, .shmem_size = d->blk.shmem_size, .shmem_base = base },
		.tx = { .st = w[2], .shmem = d->blk.shmem, .shmem_size = d->blk.shmem_size, .shmem_base = base },
	};
	d->net = np;
	d->net_port = port;
	for (int i = 0; i < 3; i++)
		host_np_port_refs[port][i] = JS_DupValue(ctx, argv[1 + i]);
	return JS_TRUE;
}

/** The console planes (host.consolePort), one per DM at most, and the arrays they use, kept alive. */
static struct cp_port host_cp_ports[RM_DMS];
static JSValue host_cp_refs[RM_DMS][3];
static unsigned host_cp_used;

/*
 * host.consolePort(dmId, state, rxq, txq): the console plane (consoleplane.h)
 * for DM `dmId`'s virtio-console: its state words and its queues' QueueWord
 * arrays (host.vqAttach's), over the DM's shared region.
 */
static JSValue host_console_port(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm;
	if (JS_ToUint32(ctx, &dm, argv[0]))
		return JS_EXCEPTION;
	uint32_t *st = host_word_array(ctx, argv[1], CP_STATE_WORDS, "consolePort", "state");
	if (!st)
		return JS_EXCEPTION;
	uint32_t *rxq = host_word_array(ctx, argv[2], QUEUE_WORDS, "consolePort", "rxq");
	if (!rxq)
		return JS_EXCEPTION;
	uint32_t *txq = host_word_array(ctx, argv[3], QUEUE_WORDS, "consolePort", "txq");
	if (!txq)
		return JS_EXCEPTION;
	struct rm_dm *d = rm_dm_find(dm);
	if (!d || !d->blk.st || d->con || host_cp_used >= RM_DMS)
		return JS_ThrowRangeError(ctx, "host.consolePort: DM %u has no data plane or has a console plane already", (unsigned)dm);
	struct cp_port *p = &host_cp_ports[host_cp_used];
	uint64_t base = dp_u64(d->blk.st, DP_SHMEM_LO);
	*p = (struct cp_port){
		.st = st, .irq = d->blk.st,
		.rx = { .st = rxq, .shmem = d->blk.shmem, .shmem_size = d->blk.shmem_size, .shmem_base = base },
		.tx = { .st = txq, .shmem = d->blk.shmem, .shmem_size = d->blk.shmem_size, .shmem_base = base },
	};
	for (int i = 0; i < 3; i++)
		host_cp_refs[host_cp_used][i] = JS_DupValue(ctx, argv[1 + i]);
	host_cp_used++;
	d->con = p;
	return JS_TRUE;
}

/*
 * host.remioBatch(dmId, reqs, maxRequests): ASK until +1, another non-zero
 * status or the bound; each request into a record (a WRITE's value masked to
 * its width); how it ended (that status, or 0 at the bound) into record 0's
 * STATUS word.
 */
static JSValue host_remio_batch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, max, records;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToUint32(ctx, &max, argv[2]))
		return JS_EXCEPTION;
	if (!host_under_hypervisor)
		return JS_ThrowRangeError(ctx, "host.remioBatch: no hypervisor below the firmware");
	uint32_t *w = host_remio_records(ctx, argv[1], "remioBatch", &records);
	if (!w)
		return JS_EXCEPTION;
	int64_t end;
	uint32_t n = rm_take(dm, w, max < records ? max : records, &end);
	w[RQ_STATUS] = (uint32_t)(int32_t)end;
	if (n == 0 && end < 0)
		return JS_NewInt32(ctx, (int32_t)end);
	return JS_NewInt32(ctx, (int32_t)n);
}

/*
 * host.remioComplete(dmId, reqs, count): completes each record with its op
 * and request id (a READ with the record's value, other ops with 0); each
 * status into the record; returns the number of non-zero statuses.
 */
static JSValue host_remio_complete(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t dm, count, records;
	if (JS_ToUint32(ctx, &dm, argv[0]) || JS_ToUint32(ctx, &count, argv[2]))
		return JS_EXCEPTION;
	if (!host_under_hypervisor)
		return JS_ThrowRangeError(ctx, "host.remioComplete: no hypervisor below the firmware");
	uint32_t *w = host_remio_records(ctx, argv[1], "remioComplete", &records);
	if (!w)
		return JS_EXCEPTION;
	if (count > records)
		return JS_ThrowRangeError(ctx, "host.remioComplete: %u requests but reqs holds %u records", count, records);
	return JS_NewInt32(ctx, (int32_t)rm_complete(dm, w, count));
}

/* ---- the C virtqueue (virtqueue.h) for TypeScript devices ---------------- */

/** Most queues attached with host.vqAttach. */
#define HOST_VQS 64
/** Most buffers of one chain the binding gathers; longer chains go to the reference. */
#define HOST_VQ_MAX_SEGS 1024

/** A queue attached by host.vqAttach: the C queue and the JS arrays it fills. */
struct host_vq {
	struct vq q;
	uint32_t *chains;      /**< VQ_CHAIN_WORDS words per chain */
	uint32_t max_chains;
	double *seg_addr;      /**< guest-physical addresses */
	uint32_t *seg_len;     /**< bytes */
	uint8_t *seg_writable; /**< 1: VIRTQ_DESC_F_WRITE */
	uint32_t max_segs;
	uint32_t *used;        /**< (head, len) pairs for host.vqPush */
	uint32_t max_used;
	JSValue refs[7];       /**< the arrays and the region, kept alive */
};

static struct host_vq host_vqs[HOST_VQS];
static uint32_t host_vqs_used;
static struct vq_seg host_vq_scratch[HOST_VQ_MAX_SEGS];

/** The elements of typed array `v` (of `elem` bytes each, aligned to it) and their number, or NULL (exception set). */
static void *host_typed_elems(JSContext *ctx, JSValueConst v, size_t elem, uint32_t *count, const char *what)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, v, &len);
	if (!p)
		return NULL;
	if (((uintptr_t)p & (elem - 1)) || len < elem) {
		JS_ThrowRangeError(ctx, "host.vqAttach: %s is not an aligned, non-empty array of %u-byte elements", what, (unsigned)elem);
		return NULL;
	}
	*count = len / elem > 0xffffffffu ? 0xffffffffu : (uint32_t)(len / elem);
	return p;
}

/*
 * host.vqAttach(state, shmem, shmemBase, shmemSize, chains, segAddr, segLen,
 * segWritable, used): attaches a queue (see src/host.ts); returns its handle.
 */
static JSValue host_vq_attach(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct host_vq v = { 0 };
	uint32_t n;
	double base, size;
	if (!(v.q.st = host_typed_elems(ctx, argv[0], 4, &n, "state")))
		return JS_EXCEPTION;
	if (n < QUEUE_WORDS)
		return JS_ThrowRangeError(ctx, "host.vqAttach: state needs %d words", QUEUE_WORDS);
	size_t len;
	if (!(v.q.shmem = JS_GetArrayBuffer(ctx, &len, argv[1])))
		return JS_EXCEPTION;
	if (JS_ToFloat64(ctx, &base, argv[2]) || JS_ToFloat64(ctx, &size, argv[3]))
		return JS_EXCEPTION;
	if (!(base >= 0 && base < 9007199254740992.0 && size >= 0 && size <= (double)len))
		return JS_ThrowRangeError(ctx, "host.vqAttach: shmemBase/shmemSize outside the region");
	v.q.shmem_base = (uint64_t)base;
	v.q.shmem_size = (uint64_t)size;
	if (!(v.chains = host_typed_elems(ctx, argv[4], 4, &n, "chains")))
		return JS_EXCEPTION;
	v.max_chains = n / VQ_CHAIN_WORDS;
	uint32_t na, nl, nw, nu;
	if (!(v.seg_addr = host_typed_elems(ctx, argv[5], 8, &na, "segAddr")) ||
	    !(v.seg_len = host_typed_elems(ctx, argv[6], 4, &nl, "segLen")) ||
	    !(v.seg_writable = host_typed_elems(ctx, argv[7], 1, &nw, "segWritable")) ||
	    !(v.used = host_typed_elems(ctx, argv[8], 4, &nu, "used")))
		return JS_EXCEPTION;
	v.max_segs = na < nl ? na : nl;
	v.max_segs = v.max_segs < nw ? v.max_segs : nw;
	v.max_used = nu / 2;
	if (!v.max_chains || !v.max_used)
		return JS_ThrowRangeError(ctx, "host.vqAttach: chains or used holds no record");
	if (host_vqs_used == HOST_VQS)
		return JS_ThrowRangeError(ctx, "host.vqAttach: more than %d queues", HOST_VQS);
	for (int i = 0; i < 9; i++)
		if (i != 2 && i != 3)
			v.refs[i < 2 ? i : i - 2] = JS_DupValue(ctx, argv[i]);
	host_vqs[host_vqs_used] = v;
	return JS_NewUint32(ctx, host_vqs_used++);
}

/** JS_ToInt32 / JS_ToUint32 with an int argument read in place (the request path's arguments are ints); -1 with an exception set. */
static inline int host_to_i32(JSContext *ctx, int32_t *out, JSValueConst v)
{
	if (JS_VALUE_GET_TAG(v) == JS_TAG_INT) {
		*out = JS_VALUE_GET_INT(v);
		return 0;
	}
	return JS_ToInt32(ctx, out, v);
}

static inline int host_to_u32(JSContext *ctx, uint32_t *out, JSValueConst v)
{
	return host_to_i32(ctx, (int32_t *)out, v);
}

static struct host_vq *host_vq_get(JSContext *ctx, JSValueConst h)
{
	uint32_t i;
	if (JS_VALUE_GET_TAG(h) == JS_TAG_INT && (i = (uint32_t)JS_VALUE_GET_INT(h)) < host_vqs_used)
		return &host_vqs[i];
	JS_ThrowRangeError(ctx, "host.vq: no queue with that handle");
	return NULL;
}

/*
 * host.vqPop(handle, max): up to `max` well-formed chains into the attached
 * arrays, plus VQ_POP_DRAINED if the ring was empty after them; -1 when the
 * next chain must go to the reference (none taken).
 */
static JSValue host_vq_pop(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct host_vq *v = host_vq_get(ctx, argv[0]);
	int32_t max;
	if (!v || host_to_i32(ctx, &max, argv[1]))
		return JS_EXCEPTION;
	if (!vq_layout_ok(&v->q))
		return JS_NewInt32(ctx, -1);
	uint32_t n = 0, segs = 0;
	uint32_t limit = max < 0 ? 0 : (uint32_t)max < v->max_chains ? (uint32_t)max : v->max_chains;
	bool drained = false;
	while (n < limit) {
		uint32_t room = v->max_segs - segs;
		struct vq_chain c = { .seg = host_vq_scratch };
		enum vq_result r = vq_peek(&v->q, &c, room < HOST_VQ_MAX_SEGS ? room : HOST_VQ_MAX_SEGS);
		if (r == VQ_EMPTY) {
			drained = true;
			break;
		}
		/* malformed, too long for what is left, or byte totals past 32 bits: the reference's */
		if (r != VQ_CHAIN || c.readable > 0xffffffffu || c.writable > 0xffffffffu) {
			if (n == 0)
				return JS_NewInt32(ctx, -1);
			break;
		}
		vq_consume(&v->q);
		uint32_t *rec = v->chains + n * VQ_CHAIN_WORDS;
		rec[VQ_CHAIN_HEAD] = c.head;
		rec[VQ_CHAIN_FIRST_SEG] = segs;
		rec[VQ_CHAIN_COUNT] = c.count;
		rec[VQ_CHAIN_FIRST_WRITABLE] = c.first_writable;
		rec[VQ_CHAIN_READABLE] = (uint32_t)c.readable;
		rec[VQ_CHAIN_WRITABLE] = (uint32_t)c.writable;
		for (uint32_t i = 0; i < c.count; i++, segs++) {
			v->seg_addr[segs] = (double)c.seg[i].addr;
			v->seg_len[segs] = c.seg[i].len;
			v->seg_writable[segs] = c.seg[i].writable;
		}
		n++;
	}
	/* all it could take: is the ring empty after them (the next call's answer, avail_event published)? */
	if (n == limit && n > 0)
		drained = vq_empty(&v->q);
	return JS_NewInt32(ctx, (int32_t)(n > 0 && drained ? n + VQ_POP_DRAINED : n));
}

/*
 * host.vqPush(handle, count): returns the first `count` (head, len) pairs of
 * the attached `used` array through the used ring; 1 if the driver wants a
 * used buffer notification.
 */
static JSValue host_vq_push(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct host_vq *v = host_vq_get(ctx, argv[0]);
	int32_t count;
	if (!v || host_to_i32(ctx, &count, argv[1]))
		return JS_EXCEPTION;
	if (count < 0 || (uint32_t)count > v->max_used)
		return JS_ThrowRangeError(ctx, "host.vqPush: %d completions, the used array holds %u", count, v->max_used);
	if (!vq_layout_ok(&v->q))
		return JS_ThrowRangeError(ctx, "host.vqPush: the queue's layout words are not an enabled queue's");
	for (int32_t i = 0; i < count; i++)
		vq_push(&v->q, (uint16_t)v->used[2 * i], v->used[2 * i + 1]);
	return JS_NewInt32(ctx, vq_needs_notification(&v->q) ? 1 : 0);
}

static JSValue host_ipc_notify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t id, ev;
	if (JS_ToUint32(ctx, &id, argv[0]) || JS_ToUint32(ctx, &ev, argv[1]))
		return JS_EXCEPTION;
	if (!host_under_hypervisor)
		return JS_ThrowRangeError(ctx, "host.ipcNotify: no hypervisor below the firmware");
	return JS_NewInt32(ctx, (int32_t)hypercall_ipc_notify(id, ev));
}

/** memmove(d, s, n) for host.copy: bulk_copy (runtime/bulkcopy.h) unless the two ranges overlap. */
static void host_move(uint8_t *d, const uint8_t *s, size_t n)
{
	if (d + n <= s || s + n <= d)
		bulk_copy(d, s, n);
	else
		memmove(d, s, n);
}

/**
 * host.copy(dst, dstOffset, src, srcOffset, length): memmove of `length`
 * bytes between two typed arrays (byte offsets within each view), without
 * the view JS would allocate for a copy between two buffers.
 */

static JSValue host_copy(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t dlen, slen;
	uint32_t doff, soff, n;
	uint8_t *d = host_typed_array_bytes(ctx, argv[0], &dlen);
	if (!d)
		return JS_EXCEPTION;
	uint8_t *s = host_typed_array_bytes(ctx, argv[2], &slen);
	if (!s)
		return JS_EXCEPTION;
	if (host_to_u32(ctx, &doff, argv[1]) || host_to_u32(ctx, &soff, argv[3]) || host_to_u32(ctx, &n, argv[4]))
		return JS_EXCEPTION;
	if (doff > dlen || n > dlen - doff || soff > slen || n > slen - soff)
		return JS_ThrowRangeError(ctx, "host.copy: %u bytes from %u of %u into %u of %u: outside a view", (unsigned)n, (unsigned)soff,
					  (unsigned)slen, (unsigned)doff, (unsigned)dlen);
	host_move(d + doff, s + soff, n);
	return JS_UNDEFINED;
}

/** host.inetSum(buf, start, end): runtime/inetsum.h over buf[start..end). */
static JSValue host_inet_sum(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	uint32_t start, end;
	uint8_t *p = host_typed_array_bytes(ctx, argv[0], &len);
	if (!p)
		return JS_EXCEPTION;
	if (JS_ToUint32(ctx, &start, argv[1]) || JS_ToUint32(ctx, &end, argv[2]))
		return JS_EXCEPTION;
	if (start > end || end > len)
		return JS_ThrowRangeError(ctx, "host.inetSum: %u..%u outside a buffer of %u bytes", (unsigned)start, (unsigned)end, (unsigned)len);
	return JS_NewUint32(ctx, inet_sum(p + start, end - start));
}

static JSValue host_entropy(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, argv[0], &len);
	if (!p)
		return JS_EXCEPTION;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = entropy_word();
		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
	return JS_NewFloat64(ctx, (double)len);
}

static JSValue host_console_read(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	uint8_t *p = host_typed_array_bytes(ctx, argv[0], &len);
	if (!p)
		return JS_EXCEPTION;
	return JS_NewUint32(ctx, (uint32_t)console_read(p, len));
}

static JSValue host_heap_stats(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct heap_stats st;
	heap_get_stats(&st);
	JSValue o = JS_NewObject(ctx);
	JS_SetPropertyStr(ctx, o, "total", JS_NewFloat64(ctx, (double)st.total));
	JS_SetPropertyStr(ctx, o, "used", JS_NewFloat64(ctx, (double)st.used));
	JS_SetPropertyStr(ctx, o, "highWater", JS_NewFloat64(ctx, (double)st.high_water));
	return o;
}

/** Words host.perfCounters writes (src/host.ts PerfOut). */
#define PERF_OUT_WORDS (4 + PERF_KINDS * PERF_FIELDS + 4)

static JSValue host_perf_counters(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t intid;
	size_t len;
	if (JS_ToUint32(ctx, &intid, argv[0]))
		return JS_EXCEPTION;
	uint8_t *p = host_typed_array_bytes(ctx, argv[1], &len);
	if (!p)
		return JS_EXCEPTION;
	if (len < PERF_OUT_WORDS * sizeof(double))
		return JS_ThrowRangeError(ctx, "host.perfCounters: out needs %d elements", PERF_OUT_WORDS);
	double w[PERF_OUT_WORDS];
	const struct perf_dm *d = perf_dm_for(intid);
	size_t n = 0;
	w[n++] = (double)timer_freq();
	w[n++] = (double)timer_boot_ticks;
	w[n++] = (double)perf_first_served_ticks();
	w[n++] = (double)timer_ticks();
	for (int k = 0; k < PERF_KINDS; k++)
		for (int f = 0; f < PERF_FIELDS; f++)
			w[n++] = d ? (double)d->k[k][f] : 0;
	w[n++] = d ? (double)d->batched_windows : 0;
	w[n++] = d ? (double)d->batched_requests : 0;
	w[n++] = d ? (double)d->windows : 0;
	w[n++] = d ? (double)d->window_ticks : 0;
	memcpy(p, w, sizeof w);
	return JS_NewUint32(ctx, PERF_OUT_WORDS);
}

static JSValue host_power_off(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	int32_t code = 0;
	if (argc > 0 && JS_ToInt32(ctx, &code, argv[0]))
		return JS_EXCEPTION;
	host_exit_requested = true;
	host_exit_code = code;
	return JS_UNDEFINED;
}

static const JSCFunctionListEntry host_functions[] = {
	JS_CFUNC_DEF("write", 1, host_write),
	JS_CFUNC_DEF("writeBytes", 3, host_write_bytes),
	JS_CFUNC_DEF("nowNs", 0, host_now_ns),
	JS_CFUNC_DEF("setTimeout", 2, host_set_timeout),
	JS_CFUNC_DEF("setInterval", 2, host_set_interval),
	JS_CFUNC_DEF("clearTimer", 1, host_clear_timer),
	JS_CFUNC_DEF("irqEnable", 1, host_irq_enable),
	JS_CFUNC_DEF("onIrq", 1, host_on_irq),
	JS_CFUNC_DEF("onWatchdog", 1, host_on_watchdog),
	JS_CFUNC_DEF("setWatchdogMs", 1, host_set_watchdog_ms),
	JS_CFUNC_DEF("region", 1, host_region),
	JS_CFUNC_DEF("regionBase", 1, host_region_base),
	JS_CFUNC_DEF("mmioRead", 3, host_mmio_read),
	JS_CFUNC_DEF("mmioWrite", 4, host_mmio_write),
	JS_CFUNC_DEF("remio", 7, host_remio),
	JS_CFUNC_DEF("remioBatch", 3, host_remio_batch),
	JS_CFUNC_DEF("remioComplete", 3, host_remio_complete),
	JS_CFUNC_DEF("remioServe", 4, host_remio_serve),
	JS_CFUNC_DEF("remioDirect", 6, host_remio_direct),
	JS_CFUNC_DEF("remioRaiser", 2, host_remio_raiser),
	JS_CFUNC_DEF("vqAttach", 9, host_vq_attach),
	JS_CFUNC_DEF("diskPlane", 9, host_disk_plane),
	JS_CFUNC_DEF("diskRange", 2, host_disk_range),
	JS_CFUNC_DEF("netSwitch", 3, host_net_switch),
	JS_CFUNC_DEF("netPort", 4, host_net_port),
	JS_CFUNC_DEF("consolePort", 4, host_console_port),
	JS_CFUNC_DEF("passthroughIsr", 3, host_passthrough_isr),
	JS_CFUNC_DEF("vqPop", 2, host_vq_pop),
	JS_CFUNC_DEF("vqPush", 2, host_vq_push),
	JS_CFUNC_DEF("dataPlane", 5, host_data_plane),
	JS_CFUNC_DEF("regShadow", 3, host_reg_shadow),
	JS_CFUNC_DEF("ipcNotify", 2, host_ipc_notify),
	JS_CFUNC_DEF("entropy", 1, host_entropy),
	JS_CFUNC_DEF("inetSum", 3, host_inet_sum),
	JS_CFUNC_DEF("copy", 5, host_copy),
	JS_CFUNC_DEF("consoleRead", 1, host_console_read),
	JS_CFUNC_DEF("heapStats", 0, host_heap_stats),
	JS_CFUNC_DEF("perfCounters", 2, host_perf_counters),
	JS_CFUNC_DEF("powerOff", 1, host_power_off),
};

/** Exports that are values, set when the module is instantiated. */
static const char *const host_values[] = { "engineVersion", "arch", "underHypervisor", "entropyQuality", "consoleIntid" };

static int host_module_instantiate(JSContext *ctx, JSModuleDef *m)
{
	JS_SetModuleExport(ctx, m, "engineVersion", JS_NewString(ctx, "quickjs " CONFIG_VERSION));
	JS_SetModuleExport(ctx, m, "arch", JS_NewString(ctx, PLAT_ARCH));
	JS_SetModuleExport(ctx, m, "underHypervisor", JS_NewBool(ctx, host_under_hypervisor));
	JS_SetModuleExport(ctx, m, "consoleIntid", JS_NewUint32(ctx, PLAT_UART_INTID));
	JS_SetModuleExport(ctx, m, "entropyQuality", JS_NewString(ctx, entropy_is_hardware() ? "hardware" : "weak"));
	return JS_SetModuleExportList(ctx, m, host_functions, sizeof host_functions / sizeof host_functions[0]);
}

JSModuleDef *host_module_init(JSContext *ctx, const char *name)
{
	JSModuleDef *m = JS_NewCModule(ctx, name, host_module_instantiate);
	if (!m)
		return NULL;
	JS_AddModuleExportList(ctx, m, host_functions, sizeof host_functions / sizeof host_functions[0]);
	for (size_t i = 0; i < sizeof host_values / sizeof host_values[0]; i++)
		JS_AddModuleExport(ctx, m, host_values[i]);
	return m;
}
