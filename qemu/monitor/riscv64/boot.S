/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry in HS-mode from the M-mode SBI firmware (a0 = hart id; the first
 * hart from the firmware's boot, the others through SBI HSM hart_start with
 * the same entry point), the trap vector and the trap frame save/restore
 * around the C handler. While a guest runs, sscratch holds the address of
 * this hart's trap frame at the top of its stack.
 */

#define FRAME_SIZE 288
#define FRAME_SEPC 256
#define FRAME_SSTATUS 264
#define FRAME_HART 272
#define STACK_SIZE 0x4000

    .section .text.boot, "ax"
    .global _start
/* _start(hart): the first hart clears BSS; every hart sets its stack, tp and vector, then monitor_main(hart, first). */
_start:
    csrw    sie, zero
    csrw    sstatus, zero
    mv      tp, a0
    la      t0, monitor_first_hart
    li      t1, 1
    amoswap.w t2, t1, (t0)
    mv      s1, t2
    bnez    s1, 2f
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, (t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, monitor_stacks
    li      t1, STACK_SIZE
    addi    t2, tp, 1
    mul     t1, t1, t2
    add     t0, t0, t1
    /* the top FRAME_SIZE bytes hold the guest's trap frame while it runs */
    addi    sp, t0, -FRAME_SIZE
    sd      tp, FRAME_HART(sp)
    csrw    sscratch, sp
    la      t0, trap_entry
    csrw    stvec, t0
    mv      a0, tp
    seqz    a1, s1
    call    monitor_main
3:  wfi
    j       3b

/* sbi_ecall(ext, fid, a0, a1, a2): a call down to the M-mode SBI firmware. */
    .text
    .global sbi_ecall
sbi_ecall:
    mv      a7, a0
    mv      a6, a1
    mv      a0, a2
    mv      a1, a3
    mv      a2, a4
    ecall
    ret

/* cpu_enter_guest(frame): enter the guest with the registers of frame (at the top of this hart's stack). */
    .global cpu_enter_guest
cpu_enter_guest:
    mv      sp, a0
    j       trap_return

/* trap_entry: every trap taken to HS-mode (from the guest; one from the monitor itself is reported as fatal). */
    .balign 4
trap_entry:
    csrrw   sp, sscratch, sp
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    csrr    t0, sscratch
    sd      t0, 16(sp)
    csrw    sscratch, sp
    csrr    t0, sepc
    sd      t0, FRAME_SEPC(sp)
    csrr    t0, sstatus
    sd      t0, FRAME_SSTATUS(sp)
    ld      tp, FRAME_HART(sp)
    mv      a0, sp
    call    trap_handle

/* trap_return: restore the frame at sp and return to the guest. */
trap_return:
    csrw    sscratch, sp
    ld      t0, FRAME_SEPC(sp)
    csrw    sepc, t0
    ld      t0, FRAME_SSTATUS(sp)
    csrw    sstatus, t0
    ld      x1, 8(sp)
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    ld      x2, 16(sp)
    sret

    .section .data
    .balign 4
/* 0 until the first hart arrives (it alone clears BSS and sets the system up). */
monitor_first_hart:
    .word   0

    .section .bss.stacks, "aw", %nobits
    .balign 16
    .global monitor_stacks
monitor_stacks:
    .space  STACK_SIZE * 8
