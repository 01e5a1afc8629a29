/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtual GICv3 each VM sees, modelled on Bao's vGIC: the distributor and
 * the (one) redistributor frame are trapped and emulated; the CPU interface
 * is the hardware's virtual one (ICC_* at EL1 reach ICH_VMCR_EL2 and the list
 * registers). Pending virtual interrupts are kept in software and moved into
 * free list registers (ICH_LR<n>_EL2) before the vCPU runs; an interrupt
 * already pending in a list register is merged. A VM sees only its own SPIs
 * (the rest read as zero and ignore writes), and SGI/PPI state lives in its
 * redistributor's SGI frame, as with affinity routing enabled (ARE = 1).
 */
#include "aarch64.h"

#define GICD_CTLR_ARE_NS (1u << 4)
#define GICD_CTLR_ENABLE_MASK 0x3u
#define GICR_TYPER_LAST (1UL << 4)
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI_OFFSET 0x10000UL
#define GICR_VCPU_SIZE 0x20000UL
#define GICD_SIZE 0x10000UL

#define LR_STATE_SHIFT 62
#define LR_STATE_PENDING 1UL
#define LR_STATE_ACTIVE 2UL
#define LR_HW (1UL << 61)
#define LR_GROUP1 (1UL << 60)
#define LR_PRIO_SHIFT 48
#define LR_PINTID_SHIFT 32
#define ICH_HCR_EN (1UL << 0)
#define ICH_HCR_UIE (1UL << 1)

/** Software state of one virtual interrupt. */
struct vgic_irq {
    bool owned;       /**< this VM may see it (all SGIs/PPIs, its own SPIs) */
    bool hw;          /**< forwarded physical interrupt (LR HW bit, pINTID = INTID) */
    uint8_t prio;     /**< priority byte */
    uint8_t cfg;      /**< ICFGR field (bit 1: edge-triggered) */
    uint64_t route;   /**< GICD_IROUTER value (SPIs) */
};

/** One VM's virtual GIC. */
struct vgic {
    spinlock_t lock;                       /**< guards everything below across CPUs */
    uint32_t ctlr;                         /**< GICD_CTLR enable bits */
    uint32_t waker;                        /**< GICR_WAKER ProcessorSleep */
    uint32_t npending;                     /**< number of bits set in pend */
    uint64_t pend[VGIC_IRQ_COUNT / 64];    /**< bit i: INTID i pending, not yet in a list register */
    uint64_t enab[VGIC_IRQ_COUNT / 64];    /**< bit i: INTID i enabled (GICD_ISENABLER / GICR_ISENABLER0) */
    struct vgic_irq irq[VGIC_IRQ_COUNT];   /**< state per INTID */
};

/** Whether bit `intid` of the bitmap `map` is set. */
static bool vgic_bit(const uint64_t *map, uint32_t intid)
{
    return (map[intid / 64] >> (intid % 64)) & 1;
}

/** Sets (`on`) or clears bit `intid` of the bitmap `map`. */
static void vgic_bit_put(uint64_t *map, uint32_t intid, bool on)
{
    if (on) {
        map[intid / 64] |= 1UL << (intid % 64);
    } else {
        map[intid / 64] &= ~(1UL << (intid % 64));
    }
}

/** Marks `intid` pending (not yet in a list register). Caller holds g->lock. */
static void vgic_set_pending(struct vgic *g, uint32_t intid)
{
    if (!vgic_bit(g->pend, intid)) {
        vgic_bit_put(g->pend, intid, true);
        g->npending++;
    }
}

/** Clears `intid`'s software pending state. Caller holds g->lock. */
static void vgic_clear_pending(struct vgic *g, uint32_t intid)
{
    if (vgic_bit(g->pend, intid)) {
        vgic_bit_put(g->pend, intid, false);
        g->npending--;
    }
}

/** Virtual GICs, one per VM. */
static struct vgic vgic_state[VM_COUNT];
/** Number of list registers (ICH_VTR_EL2.ListRegs + 1), same on all CPUs. */
static uint32_t vgic_lr_count;

/** Reads ICH_LR<n>_EL2. */
static uint64_t vgic_lr_read(uint32_t n)
{
    switch (n) {
    case 0: return sysreg_read(S3_4_C12_C12_0);
    case 1: return sysreg_read(S3_4_C12_C12_1);
    case 2: return sysreg_read(S3_4_C12_C12_2);
    case 3: return sysreg_read(S3_4_C12_C12_3);
    case 4: return sysreg_read(S3_4_C12_C12_4);
    case 5: return sysreg_read(S3_4_C12_C12_5);
    case 6: return sysreg_read(S3_4_C12_C12_6);
    case 7: return sysreg_read(S3_4_C12_C12_7);
    case 8: return sysreg_read(S3_4_C12_C13_0);
    case 9: return sysreg_read(S3_4_C12_C13_1);
    case 10: return sysreg_read(S3_4_C12_C13_2);
    case 11: return sysreg_read(S3_4_C12_C13_3);
    case 12: return sysreg_read(S3_4_C12_C13_4);
    case 13: return sysreg_read(S3_4_C12_C13_5);
    case 14: return sysreg_read(S3_4_C12_C13_6);
    default: return sysreg_read(S3_4_C12_C13_7);
    }
}

/** Writes ICH_LR<n>_EL2. */
static void vgic_lr_write(uint32_t n, uint64_t v)
{
    switch (n) {
    case 0: sysreg_write(S3_4_C12_C12_0, v); break;
    case 1: sysreg_write(S3_4_C12_C12_1, v); break;
    case 2: sysreg_write(S3_4_C12_C12_2, v); break;
    case 3: sysreg_write(S3_4_C12_C12_3, v); break;
    case 4: sysreg_write(S3_4_C12_C12_4, v); break;
    case 5: sysreg_write(S3_4_C12_C12_5, v); break;
    case 6: sysreg_write(S3_4_C12_C12_6, v); break;
    case 7: sysreg_write(S3_4_C12_C12_7, v); break;
    case 8: sysreg_write(S3_4_C12_C13_0, v); break;
    case 9: sysreg_write(S3_4_C12_C13_1, v); break;
    case 10: sysreg_write(S3_4_C12_C13_2, v); break;
    case 11: sysreg_write(S3_4_C12_C13_3, v); break;
    case 12: sysreg_write(S3_4_C12_C13_4, v); break;
    case 13: sysreg_write(S3_4_C12_C13_5, v); break;
    case 14: sysreg_write(S3_4_C12_C13_6, v); break;
    default: sysreg_write(S3_4_C12_C13_7, v); break;
    }
}

/** Sets up `vm`'s virtual GIC: which INTIDs it owns and which are forwarded hardware interrupts. */
void vgic_init_vm(struct vm *vm)
{
    struct vgic *g = &vgic_state[vm->id];
    vm->arch.vgic = g;
    for (uint32_t i = 0; i < 32; i++) {
        g->irq[i].owned = true;
    }
    g->irq[PLAT_TIMER_INTID].hw = true;
    g->waker = GICR_WAKER_PROCESSOR_SLEEP;
    for (size_t d = 0; d < PLAT_DEVICE_COUNT; d++) {
        if (vm->frontend < 0) {
            g->irq[device_rows[d].backend_intid].owned = true;
        } else if ((int32_t)device_rows[d].frontend == vm->frontend) {
            g->irq[device_rows[d].frontend_intid].owned = true;
        }
    }
    if (vm->owns_uart) {
        g->irq[PLAT_UART_INTID].owned = true;
        g->irq[PLAT_UART_INTID].hw = true;
    }
    if (vm->cpu == BACKEND_CPU) {
        for (size_t i = 0; i < passthrough_count; i++) {
            g->irq[passthrough_devs[i].intid].owned = true;
            g->irq[passthrough_devs[i].intid].hw = true;
        }
    }
}

/** Per-CPU set-up of the virtual CPU interface (ICH_HCR_EL2.En, an empty VMCR and LRs). */
void vgic_init_cpu(void)
{
    vgic_lr_count = (uint32_t)(sysreg_read(S3_4_C12_C11_1) & 0x1f) + 1; /* ICH_VTR_EL2.ListRegs */
    for (uint32_t n = 0; n < vgic_lr_count; n++) {
        vgic_lr_write(n, 0);
    }
    sysreg_write(S3_4_C12_C11_7, 0);          /* ICH_VMCR_EL2 */
    sysreg_write(S3_4_C12_C11_0, ICH_HCR_EN); /* ICH_HCR_EL2 */
    isb();
}

/** Kicks `vm`'s CPU so that it refills its list registers (nothing to do on the same CPU). */
static void vgic_kick(struct vm *vm)
{
    if (vm->cpu != cpu_current()) {
        gic_send_sgi(vm->cpu, MONITOR_SGI_KICK);
    }
}

/**
 * Makes `intid` pending in `vm` (from any CPU). `hw`: a forwarded physical
 * interrupt, deactivated by the VM's EOI. Pending twice before delivery is
 * one delivery (merged).
 */
void vgic_inject(struct vm *vm, uint32_t intid, bool hw)
{
    struct vgic *g = vm->arch.vgic;
    if (intid >= VGIC_IRQ_COUNT || !g->irq[intid].owned) {
        console_printf("monitor: vm %s: inject of INTID %u it does not own\n", vm->name, intid);
        if (hw) {
            gic_deactivate(intid);
        }
        return;
    }
    spin_lock(&g->lock);
    vgic_set_pending(g, intid);
    g->irq[intid].hw = hw;
    spin_unlock(&g->lock);
    vgic_kick(vm);
}

/** Builds a list-register value for pending `intid`. */
static uint64_t vgic_lr_make(struct vgic *g, uint32_t intid)
{
    uint64_t lr = intid | LR_GROUP1 | ((uint64_t)g->irq[intid].prio << LR_PRIO_SHIFT) |
                  (LR_STATE_PENDING << LR_STATE_SHIFT);
    if (g->irq[intid].hw) {
        lr |= LR_HW | ((uint64_t)intid << LR_PINTID_SHIFT);
    }
    return lr;
}

/**
 * Moves `vm`'s deliverable pending interrupts into this CPU's list registers
 * (call on the VM's CPU before returning to it). An INTID already pending in
 * an LR is merged; one active in an LR (not HW) becomes active+pending. When
 * no LR is free, the underflow maintenance interrupt asks for another try.
 */
void vgic_flush(struct vm *vm)
{
    struct vgic *g = vm->arch.vgic;
    uint64_t hcr = ICH_HCR_EN;
    if (!g->npending) {
        sysreg_write(S3_4_C12_C11_0, hcr);
        return;
    }
    spin_lock(&g->lock);
    bool group_on = (g->ctlr & GICD_CTLR_ENABLE_MASK) != 0;
    /* only the pending and enabled INTIDs, lowest first */
    for (uint32_t w = 0; w < VGIC_IRQ_COUNT / 64; w++) {
        uint64_t bits = g->pend[w] & g->enab[w];
        while (bits) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (i >= 32 && !group_on) {
                continue;
            }
            int free_lr = -1;
            bool placed = false;
            for (uint32_t n = 0; n < vgic_lr_count; n++) {
                uint64_t lr = vgic_lr_read(n);
                uint64_t state = lr >> LR_STATE_SHIFT;
                if (state == 0) {
                    if (free_lr < 0) {
                        free_lr = (int)n;
                    }
                    continue;
                }
                if ((uint32_t)lr != i) {
                    continue;
                }
                if (state & LR_STATE_PENDING) {
                    placed = true; /* merged with the pending one */
                } else if (!(lr & LR_HW)) {
                    vgic_lr_write(n, lr | (LR_STATE_PENDING << LR_STATE_SHIFT));
                    placed = true;
                } else {
                    free_lr = -2; /* wait for the VM's EOI of the active one */
                }
                break;
            }
            if (!placed && free_lr >= 0) {
                vgic_lr_write((uint32_t)free_lr, vgic_lr_make(g, i));
                placed = true;
            }
            if (placed) {
                vgic_clear_pending(g, i);
            } else {
                hcr |= ICH_HCR_UIE;
            }
        }
    }
    spin_unlock(&g->lock);
    sysreg_write(S3_4_C12_C11_0, hcr);
    isb();
}

/** The maintenance interrupt (list registers drained): retry delivery. */
void vgic_handle_maintenance(struct vm *vm)
{
    sysreg_write(S3_4_C12_C11_0, ICH_HCR_EN);
    if (vm) {
        vgic_flush(vm);
    }
}

/** Removes `intid`'s pending (and, if `active`, active) state from this CPU's list registers. */
static void vgic_lr_clear(uint32_t intid, bool active)
{
    for (uint32_t n = 0; n < vgic_lr_count; n++) {
        uint64_t lr = vgic_lr_read(n);
        uint64_t state = lr >> LR_STATE_SHIFT;
        if (state == 0 || (uint32_t)lr != intid) {
            continue;
        }
        state &= active ? ~LR_STATE_ACTIVE : ~LR_STATE_PENDING;
        lr = (lr & ~(3UL << LR_STATE_SHIFT)) | (state << LR_STATE_SHIFT);
        if (active && (lr & LR_HW)) {
            gic_deactivate(intid);
        }
        vgic_lr_write(n, state ? lr : 0);
    }
}

/** Returns the LR state bits (pending 1, active 2) of `intid` on this CPU plus software pending. */
static uint32_t vgic_state_of(struct vgic *g, uint32_t intid)
{
    uint32_t s = vgic_bit(g->pend, intid) ? LR_STATE_PENDING : 0;
    for (uint32_t n = 0; n < vgic_lr_count; n++) {
        uint64_t lr = vgic_lr_read(n);
        if ((lr >> LR_STATE_SHIFT) && (uint32_t)lr == intid) {
            s |= (uint32_t)(lr >> LR_STATE_SHIFT);
        }
    }
    return s;
}

/**
 * Applies a guest enable change to a forwarded SPI (the UART's, a
 * passthrough device's) on the physical distributor, routed to the VM's
 * CPU, as Bao's vGIC does for an interrupt assigned to a VM.
 */
static void vgic_sync_hw_enable(struct vm *vm, uint32_t intid)
{
    bool forwarded = (intid == PLAT_UART_INTID && vm->owns_uart) ||
                     (vm->cpu == BACKEND_CPU && passthrough_owns_intid(intid));
    if (intid >= 32 && forwarded) {
        gic_set_spi(intid, vm->cpu, vgic_bit(vm->arch.vgic->enab, intid));
    }
}

/**
 * Emulates a register of the banks GICD_IGROUPR..GICD_IGRPMODR (or the same
 * offsets in the redistributor's SGI frame) for INTIDs in [lo, hi).
 * `off` is the offset inside the frame. Returns false for offsets outside the banks.
 */
static bool vgic_emulate_bank(struct vm *vm, uint64_t off, uint32_t width, bool write, uint64_t *value,
                              uint32_t lo, uint32_t hi)
{
    struct vgic *g = vm->arch.vgic;
    uint64_t v = write ? *value : 0;
    if (off >= 0x80 && off < 0x400) {
        uint32_t bank = (uint32_t)(off & ~0x7fUL);
        uint32_t first = (uint32_t)(off & 0x7f) * 8;
        for (uint32_t b = 0; b < width * 8; b++) {
            uint32_t i = first + b;
            if (i < lo || i >= hi || i >= VGIC_IRQ_COUNT || !g->irq[i].owned) {
                continue;
            }
            bool bit = (v >> b) & 1;
            switch (bank) {
            case 0x80: /* IGROUPR: group 1 only */
                if (!write) v |= 1UL << b;
                break;
            case 0x100: /* ISENABLER */
            case 0x180: /* ICENABLER */
                if (!write) {
                    v |= (uint64_t)vgic_bit(g->enab, i) << b;
                } else if (bit) {
                    vgic_bit_put(g->enab, i, bank == 0x100);
                    vgic_sync_hw_enable(vm, i);
                }
                break;
            case 0x200: /* ISPENDR */
            case 0x280: /* ICPENDR */
                if (!write) {
                    v |= (uint64_t)(vgic_state_of(g, i) & LR_STATE_PENDING) << b;
                } else if (bit && bank == 0x200) {
                    vgic_set_pending(g, i);
                } else if (bit) {
                    vgic_clear_pending(g, i);
                    vgic_lr_clear(i, false);
                }
                break;
            case 0x300: /* ISACTIVER */
            case 0x380: /* ICACTIVER */
                if (!write) {
                    v |= (uint64_t)((vgic_state_of(g, i) & LR_STATE_ACTIVE) >> 1) << b;
                } else if (bit && bank == 0x380) {
                    vgic_lr_clear(i, true);
                }
                break;
            default:
                break;
            }
        }
    } else if (off >= 0x400 && off < 0x800) { /* IPRIORITYR: one byte each */
        for (uint32_t b = 0; b < width; b++) {
            uint32_t i = (uint32_t)(off - 0x400) + b;
            if (i < lo || i >= hi || i >= VGIC_IRQ_COUNT || !g->irq[i].owned) {
                continue;
            }
            if (write) {
                g->irq[i].prio = (uint8_t)(v >> (8 * b));
            } else {
                v |= (uint64_t)g->irq[i].prio << (8 * b);
            }
        }
    } else if (off >= 0x800 && off < 0xc00) { /* ITARGETSR: RAZ/WI with affinity routing */
    } else if (off >= 0xc00 && off < 0xd00) { /* ICFGR: two bits each */
        for (uint32_t b = 0; b < width * 4; b++) {
            uint32_t i = (uint32_t)(off - 0xc00) * 4 + b;
            if (i < lo || i >= hi || i >= VGIC_IRQ_COUNT || !g->irq[i].owned) {
                continue;
            }
            if (i < 16) { /* SGIs are edge-triggered, read-only */
                if (!write) v |= 2UL << (2 * b);
            } else if (write) {
                g->irq[i].cfg = (uint8_t)((v >> (2 * b)) & 2);
            } else {
                v |= (uint64_t)g->irq[i].cfg << (2 * b);
            }
        }
    } else if (off >= 0xd00 && off < 0xf00) { /* IGRPMODR, NSACR: RAZ/WI */
    } else {
        return false;
    }
    if (!write) {
        *value = v;
    }
    return true;
}

/** Emulates an access to the VM's distributor frame at offset `off`. */
static void vgic_emulate_gicd(struct vm *vm, uint64_t off, uint32_t width, bool write, uint64_t *value)
{
    struct vgic *g = vm->arch.vgic;
    uint64_t v = 0;
    if (off < 0x80) {
        switch (off) {
        case 0x0: /* GICD_CTLR */
            if (write) {
                g->ctlr = (uint32_t)*value & GICD_CTLR_ENABLE_MASK;
            }
            v = g->ctlr | GICD_CTLR_ARE_NS;
            break;
        case 0x4: /* GICD_TYPER: ITLinesNumber of the modelled INTIDs, one CPU, 10 ID bits */
            v = (uint32_t)((VGIC_IRQ_COUNT / 32 - 1) | (9u << 19));
            break;
        case 0x8: /* GICD_IIDR */
            v = gicd_read_iidr();
            break;
        default:
            break;
        }
    } else if (off < 0x6000) {
        if (vgic_emulate_bank(vm, off, width, write, value, 32, VGIC_IRQ_COUNT)) {
            return;
        }
    } else if (off < 0x8000) { /* GICD_IROUTER<n>, 64-bit, word halves allowed */
        uint32_t i = (uint32_t)((off - 0x6000) / 8);
        if (i >= 32 && i < VGIC_IRQ_COUNT && g->irq[i].owned) {
            uint32_t shift = (off & 4) ? 32 : 0;
            uint64_t mask = width == 8 ? ~0UL : 0xffffffffUL << shift;
            if (write) {
                g->irq[i].route = (g->irq[i].route & ~mask) | ((*value << shift) & mask);
            }
            v = (g->irq[i].route & mask) >> shift;
        }
    } else if (off >= 0xffd0) { /* ID registers: the hardware's */
        v = *(volatile uint32_t *)(PLAT_GICD_BASE + (off & ~3UL));
    }
    if (!write) {
        *value = v;
    }
}

/** Emulates an access to the VM's redistributor (RD and SGI frames) at offset `off`. */
static void vgic_emulate_gicr(struct vm *vm, uint64_t off, uint32_t width, bool write, uint64_t *value)
{
    struct vgic *g = vm->arch.vgic;
    uint64_t v = 0;
    if (off >= GICR_SGI_OFFSET) {
        if (vgic_emulate_bank(vm, off - GICR_SGI_OFFSET, width, write, value, 0, 32)) {
            return;
        }
    } else if (off == 0x4) { /* GICR_IIDR */
        v = gicr_read_iidr(vm->cpu);
    } else if (off == 0x8 || off == 0xc) { /* GICR_TYPER: vCPU 0, affinity 0, last */
        uint64_t typer = GICR_TYPER_LAST;
        v = width == 8 ? typer : (off == 0xc ? typer >> 32 : (uint32_t)typer);
    } else if (off == 0x14) { /* GICR_WAKER */
        if (write) {
            g->waker = (uint32_t)*value & GICR_WAKER_PROCESSOR_SLEEP;
        }
        v = g->waker | ((g->waker & GICR_WAKER_PROCESSOR_SLEEP) ? GICR_WAKER_CHILDREN_ASLEEP : 0);
    } else if (off >= 0xffd0) {
        v = gicr_read_id(vm->cpu, (uint32_t)(off & ~3UL));
    }
    if (!write) {
        *value = v;
    }
}

/**
 * Emulates a trapped access to the VM's GICD or GICR frame. Returns false if
 * `addr` is in neither. Reads return the value through `value`.
 */
bool vgic_emulate(struct vm *vm, uint64_t addr, uint32_t width, bool write, uint64_t *value)
{
    struct vgic *g = vm->arch.vgic;
    if (addr >= PLAT_GICD_BASE && addr < PLAT_GICD_BASE + GICD_SIZE) {
        spin_lock(&g->lock);
        vgic_emulate_gicd(vm, addr - PLAT_GICD_BASE, width, write, value);
        spin_unlock(&g->lock);
        return true;
    }
    if (addr >= PLAT_GICR_BASE && addr < PLAT_GICR_BASE + GICR_VCPU_SIZE) {
        spin_lock(&g->lock);
        vgic_emulate_gicr(vm, addr - PLAT_GICR_BASE, width, write, value);
        spin_unlock(&g->lock);
        return true;
    }
    return false;
}

/** Emulates a trapped write to ICC_SGI1R_EL1: only the VM's single vCPU (affinity 0) can be targeted. */
void vgic_emulate_sgi1r(struct vm *vm, uint64_t value)
{
    uint32_t intid = (uint32_t)(value >> 24) & 0xf;
    bool irm = (value >> 40) & 1;
    bool aff_zero = ((value >> 16) & 0xff) == 0 && ((value >> 32) & 0xff) == 0 && ((value >> 48) & 0xff) == 0;
    if (!irm && aff_zero && (value & 1)) {
        vgic_inject(vm, intid, false);
    }
}
