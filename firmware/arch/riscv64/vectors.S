/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor trap entry (stvec, direct mode): saves the register file
 * as a struct arch_frame on the stack and calls trap_handle(frame)
 * (trap.c), which takes the timer and external interrupts through
 * irq_handle() (JS never runs there) and dumps anything else. The
 * caller-saved FP registers are saved too: GCC cannot keep C that runs in
 * interrupt context off them on RISC-V.
 */
#define FRAME_SIZE (58 * 8)
#define X(n)  ((n) * 8)
#define CSR(n) ((32 + (n)) * 8)
#define F(n)  ((36 + (n)) * 8)

.macro fsave i, reg
	fsd	\reg, F(\i)(sp)
.endm
.macro frestore i, reg
	fld	\reg, F(\i)(sp)
.endm
.macro fregs op
	\op 0, ft0
	\op 1, ft1
	\op 2, ft2
	\op 3, ft3
	\op 4, ft4
	\op 5, ft5
	\op 6, ft6
	\op 7, ft7
	\op 8, fa0
	\op 9, fa1
	\op 10, fa2
	\op 11, fa3
	\op 12, fa4
	\op 13, fa5
	\op 14, fa6
	\op 15, fa7
	\op 16, ft8
	\op 17, ft9
	\op 18, ft10
	\op 19, ft11
.endm

	.section .text.vectors, "ax"
	.balign	4
	.global trap_entry
trap_entry:
	addi	sp, sp, -FRAME_SIZE
	sd	x1, X(1)(sp)
	sd	x3, X(3)(sp)
	sd	x4, X(4)(sp)
	sd	x5, X(5)(sp)
	sd	x6, X(6)(sp)
	sd	x7, X(7)(sp)
	sd	x8, X(8)(sp)
	sd	x9, X(9)(sp)
	sd	x10, X(10)(sp)
	sd	x11, X(11)(sp)
	sd	x12, X(12)(sp)
	sd	x13, X(13)(sp)
	sd	x14, X(14)(sp)
	sd	x15, X(15)(sp)
	sd	x16, X(16)(sp)
	sd	x17, X(17)(sp)
	sd	x18, X(18)(sp)
	sd	x19, X(19)(sp)
	sd	x20, X(20)(sp)
	sd	x21, X(21)(sp)
	sd	x22, X(22)(sp)
	sd	x23, X(23)(sp)
	sd	x24, X(24)(sp)
	sd	x25, X(25)(sp)
	sd	x26, X(26)(sp)
	sd	x27, X(27)(sp)
	sd	x28, X(28)(sp)
	sd	x29, X(29)(sp)
	sd	x30, X(30)(sp)
	sd	x31, X(31)(sp)
	addi	t0, sp, FRAME_SIZE
	sd	t0, X(2)(sp)			/* sp at the trap */
	csrr	t0, sepc
	sd	t0, CSR(0)(sp)
	csrr	t0, sstatus
	sd	t0, CSR(1)(sp)
	csrr	t0, scause
	sd	t0, CSR(2)(sp)
	csrr	t0, stval
	sd	t0, CSR(3)(sp)
	fregs	fsave
	frcsr	t0
	sd	t0, F(20)(sp)
	mv	a0, sp
	call	trap_handle			/* returns only for interrupts */
	ld	t0, F(20)(sp)
	fscsr	t0
	fregs	frestore
	ld	t0, CSR(0)(sp)
	csrw	sepc, t0
	ld	t0, CSR(1)(sp)
	csrw	sstatus, t0
	ld	x1, X(1)(sp)
	ld	x3, X(3)(sp)
	ld	x4, X(4)(sp)
	ld	x5, X(5)(sp)
	ld	x6, X(6)(sp)
	ld	x7, X(7)(sp)
	ld	x8, X(8)(sp)
	ld	x9, X(9)(sp)
	ld	x10, X(10)(sp)
	ld	x11, X(11)(sp)
	ld	x12, X(12)(sp)
	ld	x13, X(13)(sp)
	ld	x14, X(14)(sp)
	ld	x15, X(15)(sp)
	ld	x16, X(16)(sp)
	ld	x17, X(17)(sp)
	ld	x18, X(18)(sp)
	ld	x19, X(19)(sp)
	ld	x20, X(20)(sp)
	ld	x21, X(21)(sp)
	ld	x22, X(22)(sp)
	ld	x23, X(23)(sp)
	ld	x24, X(24)(sp)
	ld	x25, X(25)(sp)
	ld	x26, X(26)(sp)
	ld	x27, X(27)(sp)
	ld	x28, X(28)(sp)
	ld	x29, X(29)(sp)
	ld	x30, X(30)(sp)
	ld	x31, X(31)(sp)
	addi	sp, sp, FRAME_SIZE
	sret
