/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot on riscv64: the first hart to arrive from the SBI firmware sets up
 * the VMs' stage-2 tables, virtual PLICs and remio devices and the physical
 * PLIC, then starts every other hart that hosts a VM with an image through
 * SBI HSM. Each hart then enters its VM in VS-mode with Bao's trap
 * configuration (src/arch/riscv/vmm.c, vm.c): hedeleg breakpoint, ecall
 * from VU and the guest's own page faults; hideleg the three VS interrupts;
 * hcounteren the time CSR; henvcfg.STCE where the hart has Sstc; a0 = the
 * vCPU id (0), a1 = the boot argument.
 */
#include "riscv64.h"

/** hedeleg: breakpoint, ecall from VU-mode, instruction/load/store page faults (Bao's set). */
#define HEDELEG_BITS ((1UL << 3) | (1UL << 8) | (1UL << 12) | (1UL << 13) | (1UL << 15))
/** hideleg: VS software, timer and external interrupts. */
#define HIDELEG_BITS ((1UL << IRQ_VS_SOFT) | (1UL << IRQ_VS_TIMER) | (1UL << IRQ_VS_EXT))
/** hcounteren: the time CSR only (as Bao). */
#define HCOUNTEREN_TM (1UL << 1)
/** SBI HSM hart_start, SRST system_reset. */
#define SBI_HSM_HART_START 0
#define SBI_SRST_RESET 0

/** This hart's id (tp, reloaded on every trap). */
uint32_t cpu_current(void)
{
    uint64_t tp;
    __asm__ volatile("mv %0, tp" : "=r"(tp));
    return (uint32_t)tp;
}

/** Stops this hart for good (interrupts off). */
void monitor_halt(void)
{
    csr_write(CSR_SIE, 0);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/** Powers QEMU off through SBI SRST shutdown (legacy shutdown if SRST is missing); ends the run. */
void monitor_system_off(void)
{
    sbi_ecall(SBI_EXT_SRST, SBI_SRST_RESET, 0, 0, 0);
    sbi_ecall(SBI_EXT_0_1_SHUTDOWN, 0, 0, 0, 0);
    monitor_halt();
}

/**
 * Waits for another hart (arch.h): WFI, then clears SSIP if an IPI came.
 * The monitor runs with sstatus.SIE off, so an IPI is not taken here; left
 * pending, it would make every later WFI return at once and the wait a busy
 * spin (under QEMU -icount, a spin on the hart that runs first starves the
 * hart it waits for). The IPI may also have been a virtual PLIC update for
 * this hart's VM: that is done here.
 */
void arch_wait(void)
{
    __asm__ volatile("wfi" ::: "memory");
    if (csr_read(CSR_SIP) & (1UL << IRQ_S_SOFT)) {
        csr_clear(CSR_SIP, 1UL << IRQ_S_SOFT);
        struct vm *vm = vm_current();
        if (vm) {
            vplic_update(vm);
        }
    }
}

/** Sends an IPI to every other hart that hosts a VM (SBI IPI send_ipi); each takes it as an S-mode software interrupt (trap.c). */
void arch_wake_all(void)
{
    uint64_t mask = 0;
    for (int i = 0; i < VM_COUNT; i++) {
        if (vms[i].entry && vms[i].cpu != cpu_current()) {
            mask |= 1UL << vms[i].cpu;
        }
    }
    if (mask) {
        sbi_ecall(SBI_EXT_IPI, 0, mask, 0, 0);
    }
}

/** Wakes hart `cpu` if it waits in arch_wait(): an IPI to it alone (another hart's own waits are not disturbed). */
void arch_wake_cpu(uint32_t cpu)
{
    if (cpu != cpu_current()) {
        sbi_ecall(SBI_EXT_IPI, 0, 1UL << cpu, 0, 0);
    }
}

/** Raises source `intid` in `vm`'s virtual PLIC, from any hart. */
void vm_inject(struct vm *vm, uint32_t intid)
{
    vplic_set_pending(vm, intid);
}

/** Loads the hypervisor CSRs for this hart's VM and enters it in VS-mode; never returns. */
static void vm_enter(struct vm *vm, uint32_t hart)
{
    csr_write(CSR_HEDELEG, HEDELEG_BITS);
    csr_write(CSR_HIDELEG, HIDELEG_BITS);
    csr_write(CSR_HCOUNTEREN, HCOUNTEREN_TM);
    /*
     * Sstc (as Bao, vmm.c): where henvcfg.STCE sticks, the guest's timer is
     * vstimecmp, which SBI set_timer writes; it starts out of reach. Where
     * M-mode has Sstc on, QEMU also makes VSTIP read-only in hvip, so the
     * other way (the HS timer, then hvip.VSTIP) would not work at all.
     */
    csr_write(CSR_HENVCFG, HENVCFG_STCE);
    vm->arch.sstc = (csr_read(CSR_HENVCFG) & HENVCFG_STCE) != 0;
    if (vm->arch.sstc) {
        csr_write(CSR_VSTIMECMP, UINT64_MAX);
    } else {
        csr_write(CSR_HENVCFG, 0);
    }
    csr_write(CSR_HVIP, 0);
    csr_write(CSR_HIE, 0);
    csr_write(CSR_VSSTATUS, 0);
    csr_write(CSR_VSIE, 0);
    csr_write(CSR_VSATP, 0);
    csr_write(CSR_VSTVEC, 0);
    csr_write(CSR_HGATP, vm->arch.hgatp);
    hfence_gvma_all();
    hfence_vvma_all();
    csr_write(CSR_HSTATUS, HSTATUS_VSXL_64 | HSTATUS_SPV | HSTATUS_SPVP);
    /* HS interrupts: software (kicks from other harts), external (the physical PLIC); the timer once the guest sets one */
    csr_write(CSR_SIE, (1UL << IRQ_S_SOFT) | (1UL << IRQ_S_EXT));

    struct trap_frame *f =
        (struct trap_frame *)(monitor_stacks + (hart + 1) * MONITOR_STACK_SIZE - sizeof(struct trap_frame));
    for (int i = 0; i < 32; i++) {
        f->x[i] = 0;
    }
    f->x[10] = 0;            /* a0: the vCPU id */
    f->x[11] = vm->boot_arg; /* a1: the boot argument (the dtb for Linux) */
    f->sepc = vm->entry;
    /* return to VS-mode (SPP = S with hstatus.SPV), guest interrupts off, FP usable by the guest */
    f->sstatus = SSTATUS_SPP | SSTATUS_FS_DIRTY;
    f->hart = hart;
    console_printf("monitor: vm %s on cpu %u: entry %lx a1 %lx\n", vm->name, hart, vm->entry, vm->boot_arg);
    remio_vm_started(vm);
    vplic_update(vm);
    cpu_enter_guest(f);
}

/** C entry of every hart (`hart` = its id; `first`: it set the system up), called from boot.S on its stack. */
void monitor_main(uint32_t hart, bool first)
{
    if (first) {
        console_printf("monitor: remio test monitor on %s (%u CPUs), %s on hart %u\n", PLAT_NAME, PLAT_CPUS,
                       ARCH_MONITOR_MODE, hart);
        vm_configure();
        for (int i = 0; i < VM_COUNT; i++) {
            stage2_build(&vms[i]);
            vplic_init_vm(&vms[i]);
        }
        remio_init();
        vplic_init_physical();
        arch_mb();
        /*
         * Every hart comes to the monitor, as every CPU comes to Bao: one
         * without a VM parks in monitor_halt(). Left in the SBI firmware's
         * HSM wait instead, the spare harts were seen spinning there with
         * an IPI pending (mip.MSIP), which took host time from the harts
         * that run VMs.
         */
        for (uint32_t h = 0; h < PLAT_CPUS; h++) {
            if (h == hart) {
                continue;
            }
            bool has_vm = false;
            for (int i = 0; i < VM_COUNT; i++) {
                has_vm |= vms[i].cpu == h && vms[i].entry;
            }
            struct sbiret r = sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_START, h, (uint64_t)_start, 0);
            if (r.error != SBI_SUCCESS && has_vm) {
                console_printf("monitor: SBI hart_start of hart %u failed: %ld\n", h, r.error);
            }
        }
    }
    struct vm *vm = vm_current();
    if (!vm) {
        monitor_halt();
    }
    vm_enter(vm, hart);
}
