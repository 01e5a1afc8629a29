/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stage-1 identity map for EL1 (Arm ARM D8 "The AArch64 Virtual Memory
 * System Architecture"): 4 KiB granule, 39-bit VA (T0SZ = 25), level-1
 * 1 GiB blocks and level-2 2 MiB blocks.
 *
 *  - the backend's RAM, named regions and shared regions: Normal memory,
 *    inner/outer write-back, inner shareable (MAIR attr 1), so unaligned
 *    accesses and exclusives work (QuickJS and picolibc rely on both);
 *  - the UART, the GIC frames and the passthrough devices of the platform
 *    description: Device-nGnRE (MAIR attr 0), in the 2 MiB blocks that
 *    hold them (the hypervisor's stage 2 maps only their pages);
 *  - nothing else, so page 0 stays unmapped and a NULL dereference faults.
 * Ranges come from the generated platform.h; nothing is named twice.
 */
#include <stdint.h>
#include <stddef.h>
#include "arch.h"
#include "platform.h"
#include "firmware.h"

#define PTE_VALID   (1UL << 0)
#define PTE_TABLE   (1UL << 1)            /* level 0-2: next-level table */
#define PTE_BLOCK   (0UL << 1)
#define PTE_ATTR(i) ((uint64_t)(i) << 2)  /* MAIR_EL1 index */
#define PTE_SH_IS   (3UL << 8)
#define PTE_AF      (1UL << 10)
#define PTE_PXN     (1UL << 53)
#define PTE_UXN     (1UL << 54)

#define ATTR_DEVICE 0
#define ATTR_NORMAL 1

#define L1_SHIFT 30
#define L2_SHIFT 21
#define L2_TABLES 8

static uint64_t mmu_l1[512] __attribute__((aligned(4096)));
static uint64_t mmu_l2[L2_TABLES][512] __attribute__((aligned(4096)));
static unsigned mmu_l2_used;

/** Returns the level-2 table covering the 1 GiB slot of `va`, making it if needed. */
static uint64_t *mmu_get_l2(uint64_t va)
{
	uint64_t *e = &mmu_l1[va >> L1_SHIFT];
	if (*e & PTE_VALID)
		return (uint64_t *)(*e & 0xfffffffff000UL);
	if (mmu_l2_used == L2_TABLES)
		panic("mmu: out of level-2 tables");
	uint64_t *t = mmu_l2[mmu_l2_used++];
	*e = (uint64_t)t | PTE_TABLE | PTE_VALID;
	return t;
}

/** Maps [base, base+size) 1:1 with MAIR attribute `attr`, in 2 MiB blocks (rounded out). */
static void mmu_map_range(uint64_t base, uint64_t size, unsigned attr)
{
	uint64_t pa = base & ~((1UL << L2_SHIFT) - 1);
	uint64_t end = base + size;
	uint64_t flags = PTE_AF | PTE_ATTR(attr) | PTE_VALID | PTE_BLOCK;
	flags |= attr == ATTR_NORMAL ? PTE_SH_IS : (PTE_PXN | PTE_UXN);
	for (; pa < end; pa += 1UL << L2_SHIFT) {
		uint64_t *l2 = mmu_get_l2(pa);
		l2[(pa >> L2_SHIFT) & 511] = pa | flags;
	}
}

struct plat_region { const char *name; uint64_t base; uint64_t size; };
static const struct plat_region mmu_regions[] = { BACKEND_REGIONS };

void mmu_init(void)
{
	static const struct { uint64_t base, size; } devices[] = { PLAT_DEVICE_RANGES };
	for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
		mmu_map_range(devices[i].base, devices[i].size, ATTR_DEVICE);
	mmu_map_range(BACKEND_RAM_BASE, BACKEND_RAM_SIZE, ATTR_NORMAL);
	for (size_t i = 0; i < sizeof mmu_regions / sizeof mmu_regions[0]; i++)
		mmu_map_range(mmu_regions[i].base, mmu_regions[i].size, ATTR_NORMAL);

	SYSREG_WRITE(mair_el1, (0x04UL << (8 * ATTR_DEVICE)) | (0xffUL << (8 * ATTR_NORMAL)));
	/* TCR_EL1: T0SZ=25, IRGN0=ORGN0=WBWA, SH0=inner, TG0=4K, EPD1 (no TTBR1), IPS=40 bit. */
	SYSREG_WRITE(tcr_el1, 25UL | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 23) | (2UL << 32));
	SYSREG_WRITE(ttbr0_el1, (uint64_t)mmu_l1);
	__asm__ volatile("dsb ish; tlbi vmalle1; dsb ish; isb" ::: "memory");
	uint64_t sctlr = SYSREG_READ(sctlr_el1);
	sctlr |= (1UL << 0) | (1UL << 2) | (1UL << 12);  /* M, C, I */
	sctlr &= ~((1UL << 1) | (1UL << 3) | (1UL << 4)); /* no alignment checks (A, SA, SA0) */
	SYSREG_WRITE(sctlr_el1, sctlr);
	arch_isb();
}
