/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 monitor's types and primitives that the common code (remio.c,
 * vm.c, console.c) uses: the trap frame and its register accessors, the
 * per-VM architecture state, fences and the (busy) CPU wait/wake pair.
 */
#ifndef MONITOR_ARCH_H
#define MONITOR_ARCH_H

#include <stdbool.h>
#include <stdint.h>

/** Name of the CPU mode the monitor runs in, for its banner. */
#define ARCH_MONITOR_MODE "HS-mode"

/**
 * Registers of a trapped vCPU, saved by the trap entry (boot.S) at the top
 * of the hart's stack (sscratch points at it while the guest runs).
 */
struct trap_frame {
    uint64_t x[32];   /**< x1..x31 at their index; x[0] unused (x0 is zero) */
    uint64_t sepc;    /**< the guest's return address */
    uint64_t sstatus; /**< sstatus at the trap (SPP, SPIE) */
    uint64_t hart;    /**< this hart's id, reloaded into tp on every trap */
    uint64_t pad;     /**< keeps the frame a multiple of 16 bytes */
};

/** Register `reg` (x0..x31) of the frame; x0 reads as zero. */
static inline uint64_t frame_reg_get(const struct trap_frame *f, uint32_t reg)
{
    return reg != 0 && reg < 32 ? f->x[reg] : 0;
}

/** Writes register `reg` of the frame; x0 discards the value. */
static inline void frame_reg_set(struct trap_frame *f, uint32_t reg, uint64_t v)
{
    if (reg != 0 && reg < 32) {
        f->x[reg] = v;
    }
}

struct vplic;

/** What a VM needs on riscv64 beyond the common fields. */
struct vm_arch {
    uint64_t hgatp;      /**< hgatp value: Sv39x4, VMID, root table PPN */
    struct vplic *vplic; /**< its virtual PLIC */
    bool sstc;           /**< its hart has Sstc: SBI set_timer writes vstimecmp (henvcfg.STCE set) */
    uint8_t debug_lcr;   /**< LCR of its emulated debug UART (bit 7: DLAB) */
};

/** A spinlock (amoswap; the monitor never sleeps holding one). */
typedef struct {
    volatile uint32_t locked; /**< 1 while held */
} spinlock_t;

/** Orders all earlier memory accesses before all later ones. */
#define arch_mb() __asm__ volatile("fence rw, rw" ::: "memory")
/**
 * Waits for another hart (the caller loops until its condition holds):
 * WFI, which returns once an interrupt enabled in sie is pending
 * (sstatus.SIE need not be set), such as the IPI of arch_wake(); then
 * takes that IPI. RISC-V has no WFE; a plain spin would also starve the
 * other harts under QEMU -icount, which switches harts only when one waits.
 */
void arch_wait(void);
void arch_wake_all(void);
/** Wakes the harts waiting in arch_wait(): an IPI (SSIP) to every other hart. */
#define arch_wake() arch_wake_all()
void arch_wake_cpu(uint32_t cpu);

#endif
