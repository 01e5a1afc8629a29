/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of the baojs firmware on riscv64, in S-mode (VS-mode under Bao), as
 * the SBI implementation below starts a kernel: a0 = hart id, a1 = the
 * device tree's address. OpenSBI passes one; Bao passes 0
 * (src/arch/riscv/vm.c, vcpu_arch_reset), which is how the firmware knows
 * a hypervisor runs below it. Only the boot hart enters: the others stay
 * stopped in the SBI's hart state management.
 * s2 keeps the `time` CSR read by the very first instruction (boot time).
 */
	.section .text.boot, "ax"
	.global _start
_start:
	rdtime	s2
	mv	s3, a0				/* hart id */
	mv	s4, a1				/* device tree, 0 under Bao */
	csrw	sie, zero			/* no interrupt source enabled yet */
	csrci	sstatus, 2			/* SIE: interrupts masked */
	csrw	satp, zero			/* bare addressing (see init.c) */
	.option push
	.option norelax
	la	sp, __stack_top
	la	tp, __tls_base			/* picolibc's errno: TLS variant 1, tp at the TLS block */
	.option pop
	la	t0, trap_entry
	csrw	stvec, t0			/* direct mode: every trap at trap_entry */
	li	t0, (1 << 13)			/* sstatus.FS = Initial: FP on before any C (QuickJS uses it) */
	csrs	sstatus, t0
	fscsr	zero
	la	t0, __bss_start			/* .tbss and .bss: 16-byte aligned */
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	sd	zero, 8(t0)
	addi	t0, t0, 16
	j	1b
2:	la	t0, riscv_hartid
	sd	s3, 0(t0)
	mv	a0, s2
	seqz	a1, s4				/* under a hypervisor: no device tree */
	call	boot_main
3:	wfi
	j	3b
