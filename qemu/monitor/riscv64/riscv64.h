/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 monitor's own interfaces: CSRs of the hypervisor extension
 * (RISC-V Privileged Architecture 1.12, chapter 8) by number, so that any
 * assembler takes them, the instructions it needs as encodings, SBI calls
 * down to the M-mode firmware, the virtual PLIC and stage 2.
 */
#ifndef MONITOR_RISCV64_H
#define MONITOR_RISCV64_H

#include "monitor.h"

#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_SIP 0x144
#define CSR_VSSTATUS 0x200
#define CSR_VSIE 0x204
#define CSR_VSTVEC 0x205
#define CSR_VSTIMECMP 0x24d
#define CSR_VSATP 0x280
#define CSR_HSTATUS 0x600
#define CSR_HEDELEG 0x602
#define CSR_HIDELEG 0x603
#define CSR_HIE 0x604
#define CSR_HCOUNTEREN 0x606
#define CSR_HENVCFG 0x60a
#define CSR_HTVAL 0x643
#define CSR_HIP 0x644
#define CSR_HVIP 0x645
#define CSR_HTINST 0x64a
#define CSR_HGATP 0x680

#define STR_(x) #x
#define STR(x) STR_(x)
/** Reads CSR number `c`. */
#define csr_read(c) ({ uint64_t v_; __asm__ volatile("csrr %0, " STR(c) : "=r"(v_)); v_; })
/** Writes CSR number `c`. */
#define csr_write(c, v) __asm__ volatile("csrw " STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")
/** Sets bits `v` of CSR number `c`. */
#define csr_set(c, v) __asm__ volatile("csrs " STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")
/** Clears bits `v` of CSR number `c`. */
#define csr_clear(c, v) __asm__ volatile("csrc " STR(c) ", %0" ::"r"((uint64_t)(v)) : "memory")

/** sstatus bits. */
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_FS_DIRTY (3UL << 13)
/** hstatus bits: SPV (return to V=1), SPVP (HLV as VS), VSXL = 64-bit. */
#define HSTATUS_SPV (1UL << 7)
#define HSTATUS_SPVP (1UL << 8)
#define HSTATUS_VSXL_64 (2UL << 32)
/** Interrupt bits of sip/sie (HS) and hvip/hideleg (VS). */
#define IRQ_S_SOFT 1
#define IRQ_VS_SOFT 2
#define IRQ_S_TIMER 5
#define IRQ_VS_TIMER 6
#define IRQ_S_EXT 9
#define IRQ_VS_EXT 10
/** scause values. */
#define SCAUSE_INTERRUPT (1UL << 63)
#define CAUSE_ECALL_VS 10
#define CAUSE_LOAD_GUEST_PAGE_FAULT 21
#define CAUSE_STORE_GUEST_PAGE_FAULT 23
/** henvcfg.STCE: Sstc's vstimecmp drives the guest's timer interrupt (VSTIP). */
#define HENVCFG_STCE (1UL << 63)
/** hgatp mode Sv39x4. */
#define HGATP_MODE_SV39X4 (8UL << 60)

/** hfence.gvma zero, zero: forget all guest-physical translations of every VMID. */
#define hfence_gvma_all() __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, x0" ::: "memory")
/** hfence.vvma zero, zero: forget the guest's own (VS-stage) translations. */
#define hfence_vvma_all() __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, x0" ::: "memory")

/** hlvx.hu: 16 bits of the guest's instruction memory at guest-virtual `va`, read with its translation and permissions. */
static inline uint32_t hlvx_hu(uint64_t va)
{
    uint64_t v;
    __asm__ volatile(".insn r 0x73, 0x4, 0x32, %0, %1, x3" : "=r"(v) : "r"(va) : "memory");
    return (uint32_t)v;
}

/** An SBI call's two results (SBI 1.0, chapter 3). */
struct sbiret {
    int64_t error; /**< SBI_SUCCESS (0) or a negative SBI error */
    int64_t value; /**< the call's value */
};
struct sbiret sbi_ecall(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2);
/** SBI extension ids. */
#define SBI_EXT_0_1_SHUTDOWN 0x08
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494d45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464e43
#define SBI_EXT_HSM 0x48534d
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_BAO 0x08000ba0
/** SBI errors. */
#define SBI_SUCCESS 0
#define SBI_ERR_NOT_SUPPORTED (-2)
#define SBI_ERR_INVALID_PARAM (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

/* sbi.c */
void sbi_emulate(struct vm *vm, struct trap_frame *f);
void sbi_timer_interrupt(void);

/* stage2.c */
void stage2_build(struct vm *vm);

/* vplic.c: Bao's virtual PLIC (src/arch/riscv/irqc/plic/vplic.c), one S-mode context per VM (context 1: vhart 0) */
void vplic_init_vm(struct vm *vm);
void vplic_init_physical(void);
void vplic_set_pending(struct vm *vm, uint32_t id);
void vplic_update(struct vm *vm);
bool vplic_emulate(struct vm *vm, uint64_t addr, uint32_t width, bool write, uint64_t *value);
void vplic_external_interrupt(void);
/** Size of the PLIC's register space the VM sees (trapped and emulated). */
#define VPLIC_SIZE PLAT_PLIC_SIZE

/* boot.S */
void cpu_enter_guest(struct trap_frame *f) __attribute__((noreturn));
extern char monitor_stacks[];
extern char _start[];

#endif
