/* SPDX-License-Identifier: Apache-2.0 */
/* Linker script of the bare-metal test guests: linked at GUEST_BASE (a VM's RAM base from platform.h). */
#include "platform.h"
#if defined(PLAT_ARCH_RISCV64)
OUTPUT_FORMAT("elf64-littleriscv")
OUTPUT_ARCH(riscv)
#else
OUTPUT_FORMAT("elf64-littleaarch64")
OUTPUT_ARCH(aarch64)
#endif
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
    . = ALIGN(16);
    . = . + 0x10000;
    __stack_top = .;
    /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) *(.riscv.attributes) }
}
