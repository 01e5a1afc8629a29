/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the bare-metal test guests (EL1, MMU off): console,
 * TAP-style checks, SMCCC calls, a GICv3 driver using the ICC_* system
 * registers, and width-exact MMIO accessors.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "abi.h"

/** Reads system register `r`. */
#define sysreg_read(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
/** Writes system register `r`. */
#define sysreg_write(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((uint64_t)(v)))

/** The remio and IPC hypercalls' function ids (remio-abi.md; ids, base and REMIO_OP_* from abi.h). */
#define HC_REMIO_FID (HC_FID_BASE | HC_REMIO)
#define HC_IPC_FID (HC_FID_BASE | HC_IPC)

/** Registers x0..x6 in and out of an SMCCC call. */
struct smccc_regs {
    uint64_t x[7]; /**< x0 (function id in, status out) .. x6 */
};

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
/** Interrupts taken, per INTID (updated by the IRQ handler). */
extern volatile uint32_t guest_irq_count[256];

void guest_putc(char c);
void guest_printf(const char *fmt, ...);
void guest_check(bool ok, const char *name, uint64_t got, uint64_t want);
int guest_failures(void);
int guest_passes(void);
void guest_hvc(struct smccc_regs *r);
void guest_smc(struct smccc_regs *r);
void guest_gic_init(void);
void guest_gic_enable(uint32_t intid, uint8_t prio);
void guest_irq_handler_hook(uint32_t intid);

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

/** 1-byte load into a whole 64-bit register (what Bao writes into it is visible). */
static inline uint64_t mmio_ld8(uint64_t a) { uint64_t v; __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
/** 2-byte load into a whole 64-bit register. */
static inline uint64_t mmio_ld16(uint64_t a) { uint64_t v; __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
/** 4-byte load into a whole 64-bit register. */
static inline uint64_t mmio_ld32(uint64_t a) { uint64_t v; __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
/** 8-byte load. */
static inline uint64_t mmio_ld64(uint64_t a) { uint64_t v; __asm__ volatile("ldr %x0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
/** 1-byte store of a register whose upper bits stay set. */
static inline void mmio_st8(uint64_t a, uint64_t v) { __asm__ volatile("strb %w0, [%1]" ::"r"(v), "r"(a) : "memory"); }
/** 2-byte store. */
static inline void mmio_st16(uint64_t a, uint64_t v) { __asm__ volatile("strh %w0, [%1]" ::"r"(v), "r"(a) : "memory"); }
/** 4-byte store. */
static inline void mmio_st32(uint64_t a, uint64_t v) { __asm__ volatile("str %w0, [%1]" ::"r"(v), "r"(a) : "memory"); }
/** 8-byte store. */
static inline void mmio_st64(uint64_t a, uint64_t v) { __asm__ volatile("str %x0, [%1]" ::"r"(v), "r"(a) : "memory"); }

/** Load of `width` bytes. */
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
