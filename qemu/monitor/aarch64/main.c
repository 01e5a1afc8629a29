/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot: CPU 0 sets up the physical GIC, the VMs' stage-2 tables, virtual GICs
 * and remio devices, then starts every CPU that hosts a VM with an image with PSCI CPU_ON
 * (QEMU's firmware emulation over SMC). Each CPU then enters its VM at EL1
 * with Bao's trap configuration (HCR_EL2: VM, SWIO, FMO/IMO/AMO, TSC).
 */
#include "aarch64.h"

/** HCR_EL2 for a VM: stage 2, set/way invalidate as clean+invalidate, route FIQ/IRQ/SError to EL2, trap SMC, AArch64 EL1. */
#define HCR_VM_BITS ((1UL << 0) | (1UL << 1) | (1UL << 3) | (1UL << 4) | (1UL << 5) | (1UL << 19) | (1UL << 31))
/** VTCR_EL2: 39-bit IPA (T0SZ 25) from level 1, write-back inner shareable walks, 4 KiB granule, 40-bit PA. */
#define VTCR_BITS ((1UL << 31) | (2UL << 16) | (3UL << 12) | (1UL << 10) | (1UL << 8) | (1UL << 6) | 25UL)
/** SCTLR_EL1 at entry: MMU and caches off, RES1 bits set. */
#define SCTLR_EL1_RESET 0x30d00800UL
/** SPSR_EL2 at entry: EL1h with D, A, I, F masked. */
#define SPSR_EL1H_MASKED 0x3c5UL
/** CPTR_EL2: RES1 bits only (FP/SIMD not trapped). */
#define CPTR_EL2_NO_TRAPS 0x33ffUL
/** CNTHCTL_EL2: EL1 may read the physical counter and use the physical timer. */
#define CNTHCTL_EL1_ACCESS 0x3UL
/** PSCI CPU_ON (SMC64) and SYSTEM_OFF, to QEMU. */
#define PSCI_CPU_ON_64 0xc4000003UL
#define PSCI_SYSTEM_OFF 0x84000008UL

extern char _start[];

/** This physical CPU's index (MPIDR_EL1.Aff0 on QEMU virt). */
uint32_t cpu_current(void)
{
    return (uint32_t)(sysreg_read(mpidr_el1) & 0xff);
}


/** Stops this CPU for good (interrupts masked). */
void monitor_halt(void)
{
    for (;;) {
        __asm__ volatile("msr daifset, #0xf\n wfi");
    }
}

/** Powers QEMU off through PSCI SYSTEM_OFF (ends the run). */
void monitor_system_off(void)
{
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    monitor_halt();
}


/** Loads the EL2 state for this CPU's VM and enters it at EL1; never returns. */
static void vm_enter(struct vm *vm, uint32_t cpu)
{
    sysreg_write(vttbr_el2, vm->arch.vttbr);
    sysreg_write(vtcr_el2, VTCR_BITS);
    sysreg_write(hcr_el2, HCR_VM_BITS);
    sysreg_write(vmpidr_el2, 1UL << 31);
    sysreg_write(vpidr_el2, sysreg_read(midr_el1));
    sysreg_write(sctlr_el1, SCTLR_EL1_RESET);
    sysreg_write(cptr_el2, CPTR_EL2_NO_TRAPS);
    sysreg_write(cnthctl_el2, CNTHCTL_EL1_ACCESS);
    sysreg_write(cntvoff_el2, 0);
    isb();
    __asm__ volatile("tlbi vmalls12e1\n dsb sy\n isb" ::: "memory");

    struct trap_frame *f =
        (struct trap_frame *)(monitor_stacks + (cpu + 1) * MONITOR_STACK_SIZE - sizeof(struct trap_frame));
    for (int i = 0; i < 31; i++) {
        f->x[i] = 0;
    }
    f->x[0] = vm->boot_arg;
    f->elr = vm->entry;
    f->spsr = SPSR_EL1H_MASKED;
    console_printf("monitor: vm %s on cpu %u: entry %lx x0 %lx\n", vm->name, cpu, vm->entry, vm->boot_arg);
    remio_vm_started(vm);
    vgic_flush(vm);
    cpu_enter_guest(f);
}

/** C entry of every CPU (`cpu` = MPIDR Aff0), called from boot.S on this CPU's stack. */
void monitor_main(uint32_t cpu)
{
    if (cpu == 0) {
                console_printf("monitor: remio test monitor on %s (%u CPUs), EL%lu\n", PLAT_NAME, PLAT_CPUS,
                       (sysreg_read(CurrentEL) >> 2) & 3);
        vm_configure();
        gic_init_distributor();
        for (int i = 0; i < VM_COUNT; i++) {
            stage2_build(&vms[i]);
            vgic_init_vm(&vms[i]);
        }
        remio_init();
        gic_set_spi(PLAT_UART_INTID, BACKEND_CPU, false);
        for (size_t i = 0; i < passthrough_count; i++) {
            gic_set_spi(passthrough_devs[i].intid, BACKEND_CPU, false);
        }
        for (int i = 0; i < VM_COUNT; i++) {
            if (vms[i].cpu != 0 && vms[i].entry) {
                int64_t r = psci_call(PSCI_CPU_ON_64, vms[i].cpu, (uint64_t)_start, 0);
                if (r != 0) {
                    console_printf("monitor: PSCI CPU_ON cpu %u failed: %ld\n", vms[i].cpu, r);
                }
            }
        }
    }
    gic_init_cpu(cpu);
    vgic_init_cpu();
    struct vm *vm = vm_current();
    if (!vm) {
        monitor_halt();
    }
    vm_enter(vm, cpu);
}

/** Raises `intid` in `vm`'s virtual GIC (a software interrupt: no HW bit), from any CPU. */
void vm_inject(struct vm *vm, uint32_t intid)
{
    vgic_inject(vm, intid, false);
}
