/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stage-2 translation tables, one set per VM: 4 KiB granule, 39-bit IPA
 * starting at level 1, identity maps (IPA = PA) built from the platform
 * description. Anything left unmapped (remio windows, the GIC distributor and
 * redistributors, the debug UART) traps to EL2 as a data abort.
 */
#include "aarch64.h"

/** Translation tables available to each VM. */
#define STAGE2_TABLES_PER_VM 64
/** Entries per 4 KiB table. */
#define STAGE2_ENTRIES 512

/** Descriptor: valid table (levels 1-2) or page (level 3). */
#define DESC_TABLE 0x3UL
/** Descriptor: valid block (levels 1-2). */
#define DESC_BLOCK 0x1UL
/** Stage-2 attributes: Normal write-back memory, read/write, inner shareable, accessed. */
#define S2_NORMAL ((0xFUL << 2) | (3UL << 6) | (3UL << 8) | (1UL << 10))
/** Stage-2 attributes: Device-nGnRE, read/write, accessed. */
#define S2_DEVICE ((0x1UL << 2) | (3UL << 6) | (1UL << 10))
/** Output-address bits of a descriptor. */
#define DESC_ADDR_MASK 0x0000FFFFFFFFF000UL

/** A 4 KiB translation table. */
typedef uint64_t stage2_table_t[STAGE2_ENTRIES];

/** Per-VM pools of tables; table 0 of each pool is the level-1 root. */
static stage2_table_t stage2_tables[VM_COUNT][STAGE2_TABLES_PER_VM] __attribute__((aligned(4096)));
/** Tables used so far in each VM's pool. */
static uint32_t stage2_used[VM_COUNT];

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

/** Level shift for a 4 KiB granule: level 1 = 30, level 2 = 21, level 3 = 12. */
static unsigned stage2_shift(int level)
{
    return 12 + 9 * (3 - level);
}

/** Maps [ipa, ipa+size) identically with `attr` into `table` at `level`, using the largest blocks that fit. */
static void stage2_map_level(struct vm *vm, uint64_t *table, int level, uint64_t ipa, uint64_t size, uint64_t attr)
{
    uint64_t block = 1UL << stage2_shift(level);
    while (size) {
        uint64_t idx = (ipa >> stage2_shift(level)) & (STAGE2_ENTRIES - 1);
        uint64_t chunk = block - (ipa & (block - 1));
        if (chunk > size) {
            chunk = size;
        }
        if (level == 3) {
            table[idx] = (ipa & DESC_ADDR_MASK) | attr | DESC_TABLE;
        } else if (chunk == block && (table[idx] & 3) != DESC_TABLE) {
            table[idx] = (ipa & DESC_ADDR_MASK) | attr | DESC_BLOCK;
        } else {
            uint64_t *next;
            if ((table[idx] & 3) == DESC_TABLE) {
                next = (uint64_t *)(table[idx] & DESC_ADDR_MASK);
            } else {
                next = stage2_alloc_table(vm);
                if ((table[idx] & 3) == DESC_BLOCK) {
                    console_printf("monitor: vm %s: overlapping stage-2 maps at %lx\n", vm->name, ipa);
                    monitor_halt();
                }
                table[idx] = (uint64_t)next | DESC_TABLE;
            }
            stage2_map_level(vm, next, level + 1, ipa, chunk, attr);
        }
        ipa += chunk;
        size -= chunk;
    }
}

/** Maps one identity range into `vm`'s stage 2. */
static void stage2_map(struct vm *vm, uint64_t base, uint64_t size, uint64_t attr)
{
    uint64_t *root = stage2_tables[vm->id][0];
    stage2_map_level(vm, root, 1, base, size, attr);
}

/** One identity range of `vm` (vm_for_each_mapping): Device-nGnRE for device registers, else Normal memory. */
static void stage2_map_range(struct vm *vm, uint64_t base, uint64_t size, bool device)
{
    stage2_map(vm, base, size, device ? S2_DEVICE : S2_NORMAL);
}

/**
 * Builds `vm`'s stage-2 tables from the ranges of vm_for_each_mapping (RAM,
 * shared and named regions, the PL011 and passthrough devices in their
 * owner, as Bao maps a `vm_dev_region`); sets vm->arch.vttbr. Windows,
 * GICD, GICR and the debug UART stay unmapped.
 */
void stage2_build(struct vm *vm)
{
    stage2_used[vm->id] = 0;
    uint64_t *root = stage2_alloc_table(vm);
    vm_for_each_mapping(vm, stage2_map_range);
    vm->arch.vttbr = (uint64_t)root | ((uint64_t)(vm->id + 1) << 48);
}
