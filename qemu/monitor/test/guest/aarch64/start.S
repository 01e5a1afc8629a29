/* SPDX-License-Identifier: Apache-2.0 */
/* Entry of a bare-metal test guest at EL1 (MMU off): stack, vectors, BSS, then guest_main(x0). */
    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    mov     x19, x0
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1
    adrp    x1, guest_vectors
    add     x1, x1, :lo12:guest_vectors
    msr     vbar_el1, x1
    isb
    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  mov     x0, x19
    bl      guest_main
3:  wfi
    b       3b

/* IRQ entry: save the caller-saved registers, call guest_irq(), return. */
irq_entry:
    sub     sp, sp, #192
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x30, [sp, #144]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x0, x1, [sp, #160]
    bl      guest_irq
    ldp     x0, x1, [sp, #160]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x30, [sp, #144]
    add     sp, sp, #192
    eret

.macro VEC target
    .balign 0x80
    b       \target
.endm

    .balign 0x800
guest_vectors:
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry   /* current EL SPx sync */
    VEC irq_entry           /* current EL SPx IRQ */
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry
    VEC guest_fault_entry

guest_fault_entry:
    bl      guest_fault
4:  wfi
    b       4b
