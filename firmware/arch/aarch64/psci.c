/* SPDX-License-Identifier: Apache-2.0 */
/* PSCI over SMC (Arm DEN0022, SMC Calling Convention DEN0028). Bao and the test
 * monitor trap SMC from EL1 (HCR_EL2.TSC); bare QEMU answers it at EL3. */
#include "firmware.h"

#define PSCI_SYSTEM_OFF   0x84000008UL
#define PSCI_SYSTEM_RESET 0x84000009UL

static int64_t psci_call(uint64_t fn)
{
	register uint64_t x0 __asm__("x0") = fn;
	__asm__ volatile("smc #0" : "+r"(x0) :: "x1", "x2", "x3", "memory");
	return (int64_t)x0;
}

void power_off(void)
{
	int64_t r = psci_call(PSCI_SYSTEM_OFF);
	/* Bao answers SYSTEM_OFF with -1 (NOT_SUPPORTED): say so and idle. */
	uart_write("baojs: PSCI SYSTEM_OFF refused, halting\n", 41);
	(void)r;
	for (;;)
		__asm__ volatile("wfi");
}

void power_reset(void)
{
	psci_call(PSCI_SYSTEM_RESET);
	for (;;)
		__asm__ volatile("wfi");
}
