/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C test backend: serves every device model of the platform as a small
 * register file (guest.h TR_*) through the remio hypercall, and checks the
 * hypervisor's side of the ABI on the way (status codes, registers left alone
 * on failure, more-pending flag, completion edge cases). Prints TAP lines on
 * the platform's UART, which it owns as the backend. The hypercall's
 * registers and the interrupt controller are the architecture's
 * (<arch>/arch.c).
 */
#include "guest.h"

/** State of one served device. */
struct tb_device {
    uint8_t scratch[0x100];  /**< TR_SCRATCH bytes */
    uint64_t last_raw;       /**< unmasked value of the last scratch write */
    uint64_t last_width;     /**< width of the last scratch write */
    uint64_t last_addr;      /**< address of the last scratch write */
    uint64_t count;          /**< requests served */
    uint64_t ask_checks;     /**< rejected ASK followed by a good ASK */
    volatile bool irq;       /**< interrupt seen, not yet serviced */
};

static struct tb_device tb_devs[GUEST_DEVICE_COUNT];
/** Backend ABI checks run and failed. */
static uint64_t tb_checks, tb_fails;

/** Records a backend-side ABI check (failures are printed). */
static void tb_expect(bool ok, const char *what, int64_t got, int64_t want)
{
    tb_checks++;
    if (!ok) {
        tb_fails++;
        guest_printf("not ok - backend: %s: got %d want %d\n", what, got, want);
    }
}

/**
 * A remio hypercall (remio-abi.md); returns the status, and the registers
 * through `r`. On riscv64 Bao answers every hypercall with SBI error 0 in
 * a0 (src/arch/riscv/sbi.c sbi_bao_handler): checked on each call.
 */
static int64_t tb_remio(struct guest_hc *r, uint64_t dm, uint64_t addr, uint64_t op, uint64_t value, uint64_t id)
{
    *r = (struct guest_hc){.arg = {dm, addr, op, value, id}};
    int64_t s = guest_hypercall(HC_REMIO, r);
    if (GUEST_HC_CONDUIT_ERROR) {
        tb_expect(r->conduit_error == 0, "the SBI error (a0) of a remio call is 0", (int64_t)r->conduit_error, 0);
    }
    return s;
}

/** A call that is not a successful ASK must leave the registers ASK fills (GUEST_HC_OUT_REGS) as they were. */
static void tb_expect_regs_kept(struct guest_hc *r, const char *what)
{
    uint32_t i = 0;
    while (i < 6 && r->out[i] == r->kept[i]) {
        i++;
    }
    tb_expect(i == 6, what, i < 6 ? (int64_t)r->out[i] : 0, i < 6 ? (int64_t)r->kept[i] : 0);
}

/** Reads `width` bytes at `off` of the device's register view, zero-extended. */
static uint64_t tb_read(struct tb_device *dev, uint32_t index, uint64_t off, uint64_t width)
{
    uint64_t v = 0;
    if (off >= TR_SCRATCH && off + width <= 0x200) {
        for (uint64_t b = 0; b < width; b++) {
            v |= (uint64_t)dev->scratch[off - TR_SCRATCH + b] << (8 * b);
        }
        return v;
    }
    uint64_t base = off & ~7UL, shift = (off & 7) * 8;
    switch (base) {
    case TR_MAGIC: v = TR_MAGIC_VALUE | ((uint64_t)index << 32); break;
    case TR_LAST_RAW: v = dev->last_raw; break;
    case TR_LAST_WIDTH: v = dev->last_width; break;
    case TR_LAST_ADDR: v = dev->last_addr; break;
    case TR_COUNT: v = dev->count; break;
    case TR_CHECKS: v = tb_checks; break;
    case TR_FAILS: v = tb_fails; break;
    case TR_ASKCHECKS: v = dev->ask_checks; break;
    case TR_WIDE: return TR_WIDE_VALUE; /* deliberately not masked: the frontend sees all 64 bits */
    default: v = 0; break;
    }
    v >>= shift;
    return width == 8 ? v : v & ((1UL << (8 * width)) - 1);
}

/** Completion edge cases around one live request `id` on `dm` (TR_EDGE). */
static void tb_edge(uint64_t dm, uint64_t id)
{
    struct guest_hc r;
    int64_t s = tb_remio(&r, dm, 0, REMIO_OP_READ, 1, (id + 1) % PLAT_CPUS);
    tb_expect(s == -1, "completion with a wrong id returns -1", s, -1);
    s = tb_remio(&r, dm, 0, REMIO_OP_READ, 1, 200);
    tb_expect(s == -1, "completion with an id beyond the pool returns -1", s, -1);
    uint64_t other = (dm + 1) % GUEST_DEVICE_COUNT;
    s = tb_remio(&r, guest_devices[other].dm_id, 0, REMIO_OP_READ, 1, id);
    tb_expect(s == -1, "completion of the request on another device returns -1", s, -1);
    s = tb_remio(&r, dm, 0, REMIO_OP_ASK, 0, 0);
    tb_expect(s == 1, "ASK while the only request is PROCESSING returns +1", s, 1);
    s = tb_remio(&r, dm, 0, REMIO_OP_READ, 0, ~0UL);
    tb_expect(s == -1, "completion with id -1 and nothing pending returns -1", s, -1);
    s = tb_remio(&r, dm, 0, REMIO_OP_READ, TR_EDGE_VALUE, id);
    tb_expect(s == 0, "completion of the PROCESSING request returns 0", s, 0);
    s = tb_remio(&r, dm, 0, REMIO_OP_READ, 2, id);
    tb_expect(s == -1, "double completion returns -1", s, -1);
}

/** Serves one request returned by ASK on device `d`. */
static void tb_serve(uint32_t d, const struct guest_hc *a)
{
    struct tb_device *dev = &tb_devs[d];
    uint64_t dm = guest_devices[d].dm_id;
    uint64_t addr = a->out[0], op = a->out[1], value = a->out[2], width = a->out[3], id = a->out[4];
    uint64_t off = addr - guest_devices[d].window_base;
    struct guest_hc r;
    dev->count++;
    tb_expect(width == 1 || width == 2 || width == 4 || width == 8, "ASK width is 1, 2, 4 or 8", (int64_t)width, 4);
    tb_expect(id < PLAT_CPUS, "ASK request id is inside the pool", (int64_t)id, 0);
    tb_expect(a->out[5] == 0, "more-pending is 0 with one frontend vCPU", (int64_t)a->out[5], 0);
    if (op == REMIO_OP_WRITE) {
        uint64_t masked = width == 8 ? value : value & ((1UL << (8 * width)) - 1);
        if (off == TR_OPFLIP_W) {
            int64_t s = tb_remio(&r, dm, 0, REMIO_OP_READ, TR_OPFLIP_TAG | (value & 0xffffffffUL), id);
            tb_expect(s == 0, "READ completion of a WRITE request returns 0", s, 0);
            return;
        }
        if (off >= TR_SCRATCH && off + width <= 0x200) {
            for (uint64_t b = 0; b < width; b++) {
                dev->scratch[off - TR_SCRATCH + b] = (uint8_t)(masked >> (8 * b));
            }
            dev->last_raw = value;
            dev->last_width = width;
            dev->last_addr = addr;
        }
        int64_t s = tb_remio(&r, dm, 0, REMIO_OP_WRITE, 0, id);
        tb_expect(s == 0, "WRITE completion returns 0", s, 0);
        if (off == TR_NOTIFY) {
            for (uint64_t n = 0; n < masked; n++) {
                s = tb_remio(&r, dm, 0, REMIO_OP_NOTIFY, 0, 0);
                tb_expect(s == 0, "NOTIFY returns 0", s, 0);
            }
        }
        return;
    }
    if (op != REMIO_OP_READ) {
        tb_expect(false, "ASK op is READ or WRITE", (int64_t)op, 1);
        return;
    }
    if (off == TR_EDGE) {
        tb_edge(dm, id);
        return;
    }
    if (off == TR_OPFLIP_R) {
        int64_t s = tb_remio(&r, dm, 0, REMIO_OP_WRITE, 0xdead, id);
        tb_expect(s == 0, "WRITE completion of a READ request returns 0", s, 0);
        return;
    }
    int64_t s = tb_remio(&r, dm, 0, REMIO_OP_READ, tb_read(dev, d, off, width), id);
    tb_expect(s == 0, "READ completion returns 0", s, 0);
}

/** Services device `d` after its interrupt: a rejected ASK first, then ASK until +1. */
static void tb_service(uint32_t d)
{
    uint64_t dm = guest_devices[d].dm_id;
    struct guest_hc r;
    int64_t s = tb_remio(&r, dm, 4, REMIO_OP_ASK, 0, 0);
    tb_expect(s == 1, "ASK with addr != 0 returns +1", s, 1);
    tb_expect_regs_kept(&r, "ASK with addr != 0 leaves " GUEST_HC_OUT_REGS " alone");
    s = tb_remio(&r, dm, 0, REMIO_OP_ASK, 9, 0);
    tb_expect(s == 1, "ASK with value != 0 returns +1", s, 1);
    bool first = true;
    for (;;) {
        s = tb_remio(&r, dm, 0, REMIO_OP_ASK, 0, 0);
        if (s != 0) {
            tb_expect(s == 1, "ASK ends with +1", s, 1);
            break;
        }
        if (first) {
            tb_devs[d].ask_checks++;
            first = false;
        }
        tb_serve(d, &r);
    }
}

/** Marks the device whose backend INTID fired. */
void guest_irq_handler_hook(uint32_t intid)
{
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        if (guest_devices[d].backend_intid == intid) {
            tb_devs[d].irq = true;
        }
    }
}

/**
 * Status checks that need no request, run at start. None of them may touch a
 * request the frontend queued meanwhile (in Bao a completion with id -1 pops
 * the oldest pending request and loses it: that check runs in tb_edge, where
 * the queue is known to be empty).
 */
static void tb_static_checks(void)
{
    struct guest_hc r;
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        uint64_t dm = guest_devices[d].dm_id;
        int64_t s = tb_remio(&r, dm, 0, REMIO_OP_ASK, 0, 0);
        if (s == 0) {
            /* The frontend trapped first: serve it; this device's empty-ASK check cannot run now. */
            tb_serve(d, &r);
            continue;
        }
        tb_expect(s == 1, "ASK on an empty device returns +1", s, 1);
        tb_expect_regs_kept(&r, "empty ASK leaves " GUEST_HC_OUT_REGS " alone");
    }
    int64_t s = tb_remio(&r, PLAT_DEVICE_COUNT + 5, 0, REMIO_OP_ASK, 0, 0);
    tb_expect(s == -3, "ASK with a dm_id out of range returns -3", s, -3);
    s = tb_remio(&r, ~0UL, 0, REMIO_OP_NOTIFY, 0, 0);
    tb_expect(s == -3, "NOTIFY with dm_id ~0 returns -3", s, -3);
    s = tb_remio(&r, 0, 0, 7, 0, 0);
    tb_expect(s == -3, "unknown op returns -3", s, -3);
    tb_expect_regs_kept(&r, "unknown op leaves " GUEST_HC_OUT_REGS " alone");
    s = tb_remio(&r, 0, 0, REMIO_OP_WRITE, 0, 0);
    tb_expect(s == -1, "WRITE completion of a never-asked id returns -1", s, -1);
    s = tb_remio(&r, 0, 0, REMIO_OP_READ, 0, PLAT_CPUS);
    tb_expect(s == -1, "READ completion of an id outside the pool returns -1", s, -1);
    r = (struct guest_hc){0};
    s = guest_hypercall(9, &r);
    tb_expect(s == -2, "unknown hypercall number returns -2", s, -2);
    r = (struct guest_hc){0};
    s = guest_hypercall(HC_IPC, &r);
    tb_expect(s == -3, "IPC hypercall with no IPC object returns -3", s, -3);
#if PLAT_PASSTHROUGH_COUNT > 0
    {
        /* Every QEMU virt virtio-mmio transport answers MagicValue, with or without a device behind it. */
        static const struct { const char *name; uint64_t base, size; uint32_t intid; } pt[] = {PLAT_PASSTHROUGH};
        for (size_t i = 0; i < PLAT_PASSTHROUGH_COUNT; i++) {
            uint64_t magic = mmio_ld32(pt[i].base);
            tb_expect(magic == 0x74726976, "the passthrough device's MagicValue reads through the backend's stage 2",
                      (int64_t)magic, 0x74726976);
        }
    }
#endif
#ifdef GUEST_SMC_CONDUIT
    {
        struct smccc_regs c = {{HC_REMIO_FID, 0, 1, REMIO_OP_ASK, 0, 0, 0}};
        guest_smc(&c);
        tb_expect((int64_t)c.x[0] == 1, "remio over a trapped SMC: ASK with addr != 0 returns +1", (int64_t)c.x[0], 1);
    }
#endif
}

/** Backend entry: interrupt controller, start-up checks, then serve forever. */
void guest_main(uint64_t x0)
{
    (void)x0;
    guest_printf("# backend: C test backend up at %s\n", guest_mode_name());
    guest_irq_init();
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        guest_irq_enable(guest_devices[d].backend_intid);
    }
    tb_static_checks();
    guest_printf("# backend: %u start-up checks, %u failed; serving\n", tb_checks, tb_fails);
    for (;;) {
        guest_irq_mask();
        bool any = false;
        for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
            any |= tb_devs[d].irq;
        }
        if (!any) {
            guest_wfi();
        }
        guest_irq_unmask();
        for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
            if (tb_devs[d].irq) {
                tb_devs[d].irq = false;
                tb_service(d);
            }
        }
    }
}
