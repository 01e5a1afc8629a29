/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The physical GICv3 as the monitor drives it at EL2: distributor with
 * affinity routing, one redistributor per CPU, the ICC_* system-register CPU
 * interface with split priority drop / deactivation (EOImode = 1) so that
 * interrupts forwarded to a VM with the LR HW bit are deactivated by the VM's
 * own EOI.
 */
#include "aarch64.h"

#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_IIDR 0x0008
#define GICD_IGROUPR 0x0080
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_ICPENDR 0x0280
#define GICD_ICACTIVER 0x0380
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER 0x6000
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ENABLE_G1 (1u << 1)
#define GICD_CTLR_ARE (1u << 4)

#define GICR_FRAME_SIZE 0x20000UL
#define GICR_IIDR 0x0004
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_TYPER_LAST (1UL << 4)
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI 0x10000UL

/** Priority the monitor gives every physical interrupt. */
#define GIC_PRIORITY 0xa0

/** Each CPU's redistributor frame, found by affinity at CPU init. */
static uint64_t gicr_base_of_cpu[8];

/** 32-bit MMIO read. */
static inline uint32_t mmio_read32(uint64_t a)
{
    return *(volatile uint32_t *)a;
}

/** 32-bit MMIO write. */
static inline void mmio_write32(uint64_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

/** Waits for a distributor register write to take effect. */
static void gicd_wait_rwp(void)
{
    while (mmio_read32(PLAT_GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP) {
    }
}

/** Returns the physical GICD_TYPER. */
uint32_t gicd_read_typer(void)
{
    return mmio_read32(PLAT_GICD_BASE + GICD_TYPER);
}

/** Returns the physical GICD_IIDR. */
uint32_t gicd_read_iidr(void)
{
    return mmio_read32(PLAT_GICD_BASE + GICD_IIDR);
}

/** Returns a 32-bit ID register (e.g. GICR_PIDR2 at 0xffe8) of `cpu`'s redistributor. */
uint32_t gicr_read_id(uint32_t cpu, uint32_t offset)
{
    return mmio_read32(gicr_base_of_cpu[cpu] + offset);
}

/** Returns GICR_IIDR of `cpu`'s redistributor. */
uint32_t gicr_read_iidr(uint32_t cpu)
{
    return mmio_read32(gicr_base_of_cpu[cpu] + GICR_IIDR);
}

/** Distributor set-up (CPU 0, once): affinity routing, all SPIs group 1, disabled, inactive. */
void gic_init_distributor(void)
{
    uint64_t d = PLAT_GICD_BASE;
    mmio_write32(d + GICD_CTLR, 0);
    gicd_wait_rwp();
    uint32_t lines = 32 * ((gicd_read_typer() & 0x1f) + 1);
    for (uint32_t i = 32; i < lines; i += 32) {
        mmio_write32(d + GICD_IGROUPR + i / 8, ~0u);
        mmio_write32(d + GICD_ICENABLER + i / 8, ~0u);
        mmio_write32(d + GICD_ICPENDR + i / 8, ~0u);
        mmio_write32(d + GICD_ICACTIVER + i / 8, ~0u);
    }
    for (uint32_t i = 32; i < lines; i += 4) {
        mmio_write32(d + GICD_IPRIORITYR + i, GIC_PRIORITY * 0x01010101u);
    }
    mmio_write32(d + GICD_CTLR, GICD_CTLR_ARE);
    gicd_wait_rwp();
    mmio_write32(d + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1);
    gicd_wait_rwp();
}

/** Routes SPI `intid` to physical CPU `cpu` and enables or disables it. */
void gic_set_spi(uint32_t intid, uint32_t cpu, bool enable)
{
    uint64_t d = PLAT_GICD_BASE;
    *(volatile uint64_t *)(d + GICD_IROUTER + 8UL * intid) = cpu;
    mmio_write32(d + (enable ? GICD_ISENABLER : GICD_ICENABLER) + (intid / 32) * 4, 1u << (intid % 32));
    gicd_wait_rwp();
}

/**
 * Per-CPU set-up: wakes this CPU's redistributor, enables the monitor's kick
 * SGI, the maintenance interrupt and the virtual timer PPI, and turns on the
 * EL2 system-register interface with EOImode = 1.
 */
void gic_init_cpu(uint32_t cpu)
{
    uint64_t r = PLAT_GICR_BASE;
    for (;;) {
        uint64_t typer = *(volatile uint64_t *)(r + GICR_TYPER);
        if ((typer >> 32) == cpu) {
            break;
        }
        if (typer & GICR_TYPER_LAST) {
            console_printf("monitor: no redistributor for cpu %u\n", cpu);
            monitor_halt();
        }
        r += GICR_FRAME_SIZE;
    }
    gicr_base_of_cpu[cpu] = r;
    uint32_t waker = mmio_read32(r + GICR_WAKER);
    mmio_write32(r + GICR_WAKER, waker & ~GICR_WAKER_PROCESSOR_SLEEP);
    while (mmio_read32(r + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP) {
    }
    uint64_t s = r + GICR_SGI;
    mmio_write32(s + GICD_IGROUPR, ~0u);
    mmio_write32(s + GICD_ICENABLER, ~0u);
    mmio_write32(s + GICD_ICPENDR, ~0u);
    mmio_write32(s + GICD_ICACTIVER, ~0u);
    for (uint32_t i = 0; i < 32; i += 4) {
        mmio_write32(s + GICD_IPRIORITYR + i, GIC_PRIORITY * 0x01010101u);
    }
    mmio_write32(s + GICD_ISENABLER,
                 (1u << MONITOR_SGI_KICK) | (1u << GIC_MAINTENANCE_INTID) | (1u << PLAT_TIMER_INTID));

    sysreg_write(S3_4_C12_C9_5, 0xf); /* ICC_SRE_EL2: SRE, DFB, DIB, Enable (EL1 may use ICC_SRE_EL1) */
    isb();
    sysreg_write(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
    sysreg_write(S3_0_C12_C12_3, 0);  /* ICC_BPR1_EL1 */
    sysreg_write(S3_0_C12_C12_4, 2);  /* ICC_CTLR_EL1: EOImode = 1 */
    sysreg_write(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
    isb();
}

/** Acknowledges the highest-priority pending group-1 interrupt: returns ICC_IAR1_EL1. */
uint32_t gic_ack(void)
{
    uint32_t iar = (uint32_t)sysreg_read(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
    __asm__ volatile("dsb sy" ::: "memory");
    return iar;
}

/** Priority drop for an acknowledged interrupt (ICC_EOIR1_EL1). */
void gic_eoi(uint32_t iar)
{
    sysreg_write(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
    isb();
}

/** Deactivates `intid` (ICC_DIR_EL1): for interrupts the monitor consumes itself. */
void gic_deactivate(uint32_t intid)
{
    sysreg_write(S3_0_C12_C11_1, intid); /* ICC_DIR_EL1 */
    isb();
}

/** Sends SGI `sgi` to physical CPU `cpu` (Aff0 = cpu, as on QEMU virt). */
void gic_send_sgi(uint32_t cpu, uint32_t sgi)
{
    dsb();
    sysreg_write(S3_0_C12_C11_5, ((uint64_t)sgi << 24) | (1u << cpu)); /* ICC_SGI1R_EL1 */
    isb();
}
