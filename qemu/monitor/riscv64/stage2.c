/* SPDX-License-Identifier: Apache-2.0 */
/*
 * G-stage (guest-physical to physical) tables, one set per VM: Sv39x4
 * (RISC-V Privileged Architecture 1.12 section 8.5: a 16 KiB root of 2048
 * entries covering 41 bits of guest-physical address, then the Sv39 levels),
 * identity maps built from the platform description, leaves with U set as
 * the G stage requires. Anything left unmapped (remio windows, the PLIC, the
 * debug UART) traps to HS-mode as a guest page fault.
 */
#include "riscv64.h"

/** 4 KiB tables available to each VM besides its root. */
#define STAGE2_TABLES_PER_VM 64
/** Entries of a 4 KiB table and of the Sv39x4 root. */
#define STAGE2_ENTRIES 512
#define STAGE2_ROOT_ENTRIES 2048

/** PTE bits. */
#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
/** A leaf the guest may read, write and execute (identity, already accessed and dirty). */
#define PTE_LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
/** A leaf for device registers: read and write, no execute. */
#define PTE_LEAF_DEVICE (PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)

/** Each VM's root table (16 KiB aligned). */
static uint64_t stage2_roots[VM_COUNT][STAGE2_ROOT_ENTRIES] __attribute__((aligned(16384)));
/** Each VM's pool of next-level tables. */
static uint64_t stage2_tables[VM_COUNT][STAGE2_TABLES_PER_VM][STAGE2_ENTRIES] __attribute__((aligned(4096)));
/** Tables used so far in each VM's pool. */
static uint32_t stage2_used[VM_COUNT];

/** A PTE pointing at physical address `pa` with `flags`. */
static uint64_t pte(uint64_t pa, uint64_t flags)
{
    return ((pa >> 12) << 10) | flags;
}

/** The physical address a PTE points at. */
static uint64_t *pte_table(uint64_t e)
{
    return (uint64_t *)((e >> 10) << 12);
}

/** Returns a zeroed table from `vm`'s pool, or stops the monitor when it is exhausted. */
static uint64_t *stage2_alloc_table(struct vm *vm)
{
    if (stage2_used[vm->id] >= STAGE2_TABLES_PER_VM) {
        console_printf("monitor: vm %s: out of stage-2 tables\n", vm->name);
        monitor_halt();
    }
    uint64_t *t = stage2_tables[vm->id][stage2_used[vm->id]++];
    for (int i = 0; i < STAGE2_ENTRIES; i++) {
        t[i] = 0;
    }
    return t;
}

/** Maps [gpa, gpa+size) identically into `table` at `level` (2 = root: 1 GiB leaves, 1: 2 MiB, 0: 4 KiB), largest leaves first. */
static void stage2_map_level(struct vm *vm, uint64_t *table, int level, uint64_t gpa, uint64_t size, uint64_t flags)
{
    unsigned shift = 12 + 9 * (unsigned)level;
    uint64_t block = 1UL << shift;
    uint64_t mask = level == 2 ? STAGE2_ROOT_ENTRIES - 1 : STAGE2_ENTRIES - 1;
    while (size) {
        uint64_t idx = (gpa >> shift) & mask;
        uint64_t chunk = block - (gpa & (block - 1));
        if (chunk > size) {
            chunk = size;
        }
        uint64_t e = table[idx];
        bool is_table = (e & PTE_V) && !(e & (PTE_R | PTE_W | PTE_X));
        if (level == 0 || (chunk == block && !is_table)) {
            table[idx] = pte(gpa & ~(block - 1), flags);
        } else {
            if (e & PTE_V && !is_table) {
                console_printf("monitor: vm %s: overlapping stage-2 maps at %lx\n", vm->name, gpa);
                monitor_halt();
            }
            uint64_t *next = is_table ? pte_table(e) : stage2_alloc_table(vm);
            table[idx] = pte((uint64_t)next, PTE_V);
            stage2_map_level(vm, next, level - 1, gpa, chunk, flags);
        }
        gpa += chunk;
        size -= chunk;
    }
}

/** Maps one identity range into `vm`'s G stage. */
static void stage2_map(struct vm *vm, uint64_t base, uint64_t size, uint64_t flags)
{
    stage2_map_level(vm, stage2_roots[vm->id], 2, base, size, flags);
}

/** One identity range of `vm` (vm_for_each_mapping): device registers are not executable. */
static void stage2_map_range(struct vm *vm, uint64_t base, uint64_t size, bool device)
{
    stage2_map(vm, base, size, device ? PTE_LEAF_DEVICE : PTE_LEAF);
}

/**
 * Builds `vm`'s G-stage tables from the ranges of vm_for_each_mapping (the
 * same the aarch64 stage 2 maps); sets vm->arch.hgatp.
 */
void stage2_build(struct vm *vm)
{
    stage2_used[vm->id] = 0;
    for (int i = 0; i < STAGE2_ROOT_ENTRIES; i++) {
        stage2_roots[vm->id][i] = 0;
    }
    vm_for_each_mapping(vm, stage2_map_range);
    vm->arch.hgatp = HGATP_MODE_SV39X4 | ((uint64_t)(vm->id + 1) << 44) | ((uint64_t)stage2_roots[vm->id] >> 12);
}
