/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power-off and reset through the SBI System Reset extension (SRST, SBI 1.0
 * chapter 10): OpenSBI on QEMU virt powers the machine off (QEMU exits with
 * status 0). Bao offers a VM no SRST: the call returns an error, and the
 * firmware says so and idles, as it does after PSCI's refusal on aarch64.
 */
#include "firmware.h"
#include "arch.h"

#define SRST_SHUTDOWN    0
#define SRST_COLD_REBOOT 1

__attribute__((noreturn)) static void power_idle(const char *what)
{
	uart_write(what, __builtin_strlen(what));
	arch_irq_mask();
	for (;;)
		arch_wfi();
}

void power_off(void)
{
	sbi_call(SBI_EXT_SRST, 0, SRST_SHUTDOWN, 0, 0);
	power_idle("baojs: SBI system reset (shutdown) refused, halting\n");
}

void power_reset(void)
{
	sbi_call(SBI_EXT_SRST, 0, SRST_COLD_REBOOT, 0, 0);
	power_idle("baojs: SBI system reset (reboot) refused, halting\n");
}
