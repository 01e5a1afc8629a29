/* SPDX-License-Identifier: Apache-2.0 */
/*
 * riscv64 time: the `time` CSR (rdtime) at the platform's timebase
 * frequency (platform description `timebaseHz`), deadlines through the SBI
 * TIME extension (SBI 1.0, chapter 6), which OpenSBI and Bao both
 * implement; the supervisor timer interrupt is pending while time >= the
 * deadline. A hart with Sstc could write stimecmp directly and save the
 * trap into the SBI per deadline, once M-mode (and Bao, for VS-mode)
 * enables it (menvcfg.STCE, henvcfg.STCE).
 */
#include "firmware.h"
#include "platform.h"
#include "arch.h"


uint64_t timer_ticks(void)
{
	return arch_timer_ticks();
}

uint64_t timer_freq(void)
{
	return PLAT_TIMEBASE_HZ;
}

void timer_set_deadline_ns(uint64_t ns)
{
	if (ns == UINT64_MAX) {
		sbi_call(SBI_EXT_TIME, 0, UINT64_MAX, 0, 0); /* never: clears a pending timer interrupt */
		return;
	}
	uint64_t hz = timer_freq();
	uint64_t ticks = (ns / 1000000000UL) * hz + (ns % 1000000000UL) * hz / 1000000000UL;
	sbi_call(SBI_EXT_TIME, 0, timer_boot_ticks + ticks, 0, 0);
}

void timer_handle_irq(void)
{
	/* The interrupt stays pending until a new deadline is set: push it out of reach. */
	sbi_call(SBI_EXT_TIME, 0, UINT64_MAX, 0, 0);
}
