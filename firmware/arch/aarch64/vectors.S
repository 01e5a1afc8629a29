/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EL1 exception vectors (VBAR_EL1, 16 slots of 0x80 bytes). Each slot saves
 * the register file as a struct arch_frame on the stack and calls
 * exception_handle(frame, slot) (exception.c); IRQs go to irq_handle(), which only
 * acknowledges and records (JS never runs here).
 */
#define FRAME_SIZE (36 * 8)

.macro save_frame
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	add	x0, sp, #FRAME_SIZE
	stp	x30, x0, [sp, #240]
	mrs	x0, elr_el1
	mrs	x1, spsr_el1
	stp	x0, x1, [sp, #256]
	mrs	x0, esr_el1
	mrs	x1, far_el1
	stp	x0, x1, [sp, #272]
.endm

.macro restore_frame
	ldp	x0, x1, [sp, #256]
	msr	elr_el1, x0
	msr	spsr_el1, x1
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #FRAME_SIZE
.endm

.macro vector slot
	.balign	0x80
	save_frame
	mov	x0, sp
	mov	x1, #\slot
	b	vector_common
.endm

.macro irq_vector
	.balign	0x80
	save_frame
	bl	irq_handle
	restore_frame
	eret
.endm

	.section .text.vectors, "ax"
	.balign	0x800
	.global exception_vectors
exception_vectors:
	vector 0
	vector 1
	vector 2
	vector 3
	vector 4
	irq_vector
	vector 6
	vector 7
	vector 8
	vector 9
	vector 10
	vector 11
	vector 12
	vector 13
	vector 14
	vector 15

vector_common:
	bl	exception_handle	/* returns only for handled exceptions */
	restore_frame
	eret
