/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traps in S-mode (vectors.S): the timer and external interrupts go to
 * irq_handle() (irq.c); anything else is unexpected and gets a register
 * dump on the console, then power off.
 */
#include <stdio.h>
#include "firmware.h"
#include "arch.h"

/** scause exception codes (Privileged ISA 1.12, table 4.2). */
static const char *cause_name(uint64_t code)
{
	switch (code) {
	case 0: return "instruction address misaligned";
	case 1: return "instruction access fault";
	case 2: return "illegal instruction";
	case 3: return "breakpoint";
	case 4: return "load address misaligned";
	case 5: return "load access fault";
	case 6: return "store/AMO address misaligned";
	case 7: return "store/AMO access fault";
	case 8: return "environment call from U-mode";
	case 9: return "environment call from S-mode";
	case 12: return "instruction page fault";
	case 13: return "load page fault";
	case 15: return "store/AMO page fault";
	default: return "other";
	}
}

static const char *const reg_names[32] = {
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
	"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

void trap_handle(struct arch_frame *f);

void trap_handle(struct arch_frame *f)
{
	if (f->scause & SCAUSE_IRQ) {
		uint64_t code = f->scause & ~SCAUSE_IRQ;
		if (code == IRQ_S_TIMER || code == IRQ_S_EXTERNAL) {
			if (code == IRQ_S_TIMER)
				riscv_timer_trap = true;
			irq_handle();
			return;
		}
	}
	arch_irq_mask();
	uint64_t code = f->scause & ~SCAUSE_IRQ;
	printf("baojs: unexpected %s: scause 0x%016llx (%s), stval 0x%016llx\n",
	       (f->scause & SCAUSE_IRQ) ? "interrupt" : "exception", (unsigned long long)f->scause,
	       (f->scause & SCAUSE_IRQ) ? "interrupt" : cause_name(code), (unsigned long long)f->stval);
	printf("  sepc 0x%016llx  sstatus 0x%016llx\n", (unsigned long long)f->sepc, (unsigned long long)f->sstatus);
	for (int i = 1; i < 32; i += 2) {
		if (i < 31)
			printf("  %-4s 0x%016llx  %-4s 0x%016llx\n", reg_names[i], (unsigned long long)f->x[i],
			       reg_names[i + 1], (unsigned long long)f->x[i + 1]);
		else
			printf("  %-4s 0x%016llx\n", reg_names[i], (unsigned long long)f->x[i]);
	}
	if (!(f->scause & SCAUSE_IRQ) && f->stval < 0x1000 && (code == 5 || code == 7))
		puts("  (NULL pointer dereference)");
	fputs("baojs: exit 1\n", stdout);
	power_off();
}
