/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the bare-metal test guests (aarch64 EL1 or riscv64
 * VS-mode, MMU off): console, TAP-style checks, the device table, the
 * C test backend's register file, and the hooks each architecture provides
 * (test/guest/<arch>/: entry and trap vectors, the hypercall, the interrupt
 * controller, the timer; guest_arch.h: width-exact MMIO accessors, the
 * counter, interrupt masking, barriers).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "abi.h"
#include "guest_arch.h"

/** One device model row from platform.h (field order of PLAT_DEVICES). */
struct guest_device {
    const char *name;                                    /**< device name */
    uint32_t virtio_id, dm_id, bind_key;                 /**< virtio id, dm_id, bind key */
    uint64_t window_base, window_size;                   /**< frontend window */
    uint32_t backend_intid, frontend_intid, shmem_id;    /**< interrupts, shmem id */
    uint64_t shmem_base, shmem_size;                     /**< shared region */
    uint32_t frontend;                                   /**< index of its frontend (0 here) */
};

/** The devices the conformance guests use: those of the first frontend, the VM the conformance frontend runs in. */
#define GUEST_DEVICE_COUNT PLAT_FRONTEND0_DEVICE_COUNT
extern const struct guest_device guest_devices[GUEST_DEVICE_COUNT];
/** Interrupts taken, per INTID (PLIC source on riscv64; the timer counts as PLAT_TIMER_INTID), updated by the arch's handler. */
extern volatile uint32_t guest_irq_count[256];

void guest_putc(char c);
void guest_printf(const char *fmt, ...);
void guest_check(bool ok, const char *name, uint64_t got, uint64_t want);
int guest_failures(void);
int guest_passes(void);

/** Value the arch puts in the hypercall register after the arguments (x6 / a5): a failing call must leave it. */
#define GUEST_HC_SENTINEL 0x6666UL

/**
 * One Bao hypercall (remio-abi.md, "The hypercall"): aarch64 `hvc #0` with
 * x0 = HC_FID_BASE | id, x1..x5 the arguments, x6 = GUEST_HC_SENTINEL;
 * riscv64 `ecall` with a7 = Bao's SBI extension, a6 = id, a0..a4 the
 * arguments, a5 = GUEST_HC_SENTINEL.
 */
struct guest_hc {
    uint64_t arg[5];        /**< in: dm_id, addr, op, value, request_id (remio); ipc_id, event (IPC) */
    int64_t status;         /**< out: Bao's status (x0 / a1) */
    uint64_t conduit_error; /**< out: riscv64 the SBI error (a0), 0 from Bao for every hypercall; aarch64 0 */
    uint64_t out[6];        /**< out: the registers a successful ASK fills (x1..x6 / a2..a7): addr, op, value, width, request_id, more-pending */
    uint64_t kept[6];       /**< what those registers held going in: a call that is not a successful ASK leaves them so */
};

/* <arch>/arch.c: what every test guest needs from its architecture */
int64_t guest_hypercall(uint64_t id, struct guest_hc *h);
void guest_irq_init(void);
void guest_irq_enable(uint32_t intid);
void guest_irq_handler_hook(uint32_t intid);
uint64_t guest_counter_freq(void);
void guest_timer_init(void);
void guest_timer_arm(uint64_t ticks);
void guest_timer_stop(void);
void guest_system_off(void) __attribute__((noreturn));
const char *guest_mode_name(void);

/* <arch>/frontend-arch.c: the conformance frontend's checks that exist in one form per architecture */
void fe_arch_widths(uint64_t w);
void fe_arch_irq_isolation(void);
void fe_arch_firmware(void);
void fe_arch_undecodable(uint64_t window) __attribute__((noreturn));

/** Test-register offsets inside every window, answered by the C test backend. */
#define TR_MAGIC 0x000      /* 4: 0x74726976; +4: device index */
#define TR_LAST_RAW 0x010   /* 8: unmasked 64-bit value of the last scratch write */
#define TR_LAST_WIDTH 0x018 /* 8: width of the last scratch write */
#define TR_LAST_ADDR 0x020  /* 8: absolute address of the last scratch write */
#define TR_COUNT 0x028      /* 8: requests this device has served */
#define TR_NOTIFY 0x030     /* write n: n NOTIFYs after completing the write */
#define TR_OPFLIP_W 0x038   /* write completed with op READ: source register overwritten */
#define TR_OPFLIP_R 0x040   /* read completed with op WRITE: destination register untouched */
#define TR_EDGE 0x048       /* read: the backend runs its completion edge cases, answers 0x600d */
#define TR_CHECKS 0x050     /* 8: backend ABI checks run */
#define TR_FAILS 0x058      /* 8: backend ABI checks failed */
#define TR_ASKCHECKS 0x060  /* 8: times a rejected ASK (addr/value != 0) was followed by a good ASK */
#define TR_WIDE 0x068       /* read at any width: 0x1122334455667788, not masked by the backend */
#define TR_SCRATCH 0x100    /* 0x100 bytes of byte-addressed scratch memory */
#define TR_MAGIC_VALUE 0x74726976UL
#define TR_WIDE_VALUE 0x1122334455667788UL
#define TR_OPFLIP_TAG 0x5a5a000000000000UL
#define TR_EDGE_VALUE 0x600dUL

/** Load of `width` bytes (the arch's zero-extending form). */
static inline uint64_t mmio_ld(uint64_t a, int width)
{
    return width == 1 ? mmio_ld8(a) : width == 2 ? mmio_ld16(a) : width == 4 ? mmio_ld32(a) : mmio_ld64(a);
}

/** Store of `width` bytes of `v`. */
static inline void mmio_st(uint64_t a, uint64_t v, int width)
{
    if (width == 1) mmio_st8(a, v); else if (width == 2) mmio_st16(a, v); else if (width == 4) mmio_st32(a, v); else mmio_st64(a, v);
}

#endif
