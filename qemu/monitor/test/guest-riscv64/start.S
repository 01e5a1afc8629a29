/* SPDX-License-Identifier: Apache-2.0 */
/* Entry of the riscv64 probe frontend in VS-mode (a0 = vCPU id, a1 = test mode): stack, BSS, then probe_main(mode). */
    .section .text.boot, "ax"
    .global _start
_start:
    csrw    sie, zero
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, (t0)
    addi    t0, t0, 8
    j       1b
2:  mv      a0, a1
    call    probe_main
3:  wfi
    j       3b
