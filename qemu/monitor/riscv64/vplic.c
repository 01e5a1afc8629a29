/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtual PLIC per VM, as Bao's (src/arch/riscv/irqc/plic/vplic.c): the
 * VM sees the PLIC at the platform's address with one hart, vhart 0, whose
 * S-mode context (1) is the only one that holds state (the M-mode context
 * and any other read as zero and ignore writes). Every access traps and is
 * emulated: priorities, the pending bits, context 1's enables, threshold and
 * claim/complete (PLIC specification 1.0.0). The line to the guest is
 * hvip.VSEIP on the VM's hart, set while a pending, enabled, not claimed
 * source has a priority above the threshold; another hart asks for it to be
 * recomputed with an IPI. Sources the VM owns in hardware (the UART in the
 * backend) are written through to the physical PLIC's S-mode context of the
 * VM's hart: priority and enable; the physical claim happens in
 * vplic_external_interrupt and the physical complete when the guest
 * completes the source.
 */
#include "riscv64.h"

/** Sources a PLIC can have (0 is "none"). */
#define PLIC_SOURCES 1024
#define PLIC_WORDS (PLIC_SOURCES / 32)
#define PLIC_PRIORITY 0x000000UL
#define PLIC_PENDING 0x001000UL
#define PLIC_ENABLE 0x002000UL
#define PLIC_ENABLE_STRIDE 0x80UL
#define PLIC_CONTEXT 0x200000UL
#define PLIC_CONTEXT_STRIDE 0x1000UL
/** The one context a VM drives: S-mode of vhart 0. */
#define VPLIC_CONTEXT 1
/** Contexts Bao emulates for a one-vCPU VM (M and S of vhart 0); context 0 reads as zero. */
#define VPLIC_CONTEXTS 2

/** One VM's virtual PLIC. */
struct vplic {
    uint32_t prio[PLIC_SOURCES];   /**< priority of each source */
    uint32_t pend[PLIC_WORDS];     /**< pending bits */
    uint32_t act[PLIC_WORDS];      /**< claimed and not yet completed */
    uint32_t enbl[PLIC_WORDS];     /**< context 1's enable bits */
    uint32_t hw[PLIC_WORDS];       /**< sources forwarded from the physical PLIC */
    uint32_t threshold;            /**< context 1's threshold */
    uint32_t words;                /**< enable words up to the last with a bit set (what vplic_next_pending scans) */
    spinlock_t lock;               /**< guards the above */
};

static struct vplic vplics[VM_COUNT];

static bool bit_get(const uint32_t *m, uint32_t id) { return (m[id / 32] >> (id % 32)) & 1; }
static void bit_set(uint32_t *m, uint32_t id) { m[id / 32] |= 1u << (id % 32); }
static void bit_clear(uint32_t *m, uint32_t id) { m[id / 32] &= ~(1u << (id % 32)); }

/** A register of the physical PLIC. */
static volatile uint32_t *plic_reg(uint64_t off)
{
    return (volatile uint32_t *)(PLAT_PLIC_BASE + off);
}

/** The physical PLIC's S-mode context of `hart` (QEMU virt: 2 * hart + 1). */
static uint64_t plic_s_context(uint32_t hart)
{
    return 2UL * hart + 1;
}

/** Sets up `vm`'s virtual PLIC: everything zero; the UART (and passthrough devices) of its owner marked hardware. */
void vplic_init_vm(struct vm *vm)
{
    struct vplic *v = &vplics[vm->id];
    vm->arch.vplic = v;
    if (vm->owns_uart) {
        bit_set(v->hw, PLAT_UART_INTID);
    }
    if (vm->cpu == BACKEND_CPU) {
        for (size_t i = 0; i < passthrough_count; i++) {
            bit_set(v->hw, passthrough_devs[i].intid);
        }
    }
}

/** Sets the threshold of each hart's physical S-mode context that hosts a VM to 0 (the sources stay disabled until a VM enables them). */
void vplic_init_physical(void)
{
    for (int i = 0; i < VM_COUNT; i++) {
        if (vms[i].name) {
            *plic_reg(PLIC_CONTEXT + PLIC_CONTEXT_STRIDE * plic_s_context(vms[i].cpu)) = 0;
        }
    }
}

/** The source context 1 would claim now, or 0 (Bao's vplic_next_pending). Lock held. */
static uint32_t vplic_next_pending(struct vplic *v)
{
    uint32_t max_prio = 0, best = 0;
    for (uint32_t w = 0; w < v->words; w++) {
        uint32_t ready = v->pend[w] & ~v->act[w] & v->enbl[w];
        for (uint32_t b = 0; ready; b++, ready >>= 1) {
            uint32_t id = w * 32 + b;
            if ((ready & 1) && v->prio[id] > max_prio) {
                max_prio = v->prio[id];
                best = id;
            }
        }
    }
    return max_prio > v->threshold ? best : 0;
}

/**
 * Recomputes `vm`'s external interrupt line: on its own hart, hvip.VSEIP;
 * from another hart, an IPI makes that hart do it (trap.c).
 */
void vplic_update(struct vm *vm)
{
    if (vm->cpu != cpu_current()) {
        arch_wake_cpu(vm->cpu);
        return;
    }
    struct vplic *v = vm->arch.vplic;
    spin_lock(&v->lock);
    uint32_t id = vplic_next_pending(v);
    spin_unlock(&v->lock);
    if (id) {
        csr_set(CSR_HVIP, 1UL << IRQ_VS_EXT);
    } else {
        csr_clear(CSR_HVIP, 1UL << IRQ_VS_EXT);
    }
}

/** Makes source `id` pending in `vm` and updates its line (any hart). */
void vplic_set_pending(struct vm *vm, uint32_t id)
{
    struct vplic *v = vm->arch.vplic;
    if (id == 0 || id >= PLIC_SOURCES) {
        return;
    }
    spin_lock(&v->lock);
    bit_set(v->pend, id);
    spin_unlock(&v->lock);
    vplic_update(vm);
}

/**
 * A trapped access at guest-physical `addr`: false if it is outside the
 * PLIC or one Bao's virtual PLIC refuses (not aligned, not 32 bits wide
 * below the contexts, wider than 32 bits in them, a context past the VM's
 * two), which ends the run.
 */
bool vplic_emulate(struct vm *vm, uint64_t addr, uint32_t width, bool write, uint64_t *value)
{
    if (addr < PLAT_PLIC_BASE || addr - PLAT_PLIC_BASE >= VPLIC_SIZE) {
        return false;
    }
    struct vplic *v = vm->arch.vplic;
    uint64_t off = addr - PLAT_PLIC_BASE;
    uint32_t val = (uint32_t)*value;
    uint64_t ctx_hw = PLIC_CONTEXT + PLIC_CONTEXT_STRIDE * plic_s_context(vm->cpu);
    /*
     * What Bao's handlers refuse (vplic_global_emul_handler: aligned 32-bit
     * accesses only; vplic_hart_emul_handler: aligned, at most 32 bits, and
     * only the VM's two contexts per vCPU) is an error for the vCPU: false,
     * and the caller ends the run.
     */
    bool hart_area = off >= PLIC_CONTEXT;
    if (hart_area ? (off >= PLIC_CONTEXT + VPLIC_CONTEXTS * PLIC_CONTEXT_STRIDE || width > 4 || (off & 3))
                  : (width != 4 || (off & 3))) {
        console_printf("monitor: vm %s: a %u-byte access at PLIC offset %lx, which Bao's virtual PLIC does not emulate\n",
                       vm->name, width, off);
        return false;
    }
    if (!write) {
        *value = 0;
    }
    bool update = false;
    spin_lock(&v->lock);
    if (off < PLIC_PENDING) {
        uint32_t id = (uint32_t)(off / 4);
        if (!write) {
            *value = v->prio[id];
        } else if (id) {
            v->prio[id] = val;
            if (bit_get(v->hw, id)) {
                *plic_reg(PLIC_PRIORITY + 4UL * id) = val;
            }
            update = true;
        }
    } else if (off < PLIC_PENDING + PLIC_WORDS * 4) {
        if (!write) {
            *value = v->pend[(off - PLIC_PENDING) / 4];
        }
    } else if (off >= PLIC_ENABLE + PLIC_ENABLE_STRIDE * VPLIC_CONTEXT &&
               off < PLIC_ENABLE + PLIC_ENABLE_STRIDE * VPLIC_CONTEXT + PLIC_WORDS * 4) {
        uint32_t w = (uint32_t)((off - PLIC_ENABLE - PLIC_ENABLE_STRIDE * VPLIC_CONTEXT) / 4);
        if (!write) {
            *value = v->enbl[w];
        } else {
            v->enbl[w] = val & (w == 0 ? ~1u : ~0u);
            while (v->words > 0 && v->enbl[v->words - 1] == 0) {
                v->words--;
            }
            if (v->enbl[w] && w + 1 > v->words) {
                v->words = w + 1;
            }
            if (v->hw[w]) {
                volatile uint32_t *e = plic_reg(PLIC_ENABLE + PLIC_ENABLE_STRIDE * plic_s_context(vm->cpu) + 4UL * w);
                *e = (*e & ~v->hw[w]) | (v->enbl[w] & v->hw[w]);
            }
            update = true;
        }
    } else if (off == PLIC_CONTEXT + PLIC_CONTEXT_STRIDE * VPLIC_CONTEXT) {
        if (!write) {
            *value = v->threshold;
        } else {
            v->threshold = val;
            *plic_reg(ctx_hw) = val;
            update = true;
        }
    } else if (off == PLIC_CONTEXT + PLIC_CONTEXT_STRIDE * VPLIC_CONTEXT + 4) {
        if (!write) {
            uint32_t id = vplic_next_pending(v);
            if (id) {
                bit_clear(v->pend, id);
                bit_set(v->act, id);
            }
            *value = id;
        } else if (val && val < PLIC_SOURCES) {
            if (bit_get(v->hw, val) && bit_get(v->act, val)) {
                *plic_reg(ctx_hw + 4) = val;
            }
            bit_clear(v->act, val);
        }
        update = true;
    }
    spin_unlock(&v->lock);
    if (update) {
        vplic_update(vm);
    }
    return true;
}

/**
 * A physical S-mode external interrupt on this hart: claim each source from
 * this hart's context; one the VM owns becomes pending in its virtual PLIC
 * (completed physically when the guest completes it), any other is
 * completed at once and reported.
 */
void vplic_external_interrupt(void)
{
    struct vm *vm = vm_current();
    uint64_t claim = PLIC_CONTEXT + PLIC_CONTEXT_STRIDE * plic_s_context(cpu_current()) + 4;
    for (;;) {
        uint32_t id = *plic_reg(claim);
        if (id == 0) {
            return;
        }
        if (vm && id < PLIC_SOURCES && bit_get(vm->arch.vplic->hw, id)) {
            vplic_set_pending(vm, id);
        } else {
            *plic_reg(claim) = id;
            console_printf("monitor: unexpected interrupt %u on cpu %u\n", id, cpu_current());
        }
    }
}
