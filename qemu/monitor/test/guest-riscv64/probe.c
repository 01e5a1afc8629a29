/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 probe frontend: a bare-metal VS-mode guest for the monitor's
 * riscv64 tests, against the baojs firmware as the backend. It reads the
 * virtio-mmio identification registers of its devices through the forms of
 * load Bao decodes (lw, lwu, c.lw), writes registers (sw, c.sw), checks
 * the SBI calls Linux makes, prints TAP lines on the monitor's ns16550 debug
 * UART and powers off through SBI SRST. Mode (a1): 0 the checks; 1 a c.ld
 * on a window (Bao cannot decode it: fatal); 2 a load from the backend's
 * RAM (unmapped: fatal); 3 a 1-byte load of a PLIC priority (Bao's
 * virtual PLIC takes aligned 32-bit accesses only there: fatal).
 */
#include <stdbool.h>
#include <stdint.h>

#include "platform.h"

/** One device model row from platform.h (field order of PLAT_DEVICES). */
struct probe_device {
    const char *name;
    uint32_t virtio_id, dm_id, bind_key;
    uint64_t window_base, window_size;
    uint32_t backend_intid, frontend_intid, shmem_id;
    uint64_t shmem_base, shmem_size;
    uint32_t frontend;
};

static const struct probe_device devices[] = {PLAT_FRONTEND0_DEVICES};
static int passes, failures;

/** Writes one byte to the debug ns16550 (THR; LSR.THRE polled). */
static void putc_(char c)
{
    volatile uint8_t *u = (volatile uint8_t *)MONITOR_DEBUG_UART_BASE;
    while (!(u[5] & 0x20)) {
    }
    u[0] = (uint8_t)c;
}

static void puts_(const char *s)
{
    while (*s) {
        putc_(*s++);
    }
}

static void putdec(uint64_t v)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        putc_(b[--n]);
    }
}

static void puthex(uint64_t v)
{
    char b[17];
    int n = 0;
    do {
        unsigned d = v & 15;
        b[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v >>= 4;
    } while (v);
    puts_("0x");
    while (n) {
        putc_(b[--n]);
    }
}

/** One TAP line: `ok - name` or `not ok - name (got X, want Y)`. */
static void check(bool ok, const char *name, uint64_t got, uint64_t want)
{
    puts_(ok ? "ok - " : "not ok - ");
    puts_(name);
    if (!ok) {
        puts_(" (got ");
        puthex(got);
        puts_(", want ");
        puthex(want);
        puts_(")");
    }
    puts_("\n");
    if (ok) {
        passes++;
    } else {
        failures++;
    }
}

/** An SBI call: a7 extension, a6 function; returns a0 (error) and *value = a1. */
static int64_t sbi(uint64_t ext, uint64_t fid, uint64_t arg0, uint64_t *value)
{
    register uint64_t a0 __asm__("a0") = arg0;
    register uint64_t a1 __asm__("a1") = 0;
    register uint64_t a6 __asm__("a6") = fid;
    register uint64_t a7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    if (value) {
        *value = a1;
    }
    return (int64_t)a0;
}

static uint64_t ld_lw(uint64_t a) { uint64_t v; __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(a) : "memory"); return v; }
static uint64_t ld_lwu(uint64_t a) { uint64_t v; __asm__ volatile("lwu %0, 0(%1)" : "=r"(v) : "r"(a) : "memory"); return v; }
static uint64_t ld_clw(uint64_t a)
{
    register uint64_t v __asm__("a0");
    register uint64_t p __asm__("a1") = a;
    __asm__ volatile("c.lw %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
    return v;
}
static uint64_t ld_cld(uint64_t a)
{
    register uint64_t v __asm__("a0");
    register uint64_t p __asm__("a1") = a;
    __asm__ volatile("c.ld %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
    return v;
}
static void st_sw(uint64_t a, uint64_t v) { __asm__ volatile("sw %0, 0(%1)" ::"r"(v), "r"(a) : "memory"); }
static void st_csw(uint64_t a, uint64_t v)
{
    register uint64_t r __asm__("a0") = v;
    register uint64_t p __asm__("a1") = a;
    __asm__ volatile("c.sw %0, 0(%1)" ::"r"(r), "r"(p) : "memory");
}

/** virtio-mmio registers (virtio 1.2 section 4.2.2). */
#define VIRTIO_MAGIC 0x000
#define VIRTIO_VERSION 0x004
#define VIRTIO_DEVICE_ID 0x008
#define VIRTIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_STATUS 0x070
#define MAGIC 0x74726976UL

/** SBI extensions and functions (SBI 1.0). */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_BAO 0x08000ba0

void probe_main(uint64_t mode)
{
    const struct probe_device *d = &devices[0];
    uint64_t w = d->window_base;
    if (mode == 1) {
        puts_("probe: c.ld on a window\n");
        uint64_t v = ld_cld(w);
        check(false, "c.ld on a window returned", v, 0);
    } else if (mode == 2) {
        puts_("probe: load from the backend's RAM\n");
        uint64_t v = ld_lw(BACKEND_RAM_BASE);
        check(false, "a load from the backend's RAM returned", v, 0);
    } else if (mode == 3) {
        puts_("probe: 1-byte load of a PLIC priority\n");
        uint64_t v = *(volatile uint8_t *)(PLAT_PLIC_BASE + 4);
        check(false, "a 1-byte load of a PLIC priority returned", v, 0);
    }
    uint64_t value;
    check(sbi(SBI_EXT_BASE, 0, 0, &value) == 0 && value == 0x01000000, "SBI spec version 1.0", value, 0x01000000);
    check(sbi(SBI_EXT_BASE, 3, SBI_EXT_TIME, &value) == 0 && value != 0, "SBI probe finds TIME", value, 1);
    check(sbi(SBI_EXT_BASE, 3, SBI_EXT_SRST, &value) == 0 && value != 0, "SBI probe finds SRST", value, 1);
    check(sbi(SBI_EXT_BASE, 3, 0x12345678, &value) == 0 && value == 0, "SBI probe of an unknown extension is 0", value, 0);
    check(sbi(SBI_EXT_HSM, 2, 0, &value) == 0 && value == 0, "HSM: vhart 0 is started", value, 0);
    check((uint64_t)sbi(SBI_EXT_HSM, 0, 0, 0) == (uint64_t)-6, "HSM: starting vhart 0 is ALREADY_AVAILABLE", 0, -6);
    check((uint64_t)sbi(SBI_EXT_HSM, 2, 1, 0) == (uint64_t)-3, "HSM: vhart 1 does not exist", 0, -3);
    check((uint64_t)sbi(0x0abcdef0, 0, 0, 0) == (uint64_t)-2, "an unknown SBI extension is NOT_SUPPORTED", 0, -2);
    check(sbi(SBI_EXT_BAO, 7, 0, &value) == 0 && value == (uint64_t)-2, "Bao hypercall 7 is unknown (-2 in a1)", value, -2);
    /* remio from a frontend: its devices are frontend entries, a completion names no PROCESSING request */
    check(sbi(SBI_EXT_BAO, 2, 99, &value) == 0 && value == (uint64_t)-3, "remio with a dm_id out of range is -3", value, -3);

    for (unsigned i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        uint64_t b = devices[i].window_base;
        check(ld_lw(b + VIRTIO_MAGIC) == MAGIC, "lw MagicValue", ld_lw(b + VIRTIO_MAGIC), MAGIC);
        check(ld_lwu(b + VIRTIO_VERSION) == 2, "lwu Version is 2", ld_lwu(b + VIRTIO_VERSION), 2);
        check(ld_clw(b + VIRTIO_DEVICE_ID) == devices[i].virtio_id, "c.lw DeviceID", ld_clw(b + VIRTIO_DEVICE_ID), devices[i].virtio_id);
    }
    /* a store of each decodable form: DeviceFeaturesSel (sw, c.sw), Status reset (sw 0) */
    st_sw(w + VIRTIO_DEVICE_FEATURES_SEL, 1);
    st_csw(w + VIRTIO_DEVICE_FEATURES_SEL, 0);
    st_sw(w + VIRTIO_STATUS, 0);
    check(ld_lw(w + VIRTIO_STATUS) == 0, "sw/c.sw to the window, Status reads 0 after reset", ld_lw(w + VIRTIO_STATUS), 0);

    puts_("probe: ");
    putdec((uint64_t)passes);
    puts_(" passed, ");
    putdec((uint64_t)failures);
    puts_(" failed\n");
    sbi(SBI_EXT_SRST, 0, 0, 0);
    for (;;) {
    }
}
