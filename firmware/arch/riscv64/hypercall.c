/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bao hypercalls on riscv64: `ecall` to Bao's SBI extension (a7 =
 * 0x08000BA0, a6 = hypercall id; Bao `src/arch/riscv/sbi.c`,
 * `src/core/remio.c`; remio-abi.md). Bao answers with the SBI error in a0
 * (0) and the hypercall's status in a1; a successful ASK also returns addr,
 * op, value, width, request id and more-pending in a2..a7. Only called
 * with a hypervisor below (host_under_hypervisor): OpenSBI alone would
 * answer SBI_ERR_NOT_SUPPORTED (-2), which is passed on as the status.
 */
#include "firmware.h"
#include "abi.h"

#define SBI_EXT_BAO 0x08000ba0UL

void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value,
		     uint64_t request_id, struct remio_result *out)
{
	register uint64_t a0 __asm__("a0") = dm_id;
	register uint64_t a1 __asm__("a1") = addr;
	register uint64_t a2 __asm__("a2") = op;
	register uint64_t a3 __asm__("a3") = value;
	register uint64_t a4 __asm__("a4") = request_id;
	register uint64_t a5 __asm__("a5") = 0;
	register uint64_t a6 __asm__("a6") = HC_REMIO;
	register uint64_t a7 __asm__("a7") = SBI_EXT_BAO;
	__asm__ volatile("ecall"
			 : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5), "+r"(a6), "+r"(a7)
			 :
			 : "memory");
	out->status = a0 ? (int64_t)a0 : (int64_t)a1;
	out->addr = a2;
	out->op = a3;
	out->value = a4;
	out->width = a5;
	out->request_id = a6;
	out->more = a7;
}

int64_t hypercall_ipc_notify(uint64_t ipc_id, uint64_t event)
{
	register uint64_t a0 __asm__("a0") = ipc_id;
	register uint64_t a1 __asm__("a1") = event;
	register uint64_t a6 __asm__("a6") = HC_IPC;
	register uint64_t a7 __asm__("a7") = SBI_EXT_BAO;
	__asm__ volatile("ecall" : "+r"(a0), "+r"(a1), "+r"(a6), "+r"(a7) :: "a2", "a3", "a4", "a5", "memory");
	return a0 ? (int64_t)a0 : (int64_t)a1;
}
