/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aarch64 checks of the conformance frontend (frontend.c): the zero
 * register as store source and load destination, the backend's SPI hidden
 * in the virtual GICD, PSCI as Bao answers it, MPIDR and GICR_TYPER, and an
 * LDP on a window (ISV = 0: Bao cannot decode it).
 */
#include "guest.h"

/** GICD_ISENABLER0 (GICv3, IHI 0069, section 12.9.16). */
#define GICD_ISENABLER 0x0100
/** GICR_TYPER (IHI 0069, section 12.11.35). */
#define GICR_TYPER 0x0008

/** xzr as the source of a store and the destination of a load in window `w`. */
void fe_arch_widths(uint64_t w)
{
    __asm__ volatile("str xzr, [%0]" ::"r"(w + TR_SCRATCH) : "memory");
    guest_check(mmio_ld64(w + TR_SCRATCH) == 0, "store of " GUEST_ZERO_REG " writes 0", mmio_ld64(w + TR_SCRATCH), 0);
    __asm__ volatile("ldr xzr, [%0]" ::"r"(w + TR_MAGIC) : "memory");
    guest_check(true, "load into " GUEST_ZERO_REG " is harmless", 0, 0);
}

/** The backend's SPI cannot be enabled from the frontend's virtual GICD; the frontend's own one reads back enabled. */
void fe_arch_irq_isolation(void)
{
    uint32_t backend_intid = guest_devices[0].backend_intid;
    *(volatile uint32_t *)(PLAT_GICD_BASE + GICD_ISENABLER + (backend_intid / 32) * 4) = 1u << (backend_intid % 32);
    uint32_t en = *(volatile uint32_t *)(PLAT_GICD_BASE + GICD_ISENABLER + (backend_intid / 32) * 4);
    guest_check((en & (1u << (backend_intid % 32))) == 0, "the backend's INTID is invisible to the frontend", en, 0);
    uint32_t fe_intid = guest_devices[0].frontend_intid;
    en = *(volatile uint32_t *)(PLAT_GICD_BASE + GICD_ISENABLER + (fe_intid / 32) * 4);
    guest_check((en & (1u << (fe_intid % 32))) != 0, "the frontend's own INTID reads back enabled", en, 1);
}

/** PSCI as Bao answers it, over HVC and SMC (src/arch/armv8/psci.c); MPIDR and GICR_TYPER of the only vCPU. */
void fe_arch_firmware(void)
{
    struct smccc_regs r = {{0x84000000UL}};
    guest_hvc(&r);
    guest_check(r.x[0] == 0x10001, "PSCI_VERSION over HVC is 1.1", r.x[0], 0x10001);
    r = (struct smccc_regs){{0x84000000UL}};
    guest_smc(&r);
    guest_check(r.x[0] == 0x10001, "PSCI_VERSION over SMC is 1.1", r.x[0], 0x10001);
    r = (struct smccc_regs){{0xc4000003UL, 0, 0x1234, 0}};
    guest_smc(&r);
    guest_check((int64_t)r.x[0] == -4, "CPU_ON of the VM's own running vCPU: ALREADY_ON", r.x[0], (uint64_t)-4);
    r = (struct smccc_regs){{0xc4000003UL, 1, 0x1234, 0}};
    guest_smc(&r);
    guest_check((int64_t)r.x[0] == -2, "CPU_ON of a vCPU the VM does not have: INVALID_PARAMS", r.x[0], (uint64_t)-2);
    r = (struct smccc_regs){{0x8400000aUL, 0x84000008UL}};
    guest_hvc(&r);
    guest_check((int64_t)r.x[0] == -1, "PSCI_FEATURES(SYSTEM_OFF) is NOT_SUPPORTED, as in Bao", r.x[0], (uint64_t)-1);
    guest_check((sysreg_read(mpidr_el1) & 0xffffff) == 0, "MPIDR affinity of the only vCPU is 0", sysreg_read(mpidr_el1), 0);
    uint64_t typer = *(volatile uint64_t *)(PLAT_GICR_BASE + GICR_TYPER);
    guest_check((typer & 0x10) && (typer >> 32) == 0, "GICR_TYPER: affinity 0, Last", typer, 0x10);
}

/** An LDP on `window` (mode 1): no valid syndrome, so Bao (and the monitor) stop the CPU; it must not return. */
void fe_arch_undecodable(uint64_t window)
{
    uint64_t x, y;
    __asm__ volatile("ldp %0, %1, [%2]" : "=r"(x), "=r"(y) : "r"(window) : "memory");
    guest_printf("not ok - LDP on a window returned\n");
    for (;;) {
    }
}
