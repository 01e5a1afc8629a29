/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The riscv64 checks of the conformance frontend (frontend.c): x0 as store
 * source and load destination, the load and store forms Bao decodes and
 * what it writes into a load's register, the PLIC as the VM's virtual PLIC
 * presents it, the SBI (BASE, HSM, IPI) as Bao answers it, the vCPU id at
 * entry, and a c.ld on a window (which Bao cannot decode).
 */
#include "guest.h"

/** SBI functions (SBI 1.0: BASE 4, IPI 7, HSM 9). */
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_PROBE_EXTENSION 3
#define SBI_IPI_SEND_IPI 0
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_GET_STATUS 2
/** HSM state of a running hart (SBI 1.0, table 9.1). */
#define SBI_HSM_STARTED 0
/** Scratch offset of this file's load-form checks (device 0; frontend.c uses the others first). */
#define FE_FORMS 0x80
/** A pattern with the top bit of every byte, halfword and word set: a sign-extending load would change it. */
#define FE_FORMS_PATTERN 0xf0e0d0c0b0a09080UL

/** lb: the sign-extending 1-byte load. */
static uint64_t ld_lb(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlb %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}

/** lh: the sign-extending 2-byte load. */
static uint64_t ld_lh(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlh %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}

/** lw: the sign-extending 4-byte load. */
static uint64_t ld_lw(uint64_t a)
{
    uint64_t v;
    __asm__ volatile(".option push\n.option norvc\nlw %0, 0(%1)\n.option pop" : "=r"(v) : "r"(a) : "memory");
    return v;
}

/** c.lw (compressed, registers x8..x15: here a0 <- [a1]), which sign-extends on hardware. */
static uint64_t ld_clw(uint64_t a)
{
    register uint64_t v __asm__("a0");
    register uint64_t p __asm__("a1") = a;
    __asm__ volatile("c.lw %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
    return v;
}

/** c.sw (compressed: [a1] <- a0). */
static void st_csw(uint64_t a, uint64_t v)
{
    register uint64_t r __asm__("a0") = v;
    register uint64_t p __asm__("a1") = a;
    __asm__ volatile("c.sw %0, 0(%1)" ::"r"(r), "r"(p) : "memory");
}

/**
 * x0 as the source of a store and the destination of a load in window `w`;
 * then the load and store forms Bao decodes (src/arch/riscv/
 * sync_exceptions.c ins_ldst_decode) and what reaches the register: Bao
 * marks lb/lh/lw/c.lw as sign-extending, but its remio completion
 * (src/core/remio.c remio_cpu_post_work) writes the backend's value into
 * the register unmodified, so a load of a byte 0x80 answered 0x80 reads
 * 0x80 whatever the instruction.
 */
void fe_arch_widths(uint64_t w)
{
    __asm__ volatile(".option push\n.option norvc\nsd zero, 0(%0)\n.option pop" ::"r"(w + TR_SCRATCH) : "memory");
    guest_check(mmio_ld64(w + TR_SCRATCH) == 0, "store of " GUEST_ZERO_REG " writes 0", mmio_ld64(w + TR_SCRATCH), 0);
    __asm__ volatile(".option push\n.option norvc\nld zero, 0(%0)\n.option pop" ::"r"(w + TR_MAGIC) : "memory");
    guest_check(true, "load into " GUEST_ZERO_REG " is harmless", 0, 0);

    uint64_t a = w + TR_SCRATCH + FE_FORMS;
    mmio_st64(a, FE_FORMS_PATTERN);
    guest_check(ld_lb(a) == 0x80, "lb: the completion is written unmodified (Bao does not sign-extend)", ld_lb(a), 0x80);
    guest_check(ld_lh(a) == 0x9080, "lh: the completion is written unmodified (Bao does not sign-extend)", ld_lh(a), 0x9080);
    guest_check(ld_lw(a) == 0xb0a09080, "lw: the completion is written unmodified (Bao does not sign-extend)", ld_lw(a), 0xb0a09080);
    guest_check(ld_clw(a) == 0xb0a09080, "c.lw: the completion is written unmodified (Bao does not sign-extend)", ld_clw(a),
                0xb0a09080);
    guest_check(ld_lb(w + TR_WIDE) == TR_WIDE_VALUE, "lb: all 64 bits of the completion reach the register",
                ld_lb(w + TR_WIDE), TR_WIDE_VALUE);
    guest_check(ld_clw(w + TR_WIDE) == TR_WIDE_VALUE, "c.lw: all 64 bits of the completion reach the register",
                ld_clw(w + TR_WIDE), TR_WIDE_VALUE);

    uint64_t v = 0x1234567887654321UL;
    st_csw(a + 8, v);
    guest_check(mmio_ld64(w + TR_LAST_RAW) == v, "c.sw: backend sees the whole 64-bit register", mmio_ld64(w + TR_LAST_RAW), v);
    guest_check(mmio_ld64(w + TR_LAST_WIDTH) == 4, "c.sw: backend sees width 4", mmio_ld64(w + TR_LAST_WIDTH), 4);
    guest_check(mmio_ld64(w + TR_LAST_ADDR) == a + 8, "c.sw: backend sees the absolute guest-physical address",
                mmio_ld64(w + TR_LAST_ADDR), a + 8);
    guest_check(mmio_ld32(a + 8) == 0x87654321, "c.sw then lwu: 4 bytes stored", mmio_ld32(a + 8), 0x87654321);
}

/**
 * The backend's PLIC sources never become pending in the frontend's
 * virtual PLIC (by now the backend has taken hundreds of interrupts); the
 * frontend's own source reads back enabled in context 1; context 0
 * (M-mode) is not the VM's: its enables read as zero and ignore writes
 * (Bao vplic.c vplic_emul_enbl_access with vplic_vcntxt_valid).
 */
void fe_arch_irq_isolation(void)
{
    uint32_t backend_intid = guest_devices[0].backend_intid;
    uint64_t pend = mmio_ld32(PLIC_PENDING(backend_intid));
    guest_check((pend & (1u << (backend_intid % 32))) == 0, "the backend's PLIC source never pends in the frontend's PLIC", pend, 0);
    uint32_t fe_intid = guest_devices[0].frontend_intid;
    uint64_t en = mmio_ld32(PLIC_ENABLE(GUEST_PLIC_CONTEXT, fe_intid));
    guest_check((en & (1u << (fe_intid % 32))) != 0, "the frontend's own PLIC source reads back enabled in context 1", en, 1);
    mmio_st32(PLIC_ENABLE(0, fe_intid), 1u << (fe_intid % 32));
    en = mmio_ld32(PLIC_ENABLE(0, fe_intid));
    guest_check(en == 0, "PLIC: the M-mode context's enables read as zero and ignore writes", en, 0);
}

/** Waits up to `ms` milliseconds of `time` for a software interrupt after `before` were taken. */
static bool fe_wait_soft(uint32_t before, uint64_t ms)
{
    uint64_t end = guest_counter() + guest_counter_freq() / 1000 * ms;
    while (guest_soft_irq_count <= before) {
        if (guest_counter() > end) {
            return false;
        }
    }
    return true;
}

/**
 * The SBI as Bao answers it for a one-vCPU VM (src/arch/riscv/sbi.c: BASE,
 * IPI, HSM; the monitor reports spec version 1.0 where Bao says 0.2, on
 * purpose), the vCPU id Bao passes in a0, and the VM's virtual PLIC
 * contexts (the counterparts of aarch64's PSCI, MPIDR and GICR_TYPER).
 */
void fe_arch_firmware(void)
{
    struct guest_sbiret r = guest_sbi(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
    guest_check(r.error == 0 && r.value == 0x01000000, "SBI BASE: spec version 1.0 (the monitor's; Bao says 0.2)", r.value, 0x01000000);
    static const struct { uint64_t ext; const char *name; } exts[] = {
        {SBI_EXT_TIME, "SBI BASE: probe finds TIME"}, {SBI_EXT_IPI, "SBI BASE: probe finds IPI"},
        {SBI_EXT_RFENCE, "SBI BASE: probe finds RFENCE"}, {SBI_EXT_HSM, "SBI BASE: probe finds HSM"},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        r = guest_sbi(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, exts[i].ext, 0, 0);
        guest_check(r.error == 0 && r.value == exts[i].ext, exts[i].name, r.value, exts[i].ext);
    }
    r = guest_sbi(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, 0x0abcdef0, 0, 0);
    guest_check(r.error == 0 && r.value == 0, "SBI BASE: probe of an unknown extension is 0", r.value, 0);
    r = guest_sbi(0x0abcdef0, 0, 0, 0, 0);
    guest_check(r.error == SBI_ERR_NOT_SUPPORTED, "an unknown SBI extension is NOT_SUPPORTED", (uint64_t)r.error,
                (uint64_t)SBI_ERR_NOT_SUPPORTED);
    r = guest_sbi(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 0, 0, 0);
    guest_check(r.error == 0 && r.value == SBI_HSM_STARTED, "SBI HSM: the VM's vhart 0 is STARTED", r.value, SBI_HSM_STARTED);
    r = guest_sbi(SBI_EXT_HSM, SBI_HSM_HART_START, 0, 0x1234, 0);
    guest_check(r.error == SBI_ERR_ALREADY_AVAILABLE, "SBI HSM: hart_start of the VM's own running vhart: ALREADY_AVAILABLE",
                (uint64_t)r.error, (uint64_t)SBI_ERR_ALREADY_AVAILABLE);
    r = guest_sbi(SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x1234, 0);
    guest_check(r.error == SBI_ERR_INVALID_PARAM, "SBI HSM: hart_start of a vhart the VM does not have: INVALID_PARAM",
                (uint64_t)r.error, (uint64_t)SBI_ERR_INVALID_PARAM);
    r = guest_sbi(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1, 0, 0);
    guest_check(r.error == SBI_ERR_INVALID_PARAM, "SBI HSM: status of a vhart the VM does not have: INVALID_PARAM",
                (uint64_t)r.error, (uint64_t)SBI_ERR_INVALID_PARAM);
    csr_set(sie, 1UL << IRQ_S_SOFT);
    uint32_t before = guest_soft_irq_count;
    r = guest_sbi(SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1, 0, 0);
    guest_check(r.error == 0 && fe_wait_soft(before, 100), "SBI IPI to vhart 0 raises its supervisor software interrupt",
                guest_soft_irq_count - before, 1);
    csr_clear(sie, 1UL << IRQ_S_SOFT);
    guest_check(guest_boot_hartid == 0, "the vCPU id in a0 at entry is 0 (the only vhart)", guest_boot_hartid, 0);

    mmio_st32(PLIC_THRESHOLD(GUEST_PLIC_CONTEXT), 3);
    uint64_t t = mmio_ld32(PLIC_THRESHOLD(GUEST_PLIC_CONTEXT));
    mmio_st32(PLIC_THRESHOLD(GUEST_PLIC_CONTEXT), 0);
    guest_check(t == 3, "PLIC: context 1's threshold reads back", t, 3);
    mmio_st32(PLIC_THRESHOLD(0), 3);
    t = mmio_ld32(PLIC_THRESHOLD(0));
    guest_check(t == 0, "PLIC: the M-mode context's threshold reads as zero and ignores writes", t, 0);
    t = mmio_ld32(PLIC_CLAIM(GUEST_PLIC_CONTEXT));
    guest_check(t == 0, "PLIC: a claim with nothing pending is 0", t, 0);
}

/** A c.ld on `window` (mode 1): not a form Bao decodes, so Bao (and the monitor) stop the hart; it must not return. */
void fe_arch_undecodable(uint64_t window)
{
    register uint64_t v __asm__("a0");
    register uint64_t p __asm__("a1") = window;
    __asm__ volatile("c.ld %0, 0(%1)" : "=r"(v) : "r"(p) : "memory");
    guest_printf("not ok - c.ld on a window returned 0x%lx\n", v);
    for (;;) {
    }
}
