/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The QuickJS engine inside the firmware: a runtime on the TLSF heap with a
 * memory limit and a stack limit, a watchdog that bounds every call into JS
 * (JS_SetInterruptHandler), the precompiled bundle loaded as an ES module
 * that imports the native `host` module, and the main loop's calls into JS:
 * interrupt callbacks, timers and promise jobs. JS never runs in interrupt
 * context.
 *
 * A watchdog stop is uncatchable: no `catch` or `finally` of the stopped
 * call runs, so whatever state JS was changing is left half-changed. After
 * one, the host first completes every remio request taken with
 * host.remioBatch and not completed (a frontend vCPU must not stay parked),
 * then calls the JS handler set with host.onWatchdog with a fresh budget,
 * which makes the device models consistent again (the dispatcher fails the
 * devices it was serving). (QuickJS API: quickjs.h of the pinned release.)
 */
#include <stdio.h>
#include <string.h>
#include "runtime.h"
#include "remio.h"
#include "diskplane.h"
#include "firmware.h"
#include "platform.h"

#define HEAP_MARGIN      (256 * 1024)  /* kept free below the JS memory limit for the C side */
#define STACK_MARGIN     (32 * 1024)   /* C frames below JS on the firmware stack */
#define CALL_BUDGET_MS   10000         /* watchdog: longest single call into JS, guest time (under TCG: host time) */
#define CALL_BUDGET_MIN_MS 10          /* host.setWatchdogMs bounds */
#define CALL_BUDGET_MAX_MS 60000
#define MALLOC_OVERHEAD  16            /* TLSF block header */

static JSRuntime *rt;
static JSContext *ctx;
static uint64_t call_deadline_ns = UINT64_MAX;
static bool oom_seen;
static bool watchdog_fired;
/** the watchdog's budget, ms (CALL_BUDGET_MS unless a test set another with host.setWatchdogMs) */
static uint32_t call_budget_ms = CALL_BUDGET_MS;
/** the host.onWatchdog handler is running (a stop inside it does not call it again) */
static bool in_watchdog_handler;

static void *rt_malloc(JSMallocState *s, size_t size)
{
	if (s->malloc_size + size > s->malloc_limit) {
		oom_seen = true;
		return NULL;
	}
	void *p = heap_alloc(size);
	if (!p) {
		oom_seen = true;
		return NULL;
	}
	s->malloc_count++;
	s->malloc_size += heap_usable_size(p) + MALLOC_OVERHEAD;
	return p;
}

static void rt_free(JSMallocState *s, void *p)
{
	if (!p)
		return;
	s->malloc_count--;
	s->malloc_size -= heap_usable_size(p) + MALLOC_OVERHEAD;
	heap_free(p);
}

static void *rt_realloc(JSMallocState *s, void *p, size_t size)
{
	if (!p)
		return size ? rt_malloc(s, size) : NULL;
	size_t old = heap_usable_size(p);
	if (size == 0) {
		rt_free(s, p);
		return NULL;
	}
	if (size > old && s->malloc_size + (size - old) > s->malloc_limit) {
		oom_seen = true;
		return NULL;
	}
	void *q = heap_realloc(p, size);
	if (!q) {
		oom_seen = true;
		return NULL;
	}
	s->malloc_size += heap_usable_size(q) - old;
	return q;
}

static size_t rt_usable_size(const void *p)
{
	return heap_usable_size(p);
}

static const JSMallocFunctions rt_malloc_functions = {
	rt_malloc, rt_free, rt_realloc, rt_usable_size,
};

/** QuickJS polls this during execution; non-zero interrupts the running call. */
static int rt_interrupt(JSRuntime *r, void *opaque)
{
	(void)r;
	(void)opaque;
	if (call_deadline_ns != UINT64_MAX && timer_now_ns() > call_deadline_ns) {
		watchdog_fired = true;
		return 1;
	}
	return 0;
}

static void rt_after_watchdog(void);

static void rt_print_value(JSContext *c, JSValueConst v)
{
	const char *s = JS_ToCString(c, v);
	fputs(s ? s : "<unprintable>", stdout);
	JS_FreeCString(c, s);
}

#define STACK_LINES_SHOWN 24

/** Prints a stack trace, its first STACK_LINES_SHOWN lines and a count of the rest (a runaway recursion has thousands). */
static void rt_print_stack(JSContext *c, JSValueConst stack)
{
	const char *s = JS_ToCString(c, stack);
	if (!s)
		return;
	const char *p = s;
	unsigned shown = 0, rest = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (shown < STACK_LINES_SHOWN) {
			fwrite(p, 1, len, stdout);
			shown++;
		} else {
			rest++;
		}
		p += len;
	}
	if (rest)
		printf("    ... %u more frames\n", rest);
	JS_FreeCString(c, s);
}

void runtime_report_exception(JSContext *c, const char *where)
{
	JSValue e = JS_GetException(c);
	if (oom_seen) {
		struct heap_stats st;
		heap_get_stats(&st);
		printf("baojs: out of memory in %s: JS heap limit %u KiB reached (heap %u KiB, used %u KiB)\n",
		       where, (unsigned)(JS_GetRuntime(c) ? (st.total - HEAP_MARGIN) / 1024 : 0),
		       (unsigned)(st.total / 1024), (unsigned)(st.used / 1024));
		oom_seen = false;
	} else if (watchdog_fired) {
		printf("baojs: watchdog: a call into JS (%s) ran longer than %u ms and was stopped\n",
		       where, (unsigned)call_budget_ms);
	}
	fputs("baojs: uncaught exception in ", stdout);
	fputs(where, stdout);
	fputs(": ", stdout);
	rt_print_value(c, e);
	fputs("\n", stdout);
	if (JS_IsError(c, e)) {
		JSValue stack = JS_GetPropertyStr(c, e, "stack");
		if (!JS_IsUndefined(stack))
			rt_print_stack(c, stack);
		JS_FreeValue(c, stack);
	}
	JS_FreeValue(c, e);
	/* The engine may hold a lot after an out-of-memory: give it back now. */
	JS_RunGC(JS_GetRuntime(c));
	if (watchdog_fired) {
		watchdog_fired = false;
		rt_after_watchdog();
	}
}

int32_t runtime_set_call_budget_ms(uint32_t ms)
{
	if (ms < CALL_BUDGET_MIN_MS || ms > CALL_BUDGET_MAX_MS)
		return -1;
	uint32_t old = call_budget_ms;
	call_budget_ms = ms;
	return (int32_t)old;
}

/**
 * After a watchdog stop: completes the remio requests JS took and left
 * open, then calls the host.onWatchdog handler (not again for a stop inside
 * the handler itself).
 */
static void rt_after_watchdog(void)
{
	unsigned n = rm_complete_taken();
	if (n)
		printf("baojs: watchdog: %u remio request%s left open by the stopped call completed (a read answered 0, a write dropped)\n",
		       n, n == 1 ? "" : "s");
	if (in_watchdog_handler || !JS_IsFunction(ctx, host_watchdog_handler))
		return;
	in_watchdog_handler = true;
	JSValue fn = JS_DupValue(ctx, host_watchdog_handler);
	runtime_call(ctx, fn, 0, NULL);
	JS_FreeValue(ctx, fn);
	in_watchdog_handler = false;
}

/** A JS call began since rt_run_jobs last found no job: only JS enqueues promise jobs. */
static bool rt_jobs_maybe = true;

static void rt_begin_call(void)
{
	rt_jobs_maybe = true;
	call_deadline_ns = timer_now_ns() + (uint64_t)call_budget_ms * 1000000UL;
}

static void rt_end_call(void)
{
	call_deadline_ns = UINT64_MAX;
}

bool runtime_call_int(JSContext *c, JSValueConst fn, int argc, JSValueConst *argv, int32_t *result)
{
	rt_begin_call();
	JSValue r = JS_Call(c, fn, JS_UNDEFINED, argc, argv);
	rt_end_call();
	perf_work_done();
	if (JS_IsException(r)) {
		runtime_report_exception(c, "callback");
		return false;
	}
	if (result) {
		if (JS_VALUE_GET_TAG(r) == JS_TAG_INT)
			*result = JS_VALUE_GET_INT(r);
		else if (!JS_IsNumber(r) || JS_ToInt32(c, result, r))
			*result = 0;
	}
	JS_FreeValue(c, r);
	return true;
}

JSValue runtime_call_this(JSContext *c, JSValueConst fn, JSValueConst this_obj, int argc, JSValueConst *argv, JSValue *exc)
{
	rt_begin_call();
	JSValue r = JS_Call(c, fn, this_obj, argc, argv);
	rt_end_call();
	perf_work_done();
	*exc = JS_UNDEFINED;
	if (JS_IsException(r)) {
		if (watchdog_fired || oom_seen)
			runtime_report_exception(c, "callback");
		else
			*exc = JS_GetException(c);
	}
	return r;
}

bool runtime_call(JSContext *c, JSValueConst fn, int argc, JSValueConst *argv)
{
	return runtime_call_int(c, fn, argc, argv, NULL);
}

/**
 * Runs pending promise jobs, at most 10,000 per call (the rest at the next
 * poll). Returns at once if no JS ran since it last found none: the main
 * loop calls it after every piece of work, most of which is C's alone.
 */
static void rt_run_jobs(void)
{
	if (!rt_jobs_maybe)
		return;
	JSContext *jc;
	int n = 0;
	for (; n < 10000 && JS_IsJobPending(rt); n++) {
		rt_begin_call();
		int r = JS_ExecutePendingJob(rt, &jc);
		rt_end_call();
		if (r < 0)
			runtime_report_exception(jc, "promise job");
	}
	rt_jobs_maybe = n == 10000;
}

static void rt_promise_rejection(JSContext *c, JSValueConst promise, JSValueConst reason, JS_BOOL handled,
				 void *opaque)
{
	(void)promise;
	(void)opaque;
	if (handled)
		return;
	fputs("baojs: unhandled promise rejection: ", stdout);
	rt_print_value(c, reason);
	fputs("\n", stdout);
	if (JS_IsError(c, reason)) {
		JSValue stack = JS_GetPropertyStr(c, reason, "stack");
		if (!JS_IsUndefined(stack))
			rt_print_stack(c, stack);
		JS_FreeValue(c, stack);
	}
}

static JSModuleDef *rt_module_loader(JSContext *c, const char *name, void *opaque)
{
	(void)opaque;
	if (strcmp(name, "host") == 0)
		return host_module_init(c, name);
	JS_ThrowReferenceError(c, "module '%s' not found (only 'host' is native; the rest is bundled)", name);
	return NULL;
}

bool runtime_start(bool under_hypervisor)
{
	host_under_hypervisor = under_hypervisor;
	host_irq_handler = JS_UNDEFINED;
	host_watchdog_handler = JS_UNDEFINED;
	rt = JS_NewRuntime2(&rt_malloc_functions, NULL);
	if (!rt)
		panic("runtime: JS_NewRuntime2 failed");
	struct heap_stats st;
	heap_get_stats(&st);
	JS_SetMemoryLimit(rt, st.total - HEAP_MARGIN);
	JS_SetMaxStackSize(rt, BACKEND_STACK_SIZE - STACK_MARGIN);
	JS_SetInterruptHandler(rt, rt_interrupt, NULL);
	JS_SetHostPromiseRejectionTracker(rt, rt_promise_rejection, NULL);
	JS_SetModuleLoaderFunc(rt, NULL, rt_module_loader, NULL);
	ctx = JS_NewContext(rt);
	if (!ctx)
		panic("runtime: JS_NewContext failed");

	JSValue obj = JS_ReadObject(ctx, baojs_bundle, baojs_bundle_size, JS_READ_OBJ_BYTECODE);
	if (JS_IsException(obj)) {
		runtime_report_exception(ctx, "loading the bundle");
		return false;
	}
	if (JS_VALUE_GET_TAG(obj) == JS_TAG_MODULE && JS_ResolveModule(ctx, obj) < 0) {
		JS_FreeValue(ctx, obj);
		runtime_report_exception(ctx, "linking the bundle");
		return false;
	}
	rt_begin_call();
	JSValue r = JS_EvalFunction(ctx, obj);
	rt_end_call();
	if (JS_IsException(r)) {
		runtime_report_exception(ctx, "main");
		return false;
	}
	rt_run_jobs();
	bool ok = true;
	if (JS_IsObject(r) && JS_PromiseState(ctx, r) == JS_PROMISE_REJECTED) {
		JSValue reason = JS_PromiseResult(ctx, r);
		JS_Throw(ctx, reason);
		runtime_report_exception(ctx, "main");
		ok = false;
	}
	JS_FreeValue(ctx, r);
	return ok;
}

/**
 * Runs the timers that are due, earliest deadline first (ties in creation
 * order), as a host event loop does: a poll that comes late must not
 * reorder them. At most HOST_TIMERS callbacks per poll, so a callback that
 * keeps adding due timers cannot hold the main loop.
 */
static void rt_run_timers(void)
{
	if (!host_timers_active)
		return;
	uint64_t now = timer_now_ns();
	for (int n = 0; n < HOST_TIMERS; n++) {
		struct host_timer *t = NULL;
		for (int i = 0; i < HOST_TIMERS; i++) {
			struct host_timer *c = &host_timers[i];
			if (!c->id || c->deadline_ns > now)
				continue;
			if (!t || c->deadline_ns < t->deadline_ns || (c->deadline_ns == t->deadline_ns && c->id < t->id))
				t = c;
		}
		if (!t)
			return;
		JSValue fn = JS_DupValue(ctx, t->fn);
		if (t->period_ns) {
			t->deadline_ns = now + t->period_ns;
		} else {
			JS_FreeValue(ctx, t->fn);
			t->id = 0;
			host_timers_active--;
		}
		runtime_call(ctx, fn, 0, NULL);
		JS_FreeValue(ctx, fn);
	}
}

uint64_t runtime_next_deadline(void)
{
	if (irq_any_pending())
		return 0; /* work marked for the next pass: do not sleep */
	/* a disk plane with chains in flight looks at its used rings (an interrupt lost on the way) */
	uint64_t d = pt_poll();
	if (d == 0 || !host_timers_active)
		return d;
	for (int i = 0; i < HOST_TIMERS; i++)
		if (host_timers[i].id && host_timers[i].deadline_ns < d)
			d = host_timers[i].deadline_ns;
	return d;
}

void runtime_poll(void)
{
	int intid;
	while ((intid = irq_take_pending()) >= 0) {
		if (intid == PLAT_TIMER_INTID)
			continue; /* timers are run below */
		if (JS_IsFunction(ctx, host_irq_handler)) {
			JSValue arg = JS_NewInt32(ctx, intid);
			bool dm = intid != PLAT_UART_INTID;
			if (dm)
				perf_window_begin((uint32_t)intid);
			/*
			 * the remio loop (remio.c) serves a DM and calls JS with what needs it;
			 * a disk plane (diskplane.c) serves its disk's interrupt unless JS must see it
			 */
			/* the console plane places typed bytes itself where it may (remio.c) */
			if (dm ? !rm_service((uint32_t)intid) && !pt_irq((uint32_t)intid) : !rm_console_rx()) {
				perf_js(true);
				runtime_call(ctx, host_irq_handler, 1, &arg);
				perf_js(false);
			}
			if (dm)
				perf_window_end();
		}
		rt_run_jobs();
	}
	rt_run_timers();
	rt_run_jobs();
	rm_resume();
}

bool runtime_exit_requested(int *code)
{
	*code = host_exit_code;
	return host_exit_requested;
}

bool runtime_idle_forever(void)
{
	return !host_under_hypervisor && runtime_next_deadline() == UINT64_MAX &&
	       !JS_IsFunction(ctx, host_irq_handler) && !JS_IsJobPending(rt);
}
