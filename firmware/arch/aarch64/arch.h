/* SPDX-License-Identifier: Apache-2.0 */
/* aarch64 system-register access and barriers (Arm ARM, D17 "AArch64 System Register Descriptions"). */
#ifndef BAOJS_ARCH_H
#define BAOJS_ARCH_H

#include <stdint.h>
#include <stdbool.h>

#define SYSREG_READ(reg) ({ uint64_t v_; __asm__ volatile("mrs %0, " #reg : "=r"(v_)); v_; })
#define SYSREG_WRITE(reg, v) __asm__ volatile("msr " #reg ", %0" ::"r"((uint64_t)(v)))

/* GICv3 CPU interface registers by encoding (assemblers without GICv3 names). */
#define ICC_PMR_EL1     s3_0_c4_c6_0
#define ICC_IAR1_EL1    s3_0_c12_c12_0
#define ICC_EOIR1_EL1   s3_0_c12_c12_1
#define ICC_BPR1_EL1    s3_0_c12_c12_3
#define ICC_CTLR_EL1    s3_0_c12_c12_4
#define ICC_SRE_EL1     s3_0_c12_c12_5
#define ICC_IGRPEN1_EL1 s3_0_c12_c12_7

static inline void arch_isb(void) { __asm__ volatile("isb" ::: "memory"); }
/** CNTVCT_EL0 after an ISB (Arm ARM D11.2): timer_ticks() inline, for the per-request cost counters. */
static inline uint64_t arch_timer_ticks(void) { arch_isb(); return SYSREG_READ(cntvct_el0); }
static inline void arch_dsb_sy(void) { __asm__ volatile("dsb sy" ::: "memory"); }
static inline void arch_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void arch_irq_mask(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
static inline void arch_irq_unmask(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }

/** True when the CPU implements RNDR (ID_AA64ISAR0_EL1.RNDR, Armv8.5-RNG). */
static inline bool arch_rng_present(void) { return ((SYSREG_READ(id_aa64isar0_el1) >> 60) & 0xf) != 0; }

/** Reads RNDR into *v; false when the hardware had no entropy at hand (NZCV.Z set). */
static inline bool arch_rng_read(uint64_t *v)
{
	int ok;
	__asm__ volatile("mrs %0, s3_3_c2_c4_0; cset %w1, ne" : "=r"(*v), "=r"(ok) :: "cc");
	return ok != 0;
}

/** Register file saved by the exception vectors (vectors.S), 8-byte slots. */
struct arch_frame {
	uint64_t x[31];   /**< x0..x30 */
	uint64_t sp;      /**< SP at the exception */
	uint64_t elr;     /**< ELR_EL1: return address */
	uint64_t spsr;    /**< SPSR_EL1 */
	uint64_t esr;     /**< ESR_EL1: syndrome */
	uint64_t far;     /**< FAR_EL1: faulting address */
};

/** Vector slot numbers passed to exception_handle (offset / 0x80 in VBAR_EL1). */
enum arch_vector {
	VEC_CUR_SP0_SYNC = 0, VEC_CUR_SP0_IRQ, VEC_CUR_SP0_FIQ, VEC_CUR_SP0_SERROR,
	VEC_CUR_SPX_SYNC, VEC_CUR_SPX_IRQ, VEC_CUR_SPX_FIQ, VEC_CUR_SPX_SERROR,
	VEC_LOW64_SYNC, VEC_LOW64_IRQ, VEC_LOW64_FIQ, VEC_LOW64_SERROR,
	VEC_LOW32_SYNC, VEC_LOW32_IRQ, VEC_LOW32_FIQ, VEC_LOW32_SERROR,
};

/** Builds the identity map (RAM and regions normal WB, devices nGnRE, page 0 unmapped) and turns the MMU on. */
void mmu_init(void);

#endif
