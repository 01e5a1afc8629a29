/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The remio test monitor: a small hypervisor (EL2 on aarch64, HS-mode on
 * riscv64) that stands in for Bao on QEMU (static partitioning, one VM per
 * physical CPU, stage-2 isolation, trapped remio windows, Bao's remio
 * hypercall, a virtual interrupt controller). Every platform fact comes from
 * the generated platform.h; what differs between architectures is behind the
 * hooks of arch.h (aarch64/arch.h, riscv64/arch.h).
 */
#ifndef MONITOR_H
#define MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "abi.h"
#include "arch.h"

/** Bytes of EL2 stack per physical CPU. */
#define MONITOR_STACK_SIZE 0x4000UL
/* VM_COUNT (platform.h): the frontends and the backend. */
/** Most remio device entries one VM may hold (Bao's Linux driver limit). */
#define REMIO_VM_DEVS 16

/** Role of a remio device entry in a VM's list (Bao's REMIO_DEV_*). */
enum remio_dev_type {
    REMIO_DEV_FRONTEND, /**< the VM traps on the window */
    REMIO_DEV_BACKEND,  /**< the VM serves the device */
};

/** One entry of a VM's remio device list (index = the VM's dm_id). */
struct remio_vm_dev {
    uint32_t device;           /**< index into the monitor's device table */
    enum remio_dev_type type;  /**< frontend or backend half */
};

/** A VM: one vCPU pinned to one physical CPU, as in Bao's static partitioning. */
struct vm {
    const char *name;                 /**< name from the platform description */
    uint32_t id;                      /**< VM index, also its VMID */
    int32_t frontend;                 /**< index in PLAT_FRONTENDS, or -1 for the backend */
    uint32_t cpu;                     /**< physical CPU running its only vCPU */
    uint64_t ram_base;                /**< guest-physical (= physical) RAM base */
    uint64_t ram_size;                /**< RAM size, bytes */
    uint64_t entry;                   /**< entry point given to the vCPU */
    uint64_t boot_arg;                /**< the boot argument: x0 on aarch64, a1 on riscv64 (the dtb address for Linux) */
    uint32_t remio_dev_num;           /**< entries in remio_devs */
    struct remio_vm_dev remio_devs[REMIO_VM_DEVS]; /**< the VM's remio device list */
    bool owns_uart;                   /**< the PL011 is passed through to this VM */
    bool debug_uart;                  /**< the monitor's debug PL011 is emulated for it */
    volatile bool started;            /**< the vCPU has been entered at least once */
    struct vm_arch arch;              /**< stage-2 root and interrupt-controller state (arch.h) */
};

/** Entry point and x0 of one VM in the boot-parameter block. */
struct boot_vm {
    uint64_t entry; /**< first instruction; 0: the VM's RAM base (the first frontend, the backend) or not started (other frontends) */
    uint64_t boot_arg; /**< boot argument: x0 on aarch64, a1 on riscv64 (dtb address for Linux) */
};

/**
 * The boot-parameter block the runner fills with QEMU's generic loader, in
 * the order of `vms`: the first frontend, the backend, then the other
 * frontends (PLAT_FRONTENDS from index 1).
 */
struct boot_params {
    struct boot_vm vm[VM_COUNT]; /**< per VM */
};

/** A frontend VM row from platform.h (field order of PLAT_FRONTENDS). */
struct frontend_row {
    const char *name;  /**< VM name */
    uint32_t cpu;      /**< its physical CPU */
    uint64_t ram_base; /**< RAM base (guest-physical = physical) */
    uint64_t ram_size; /**< RAM size, bytes */
};

/** A device model row from platform.h (field order of PLAT_DEVICES). */
struct device_row {
    const char *name;                                    /**< device name */
    uint32_t virtio_id, dm_id, bind_key;                 /**< virtio id, dm_id, bind key */
    uint64_t window_base, window_size;                   /**< frontend window */
    uint32_t backend_intid, frontend_intid, shmem_id;    /**< interrupts, shmem id */
    uint64_t shmem_base, shmem_size;                     /**< shared region */
    uint32_t frontend;                                   /**< index of its frontend in PLAT_FRONTENDS */
};

/** The device models of the platform description (PLAT_DEVICES). */
extern const struct device_row device_rows[PLAT_DEVICE_COUNT];

/* console.c: printf over the arch's console_putc_raw */
void console_printf(const char *fmt, ...);
void console_lock(void);
void console_unlock(void);
struct vm;
void console_vm_putc(struct vm *vm, char c);

/* arch: the console UART, spinlocks, CPUs */
void console_putc_raw(char c);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
uint32_t cpu_current(void);
void monitor_halt(void) __attribute__((noreturn));
void monitor_system_off(void) __attribute__((noreturn));
void trap_dump(struct vm *vm, struct trap_frame *f);
void trap_fatal(struct vm *vm, struct trap_frame *f, const char *what) __attribute__((noreturn));
/** Raises interrupt `intid` in `vm` (its virtual GIC or PLIC), from any CPU. */
void vm_inject(struct vm *vm, uint32_t intid);

/* vm.c */
extern struct vm vms[VM_COUNT];
void vm_configure(void);
struct vm *vm_current(void);
struct vm *vm_of_frontend(uint32_t index);
void vm_for_each_mapping(struct vm *vm, void (*map)(struct vm *vm, uint64_t base, uint64_t size, bool device));

/** A device of the machine passed through to the backend (a row of PLAT_PASSTHROUGH). */
struct passthrough_dev {
    const char *name; /**< name from the platform description */
    uint64_t base;    /**< physical (= backend guest-physical) base of its registers */
    uint64_t size;    /**< size of its register window, bytes */
    uint32_t intid;   /**< its interrupt, the backend's own */
};

/** The passthrough devices of the platform description, and their count. */
extern const struct passthrough_dev passthrough_devs[];
extern const size_t passthrough_count;
bool passthrough_owns_intid(uint32_t intid);

/* remio.c */
void remio_init(void);
void remio_vm_started(struct vm *vm);
bool remio_handles(struct vm *vm, uint64_t addr);
void remio_emulate_access(struct vm *vm, struct trap_frame *f, uint64_t addr, uint32_t width, bool write,
                          uint32_t reg);

/** One remio hypercall's arguments and results, whatever registers carry them (remio-abi.md). */
struct remio_call {
    uint64_t dm_id, addr, op, value, request_id; /**< in */
    bool has_out;  /**< ASK succeeded: out[] holds addr, op, value, width, request_id, more-pending */
    uint64_t out[6]; /**< out, valid when has_out */
};
int64_t remio_hypercall(struct vm *vm, struct remio_call *c);
int64_t ipc_hypercall(struct vm *vm, uint64_t ipc_id, uint64_t event);

#endif
