/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aarch64 monitor's types and primitives that the common code (remio.c,
 * vm.c, console.c) uses: the trap frame and its register accessors, the
 * per-VM architecture state, barriers and the CPU wait/wake pair.
 */
#ifndef MONITOR_ARCH_H
#define MONITOR_ARCH_H

#include <stdint.h>

/** Name of the CPU mode the monitor runs in, for its banner. */
#define ARCH_MONITOR_MODE "EL2"

/** Registers of a trapped vCPU, saved by the exception entry code (boot.S). */
struct trap_frame {
    uint64_t x[31];   /**< general-purpose registers x0..x30 */
    uint64_t elr;     /**< ELR_EL2: the guest's return address */
    uint64_t spsr;    /**< SPSR_EL2: the guest's PSTATE */
    uint64_t pad;     /**< keeps the frame a multiple of 16 bytes */
};

/** Register `reg` (an ESR_EL2.SRT number) of the frame; 31 (xzr) reads as zero. */
static inline uint64_t frame_reg_get(const struct trap_frame *f, uint32_t reg)
{
    return reg < 31 ? f->x[reg] : 0;
}

/** Writes register `reg` of the frame; 31 (xzr) discards the value. */
static inline void frame_reg_set(struct trap_frame *f, uint32_t reg, uint64_t v)
{
    if (reg < 31) {
        f->x[reg] = v;
    }
}

struct vgic;

/** What a VM needs on aarch64 beyond the common fields. */
struct vm_arch {
    uint64_t vttbr;    /**< VTTBR_EL2 value (stage-2 root | VMID) */
    struct vgic *vgic; /**< its virtual GIC state */
};

/** A spinlock (test-and-set; the monitor never sleeps holding one). */
typedef struct {
    volatile uint32_t locked; /**< 1 while held */
} spinlock_t;

/** Full-system data synchronisation barrier. */
#define arch_mb() __asm__ volatile("dsb sy" ::: "memory")
/** Waits for an event (a wake from another CPU or an interrupt). */
#define arch_wait() __asm__ volatile("wfe" ::: "memory")
/** Wakes every CPU waiting in arch_wait(). */
#define arch_wake() __asm__ volatile("sev" ::: "memory")
/** Wakes CPU `cpu` if it waits in arch_wait() (SEV: every waiting CPU). */
#define arch_wake_cpu(cpu) do { (void)(cpu); arch_wake(); } while (0)

#endif
