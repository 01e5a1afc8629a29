/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GICv3 driver for the firmware's own interrupts (Arm IHI 0069 "GICv3 and
 * GICv4 Architecture Specification"): distributor (SPIs, affinity routing),
 * this CPU's redistributor (PPIs, SGIs), and the system-register CPU
 * interface (ICC_*_EL1). Under Bao both GICD and GICR are emulated by the
 * hypervisor's vGIC and interrupts arrive through ICH_LR: the firmware
 * programs them exactly as on hardware.
 */
#include "firmware.h"
#include "platform.h"
#include "arch.h"

#if PLAT_GIC_VERSION == 3

#define GICD_CTLR       0x0000
#define GICD_TYPER      0x0004
#define GICD_IGROUPR    0x0080
#define GICD_ISENABLER  0x0100
#define GICD_ICENABLER  0x0180
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER    0x6000
#define GICD_CTLR_RWP   (1u << 31)
#define GICD_CTLR_ARE   (1u << 4)
#define GICD_CTLR_GRP1  (1u << 1)

#define GICR_FRAME      0x20000
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000 /* SGI_base frame */
#define GICR_TYPER_LAST (1u << 4)

#define GIC_PRIORITY    0xa0

static uintptr_t gicr_base; /* this CPU's redistributor frame */
static uint32_t gic_lines;  /* INTIDs implemented: 32 * (ITLinesNumber + 1) */

static inline volatile uint32_t *gicd(unsigned off) { return (volatile uint32_t *)(PLAT_GICD_BASE + off); }
static inline volatile uint64_t *gicd64(unsigned off) { return (volatile uint64_t *)(PLAT_GICD_BASE + off); }
static inline volatile uint32_t *gicr(unsigned off) { return (volatile uint32_t *)(gicr_base + off); }

/** Affinity of this CPU in GICR_TYPER[63:32] layout (Aff3.Aff2.Aff1.Aff0). */
static uint32_t gic_cpu_affinity(void)
{
	uint64_t mpidr = SYSREG_READ(mpidr_el1);
	return (uint32_t)((mpidr & 0xffffff) | ((mpidr >> 32 & 0xff) << 24));
}

static void gicd_wait_rwp(void)
{
	while (*gicd(GICD_CTLR) & GICD_CTLR_RWP)
		;
}

void irqc_init(void)
{
	gic_lines = 32 * ((*gicd(GICD_TYPER) & 0x1f) + 1);
	if (gic_lines > 1020)
		gic_lines = 1020;

	/* Find this CPU's redistributor by affinity. */
	uint32_t aff = gic_cpu_affinity();
	uintptr_t frame = PLAT_GICR_BASE;
	for (int i = 0; i < 64; i++, frame += GICR_FRAME) {
		uint64_t typer = *(volatile uint64_t *)(frame + GICR_TYPER);
		if ((uint32_t)(typer >> 32) == aff) {
			gicr_base = frame;
			break;
		}
		if (typer & GICR_TYPER_LAST)
			break;
	}
	if (!gicr_base)
		panic("gic: no redistributor for affinity 0x%x", (unsigned)aff);

	/* Wake the redistributor (GICR_WAKER.ProcessorSleep = 0). */
	*gicr(GICR_WAKER) &= ~(1u << 1);
	while (*gicr(GICR_WAKER) & (1u << 2))
		;

	/* Distributor: affinity routing, then Group 1 on. */
	*gicd(GICD_CTLR) |= GICD_CTLR_ARE;
	gicd_wait_rwp();
	*gicd(GICD_CTLR) |= GICD_CTLR_GRP1;
	gicd_wait_rwp();

	/* CPU interface. */
	SYSREG_WRITE(ICC_SRE_EL1, SYSREG_READ(ICC_SRE_EL1) | 1);
	arch_isb();
	SYSREG_WRITE(ICC_PMR_EL1, 0xff);
	SYSREG_WRITE(ICC_BPR1_EL1, 0);
	SYSREG_WRITE(ICC_CTLR_EL1, 0); /* EOImode 0: EOIR drops priority and deactivates */
	SYSREG_WRITE(ICC_IGRPEN1_EL1, 1);
	arch_isb();
}

uint32_t irqc_max_intid(void)
{
	return gic_lines - 1;
}

bool irqc_enable(uint32_t intid)
{
	uint32_t bit = 1u << (intid % 32);
	if (intid < 32) {
		volatile uint8_t *prio = (volatile uint8_t *)(gicr_base + GICR_SGI + GICD_IPRIORITYR);
		*gicr(GICR_SGI + GICD_IGROUPR) |= bit;
		prio[intid] = GIC_PRIORITY;
		*gicr(GICR_SGI + GICD_ISENABLER) = bit;
		return true;
	}
	if (intid >= gic_lines)
		return false;
	volatile uint8_t *prio = (volatile uint8_t *)(PLAT_GICD_BASE + GICD_IPRIORITYR);
	*gicd(GICD_IGROUPR + 4 * (intid / 32)) |= bit;
	prio[intid] = GIC_PRIORITY;
	uint64_t mpidr = SYSREG_READ(mpidr_el1);
	*gicd64(GICD_IROUTER + 8 * intid) = (mpidr & 0xffffff) | ((mpidr >> 32 & 0xff) << 32);
	*gicd(GICD_ISENABLER + 4 * (intid / 32)) = bit;
	return true;
}

bool irqc_disable(uint32_t intid)
{
	uint32_t bit = 1u << (intid % 32);
	if (intid < 32) {
		*gicr(GICR_SGI + GICD_ICENABLER) = bit;
		return true;
	}
	if (intid >= gic_lines)
		return false;
	*gicd(GICD_ICENABLER + 4 * (intid / 32)) = bit;
	return true;
}

uint32_t irqc_ack(void)
{
	uint32_t intid = (uint32_t)SYSREG_READ(ICC_IAR1_EL1) & 0xffffff;
	__asm__ volatile("dsb sy" ::: "memory");
	return intid;
}

void irqc_eoi(uint32_t intid)
{
	SYSREG_WRITE(ICC_EOIR1_EL1, intid);
	arch_isb();
}

#endif /* PLAT_GIC_VERSION == 3 */
