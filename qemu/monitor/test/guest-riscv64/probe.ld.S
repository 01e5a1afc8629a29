/* SPDX-License-Identifier: Apache-2.0 */
/* Linker script of the riscv64 probe frontend: linked at GUEST_BASE (in the first frontend's RAM). */
#include "platform.h"
#undef UL
OUTPUT_FORMAT("elf64-littleriscv")
OUTPUT_ARCH(riscv)
ENTRY(_start)
PHDRS
{
    image PT_LOAD;
}
SECTIONS
{
    . = GUEST_BASE;
    .text : { KEEP(*(.text.boot)) *(.text .text.*) } :image
    .rodata : { *(.rodata .rodata.* .srodata .srodata.*) } :image
    .data : { *(.data .data.* .sdata .sdata.*) } :image
    . = ALIGN(16);
    __bss_start = .;
    .bss (NOLOAD) : { *(.sbss .sbss.* .bss .bss.*) *(COMMON) }
    . = ALIGN(16);
    __bss_end = .;
    . = . + 0x4000;
    __stack_top = .;
    /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) *(.riscv.attributes) }
}
