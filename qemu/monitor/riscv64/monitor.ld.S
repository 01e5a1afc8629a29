/* SPDX-License-Identifier: Apache-2.0 */
/* Linker script of the riscv64 remio test monitor: preprocessed with platform.h.
 * The first page of the monitor's RAM is the boot-parameter block (filled by
 * the runner), so the image starts one page above MONITOR_RAM_BASE. */
#include "platform.h"
#undef UL
OUTPUT_FORMAT("elf64-littleriscv")
OUTPUT_ARCH(riscv)
ENTRY(_start)
/* One load segment without the ELF headers, which would land on the boot-parameter page. */
PHDRS
{
    image PT_LOAD;
}
SECTIONS
{
    . = MONITOR_RAM_BASE + 0x1000;
    .text : { KEEP(*(.text.boot)) *(.text .text.*) } :image
    .rodata : { *(.rodata .rodata.* .srodata .srodata.*) } :image
    .data : { *(.data .data.* .sdata .sdata.*) } :image
    . = ALIGN(16);
    __bss_start = .;
    .bss (NOLOAD) : { *(.sbss .sbss.* .bss .bss.*) *(COMMON) }
    . = ALIGN(16);
    __bss_end = .;
    ASSERT(. <= MONITOR_RAM_BASE + MONITOR_RAM_SIZE, "monitor does not fit in its RAM")
    /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) *(.riscv.attributes) }
}
