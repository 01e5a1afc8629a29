/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the bare-metal test guests (see guest.h). */
#include <stdarg.h>

#include "guest.h"

#define GICD_CTLR 0x0000
#define GICD_ISENABLER 0x0100
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER 0x6000
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000

const struct guest_device guest_devices[GUEST_DEVICE_COUNT] = {PLAT_FRONTEND0_DEVICES};
volatile uint32_t guest_irq_count[256];
/** Checks passed and failed so far. */
static int guest_pass_count, guest_fail_count;

/** Writes one byte to this guest's UART (GUEST_UART: the PL011 or the monitor's debug UART). */
void guest_putc(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)GUEST_UART;
    while (uart[0x18 / 4] & (1u << 5)) {
    }
    uart[0] = (uint8_t)c;
}

/** Writes `v` in base `base`. */
static void guest_putnum(uint64_t v, unsigned base)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) {
        guest_putc(buf[--n]);
    }
}

/** Minimal printf: %s %d %u %x (with optional l). */
void guest_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            guest_putc(*fmt);
            continue;
        }
        fmt++;
        while (*fmt == 'l') {
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s) guest_putc(*s++);
            break;
        }
        case 'd': {
            int64_t v = va_arg(ap, int64_t);
            if (v < 0) {
                guest_putc('-');
                v = -v;
            }
            guest_putnum((uint64_t)v, 10);
            break;
        }
        case 'u':
            guest_putnum(va_arg(ap, uint64_t), 10);
            break;
        case 'x':
            guest_putnum(va_arg(ap, uint64_t), 16);
            break;
        default:
            guest_putc('?');
        }
    }
    va_end(ap);
}

/** Records one check as a TAP line: `ok - name` or `not ok - name: got .. want ..`. */
void guest_check(bool ok, const char *name, uint64_t got, uint64_t want)
{
    if (ok) {
        guest_pass_count++;
        guest_printf("ok - %s\n", name);
    } else {
        guest_fail_count++;
        guest_printf("not ok - %s: got 0x%lx want 0x%lx\n", name, got, want);
    }
}

/** Number of failed checks. */
int guest_failures(void)
{
    return guest_fail_count;
}

/** Number of passed checks. */
int guest_passes(void)
{
    return guest_pass_count;
}

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

/** GICv3 set-up as a bare-metal driver does it: distributor ARE + group 1, redistributor awake, ICC_* on. */
void guest_gic_init(void)
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

/** Enables `intid` at priority `prio`, routed to this CPU (SPIs in GICD, SGI/PPI in the SGI frame). */
void guest_gic_enable(uint32_t intid, uint8_t prio)
{
    uint64_t base = intid < 32 ? PLAT_GICR_BASE + GICR_SGI : PLAT_GICD_BASE;
    *(volatile uint8_t *)(base + GICD_IPRIORITYR + intid) = prio;
    if (intid >= 32) {
        *(volatile uint64_t *)(PLAT_GICD_BASE + GICD_IROUTER + 8UL * intid) = 0;
    }
    *(volatile uint32_t *)(base + GICD_ISENABLER + (intid / 32) * 4) = 1u << (intid % 32);
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

/** Unexpected exception: report it and stop. */
void guest_fault(void)
{
    guest_printf("not ok - unexpected exception: esr 0x%lx elr 0x%lx far 0x%lx\n", sysreg_read(esr_el1),
                 sysreg_read(elr_el1), sysreg_read(far_el1));
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** Fills `n` bytes at `s` with `c` (the compiler may call it). */
void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;
    while (n--) *p++ = (unsigned char)c;
    return s;
}

/** Copies `n` bytes (the compiler may call it). */
void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}
