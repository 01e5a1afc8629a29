/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 part of the test guests' helpers (guest.h), for a guest in
 * VS-mode: CSRs, SBI calls, width-exact MMIO accessors, the `time`
 * counter, interrupt masking (sstatus.SIE), fences, and the PLIC's
 * registers as the VM sees them.
 *
 * The accessors are the 32-bit LOAD/STORE forms Bao decodes
 * (src/arch/riscv/sync_exceptions.c ins_ldst_decode): lbu/lhu/lwu/ld for
 * loads (zero-extending, the register-wide value the ABI describes),
 * sb/sh/sw/sd for stores. They are assembled with `.option norvc`: the
 * assembler would otherwise turn some of them into compressed forms, of
 * which Bao decodes c.lw and c.sw only (a c.ld or c.sd on a window is
 * fatal).
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

#define GUEST_STR_(x) #x
#define GUEST_STR(x) GUEST_STR_(x)
/** Reads CSR `c` (a name the assembler knows, e.g. scause). */
#define csr_read(c) ({ uint64_t v_; __asm__ volatile("csrr %0, " GUEST_STR(c) : "=r"(v_)); v_; })
/** Writes CSR `c`. */
#define csr_write(c, v) __asm__ volatile("csrw " GUEST_STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")
/** Sets the bits `v` in CSR `c`. */
#define csr_set(c, v) __asm__ volatile("csrs " GUEST_STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")
/** Clears the bits `v` in CSR `c`. */
#define csr_clear(c, v) __asm__ volatile("csrc " GUEST_STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")

/** sstatus.SIE, sie/sip bits and scause codes as a (virtual) supervisor sees them (privileged spec 1.12, 4.1). */
#define SSTATUS_SIE (1UL << 1)
#define IRQ_S_SOFT 1
#define IRQ_S_TIMER 5
#define IRQ_S_EXT 9
#define SCAUSE_INTERRUPT (1UL << 63)

/** SBI extensions (SBI 1.0 and Bao's, src/arch/riscv/sbi.c) and error codes (SBI 1.0, 3.2). */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464e43
#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_BAO 0x08000ba0
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

/** The SBI error of a hypercall: Bao's extension always answers 0 in a0 (sbi_bao_handler). */
#define GUEST_HC_CONDUIT_ERROR 1

/**
 * The PLIC as the VM sees it (PLIC specification 1.0.0, chapter 3; Bao's
 * virtual PLIC, src/arch/riscv/irqc/plic/vplic.c): one vhart, whose
 * S-mode context is 1; context 0 (M-mode) is not the VM's.
 */
#define GUEST_PLIC_CONTEXT 1
#define PLIC_PRIORITY(id) (PLAT_PLIC_BASE + 4UL * (id))
#define PLIC_PENDING(id) (PLAT_PLIC_BASE + 0x1000UL + 4UL * ((id) / 32))
#define PLIC_ENABLE(ctx, id) (PLAT_PLIC_BASE + 0x2000UL + 0x80UL * (ctx) + 4UL * ((id) / 32))
#define PLIC_THRESHOLD(ctx) (PLAT_PLIC_BASE + 0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx) (PLIC_THRESHOLD(ctx) + 4)

/** The registers a successful ASK fills, in check names. */
#define GUEST_HC_OUT_REGS "a2..a7"
/** Name of the register that reads as zero, in check names. */
#define GUEST_ZERO_REG "x0 (zero)"
/** Names of the two timer checks of the conformance frontend. */
#define GUEST_TIMER_CHECK_FIRST "SBI set_timer: supervisor timer interrupt delivered"
#define GUEST_TIMER_CHECK_AGAIN "SBI set_timer: supervisor timer interrupt again after the handler's set_timer"

/** An SBI call's result (SBI 1.0, 3.1): a0, a1. */
struct guest_sbiret {
    int64_t error; /**< a0: SBI_SUCCESS (0) or an SBI_ERR_* */
    uint64_t value; /**< a1 */
};

struct guest_sbiret guest_sbi(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2);
/** Soft interrupts (scause 1) taken, updated by the trap handler. */
extern volatile uint32_t guest_soft_irq_count;
/** a0 at entry: the vCPU (vhart) id the hypervisor passed (Bao: the vCPU id). */
extern uint64_t guest_boot_hartid;

/** 1-byte load (lbu) into a whole 64-bit register (what Bao writes into it is visible). */
static inline uint64_t mmio_ld8(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlbu %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}
/** 2-byte load (lhu) into a whole 64-bit register. */
static inline uint64_t mmio_ld16(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlhu %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}
/** 4-byte load (lwu) into a whole 64-bit register. */
static inline uint64_t mmio_ld32(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlwu %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}
/** 8-byte load (ld). */
static inline uint64_t mmio_ld64(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nld %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}
/** 1-byte store (sb) of a register whose upper bits stay set. */
static inline void mmio_st8(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nsb %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory");
}
/** 2-byte store (sh). */
static inline void mmio_st16(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nsh %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory");
}
/** 4-byte store (sw). */
static inline void mmio_st32(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nsw %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory");
}
/** 8-byte store (sd). */
static inline void mmio_st64(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nsd %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory");
}
/** 8-byte store (sd) of `v`; returns the source register as it is afterwards (a READ completion may overwrite it). */
static inline uint64_t mmio_st64_ret(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nsd %0, 0(%1)\n.option pop" : "+r"(v) : "r"(a) : "memory");
    return v;
}
/** 8-byte load (ld) into a register holding `v`; returns the register afterwards (a WRITE completion leaves it). */
static inline uint64_t mmio_ld64_into(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nld %0, 0(%1)\n.option pop" : "+r"(v) : "r"(a) : "memory");
    return v;
}
/** 4-byte load (lwu) into a register holding `v`; returns the register afterwards. */
static inline uint64_t mmio_ld32_into(uint64_t a, uint64_t v)
{
    __asm__ volatile(".option push\n.option norvc\nlwu %0, 0(%1)\n.option pop" : "+r"(v) : "r"(a) : "memory");
    return v;
}

/** The `time` CSR (rdtime; hcounteren.TM lets VS-mode read it), ticks of guest_counter_freq(). */
static inline uint64_t guest_counter(void)
{
    uint64_t v;
    __asm__ volatile("rdtime %0" : "=r"(v));
    return v;
}
/** Masks interrupts (sstatus.SIE). */
static inline void guest_irq_mask(void) { csr_clear(sstatus, SSTATUS_SIE); }
/** Unmasks interrupts. */
static inline void guest_irq_unmask(void) { csr_set(sstatus, SSTATUS_SIE); }
/** Waits for an interrupt (WFI returns once one enabled in sie is pending, even with sstatus.SIE clear). */
static inline void guest_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
/**
 * One turn of a busy wait. RISC-V has no instruction that makes QEMU's
 * round-robin TCG switch harts (PAUSE only ends the translation block):
 * a waiting frontend spins until its time slice ends.
 */
static inline void guest_yield(void) { __asm__ volatile("" ::: "memory"); }
/** Orders memory accesses before and after (FENCE RW,RW). */
static inline void guest_mb(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

#endif
