/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 part of the test guests (guest.h), in VS-mode: SBI calls and
 * Bao's hypercall over `ecall`, a PLIC driver for the VM's S-mode context,
 * the trap handler (from start.S), the SBI timer and SBI SRST.
 */
#include "guest.h"

/** SBI functions (SBI 1.0: TIME 6.1, SRST 10.1). */
#define SBI_TIME_SET_TIMER 0
#define SBI_SRST_SYSTEM_RESET 0
#define SBI_SRST_SHUTDOWN 0
/** PLIC priority of the device sources (any above the threshold 0). */
#define GUEST_IRQ_PRIO 1

volatile uint32_t guest_soft_irq_count;
uint64_t guest_boot_hartid;

/** An SBI call (SBI 1.0, 3.1): a7 = extension, a6 = function, a0..a2 arguments; returns a0 and a1. */
struct guest_sbiret guest_sbi(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2)
{
    register uint64_t r0 __asm__("a0") = a0, r1 __asm__("a1") = a1, r2 __asm__("a2") = a2;
    register uint64_t r6 __asm__("a6") = fid, r7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r6), "+r"(r7) : : "a3", "a4", "a5", "memory");
    return (struct guest_sbiret){(int64_t)r0, r1};
}

/**
 * Bao hypercall `id` through Bao's SBI extension (remio-abi.md; Bao
 * src/arch/riscv/sbi.c sbi_bao_handler, inc/arch/hypercall.h): a7 =
 * 0x08000BA0, a6 = id, a0..a4 = h->arg, a5 = GUEST_HC_SENTINEL; a0 comes
 * back as the SBI error (always 0), a1 as Bao's status, a successful ASK's
 * results in a2..a7. Returns the status.
 */
int64_t guest_hypercall(uint64_t id, struct guest_hc *h)
{
    register uint64_t a0 __asm__("a0") = h->arg[0], a1 __asm__("a1") = h->arg[1], a2 __asm__("a2") = h->arg[2];
    register uint64_t a3 __asm__("a3") = h->arg[3], a4 __asm__("a4") = h->arg[4], a5 __asm__("a5") = GUEST_HC_SENTINEL;
    register uint64_t a6 __asm__("a6") = id, a7 __asm__("a7") = SBI_EXT_BAO;
    h->kept[0] = a2;
    h->kept[1] = a3;
    h->kept[2] = a4;
    h->kept[3] = a5;
    h->kept[4] = a6;
    h->kept[5] = a7;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5), "+r"(a6), "+r"(a7) : : "memory");
    h->conduit_error = a0;
    h->status = (int64_t)a1;
    h->out[0] = a2;
    h->out[1] = a3;
    h->out[2] = a4;
    h->out[3] = a5;
    h->out[4] = a6;
    h->out[5] = a7;
    return h->status;
}

/** PLIC set-up for the VM's S-mode context (threshold 0), external interrupts enabled (sie.SEIE, sstatus.SIE). */
void guest_irq_init(void)
{
    mmio_st32(PLIC_THRESHOLD(GUEST_PLIC_CONTEXT), 0);
    csr_set(sie, 1UL << IRQ_S_EXT);
    guest_irq_unmask();
}

/** Enables PLIC source `intid` in the VM's S-mode context, at the device priority. */
void guest_irq_enable(uint32_t intid)
{
    mmio_st32(PLIC_PRIORITY(intid), GUEST_IRQ_PRIO);
    uint64_t en = PLIC_ENABLE(GUEST_PLIC_CONTEXT, intid);
    mmio_st32(en, mmio_ld32(en) | (1u << (intid % 32)));
}

/**
 * Trap entry (from start.S). An external interrupt: claim each source from
 * the PLIC, count it, let the image react, complete it. The timer: counted
 * as PLAT_TIMER_INTID (the image's hook stops it). A software interrupt:
 * counted and cleared (sip.SSIP). Anything else is reported and stops
 * this guest.
 */
void guest_trap(void)
{
    uint64_t cause = csr_read(scause);
    if (cause == (SCAUSE_INTERRUPT | IRQ_S_EXT)) {
        for (;;) {
            uint32_t id = (uint32_t)mmio_ld32(PLIC_CLAIM(GUEST_PLIC_CONTEXT));
            if (id == 0) {
                return;
            }
            if (id < 256) {
                guest_irq_count[id]++;
            }
            guest_irq_handler_hook(id);
            mmio_st32(PLIC_CLAIM(GUEST_PLIC_CONTEXT), id);
        }
    }
    if (cause == (SCAUSE_INTERRUPT | IRQ_S_TIMER)) {
        guest_irq_count[PLAT_TIMER_INTID]++;
        guest_irq_handler_hook(PLAT_TIMER_INTID);
        return;
    }
    if (cause == (SCAUSE_INTERRUPT | IRQ_S_SOFT)) {
        csr_clear(sip, 1UL << IRQ_S_SOFT);
        guest_soft_irq_count++;
        return;
    }
    guest_printf("not ok - unexpected exception: scause 0x%lx sepc 0x%lx stval 0x%lx\n", cause, csr_read(sepc),
                 csr_read(stval));
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** Frequency of the `time` CSR, ticks per second (the platform's timebase). */
uint64_t guest_counter_freq(void)
{
    return PLAT_TIMEBASE_HZ;
}

/** Enables the supervisor timer interrupt (sie.STIE; counted as PLAT_TIMER_INTID). */
void guest_timer_init(void)
{
    csr_set(sie, 1UL << IRQ_S_TIMER);
}

/** Arms the timer `ticks` ticks of `time` from now (SBI TIME set_timer, an absolute deadline). */
void guest_timer_arm(uint64_t ticks)
{
    guest_sbi(SBI_EXT_TIME, SBI_TIME_SET_TIMER, guest_counter() + ticks, 0, 0);
}

/** Moves the timer's deadline out of reach, which clears the pending timer interrupt (SBI 1.0, 6.1). */
void guest_timer_stop(void)
{
    guest_sbi(SBI_EXT_TIME, SBI_TIME_SET_TIMER, UINT64_MAX, 0, 0);
}

/** SBI SRST shutdown (the monitor ends the run; Bao has no SRST and answers NOT_SUPPORTED, then this waits). */
void guest_system_off(void)
{
    guest_sbi(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, SBI_SRST_SHUTDOWN, 0, 0);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** The privilege mode this guest runs in. */
const char *guest_mode_name(void)
{
    return "VS-mode";
}
