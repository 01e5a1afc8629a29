/* SPDX-License-Identifier: Apache-2.0 */
/* Generic timer (Arm ARM D11): CNTVCT_EL0 for time, the EL1 virtual timer (CNTV_*) for deadlines. */
#include "firmware.h"
#include "arch.h"

static uint64_t timer_hz;

uint64_t timer_ticks(void)
{
	return arch_timer_ticks();
}

uint64_t timer_freq(void)
{
	if (!timer_hz)
		timer_hz = SYSREG_READ(cntfrq_el0);
	return timer_hz;
}

void timer_set_deadline_ns(uint64_t ns)
{
	if (ns == UINT64_MAX) {
		SYSREG_WRITE(cntv_ctl_el0, 2); /* IMASK, disabled */
		return;
	}
	uint64_t hz = timer_freq();
	uint64_t ticks = (ns / 1000000000UL) * hz + (ns % 1000000000UL) * hz / 1000000000UL;
	SYSREG_WRITE(cntv_cval_el0, timer_boot_ticks + ticks);
	SYSREG_WRITE(cntv_ctl_el0, 1); /* ENABLE, not masked */
	arch_isb();
}

void timer_handle_irq(void)
{
	SYSREG_WRITE(cntv_ctl_el0, 2); /* the level stays high until re-armed: mask it */
	arch_isb();
}
