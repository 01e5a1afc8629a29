/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of a bare-metal test guest in VS-mode (MMU off; Bao and the monitor
 * pass a0 = the vCPU id, a1 = the boot argument, here the test mode):
 * interrupts off, stack, trap vector, BSS, then guest_main(a1).
 */
    .section .text.boot, "ax"
    .global _start
_start:
    csrw    sie, zero
    csrci   sstatus, 2
    mv      s0, a0
    mv      s1, a1
    la      sp, __stack_top
    la      t0, guest_trap_entry
    csrw    stvec, t0
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, (t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, guest_boot_hartid
    sd      s0, (t0)
    mv      a0, s1
    call    guest_main
3:  wfi
    j       3b

/*
 * Trap entry (stvec, direct mode): save the caller-saved registers, sepc
 * and sstatus, call guest_trap(), restore, return. Traps do not nest:
 * sstatus.SIE is clear while guest_trap() runs.
 */
    .text
    .balign 4
guest_trap_entry:
    addi    sp, sp, -144
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      t3, 32(sp)
    sd      t4, 40(sp)
    sd      t5, 48(sp)
    sd      t6, 56(sp)
    sd      a0, 64(sp)
    sd      a1, 72(sp)
    sd      a2, 80(sp)
    sd      a3, 88(sp)
    sd      a4, 96(sp)
    sd      a5, 104(sp)
    sd      a6, 112(sp)
    sd      a7, 120(sp)
    csrr    t0, sepc
    csrr    t1, sstatus
    sd      t0, 128(sp)
    sd      t1, 136(sp)
    call    guest_trap
    ld      t0, 128(sp)
    ld      t1, 136(sp)
    csrw    sepc, t0
    csrw    sstatus, t1
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      t3, 32(sp)
    ld      t4, 40(sp)
    ld      t5, 48(sp)
    ld      t6, 56(sp)
    ld      a0, 64(sp)
    ld      a1, 72(sp)
    ld      a2, 80(sp)
    ld      a3, 88(sp)
    ld      a4, 96(sp)
    ld      a5, 104(sp)
    ld      a6, 112(sp)
    ld      a7, 120(sp)
    addi    sp, sp, 144
    sret
