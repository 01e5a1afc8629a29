/* SPDX-License-Identifier: Apache-2.0 */
/* Time since boot on either instruction set: arch/<arch>/timer.c gives the counter (timer_ticks) and its frequency (timer_freq). */
#include "firmware.h"

uint64_t timer_boot_ticks;

uint64_t timer_now_ns(void)
{
	uint64_t t = timer_ticks() - timer_boot_ticks;
	uint64_t hz = timer_freq();
	/* split so that ticks * 10^9 does not overflow: exact for any frequency below 2^64 / 10^9 Hz */
	return (t / hz) * 1000000000UL + (t % hz) * 1000000000UL / hz;
}
