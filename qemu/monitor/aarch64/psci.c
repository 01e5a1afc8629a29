/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PSCI for the VMs, answered by the monitor the way Bao answers it (version
 * 1.1, CPU_ON only for the VM's own vCPUs, AFFINITY_INFO = 0, FEATURES for
 * the calls Bao lists), reached by a trapped SMC or by HVC.
 *
 * One deliberate difference: Bao answers SYSTEM_OFF with NOT_SUPPORTED and
 * leaves the run going; the monitor prints `monitor: vm <name> SYSTEM_OFF`
 * (or SYSTEM_RESET) and powers QEMU off, so that a runner sees the end.
 */
#include "aarch64.h"

#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_SUSPEND_32 0x84000001u
#define PSCI_CPU_SUSPEND_64 0xc4000001u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON_32 0x84000003u
#define PSCI_CPU_ON_64 0xc4000003u
#define PSCI_AFFINITY_INFO_32 0x84000004u
#define PSCI_AFFINITY_INFO_64 0xc4000004u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000au

#define PSCI_E_SUCCESS 0
#define PSCI_E_NOT_SUPPORTED (-1)
#define PSCI_E_INVALID_PARAMS (-2)
#define PSCI_E_ALREADY_ON (-4)
/** PSCI 1.1, as Bao reports. */
#define PSCI_VERSION_1_1 0x10001

/** True for SMCCC standard-service function ids (PSCI), 32- or 64-bit calling convention. */
bool psci_is_fid(uint64_t fid)
{
    uint32_t owner = ((uint32_t)fid & ~0xffffu) & ~0x40000000u;
    return (fid >> 32) == 0 && owner == 0x84000000u;
}

/** FEATURES: the calls Bao implements. */
static int64_t psci_features(uint32_t id)
{
    switch (id) {
    case PSCI_VERSION:
    case PSCI_CPU_OFF:
    case PSCI_CPU_SUSPEND_32:
    case PSCI_CPU_SUSPEND_64:
    case PSCI_CPU_ON_32:
    case PSCI_CPU_ON_64:
    case PSCI_AFFINITY_INFO_32:
    case PSCI_AFFINITY_INFO_64:
    case PSCI_FEATURES:
        return PSCI_E_SUCCESS;
    default:
        return PSCI_E_NOT_SUPPORTED;
    }
}

/**
 * Emulates the PSCI call in the trapped vCPU's x0..x3 and returns the value
 * for x0. SYSTEM_OFF/RESET and CPU_OFF do not return.
 */
int64_t psci_emulate(struct vm *vm, struct trap_frame *f)
{
    uint32_t fid = (uint32_t)f->x[0];
    switch (fid) {
    case PSCI_VERSION:
        return PSCI_VERSION_1_1;
    case PSCI_CPU_ON_32:
    case PSCI_CPU_ON_64:
        /* One vCPU per VM, at MPIDR affinity 0, already on. */
        return (f->x[1] & 0xff00ffffffUL) == 0 ? PSCI_E_ALREADY_ON : PSCI_E_INVALID_PARAMS;
    case PSCI_AFFINITY_INFO_32:
    case PSCI_AFFINITY_INFO_64:
        return 0;
    case PSCI_FEATURES:
        return psci_features((uint32_t)f->x[1]);
    case PSCI_CPU_SUSPEND_32:
    case PSCI_CPU_SUSPEND_64:
        __asm__ volatile("wfi");
        return PSCI_E_SUCCESS;
    case PSCI_CPU_OFF:
        console_printf("monitor: vm %s CPU_OFF\n", vm->name);
        monitor_halt();
    case PSCI_SYSTEM_OFF:
        console_printf("monitor: vm %s SYSTEM_OFF\n", vm->name);
        monitor_system_off();
    case PSCI_SYSTEM_RESET:
        console_printf("monitor: vm %s SYSTEM_RESET\n", vm->name);
        monitor_system_off();
    default:
        return PSCI_E_NOT_SUPPORTED;
    }
}
