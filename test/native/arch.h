/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host harnesses' stand-in for firmware/arch/<arch>/arch.h: what the
 * runtime code they compile uses of it, on the harness's own timer_ticks().
 */
#ifndef BAOJS_TEST_ARCH_H
#define BAOJS_TEST_ARCH_H
#include <stdint.h>

uint64_t timer_ticks(void);

/** firmware/arch/<arch>/arch.h's inline counter read. */
static inline uint64_t arch_timer_ticks(void) { return timer_ticks(); }

#endif
