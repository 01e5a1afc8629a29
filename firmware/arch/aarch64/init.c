/* SPDX-License-Identifier: Apache-2.0 */
/* aarch64 early set-up: the MMU (mmu.c) and the TLS pointer. */
#include "firmware.h"
#include "arch.h"

void arch_init(void)
{
	extern char __tls_base[];

	mmu_init();
	/* picolibc's errno lives in TLS: TPIDR_EL0 points 16 bytes below the TLS block (AArch64 variant 1). */
	SYSREG_WRITE(tpidr_el0, (uint64_t)__tls_base - 16);
}
