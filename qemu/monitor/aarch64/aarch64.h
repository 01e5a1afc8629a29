/* SPDX-License-Identifier: Apache-2.0 */
/* The aarch64 monitor's own interfaces (EL2 system registers, GIC, vGIC, PSCI, stage 2). */
#ifndef MONITOR_AARCH64_H
#define MONITOR_AARCH64_H

#include "monitor.h"

/** Number of INTIDs the virtual distributor models (SGIs, PPIs and SPIs below 256). */
#define VGIC_IRQ_COUNT 256

/** Reads system register `r` (an Arm register name) into a uint64_t. */
#define sysreg_read(r) ({ uint64_t v_; __asm__ volatile("mrs %0, " #r : "=r"(v_)); v_; })
/** Writes uint64_t `v` to system register `r`. */
#define sysreg_write(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((uint64_t)(v)))
/** Instruction synchronisation barrier. */
#define isb() __asm__ volatile("isb" ::: "memory")
/** Full-system data synchronisation barrier. */
#define dsb() __asm__ volatile("dsb sy" ::: "memory")

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

/* boot.S */
void cpu_enter_guest(struct trap_frame *f) __attribute__((noreturn));
extern char monitor_stacks[];

#endif
