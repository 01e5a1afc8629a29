/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMs of the platform description (platform.h) and the runner's
 * boot-parameter block, the same on every architecture.
 */
#include "monitor.h"

/** The VMs of the platform: the first frontend, the backend, the other frontends. */
struct vm vms[VM_COUNT];

/** The VM pinned to this CPU, or NULL. */
struct vm *vm_current(void)
{
    /* found once per CPU (the table does not change once a VM has an entry); called on every trap */
    static struct vm *by_cpu[PLAT_CPUS];
    uint32_t cpu = cpu_current();
    if (cpu < PLAT_CPUS && by_cpu[cpu]) {
        return by_cpu[cpu];
    }
    for (int i = 0; i < VM_COUNT; i++) {
        if (vms[i].cpu == cpu && vms[i].name && vms[i].entry) {
            if (cpu < PLAT_CPUS) {
                by_cpu[cpu] = &vms[i];
            }
            return &vms[i];
        }
    }
    return NULL;
}

/** The frontend VMs of the platform description. */
static const struct frontend_row frontend_rows[PLAT_FRONTEND_COUNT] = {PLAT_FRONTENDS};
/** The device models of the platform description. */
const struct device_row device_rows[PLAT_DEVICE_COUNT] = {PLAT_DEVICES};

/** The VM of frontend `index` (PLAT_FRONTENDS order): vms[0], then vms[index + 1] after the backend. */
struct vm *vm_of_frontend(uint32_t index)
{
    return &vms[index == 0 ? 0 : index + 1];
}

/**
 * Fills in the VMs from platform.h and the runner's boot parameters: the
 * first frontend (vms[0]), the backend (vms[1]), the other frontends. A
 * frontend after the first with entry 0 is not started (its CPU stays off).
 */
void vm_configure(void)
{
    const volatile struct boot_params *bp = (const volatile struct boot_params *)MONITOR_BOOT_PARAMS;
    for (uint32_t i = 0; i < PLAT_FRONTEND_COUNT; i++) {
        const struct frontend_row *r = &frontend_rows[i];
        struct vm *vm = vm_of_frontend(i);
        uint32_t id = (uint32_t)(vm - vms);
        uint64_t entry = bp->vm[id].entry;
        *vm = (struct vm){
            .name = r->name, .id = id, .frontend = (int32_t)i, .cpu = r->cpu,
            .ram_base = r->ram_base, .ram_size = r->ram_size,
            .entry = entry ? entry : (i == 0 ? r->ram_base : 0),
            .boot_arg = bp->vm[id].boot_arg, .debug_uart = true,
        };
    }
    vms[1] = (struct vm){
        .name = BACKEND_NAME, .id = 1, .frontend = -1, .cpu = BACKEND_CPU,
        .ram_base = BACKEND_RAM_BASE, .ram_size = BACKEND_RAM_SIZE,
        .entry = bp->vm[1].entry ? bp->vm[1].entry : BACKEND_RAM_BASE,
        .boot_arg = bp->vm[1].boot_arg, .owns_uart = true,
    };
}

#if PLAT_PASSTHROUGH_COUNT > 0
const struct passthrough_dev passthrough_devs[] = {PLAT_PASSTHROUGH};
#else
const struct passthrough_dev passthrough_devs[1];
#endif
const size_t passthrough_count = PLAT_PASSTHROUGH_COUNT;

/** Whether `intid` is the SPI of a device passed through to the backend. */
bool passthrough_owns_intid(uint32_t intid)
{
    for (size_t i = 0; i < passthrough_count; i++) {
        if (passthrough_devs[i].intid == intid) {
            return true;
        }
    }
    return false;
}

/** A named memory range from platform.h. */
struct vm_region {
    const char *name; /**< region name */
    uint64_t base;    /**< base address */
    uint64_t size;    /**< size, bytes */
};

/** The backend's named regions (including each device's shared region). */
static const struct vm_region backend_regions[] = {BACKEND_REGIONS};

/**
 * Calls `map` for every range `vm` gets identity-mapped at stage 2, as Bao
 * maps a VM's memory and device regions: its RAM; in the backend its named
 * regions (the shared regions among them) and the pages of the passthrough
 * devices (`device` true); in a frontend the shared regions of its own
 * devices only; the UART in the VM that owns it (`device` true). Remio
 * windows, the interrupt controller and the debug UART stay unmapped.
 */
void vm_for_each_mapping(struct vm *vm, void (*map)(struct vm *vm, uint64_t base, uint64_t size, bool device))
{
    map(vm, vm->ram_base, vm->ram_size, false);
    if (vm->cpu == BACKEND_CPU) {
        for (size_t i = 0; i < sizeof backend_regions / sizeof backend_regions[0]; i++) {
            map(vm, backend_regions[i].base, backend_regions[i].size, false);
        }
        for (size_t i = 0; i < passthrough_count; i++) {
            uint64_t page = passthrough_devs[i].base & ~0xfffUL;
            uint64_t end = (passthrough_devs[i].base + passthrough_devs[i].size + 0xfffUL) & ~0xfffUL;
            map(vm, page, end - page, true);
        }
    } else {
        for (size_t i = 0; i < PLAT_DEVICE_COUNT; i++) {
            if ((int32_t)device_rows[i].frontend == vm->frontend) {
                map(vm, device_rows[i].shmem_base, device_rows[i].shmem_size, false);
            }
        }
    }
    if (vm->owns_uart) {
        map(vm, PLAT_UART_BASE, PLAT_UART_SIZE, true);
    }
}
