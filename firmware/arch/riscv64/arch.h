/* SPDX-License-Identifier: Apache-2.0 */
/*
 * riscv64 supervisor-mode CSR access, interrupt masking and SBI calls (RISC-V
 * Privileged Architecture 1.12, chapter 4 "Supervisor-Level ISA"; RISC-V
 * SBI specification 1.0). The firmware runs in S-mode below OpenSBI, or in
 * VS-mode under Bao, where the same CSR names reach the virtual ones.
 */
#ifndef BAOJS_ARCH_H
#define BAOJS_ARCH_H

#include <stdint.h>
#include <stdbool.h>

#define CSR_READ(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_) :: "memory"); v_; })
#define CSR_WRITE(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define CSR_SET(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define CSR_CLEAR(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")

#define SSTATUS_SIE    (1UL << 1)
#define SSTATUS_FS     (3UL << 13)
#define SIE_STIE       (1UL << 5)   /* supervisor timer interrupt */
#define SIE_SEIE       (1UL << 9)   /* supervisor external interrupt (the PLIC) */
#define SIP_STIP       (1UL << 5)
/** Set by the trap entry when scause is the supervisor timer interrupt (plic.c: irqc_ack). */
extern bool riscv_timer_trap;
#define SCAUSE_IRQ     (1UL << 63)
#define IRQ_S_TIMER    5
#define IRQ_S_EXTERNAL 9

static inline void arch_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
/** The time CSR (rdtime): timer_ticks() inline, for the per-request cost counters. */
static inline uint64_t arch_timer_ticks(void) { uint64_t t; __asm__ volatile("rdtime %0" : "=r"(t) :: "memory"); return t; }
/* WFI wakes on an interrupt pending and enabled in sie even while sstatus.SIE is clear (Privileged ISA 3.3.3). */
static inline void arch_irq_mask(void) { CSR_CLEAR(sstatus, SSTATUS_SIE); }
static inline void arch_irq_unmask(void) { CSR_SET(sstatus, SSTATUS_SIE); }

/*
 * No hardware entropy: Zkr's `seed` CSR is reachable from S-mode only when
 * M-mode sets mseccfg.SSEED, which OpenSBI and Bao do not do.
 */
static inline bool arch_rng_present(void) { return false; }
static inline bool arch_rng_read(uint64_t *v) { *v = 0; return false; }

/** The hart the firmware runs on (a0 at entry: OpenSBI's hart id, Bao's virtual hart id). */
extern uint64_t riscv_hartid;

/** An SBI call's result (SBI 1.0, 3.1 "Binary Encoding"): error 0 on success. */
struct sbiret { int64_t error; int64_t value; };

/** SBI call `ext`/`fid` with arguments a0..a2. */
static inline struct sbiret sbi_call(uint64_t ext, uint64_t fid, uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
	register uint64_t a0 __asm__("a0") = arg0;
	register uint64_t a1 __asm__("a1") = arg1;
	register uint64_t a2 __asm__("a2") = arg2;
	register uint64_t a6 __asm__("a6") = fid;
	register uint64_t a7 __asm__("a7") = ext;
	__asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
	return (struct sbiret){ (int64_t)a0, (int64_t)a1 };
}

#define SBI_EXT_TIME 0x54494d45UL /* "TIME" */
#define SBI_EXT_SRST 0x53525354UL /* "SRST" */

/**
 * Register file saved by the trap entry (vectors.S), 8-byte slots: x1..x31 (x[0]
 * unused; x[2] is sp at the trap), the trap CSRs, and the caller-saved FP
 * registers with fcsr (GCC has no -mgeneral-regs-only for RISC-V, so code
 * that runs in interrupt context may use them).
 */
struct arch_frame {
	uint64_t x[32];
	uint64_t sepc, sstatus, scause, stval;
	uint64_t f[20];   /**< ft0-ft7, fa0-fa7, ft8-ft11 */
	uint64_t fcsr;
	uint64_t pad;
};

#endif
