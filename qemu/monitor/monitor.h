/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The remio test monitor: a small EL2 program that stands in for the Bao
 * hypervisor on QEMU (static partitioning, one VM per physical CPU, stage-2
 * isolation, trapped remio windows, Bao's remio hypercall, a virtual GICv3).
 * Every platform fact comes from the generated platform.h.
 */
#ifndef MONITOR_H
#define MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "abi.h"

/** Bytes of EL2 stack per physical CPU. */
#define MONITOR_STACK_SIZE 0x4000UL
/** Number of INTIDs the virtual distributor models (SGIs, PPIs and SPIs below 256). */
#define VGIC_IRQ_COUNT 256
/* VM_COUNT (platform.h): the frontends and the backend. */
/** Most remio device entries one VM may hold (Bao's Linux driver limit). */
#define REMIO_VM_DEVS 16

/** Reads system register `r` (an Arm register name) into a uint64_t. */
#define sysreg_read(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
/** Writes uint64_t `v` to system register `r`. */
#define sysreg_write(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((uint64_t)(v)))
/** Instruction synchronisation barrier. */
#define isb() __asm__ volatile("isb" ::: "memory")
/** Full-system data synchronisation barrier. */
#define dsb() __asm__ volatile("dsb sy" ::: "memory")

/** Registers of a trapped vCPU, saved by the exception entry code (boot.S). */
struct trap_frame {
    uint64_t x[31];   /**< general-purpose registers x0..x30 */
    uint64_t elr;     /**< ELR_EL2: the guest's return address */
    uint64_t spsr;    /**< SPSR_EL2: the guest's PSTATE */
    uint64_t pad;     /**< keeps the frame a multiple of 16 bytes */
};

/** A spinlock (ticket-free test-and-set; the monitor never sleeps holding one). */
typedef struct {
    volatile uint32_t locked; /**< 1 while held */
} spinlock_t;

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
    uint64_t x0;                      /**< x0 at entry (e.g. the dtb pointer for Linux) */
    uint64_t vttbr;                   /**< VTTBR_EL2 value (stage-2 root | VMID) */
    uint32_t remio_dev_num;           /**< entries in remio_devs */
    struct remio_vm_dev remio_devs[REMIO_VM_DEVS]; /**< the VM's remio device list */
    bool owns_uart;                   /**< the PL011 is passed through to this VM */
    bool debug_uart;                  /**< the monitor's debug PL011 is emulated for it */
    volatile bool started;            /**< the vCPU has been entered at least once */
    struct vgic *vgic;                /**< its virtual GIC state */
};

/** Entry point and x0 of one VM in the boot-parameter block. */
struct boot_vm {
    uint64_t entry; /**< first instruction; 0: the VM's RAM base (the first frontend, the backend) or not started (other frontends) */
    uint64_t x0;    /**< x0 at entry (dtb address for Linux) */
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

/* console.c */
void console_init(void);
void console_printf(const char *fmt, ...);
void console_putc_raw(char c);
void console_lock(void);
void console_unlock(void);
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/* main.c */
extern struct vm vms[VM_COUNT];
struct vm *vm_current(void);
struct vm *vm_of_frontend(uint32_t index);
uint32_t cpu_current(void);
void monitor_halt(void) __attribute__((noreturn));
void monitor_system_off(void) __attribute__((noreturn));

/** A device of the machine passed through to the backend (a row of PLAT_PASSTHROUGH). */
struct passthrough_dev {
    const char *name; /**< name from the platform description */
    uint64_t base;    /**< physical (= backend guest-physical) base of its registers */
    uint64_t size;    /**< size of its register window, bytes */
    uint32_t intid;   /**< its SPI, the backend's own (forwarded with the LR HW bit) */
};

/** The passthrough devices of the platform description, and their count. */
extern const struct passthrough_dev passthrough_devs[];
extern const size_t passthrough_count;
bool passthrough_owns_intid(uint32_t intid);

/* stage2.c */
void stage2_build(struct vm *vm);

/* gic.c */
void gic_init_distributor(void);
void gic_init_cpu(uint32_t cpu);
uint32_t gic_ack(void);
void gic_eoi(uint32_t iar);
void gic_deactivate(uint32_t intid);
void gic_send_sgi(uint32_t cpu, uint32_t sgi);
void gic_set_spi(uint32_t intid, uint32_t cpu, bool enable);
uint32_t gicd_read_typer(void);
uint32_t gicd_read_iidr(void);
uint32_t gicr_read_id(uint32_t cpu, uint32_t offset);
uint32_t gicr_read_iidr(uint32_t cpu);

/** SGI the monitor uses to kick another CPU (sync its list registers). */
#define MONITOR_SGI_KICK 0
/** GICv3 maintenance interrupt PPI. */
#define GIC_MAINTENANCE_INTID 25

/* vgic.c */
void vgic_init_vm(struct vm *vm);
void vgic_init_cpu(void);
void vgic_inject(struct vm *vm, uint32_t intid, bool hw);
void vgic_flush(struct vm *vm);
void vgic_handle_maintenance(struct vm *vm);
bool vgic_emulate(struct vm *vm, uint64_t addr, uint32_t width, bool write, uint64_t *value);
void vgic_emulate_sgi1r(struct vm *vm, uint64_t value);

/* psci.c */
int64_t psci_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t psci_emulate(struct vm *vm, struct trap_frame *f);
bool psci_is_fid(uint64_t fid);

/* remio.c */
void remio_init(void);
void remio_vm_started(struct vm *vm);
bool remio_handles(struct vm *vm, uint64_t addr);
void remio_emulate_access(struct vm *vm, struct trap_frame *f, uint64_t addr, uint32_t width, bool write,
                          uint32_t reg);
int64_t remio_hypercall(struct vm *vm, struct trap_frame *f);
int64_t ipc_hypercall(struct vm *vm, struct trap_frame *f);

/* trap.c */
void trap_dump(struct vm *vm, struct trap_frame *f);
void trap_fatal(struct vm *vm, struct trap_frame *f, const char *what) __attribute__((noreturn));

/* boot.S */
void cpu_enter_guest(struct trap_frame *f) __attribute__((noreturn));
extern char monitor_stacks[];

#endif
