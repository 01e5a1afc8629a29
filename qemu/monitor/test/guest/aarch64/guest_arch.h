/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aarch64 part of the test guests' helpers (guest.h): system
 * registers, width-exact MMIO accessors (ldrb/ldrh/ldr w/ldr x and
 * strb/strh/str w/str x: ISV = 1 forms, which Bao decodes), the virtual
 * counter, IRQ masking (DAIF.I), barriers, SMCCC calls and the GICv3.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

/** Reads system register `r`. */
#define sysreg_read(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
/** Writes system register `r`. */
#define sysreg_write(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((uint64_t)(v)))

/** The remio hypercall's SMCCC function id (remio-abi.md; id, base and REMIO_OP_* from abi.h), for the SMC conduit check. */
#define HC_REMIO_FID (HC_FID_BASE | HC_REMIO)
/** Bao also takes a hypercall over a trapped SMC (the C test backend checks it). */
#define GUEST_SMC_CONDUIT 1
/** The SBI error of a hypercall: aarch64 has none. */
#define GUEST_HC_CONDUIT_ERROR 0

/** The registers a successful ASK fills, in check names. */
#define GUEST_HC_OUT_REGS "x1..x6"
/** Name of the register that reads as zero, in check names. */
#define GUEST_ZERO_REG "xzr"
/** Names of the two timer checks of the conformance frontend. */
#define GUEST_TIMER_CHECK_FIRST "virtual timer interrupt (PPI) delivered"
#define GUEST_TIMER_CHECK_AGAIN "virtual timer interrupt again after EOI"

/** Registers x0..x6 in and out of an SMCCC call. */
struct smccc_regs {
    uint64_t x[7]; /**< x0 (function id in, status out) .. x6 */
};

void guest_hvc(struct smccc_regs *r);
void guest_smc(struct smccc_regs *r);
void guest_gic_enable(uint32_t intid, uint8_t prio);

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
/** 8-byte store of `v`; returns the source register as it is afterwards (a READ completion may overwrite it). */
static inline uint64_t mmio_st64_ret(uint64_t a, uint64_t v) { __asm__ volatile("str %x0, [%1]" : "+r"(v) : "r"(a) : "memory"); return v; }
/** 8-byte load into a register holding `v`; returns the register afterwards (a WRITE completion leaves it). */
static inline uint64_t mmio_ld64_into(uint64_t a, uint64_t v) { __asm__ volatile("ldr %x0, [%1]" : "+r"(v) : "r"(a) : "memory"); return v; }
/** 4-byte load into a register holding `v`; returns the register afterwards. */
static inline uint64_t mmio_ld32_into(uint64_t a, uint64_t v) { __asm__ volatile("ldr %w0, [%1]" : "+r"(v) : "r"(a) : "memory"); return v; }

/** The virtual counter (CNTVCT_EL0), ticks of guest_counter_freq(). */
static inline uint64_t guest_counter(void) { return sysreg_read(cntvct_el0); }
/** Masks IRQs (DAIF.I). */
static inline void guest_irq_mask(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
/** Unmasks IRQs. */
static inline void guest_irq_unmask(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
/** Waits for an interrupt (returns when one is pending, even masked). */
static inline void guest_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
/**
 * One turn of a busy wait: YIELD, on which QEMU's single-threaded TCG
 * (always so under -icount) runs the other VM's CPU at once instead of
 * after its round-robin period.
 */
static inline void guest_yield(void) { __asm__ volatile("yield" ::: "memory"); }
/** Orders memory accesses before and after (DMB SY). */
static inline void guest_mb(void) { __asm__ volatile("dmb sy" ::: "memory"); }

#endif
