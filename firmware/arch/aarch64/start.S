/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of the baojs firmware. Under Bao and under the test monitor the
 * firmware starts at EL1; started bare by QEMU with virtualization=on it
 * starts at EL2 and drops to EL1 itself, so that PSCI over SMC reaches QEMU.
 * x19 keeps CNTVCT_EL0 read by the very first instruction (boot time),
 * x20 the exception level the firmware was entered at: EL1 means a
 * hypervisor (Bao, the test monitor) runs below, which boot_main is told.
 */
	.section .text.boot, "ax"
	.global _start
_start:
	mrs	x19, cntvct_el0
	mrs	x1, CurrentEL
	lsr	x20, x1, #2			/* entry EL, for boot_main */
	cmp	x20, #2
	b.ne	el1_entry

	/* EL2 (bare QEMU only): EL1 is AArch64 (HCR_EL2.RW), HVC undefined
	 * (HCR_EL2.HCD) so that a stray remio call faults visibly. */
	mov	x1, #(1 << 31)
	orr	x1, x1, #(1 << 29)
	msr	hcr_el2, x1
	mov	x1, #3				/* CNTHCTL_EL2.EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x1
	msr	cntvoff_el2, xzr
	mrs	x1, id_aa64pfr0_el1		/* GIC system registers implemented? */
	ubfx	x1, x1, #24, #4
	cbz	x1, 1f
	mov	x1, #0x9			/* ICC_SRE_EL2.SRE | Enable */
	msr	s3_4_c12_c9_5, x1
1:	mov	x1, #0x3c5			/* SPSR: EL1h, DAIF masked */
	msr	spsr_el2, x1
	adr	x1, el1_entry
	msr	elr_el2, x1
	isb
	eret

el1_entry:
	ldr	x1, =__stack_top
	mov	sp, x1
	mov	x1, #(3 << 20)			/* CPACR_EL1.FPEN: FP/SIMD at EL1 and EL0 */
	msr	cpacr_el1, x1
	ldr	x1, =exception_vectors
	msr	vbar_el1, x1
	isb
	ldr	x1, =__bss_start		/* .tbss and .bss: 16-byte aligned */
	ldr	x2, =__bss_end
2:	cmp	x1, x2
	b.hs	3f
	stp	xzr, xzr, [x1], #16
	b	2b
3:	mov	x0, x19
	cmp	x20, #1
	cset	x1, eq				/* under a hypervisor */
	bl	boot_main
4:	wfi
	b	4b
