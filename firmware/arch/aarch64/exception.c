/* SPDX-License-Identifier: Apache-2.0 */
/* Unexpected exceptions at EL1: a register dump on the console, then power off. */
#include <stdio.h>
#include "firmware.h"
#include "arch.h"

static const char *const vector_names[16] = {
	"sync (SP0)", "irq (SP0)", "fiq (SP0)", "serror (SP0)",
	"sync", "irq", "fiq", "serror",
	"sync (lower EL64)", "irq (lower EL64)", "fiq (lower EL64)", "serror (lower EL64)",
	"sync (lower EL32)", "irq (lower EL32)", "fiq (lower EL32)", "serror (lower EL32)",
};

/** Decodes ESR_EL1.EC (Arm ARM D17.2.37) into a short name. */
static const char *esr_class_name(uint64_t esr)
{
	switch ((esr >> 26) & 0x3f) {
	case 0x00: return "unknown reason";
	case 0x01: return "WFI/WFE";
	case 0x07: return "FP/SIMD access";
	case 0x0e: return "illegal execution state";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case 0x18: return "system register access";
	case 0x20: case 0x21: return "instruction abort";
	case 0x22: return "PC alignment fault";
	case 0x24: case 0x25: return "data abort";
	case 0x26: return "SP alignment fault";
	case 0x2c: return "FP exception";
	case 0x2f: return "SError";
	case 0x3c: return "BRK";
	default: return "other";
	}
}

/** Called by vectors.S for every exception but the EL1 IRQ: dumps and stops. */
void exception_handle(struct arch_frame *f, unsigned slot)
{
	arch_irq_mask();
	printf("baojs: unexpected exception: %s, ESR_EL1 0x%016llx (%s), FAR_EL1 0x%016llx\n",
	       vector_names[slot & 15], (unsigned long long)f->esr, esr_class_name(f->esr),
	       (unsigned long long)f->far);
	printf("  ELR_EL1 0x%016llx  SPSR_EL1 0x%016llx  SP 0x%016llx\n",
	       (unsigned long long)f->elr, (unsigned long long)f->spsr, (unsigned long long)f->sp);
	for (int i = 0; i < 31; i += 2) {
		if (i < 30)
			printf("  x%-2d 0x%016llx  x%-2d 0x%016llx\n", i, (unsigned long long)f->x[i], i + 1,
			       (unsigned long long)f->x[i + 1]);
		else
			printf("  x%-2d 0x%016llx\n", i, (unsigned long long)f->x[i]);
	}
	if (f->far < 0x1000 && ((f->esr >> 26) & 0x3e) == 0x24)
		puts("  (NULL pointer dereference)");
	else if (f->far >= (uint64_t)__stack_bottom - 4096 && f->far < (uint64_t)__stack_bottom)
		puts("  (stack overflow: guard page hit)");
	fputs("baojs: exit 1\n", stdout);
	power_off();
}
