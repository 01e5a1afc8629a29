/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aarch64 part of the test guests (guest.h): SMCCC calls and Bao's
 * hypercall over HVC, a GICv3 driver using the ICC_* system registers,
 * the IRQ and fault entries (from start.S), the virtual timer and PSCI
 * SYSTEM_OFF.
 */
#include "guest.h"

#define GICD_CTLR 0x0000
#define GICD_ISENABLER 0x0100
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER 0x6000
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
/** GIC priority of the device interrupts. */
#define GUEST_IRQ_PRIO 0x80
/** GIC priority of the timer PPI (below the devices). */
#define GUEST_TIMER_PRIO 0x90
/** PSCI SYSTEM_OFF (PSCI 1.1, DEN0022, section 5.1). */
#define PSCI_SYSTEM_OFF 0x84000008UL

/** HVC #0 with x0..x6 in and out. */
void guest_hvc(struct smccc_regs *r)
{
    register uint64_t x0 __asm__("x0") = r->x[0], x1 __asm__("x1") = r->x[1], x2 __asm__("x2") = r->x[2];
    register uint64_t x3 __asm__("x3") = r->x[3], x4 __asm__("x4") = r->x[4], x5 __asm__("x5") = r->x[5];
    register uint64_t x6 __asm__("x6") = r->x[6];
    __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6) : : "memory");
    r->x[0] = x0; r->x[1] = x1; r->x[2] = x2; r->x[3] = x3; r->x[4] = x4; r->x[5] = x5; r->x[6] = x6;
}

/** SMC #0 with x0..x6 in and out (trapped by the hypervisor). */
void guest_smc(struct smccc_regs *r)
{
    register uint64_t x0 __asm__("x0") = r->x[0], x1 __asm__("x1") = r->x[1], x2 __asm__("x2") = r->x[2];
    register uint64_t x3 __asm__("x3") = r->x[3], x4 __asm__("x4") = r->x[4], x5 __asm__("x5") = r->x[5];
    register uint64_t x6 __asm__("x6") = r->x[6];
    __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6) : : "memory");
    r->x[0] = x0; r->x[1] = x1; r->x[2] = x2; r->x[3] = x3; r->x[4] = x4; r->x[5] = x5; r->x[6] = x6;
}

/**
 * Bao hypercall `id` over HVC (remio-abi.md; Bao src/core/hypercall.c):
 * x0 = HC_FID_BASE | id, x1..x5 = h->arg, x6 = GUEST_HC_SENTINEL; the
 * status comes back in x0, a successful ASK's results in x1..x6.
 * Returns the status.
 */
int64_t guest_hypercall(uint64_t id, struct guest_hc *h)
{
    struct smccc_regs r = {{HC_FID_BASE | id, h->arg[0], h->arg[1], h->arg[2], h->arg[3], h->arg[4], GUEST_HC_SENTINEL}};
    for (int i = 0; i < 6; i++) {
        h->kept[i] = r.x[i + 1];
    }
    guest_hvc(&r);
    h->status = (int64_t)r.x[0];
    h->conduit_error = 0;
    for (int i = 0; i < 6; i++) {
        h->out[i] = r.x[i + 1];
    }
    return h->status;
}

/** GICv3 set-up as a bare-metal driver does it: distributor ARE + group 1, redistributor awake, ICC_* on, IRQs unmasked. */
void guest_irq_init(void)
{
    *(volatile uint32_t *)(PLAT_GICD_BASE + GICD_CTLR) = (1u << 4) | (1u << 1) | 1u;
    volatile uint32_t *waker = (volatile uint32_t *)(PLAT_GICR_BASE + GICR_WAKER);
    *waker = *waker & ~(1u << 1);
    while (*waker & (1u << 2)) {
    }
    sysreg_write(S3_0_C12_C12_5, sysreg_read(S3_0_C12_C12_5) | 1); /* ICC_SRE_EL1.SRE */
    __asm__ volatile("isb");
    sysreg_write(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
    sysreg_write(S3_0_C12_C12_3, 0);  /* ICC_BPR1_EL1 */
    sysreg_write(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
    __asm__ volatile("isb\n msr daifclr, #2");
}

/** Enables `intid` at GIC priority `prio`, routed to this CPU (SPIs in GICD, SGI/PPI in the SGI frame). */
void guest_gic_enable(uint32_t intid, uint8_t prio)
{
    uint64_t base = intid < 32 ? PLAT_GICR_BASE + GICR_SGI : PLAT_GICD_BASE;
    *(volatile uint8_t *)(base + GICD_IPRIORITYR + intid) = prio;
    if (intid >= 32) {
        *(volatile uint64_t *)(PLAT_GICD_BASE + GICD_IROUTER + 8UL * intid) = 0;
    }
    *(volatile uint32_t *)(base + GICD_ISENABLER + (intid / 32) * 4) = 1u << (intid % 32);
}

/** Enables device interrupt `intid` (an SPI) at the device priority. */
void guest_irq_enable(uint32_t intid)
{
    guest_gic_enable(intid, GUEST_IRQ_PRIO);
}

/** IRQ entry (from start.S): acknowledge, count, let the image react, end. */
void guest_irq(void)
{
    uint64_t iar = sysreg_read(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
    uint32_t intid = (uint32_t)iar & 0xffffff;
    if (intid >= 1020) {
        return;
    }
    if (intid < 256) {
        guest_irq_count[intid]++;
    }
    guest_irq_handler_hook(intid);
    sysreg_write(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
}

/** Unexpected exception (from start.S): report it and stop. */
void guest_fault(void)
{
    guest_printf("not ok - unexpected exception: esr 0x%lx elr 0x%lx far 0x%lx\n", sysreg_read(esr_el1),
                 sysreg_read(elr_el1), sysreg_read(far_el1));
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** Frequency of the virtual counter (CNTFRQ_EL0), ticks per second. */
uint64_t guest_counter_freq(void)
{
    return sysreg_read(cntfrq_el0);
}

/** Enables the virtual timer's PPI (PLAT_TIMER_INTID), below the devices' priority. */
void guest_timer_init(void)
{
    guest_gic_enable(PLAT_TIMER_INTID, GUEST_TIMER_PRIO);
}

/** Arms the virtual timer `ticks` counter ticks from now (CNTV_TVAL_EL0, CNTV_CTL_EL0.ENABLE). */
void guest_timer_arm(uint64_t ticks)
{
    sysreg_write(cntv_tval_el0, ticks);
    sysreg_write(cntv_ctl_el0, 1);
}

/** Masks the virtual timer so that it does not fire again (ENABLE | IMASK). */
void guest_timer_stop(void)
{
    sysreg_write(cntv_ctl_el0, 3);
}

/** PSCI SYSTEM_OFF over HVC (the monitor ends the run; Bao answers NOT_SUPPORTED, then this waits). */
void guest_system_off(void)
{
    struct smccc_regs r = {{PSCI_SYSTEM_OFF}};
    guest_hvc(&r);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** The exception level this guest runs at, e.g. "EL1" (CurrentEL). */
const char *guest_mode_name(void)
{
    static const char *const names[] = {"EL0", "EL1", "EL2", "EL3"};
    return names[(sysreg_read(CurrentEL) >> 2) & 3];
}
