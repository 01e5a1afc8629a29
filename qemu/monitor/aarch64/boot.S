/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry at EL2 (QEMU starts CPU 0 here; the other CPUs arrive through PSCI
 * CPU_ON with the same entry point), the EL2 exception vectors and the trap
 * frame save/restore around the C handlers.
 */

#define FRAME_SIZE 272
#define STACK_SIZE 0x4000

    .section .text.boot, "ax"
    .global _start
/* _start: clear BSS (CPU 0 only), set up this CPU's stack and vectors, call monitor_main(cpu). */
_start:
    msr     daifset, #0xf
    mrs     x19, mpidr_el1
    and     x19, x19, #0xff
    cbnz    x19, 2f
    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  adrp    x0, monitor_stacks
    add     x0, x0, :lo12:monitor_stacks
    mov     x2, #STACK_SIZE
    add     x1, x19, #1
    madd    x0, x1, x2, x0
    /* the top FRAME_SIZE bytes hold the guest's trap frame while it runs */
    sub     sp, x0, #FRAME_SIZE
    adrp    x0, monitor_vectors
    add     x0, x0, :lo12:monitor_vectors
    msr     vbar_el2, x0
    isb
    mov     x0, x19
    bl      monitor_main
3:  wfe
    b       3b

/* psci_call(fid, a1, a2, a3): a PSCI call to QEMU's firmware emulation over SMC. */
    .text
    .global psci_call
psci_call:
    smc     #0
    ret

/* cpu_enter_guest(frame): load the guest's registers from frame (at the top of this CPU's stack) and eret. */
    .global cpu_enter_guest
cpu_enter_guest:
    mov     sp, x0
    b       trap_return

.macro SAVE_FRAME
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x0, elr_el2
    stp     x30, x0, [sp, #240]
    mrs     x0, spsr_el2
    str     x0, [sp, #256]
.endm

/* trap_return: restore the frame at sp and return to the guest. */
trap_return:
    ldr     x0, [sp, #256]
    msr     spsr_el2, x0
    ldp     x30, x0, [sp, #240]
    msr     elr_el2, x0
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret

.macro VECTOR_LOWER handler
    .balign 0x80
    SAVE_FRAME
    mov     x0, sp
    bl      \handler
    b       trap_return
.endm

.macro VECTOR_EL2 kind
    .balign 0x80
    mov     x0, #\kind
    b       trap_el2_entry
.endm

/* The EL2 vector table: guests' exceptions go to C handlers; the monitor's own are fatal. */
    .balign 0x800
    .global monitor_vectors
monitor_vectors:
    VECTOR_EL2 0        /* current EL, SP_EL0: sync */
    VECTOR_EL2 1
    VECTOR_EL2 2
    VECTOR_EL2 3
    VECTOR_EL2 4        /* current EL, SP_ELx: sync */
    VECTOR_EL2 5
    VECTOR_EL2 6
    VECTOR_EL2 7
    VECTOR_LOWER trap_handle_sync   /* lower EL, AArch64: sync */
    VECTOR_LOWER trap_handle_irq    /* lower EL, AArch64: IRQ */
    VECTOR_LOWER trap_handle_irq    /* lower EL, AArch64: FIQ */
    VECTOR_LOWER trap_handle_serror /* lower EL, AArch64: SError */
    VECTOR_EL2 12       /* lower EL, AArch32 */
    VECTOR_EL2 13
    VECTOR_EL2 14
    VECTOR_EL2 15

trap_el2_entry:
    bl      trap_handle_el2
4:  wfe
    b       4b

    .section .bss.stacks, "aw", %nobits
    .balign 16
    .global monitor_stacks
monitor_stacks:
    .space  STACK_SIZE * 8
