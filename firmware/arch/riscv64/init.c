/* SPDX-License-Identifier: Apache-2.0 */
/*
 * riscv64 early set-up. The firmware runs with bare addressing (satp = 0,
 * set by start.S), not an Sv39 identity map: on RISC-V the memory types
 * (device I/O or cacheable main memory) come from the platform's physical
 * memory attributes, not from page tables (Svpbmt is optional), and
 * misaligned loads and stores are legal (done by the hart, or emulated by
 * the SBI implementation), so nothing QuickJS or picolibc needs depends on
 * a page table, as it does on aarch64 (alignment faults with the MMU off).
 * What bare addressing gives up: a fault on a NULL dereference and a guard
 * page below the stack; an Sv39 map of the backend's ranges would bring
 * both back.
 */
#include "firmware.h"
#include "arch.h"

uint64_t riscv_hartid;

void arch_init(void)
{
	/* start.S set stvec, sp, tp and sstatus.FS before any C ran. */
}
