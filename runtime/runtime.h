/* SPDX-License-Identifier: Apache-2.0 */
/* The QuickJS embedding: engine set-up, the main loop's calls into JS, and the `host` module. */
#ifndef BAOJS_RUNTIME_H
#define BAOJS_RUNTIME_H

#include <stdint.h>
#include <stdbool.h>
#include "quickjs.h"

/** Precompiled bundle (qjsc output, linked into the image). */
extern const uint8_t baojs_bundle[];
extern const uint32_t baojs_bundle_size;

/** Creates the runtime and context, loads and starts the bundle. Returns false if start-up failed. */
bool runtime_start(bool under_hypervisor);
/** Runs everything due: pending interrupts' callbacks, timers, promise jobs. */
void runtime_poll(void);
/** ns deadline of the next timer, or UINT64_MAX. */
uint64_t runtime_next_deadline(void);
/** True when nothing can ever call into JS again: no hypervisor, no timer, no interrupt handler. */
bool runtime_idle_forever(void);
/** True once JS asked to power off; *code gets the exit status. */
bool runtime_exit_requested(int *code);

/* ---- used by host.c ---- */
/** Calls `fn` with a time budget (watchdog); reports an exception. Returns false on exception. */
bool runtime_call(JSContext *ctx, JSValueConst fn, int argc, JSValueConst *argv);
/** runtime_call() that also returns the call's result converted with ToInt32 into *result (0 if it is not a number). */
bool runtime_call_int(JSContext *ctx, JSValueConst fn, int argc, JSValueConst *argv, int32_t *result);
/**
 * Calls fn with `this_obj` under the watchdog's budget, as runtime_call()
 * does, but hands a JS exception to the caller: returns the call's result
 * (the caller frees it), or JS_EXCEPTION with *exc set to the exception
 * (the caller frees it). A watchdog stop or an out-of-memory is reported
 * here as for runtime_call(), and *exc is JS_UNDEFINED.
 */
JSValue runtime_call_this(JSContext *ctx, JSValueConst fn, JSValueConst this_obj, int argc, JSValueConst *argv, JSValue *exc);
/**
 * Prints an uncaught exception with its stack, and a clear line for
 * out-of-memory or a watchdog stop; after a watchdog stop also completes the
 * remio requests left open (rm_complete_taken, remio.h) and calls the
 * host.onWatchdog handler.
 */
void runtime_report_exception(JSContext *ctx, const char *where);
/** Sets the watchdog's budget for one call into JS, ms (host.setWatchdogMs). Returns the previous one, or -1 outside 10..60000. */
int32_t runtime_set_call_budget_ms(uint32_t ms);
/** Builds the native `host` ES module. */
JSModuleDef *host_module_init(JSContext *ctx, const char *name);
/** Sets the JS interrupt callback (host.onIrq). */
extern JSValue host_irq_handler;
/** The JS function called after a watchdog stop (host.onWatchdog), or JS_UNDEFINED. */
extern JSValue host_watchdog_handler;
/** Exit request from host.powerOff. */
extern bool host_exit_requested;
extern int host_exit_code;
extern bool host_under_hypervisor;

/** Timers created by host.setTimeout/setInterval. */
#define HOST_TIMERS 64
struct host_timer {
	uint32_t id;          /**< 0 = free slot */
	uint64_t deadline_ns; /**< timer_now_ns() scale */
	uint64_t period_ns;   /**< 0 for a one-shot timer */
	JSValue fn;
};
extern struct host_timer host_timers[HOST_TIMERS];
/** Timers in use (id != 0): the main loop skips the scans while there are none. */
extern unsigned host_timers_active;

#endif
