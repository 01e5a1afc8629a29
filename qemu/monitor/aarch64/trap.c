/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exceptions taken to EL2 from the VMs: data aborts on unmapped addresses
 * (remio windows, the virtual GIC, the debug UART) decoded from ESR_EL2 the
 * way Bao decodes them, HVC and trapped SMC (PSCI, Bao hypercalls), trapped
 * GIC system registers, and physical interrupts forwarded as virtual ones.
 */
#include "aarch64.h"

#define ESR_EC_SHIFT 26
#define ESR_EC_SYSREG 0x18
#define ESR_EC_HVC64 0x16
#define ESR_EC_SMC64 0x17
#define ESR_EC_DABT_LOW 0x24
#define ESR_IL (1UL << 25)
#define ESR_ISS_ISV (1UL << 24)
#define ESR_ISS_SAS_SHIFT 22
#define ESR_ISS_SRT_SHIFT 16
#define ESR_ISS_WNR (1UL << 6)
#define ESR_ISS_FNV (1UL << 10)

/** SMCCC owner field values Bao routes (fast calls, 32- or 64-bit convention). */
#define SMCCC_VENDOR_HYP_32 0x86000000u
#define SMCCC_VENDOR_HYP_64 0xc6000000u
/* Bao hypercall numbers (SMCCC function number): HC_IPC, HC_REMIO of abi.h. */
/** Status for an unknown hypercall number. */
#define HC_E_INVAL_ID 2
/** SMCCC NOT_SUPPORTED, Bao's answer to an unknown owner. */
#define SMCCC_E_NOT_SUPPORTED (-1)

/** PL011 data register and flag register offsets of the emulated debug UART. */
#define DEBUG_UART_DR 0x00
#define DEBUG_UART_FR 0x18

/** Prints the vCPU's registers (a VM that faults is reported with them). */
void trap_dump(struct vm *vm, struct trap_frame *f)
{
    console_printf("monitor: vm %s registers: pc %016lx spsr %08lx esr %08lx far %016lx hpfar %016lx\n",
                   vm ? vm->name : "?", f->elr, f->spsr, sysreg_read(esr_el2), sysreg_read(far_el2),
                   sysreg_read(hpfar_el2));
    for (int i = 0; i < 28; i += 4) {
        console_printf("monitor:   x%u %016lx x%u %016lx x%u %016lx x%u %016lx\n", i, f->x[i], i + 1, f->x[i + 1],
                       i + 2, f->x[i + 2], i + 3, f->x[i + 3]);
    }
    console_printf("monitor:   x28 %016lx x29 %016lx x30 %016lx sp_el1 %016lx\n", f->x[28], f->x[29], f->x[30],
                   sysreg_read(sp_el1));
}

/**
 * Ends the run for an error Bao would treat as fatal for the VM's CPU:
 * prints `monitor: vm <name> FATAL: <what>` with the registers and powers off.
 */
void trap_fatal(struct vm *vm, struct trap_frame *f, const char *what)
{
    console_printf("monitor: vm %s FATAL: %s\n", vm ? vm->name : "?", what);
    trap_dump(vm, f);
    monitor_system_off();
}

/** Reads the 32-bit instruction at the guest's `pc` (translated through both stages; only from the VM's RAM). */
static uint32_t trap_read_insn(struct vm *vm, uint64_t pc)
{
    uint64_t par;
    __asm__ volatile("at s12e1r, %1\n isb\n mrs %0, par_el1" : "=r"(par) : "r"(pc));
    if (par & 1) {
        return 0;
    }
    uint64_t pa = (par & 0x0000fffffffff000UL) | (pc & 0xfff);
    if (pa < vm->ram_base || pa - vm->ram_base >= vm->ram_size) {
        return 0;
    }
    return *(volatile uint32_t *)pa;
}

/** The emulated write-only debug PL011 of a frontend: DR writes go to the console with the VM's name. */
static void trap_debug_uart(struct vm *vm, uint64_t off, bool write, uint64_t *value)
{
    if (!write) {
        *value = 0; /* FR: transmit FIFO never full; everything else reads as zero */
        return;
    }
    if (off != DEBUG_UART_DR) {
        return;
    }
    console_vm_putc(vm, (char)*value);
}

/**
 * A stage-2 data abort: decode ISV/SAS/SRT/WnR (SSE and SF ignored, as Bao
 * does), step the PC, and emulate the access. An access without a valid
 * syndrome, or to an address nothing emulates, ends the run.
 */
static void trap_data_abort(struct vm *vm, struct trap_frame *f, uint64_t esr)
{
    uint64_t ipa = ((sysreg_read(hpfar_el2) >> 4) << 12) | (sysreg_read(far_el2) & 0xfff);
    if (!(esr & ESR_ISS_ISV) || (esr & ESR_ISS_FNV)) {
        uint32_t insn = trap_read_insn(vm, f->elr);
        console_printf("monitor: vm %s FATAL: access to %lx at pc %lx (instruction %08x) has no valid syndrome "
                       "(ESR_EL2.ISV=0): Bao cannot emulate it and stops this CPU\n",
                       vm->name, ipa, f->elr, insn);
        trap_dump(vm, f);
        monitor_system_off();
    }
    uint32_t width = 1u << ((esr >> ESR_ISS_SAS_SHIFT) & 3);
    uint32_t reg = (esr >> ESR_ISS_SRT_SHIFT) & 0x1f;
    bool write = (esr & ESR_ISS_WNR) != 0;
    f->elr += (esr & ESR_IL) ? 4 : 2;

    if (remio_handles(vm, ipa)) {
        remio_emulate_access(vm, f, ipa, width, write, reg);
        return;
    }
    uint64_t value = write ? (reg < 31 ? f->x[reg] : 0) : 0;
    if (vgic_emulate(vm, ipa, width, write, &value)) {
        /* emulated */
    } else if (vm->debug_uart && ipa >= MONITOR_DEBUG_UART_BASE && ipa - MONITOR_DEBUG_UART_BASE < MONITOR_DEBUG_UART_SIZE) {
        trap_debug_uart(vm, ipa - MONITOR_DEBUG_UART_BASE, write, &value);
    } else {
        f->elr -= 4;
        console_printf("monitor: vm %s FATAL: %s of %u bytes at unmapped address %lx, pc %lx\n", vm->name,
                       write ? "write" : "read", width, ipa, f->elr);
        trap_dump(vm, f);
        monitor_system_off();
    }
    if (!write && reg < 31) {
        f->x[reg] = value;
    }
}

/** HVC and trapped SMC: PSCI, Bao's hypercalls (vendor-hypervisor service), or NOT_SUPPORTED. */
static void trap_call(struct vm *vm, struct trap_frame *f)
{
    uint64_t fid = f->x[0];
    int64_t ret = SMCCC_E_NOT_SUPPORTED;
    uint64_t owner = fid & ~0xffffUL;
    if (psci_is_fid(fid)) {
        ret = psci_emulate(vm, f);
    } else if (owner == SMCCC_VENDOR_HYP_32 || owner == SMCCC_VENDOR_HYP_64) {
        switch (fid & 0xffff) {
        case HC_IPC:
            ret = ipc_hypercall(vm, f->x[1], f->x[2]);
            break;
        case HC_REMIO: {
            struct remio_call c = {.dm_id = f->x[1], .addr = f->x[2], .op = f->x[3], .value = f->x[4], .request_id = f->x[5]};
            ret = remio_hypercall(vm, &c);
            if (c.has_out) {
                for (int i = 0; i < 6; i++) {
                    f->x[1 + i] = c.out[i];
                }
            }
            break;
        }
        default:
            ret = -HC_E_INVAL_ID;
            break;
        }
    }
    f->x[0] = (uint64_t)ret;
}

/** A trapped system-register access: ICC_SGI1R_EL1 writes are emulated; others read as zero. */
static void trap_sysreg(struct vm *vm, struct trap_frame *f, uint64_t esr)
{
    uint32_t iss = (uint32_t)esr & 0x1ffffff;
    uint32_t rt = (iss >> 5) & 0x1f;
    bool read = iss & 1;
    uint32_t key = iss & 0x3ffc1e; /* Op0, Op2, Op1, CRn, CRm */
    uint32_t sgi1r = (3u << 20) | (5u << 17) | (0u << 14) | (12u << 10) | (11u << 1);
    if (!read && key == sgi1r) {
        vgic_emulate_sgi1r(vm, rt < 31 ? f->x[rt] : 0);
    } else if (read && rt < 31) {
        f->x[rt] = 0;
    }
    f->elr += 4;
}

/** Synchronous exceptions from a VM (called from the vector with the saved frame). */
void trap_handle_sync(struct trap_frame *f)
{
    struct vm *vm = vm_current();
    uint64_t esr = sysreg_read(esr_el2);
    switch (esr >> ESR_EC_SHIFT) {
    case ESR_EC_DABT_LOW:
        trap_data_abort(vm, f, esr);
        break;
    case ESR_EC_HVC64:
        trap_call(vm, f);
        break;
    case ESR_EC_SMC64:
        trap_call(vm, f);
        f->elr += 4; /* a trapped SMC returns to itself */
        break;
    case ESR_EC_SYSREG:
        trap_sysreg(vm, f, esr);
        break;
    default:
        trap_fatal(vm, f, "unexpected exception from the VM");
    }
    vgic_flush(vm);
}

/** Physical interrupts while a VM runs: forward the VM's own, consume the monitor's. */
void trap_handle_irq(struct trap_frame *f)
{
    (void)f;
    struct vm *vm = vm_current();
    uint32_t iar = gic_ack();
    uint32_t intid = iar & 0xffffff;
    if (intid >= 1020) {
        return;
    }
    gic_eoi(iar);
    if (intid == PLAT_TIMER_INTID && vm) {
        vgic_inject(vm, intid, true);
    } else if (intid == PLAT_UART_INTID) {
        struct vm *owner = NULL;
        for (int i = 0; i < VM_COUNT; i++) {
            if (vms[i].owns_uart) {
                owner = &vms[i];
            }
        }
        if (owner) {
            vgic_inject(owner, intid, true);
        } else {
            gic_deactivate(intid);
        }
    } else if (passthrough_owns_intid(intid)) {
        /* a passthrough device's SPI: the backend's own, deactivated by its EOI */
        for (int i = 0; i < VM_COUNT; i++) {
            if (vms[i].cpu == BACKEND_CPU) {
                vgic_inject(&vms[i], intid, true);
            }
        }
    } else {
        gic_deactivate(intid);
        if (intid == GIC_MAINTENANCE_INTID) {
            vgic_handle_maintenance(vm);
        } else if (intid != MONITOR_SGI_KICK) {
            console_printf("monitor: unexpected interrupt %u on cpu %u\n", intid, cpu_current());
        }
    }
    if (vm) {
        vgic_flush(vm);
    }
}

/** An SError from a VM: reported, the run ends. */
void trap_handle_serror(struct trap_frame *f)
{
    trap_fatal(vm_current(), f, "SError");
}

/** An exception taken by the monitor itself: a monitor bug. */
void trap_handle_el2(uint64_t kind)
{
    console_printf("monitor: EL2 exception %lu on cpu %u: esr %lx elr %lx far %lx\n", kind, cpu_current(),
                   sysreg_read(esr_el2), sysreg_read(elr_el2), sysreg_read(far_el2));
    monitor_system_off();
}
