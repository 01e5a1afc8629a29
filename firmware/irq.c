/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-off between interrupt context and the main loop: the IRQ handler
 * acknowledges each interrupt, does the minimum a level-triggered source
 * needs (drain the UART FIFO, mask the timer, mask a passthrough device's
 * interrupt at the controller: GIC, PLIC), records the INTID as pending and
 * ends it (irqc_ack and irqc_eoi: one claim and one completion on a PLIC). The main
 * loop takes pending INTIDs and calls into JS. IRQs are unmasked only while
 * the main loop waits, so no JS ever runs in, or is interrupted by, an
 * interrupt handler.
 *
 * A device passed through to the backend (a virtio-mmio transport) holds
 * its interrupt line high until the driver writes InterruptACK (virtio 1.2
 * section 4.2.2, InterruptStatus / InterruptACK). Where the driver
 * registered the device (a disk plane's disk, pt_irq_ack; any other
 * virtio-mmio device with host.passthroughIsr, pt_virtio_ack), the handler
 * does that itself and keeps the bits for the main loop: the line drops and
 * stays enabled. Otherwise the handler disables the INTID before its EOI
 * (else it would fire again at once, forever) and the driver enables it
 * again with host.irqEnable once it has acknowledged the device. Under Bao
 * the first way is the one that works: with the INTID disabled and enabled
 * again per interrupt, a passthrough card's interrupts stopped after the
 * first (the GIC distributor writes are trapped and emulated by Bao's vGIC).
 */
#include "firmware.h"
#include "platform.h"
#include "arch.h"

#if PLAT_PASSTHROUGH_COUNT > 0
static const struct { const char *name; uint64_t base, size; uint32_t intid; } irq_passthrough[] = { PLAT_PASSTHROUGH };
#endif

/** Whether `intid` is the level-triggered SPI of a device passed through to the backend. */
static bool irq_is_passthrough(uint32_t intid)
{
#if PLAT_PASSTHROUGH_COUNT > 0
	for (unsigned i = 0; i < PLAT_PASSTHROUGH_COUNT; i++)
		if (irq_passthrough[i].intid == intid)
			return true;
#else
	(void)intid;
#endif
	return false;
}

/*
 * Pending INTIDs, a bit each, and which of their words are non-zero (so
 * that taking one is a couple of count-trailing-zeros, not a scan of 16
 * words: the main loop asks several times per request). Written by the IRQ
 * handler, read and cleared by the main loop with IRQs masked.
 */
static uint64_t irq_pending[IRQ_MAX / 64];
static uint32_t irq_pending_words;
_Static_assert(IRQ_MAX / 64 <= 32, "irq_pending_words has a bit per word of irq_pending");
uint64_t irq_count;

void irq_handle(void)
{
	uint64_t now = arch_timer_ticks();
	for (;;) {
		uint32_t intid = irqc_ack();
		if (intid >= 1020)
			break;
		irq_count++;
		if (intid == PLAT_UART_INTID)
			uart_rx_drain();
		else if (intid == PLAT_TIMER_INTID)
			timer_handle_irq();
		else if (irq_is_passthrough(intid) && !pt_irq_ack(intid) && !pt_virtio_ack(intid))
			irqc_disable(intid); /* host.irqEnable unmasks it once JS has acknowledged the device */
		perf_irq(intid, now);
		irq_set_pending(intid);
		irqc_eoi(intid);
	}
}

int irq_take_pending(void)
{
	if (!irq_pending_words)
		return -1;
	unsigned w = (unsigned)__builtin_ctz(irq_pending_words);
	uint64_t bits = irq_pending[w];
	unsigned b = (unsigned)__builtin_ctzll(bits);
	bits &= bits - 1;
	irq_pending[w] = bits;
	if (!bits)
		irq_pending_words &= ~(1U << w);
	return (int)(w * 64 + b);
}

void irq_set_pending(uint32_t intid)
{
	if (intid < IRQ_MAX) {
		irq_pending[intid / 64] |= 1UL << (intid % 64);
		irq_pending_words |= 1U << (intid / 64);
	}
}

bool irq_any_pending(void)
{
	return irq_pending_words != 0;
}
