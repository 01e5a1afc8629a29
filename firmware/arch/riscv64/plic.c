/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RISC-V PLIC (Platform-Level Interrupt Controller Specification 1.0.0)
 * for the firmware's own interrupts, in this hart's S-mode context
 * (2 * hart + 1 on QEMU virt, and in Bao's virtual PLIC, where the hart is
 * the virtual one). Every source gets priority 1 and the context's
 * threshold is 0. An interrupt is claimed once and completed once
 * (irq.c: irqc_ack, then irqc_eoi). The supervisor timer interrupt is no
 * PLIC source: irqc_ack reports it, once the trap's scause named it or
 * while sip.STIP is set, as
 * PLAT_TIMER_INTID (0, a source number the PLIC never delivers), and
 * sie.STIE enables it.
 */
#include "firmware.h"
#include "platform.h"
#include "arch.h"

#define PLIC_PRIORITY(id)   (0x000000UL + 4UL * (id))
#define PLIC_ENABLE(ctx)    (0x002000UL + 0x80UL * (ctx))
#define PLIC_THRESHOLD(ctx) (0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx)     (0x200004UL + 0x1000UL * (ctx))
#define PLIC_SOURCES        1024u
#define IRQC_NONE           1023u

static uint64_t plic_ctx;

static inline volatile uint32_t *plic(uint64_t off)
{
	return (volatile uint32_t *)(PLAT_PLIC_BASE + off);
}

void irqc_init(void)
{
	plic_ctx = 2 * riscv_hartid + 1;
	*plic(PLIC_THRESHOLD(plic_ctx)) = 0;
	CSR_SET(sie, SIE_SEIE);
}

uint32_t irqc_max_intid(void)
{
	return 1019; /* irq.c takes 1020 and above for "none" */
}

bool irqc_enable(uint32_t intid)
{
	if (intid == PLAT_TIMER_INTID) {
		CSR_SET(sie, SIE_STIE);
		return true;
	}
	if (intid >= PLIC_SOURCES)
		return false;
	/* A source the PLIC does not implement keeps priority 0 (WARL): it cannot be delivered. */
	*plic(PLIC_PRIORITY(intid)) = 1;
	if (*plic(PLIC_PRIORITY(intid)) == 0)
		return false;
	*plic(PLIC_ENABLE(plic_ctx) + 4 * (intid / 32)) |= 1u << (intid % 32);
	return true;
}

bool irqc_disable(uint32_t intid)
{
	if (intid == PLAT_TIMER_INTID) {
		CSR_CLEAR(sie, SIE_STIE);
		return true;
	}
	if (intid >= PLIC_SOURCES)
		return false;
	*plic(PLIC_ENABLE(plic_ctx) + 4 * (intid / 32)) &= ~(1u << (intid % 32));
	return true;
}

/*
 * Set by the trap entry when scause is the supervisor timer interrupt. In
 * VS-mode under a hypervisor that gives the guest Sstc's vstimecmp (Bao,
 * the monitor), QEMU 7.2 delivers the timer interrupt but leaves STIP out of
 * what a read of sip returns: the cause of the trap is the one sure sign.
 */
bool riscv_timer_trap;

uint32_t irqc_ack(void)
{
	if ((riscv_timer_trap || (CSR_READ(sip) & SIP_STIP)) && (CSR_READ(sie) & SIE_STIE)) {
		riscv_timer_trap = false;
		return PLAT_TIMER_INTID;
	}
	uint32_t id = *plic(PLIC_CLAIM(plic_ctx));
	return id ? id : IRQC_NONE;
}

void irqc_eoi(uint32_t intid)
{
	if (intid != PLAT_TIMER_INTID && intid < PLIC_SOURCES)
		*plic(PLIC_CLAIM(plic_ctx)) = intid;
}
