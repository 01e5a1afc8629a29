/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GICv2 driver for the firmware's own interrupts (Arm IHI 0048 "GIC
 * Architecture Specification v2"): distributor (SPIs targeted at this CPU
 * through GICD_ITARGETSR) and the memory-mapped CPU interface (GICC). Under
 * Bao the GICC frame the VM sees is the hardware's virtual CPU interface
 * (GICV) and the distributor is emulated; the firmware programs both as on
 * hardware. Same narrow interface as the GICv3 driver (firmware.h).
 */
#include "firmware.h"
#include "platform.h"
#include "arch.h"

#if PLAT_GIC_VERSION == 2

#define GICD_CTLR       0x000
#define GICD_TYPER      0x004
#define GICD_ISENABLER  0x100
#define GICD_ICENABLER  0x180
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR  0x800
#define GICC_CTLR       0x000
#define GICC_PMR        0x004
#define GICC_BPR        0x008
#define GICC_IAR        0x00c
#define GICC_EOIR       0x010

#define GIC_PRIORITY    0xa0

static uint32_t gic_lines;
static uint8_t gic_cpu_mask; /* this CPU's bit in GICD_ITARGETSR */

static inline volatile uint32_t *gicd(unsigned off) { return (volatile uint32_t *)(PLAT_GICD_BASE + off); }
static inline volatile uint32_t *gicc(unsigned off) { return (volatile uint32_t *)(PLAT_GICC_BASE + off); }

void irqc_init(void)
{
	gic_lines = 32 * ((*gicd(GICD_TYPER) & 0x1f) + 1);
	if (gic_lines > 1020)
		gic_lines = 1020;
	/* GICD_ITARGETSR0..7 are banked: each byte reads as this CPU's own mask. */
	uint32_t t = *gicd(GICD_ITARGETSR);
	gic_cpu_mask = (uint8_t)(t | t >> 8 | t >> 16 | t >> 24);
	if (!gic_cpu_mask)
		gic_cpu_mask = 1; /* a uniprocessor GIC may read as zero */
	*gicd(GICD_CTLR) |= 1;
	*gicc(GICC_PMR) = 0xff;
	*gicc(GICC_BPR) = 0;
	*gicc(GICC_CTLR) = 1;
}

uint32_t irqc_max_intid(void)
{
	return gic_lines - 1;
}

bool irqc_enable(uint32_t intid)
{
	if (intid >= gic_lines)
		return false;
	volatile uint8_t *prio = (volatile uint8_t *)(PLAT_GICD_BASE + GICD_IPRIORITYR);
	prio[intid] = GIC_PRIORITY;
	if (intid >= 32) {
		volatile uint8_t *targets = (volatile uint8_t *)(PLAT_GICD_BASE + GICD_ITARGETSR);
		targets[intid] = gic_cpu_mask;
	}
	*gicd(GICD_ISENABLER + 4 * (intid / 32)) = 1u << (intid % 32);
	return true;
}

bool irqc_disable(uint32_t intid)
{
	if (intid >= gic_lines)
		return false;
	*gicd(GICD_ICENABLER + 4 * (intid / 32)) = 1u << (intid % 32);
	return true;
}

uint32_t irqc_ack(void)
{
	uint32_t iar = *gicc(GICC_IAR);
	__asm__ volatile("dsb sy" ::: "memory");
	return iar & 0x3ff;
}

void irqc_eoi(uint32_t intid)
{
	*gicc(GICC_EOIR) = intid;
}

#endif /* PLAT_GIC_VERSION == 2 */
