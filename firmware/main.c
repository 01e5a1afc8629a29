/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firmware core: boot (after the arch's start.S), then the main loop.
 * The loop runs with IRQs masked; it calls into JS for pending interrupts,
 * due timers and promise jobs, and when nothing is left it waits in WFI (a
 * pending interrupt wakes WFI even while masked: aarch64 PSTATE.I, riscv64
 * sstatus.SIE), unmasks for the handler to run, and masks again. So the
 * IRQ handler never interrupts JS.
 */
#include <stdio.h>
#include <string.h>
#include "firmware.h"
#include "platform.h"
#include "arch.h"
#include "../runtime/runtime.h"

/** Fills the `selftest` region with the pattern src/selftest.ts checks: byte i = (i * 31 + 7) mod 256. */
static void selftest_fill(void)
{
	struct region { const char *name; uint64_t base; uint64_t size; };
	static const struct region regions[] = { BACKEND_REGIONS };
	for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++) {
		if (strcmp(regions[r].name, "selftest") == 0) {
			volatile uint8_t *p = (volatile uint8_t *)regions[r].base;
			for (uint64_t i = 0; i < regions[r].size; i++)
				p[i] = (uint8_t)(i * 31 + 7);
		}
	}
}

/**
 * Entered from start.S with the counter as read by the first instruction
 * and whether a hypervisor runs below the firmware (Bao, the test monitor):
 * aarch64 entered at EL1 (entered at EL2, the firmware owns the machine and
 * start.S dropped to EL1); riscv64 started without a device tree (Bao
 * passes none; OpenSBI passes one).
 */
void boot_main(uint64_t first_ticks, uint64_t under_hypervisor)
{
	timer_boot_ticks = first_ticks;
	arch_init();
	uart_init();
	heap_init(__heap_start, (size_t)(__heap_end - __heap_start));
	irqc_init();
	irqc_enable(PLAT_TIMER_INTID);
	irqc_enable(PLAT_UART_INTID);
	selftest_fill();

	bool ok = runtime_start(under_hypervisor != 0);
	int code = ok ? 0 : 1;
	while (!runtime_exit_requested(&code)) {
		runtime_poll();
		if (runtime_exit_requested(&code))
			break;
		if (runtime_idle_forever()) {
			/* Bare machine, no timer, no interrupt handler: nothing can ever run again. */
			puts("baojs: nothing left to run");
			break;
		}
		timer_set_deadline_ns(runtime_next_deadline());
		arch_wfi();
		arch_irq_unmask();
		arch_irq_mask();
	}
	printf("baojs: exit %d\n", code);
	power_off();
}
