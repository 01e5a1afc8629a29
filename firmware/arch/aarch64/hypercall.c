/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bao hypercalls from EL1 over HVC #0, SMC Calling Convention fast calls in
 * the vendor-specific hypervisor service range (Bao `src/core/hypercall.c`,
 * `src/core/remio.c`; `remio-abi.md`). x0 = 0xC6000000 | id.
 */
#include "firmware.h"
#include "abi.h"

void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value,
		     uint64_t request_id, struct remio_result *out)
{
	register uint64_t x0 __asm__("x0") = HC_FID_BASE | HC_REMIO;
	register uint64_t x1 __asm__("x1") = dm_id;
	register uint64_t x2 __asm__("x2") = addr;
	register uint64_t x3 __asm__("x3") = op;
	register uint64_t x4 __asm__("x4") = value;
	register uint64_t x5 __asm__("x5") = request_id;
	register uint64_t x6 __asm__("x6") = 0;
	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6)
			 :
			 : "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	out->status = (int64_t)x0;
	out->addr = x1;
	out->op = x2;
	out->value = x3;
	out->width = x4;
	out->request_id = x5;
	out->more = x6;
}

int64_t hypercall_ipc_notify(uint64_t ipc_id, uint64_t event)
{
	register uint64_t x0 __asm__("x0") = HC_FID_BASE | HC_IPC;
	register uint64_t x1 __asm__("x1") = ipc_id;
	register uint64_t x2 __asm__("x2") = event;
	__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2) :: "x3", "x4", "x5", "x6", "x7", "memory");
	return (int64_t)x0;
}
