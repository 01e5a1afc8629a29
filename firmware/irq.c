/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-off between interrupt context and the main loop: the IRQ handler
 * acknowledges each interrupt, does the minimum a level-triggered source
 * needs (drain the UART FIFO, mask the timer), records the INTID as pending
 * and ends it. The main loop takes pending INTIDs and calls into JS. IRQs are
 * unmasked only while the main loop waits, so no JS ever runs in, or is
 * interrupted by, an interrupt handler.
 */
#include "firmware.h"
#include "platform.h"

static uint64_t irq_pending[IRQ_MAX / 64];
uint64_t irq_count;

void irq_handle(void)
{
	uint64_t now = timer_ticks();
	for (;;) {
		uint32_t intid = gic_ack();
		if (intid >= 1020)
			break;
		irq_count++;
		if (intid == PLAT_UART_INTID)
			uart_rx_drain();
		else if (intid == PLAT_TIMER_INTID)
			timer_handle_irq();
		perf_irq(intid, now);
		irq_pending[intid / 64] |= 1UL << (intid % 64);
		gic_eoi(intid);
	}
}

int irq_take_pending(void)
{
	for (unsigned w = 0; w < IRQ_MAX / 64; w++) {
		uint64_t bits = irq_pending[w];
		if (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			irq_pending[w] &= ~(1UL << b);
			return (int)(w * 64 + b);
		}
	}
	return -1;
}

void irq_set_pending(uint32_t intid)
{
	if (intid < IRQ_MAX)
		irq_pending[intid / 64] |= 1UL << (intid % 64);
}

bool irq_any_pending(void)
{
	for (unsigned w = 0; w < IRQ_MAX / 64; w++)
		if (irq_pending[w])
			return true;
	return false;
}
