/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SBI a VM sees (SBI 1.0), answered the way Bao answers it
 * (src/arch/riscv/sbi.c) for one vCPU per VM: BASE, TIME (vstimecmp on a
 * hart with Sstc, as Bao; else the M-mode firmware's timer and hvip.VSTIP), IPI (hvip.VSSIP), RFENCE (local fences:
 * the VM's only hart is this one), HSM (vhart 0 is started, there is no
 * other), and Bao's hypercall extension 0x08000BA0 (a6 = hypercall id:
 * a0 = 0, a1 = the status, a successful remio ASK in a2..a7).
 *
 * Deliberate differences from Bao, as on aarch64: SRST (and the legacy
 * shutdown call) print `monitor: vm <name> SYSTEM_OFF` (or SYSTEM_RESET)
 * and power QEMU off, so that a runner sees the end, where Bao offers no
 * SRST; the spec version reported is 1.0 (Bao: 0.2), which Linux needs
 * before it probes SRST.
 */
#include "riscv64.h"

#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_PROBE_EXTENSION 3
#define SBI_SPEC_VERSION_1_0 0x01000000L
#define SBI_TIME_SET_TIMER 0
#define SBI_IPI_SEND_IPI 0
#define SBI_RFENCE_FENCE_I 0
#define SBI_RFENCE_SFENCE_VMA 1
#define SBI_RFENCE_SFENCE_VMA_ASID 2
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_SRST_SYSTEM_RESET 0
/** Bao's hypercall status for an unknown hypercall id. */
#define HC_E_INVAL_ID 2

/** The extensions BASE probe reports as present. */
static const uint64_t sbi_extensions[] = {SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM, SBI_EXT_SRST};

/** True if vhart 0 is in the hart mask `mask` with base `base` (base -1: every hart). */
static bool sbi_mask_has_vhart0(uint64_t mask, uint64_t base)
{
    return base == UINT64_MAX || (base == 0 && (mask & 1));
}

/** Ends the run for an SRST or legacy shutdown call from `vm`. */
static void sbi_power_off(struct vm *vm, uint64_t type)
{
    console_printf("monitor: vm %s %s\n", vm->name, type == 0 ? "SYSTEM_OFF" : "SYSTEM_RESET");
    monitor_system_off();
}

/** Bao's hypercall extension: a6 = hypercall id. */
static struct sbiret sbi_bao(struct vm *vm, struct trap_frame *f, uint64_t fid)
{
    struct sbiret r = {SBI_SUCCESS, 0};
    if (fid == HC_REMIO) {
        struct remio_call c = {.dm_id = f->x[10], .addr = f->x[11], .op = f->x[12], .value = f->x[13], .request_id = f->x[14]};
        r.value = remio_hypercall(vm, &c);
        if (c.has_out) {
            for (int i = 0; i < 6; i++) {
                f->x[12 + i] = c.out[i]; /* a2..a7 */
            }
        }
    } else if (fid == HC_IPC) {
        r.value = ipc_hypercall(vm, f->x[10], f->x[11]);
    } else {
        r.value = -HC_E_INVAL_ID;
    }
    return r;
}

/** An `ecall` from VS-mode: a7 = extension, a6 = function, a0.. arguments; a0 = error, a1 = value on return. */
void sbi_emulate(struct vm *vm, struct trap_frame *f)
{
    uint64_t ext = f->x[17], fid = f->x[16], a0 = f->x[10], a1 = f->x[11];
    struct sbiret r = {SBI_ERR_NOT_SUPPORTED, 0};
    switch (ext) {
    case SBI_EXT_BASE:
        r.error = SBI_SUCCESS;
        if (fid == SBI_BASE_GET_SPEC_VERSION) {
            r.value = SBI_SPEC_VERSION_1_0;
        } else if (fid == SBI_BASE_PROBE_EXTENSION) {
            for (size_t i = 0; i < sizeof sbi_extensions / sizeof sbi_extensions[0]; i++) {
                if (sbi_extensions[i] == a0) {
                    r.value = (int64_t)a0;
                }
            }
        }
        break;
    case SBI_EXT_TIME:
        if (fid == SBI_TIME_SET_TIMER) {
            if (vm->arch.sstc) {
                csr_write(CSR_VSTIMECMP, a0);
            } else {
                sbi_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, a0, 0, 0);
                csr_clear(CSR_HVIP, 1UL << IRQ_VS_TIMER);
                csr_set(CSR_SIE, 1UL << IRQ_S_TIMER);
            }
            r.error = SBI_SUCCESS;
        }
        break;
    case SBI_EXT_IPI:
        if (fid == SBI_IPI_SEND_IPI) {
            if (sbi_mask_has_vhart0(a0, a1)) {
                csr_set(CSR_HVIP, 1UL << IRQ_VS_SOFT);
            }
            r.error = SBI_SUCCESS;
        }
        break;
    case SBI_EXT_RFENCE:
        if (fid == SBI_RFENCE_FENCE_I) {
            __asm__ volatile("fence.i" ::: "memory");
            r.error = SBI_SUCCESS;
        } else if (fid == SBI_RFENCE_SFENCE_VMA || fid == SBI_RFENCE_SFENCE_VMA_ASID) {
            hfence_vvma_all();
            r.error = SBI_SUCCESS;
        }
        break;
    case SBI_EXT_HSM:
        if (fid == SBI_HSM_HART_START) {
            r.error = a0 == 0 ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM;
        } else if (fid == SBI_HSM_HART_GET_STATUS) {
            r.error = a0 == 0 ? SBI_SUCCESS : SBI_ERR_INVALID_PARAM; /* value 0: STARTED */
        }
        break;
    case SBI_EXT_SRST:
        if (fid == SBI_SRST_SYSTEM_RESET) {
            sbi_power_off(vm, a0);
        }
        break;
    case SBI_EXT_0_1_SHUTDOWN:
        sbi_power_off(vm, 0);
        break;
    case SBI_EXT_BAO:
        r = sbi_bao(vm, f, fid);
        break;
    default:
        break;
    }
    f->x[10] = (uint64_t)r.error;
    f->x[11] = (uint64_t)r.value;
}

/** The hart's S-mode timer fired: the guest's deadline passed (Bao: VSTIP on, the HS timer off until the next set_timer). */
void sbi_timer_interrupt(void)
{
    csr_set(CSR_HVIP, 1UL << IRQ_VS_TIMER);
    csr_clear(CSR_SIE, 1UL << IRQ_S_TIMER);
}
