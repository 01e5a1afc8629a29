/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bare-metal conformance frontend: accesses the remio windows with plain
 * loads and stores of every width and checks what comes back against the C
 * test backend's register file (guest.h TR_*), takes NOTIFY and timer
 * interrupts through its virtual interrupt controller (GICv3 on aarch64,
 * the PLIC on riscv64), and checks the firmware interface (PSCI, or the
 * SBI). Prints TAP lines on the monitor's debug UART, then a summary, then
 * powers off (PSCI SYSTEM_OFF, or SBI SRST). What exists in one form per
 * architecture is in <arch>/frontend-arch.c.
 *
 * The boot argument (x0 on aarch64, a1 on riscv64) selects a mode:
 * 0 = conformance, 1 = an access Bao cannot decode on a window (aarch64 an
 * LDP, riscv64 a c.ld: the run must end with the monitor's message),
 * 2 = a load from an address nothing maps (the monitor reports the VM's
 * registers and ends the run), 3 = virtio-mmio conformance against the
 * baojs firmware (fe_virtio), 4 = runaway device code in the baojs
 * watchdog test backend (fe_watchdog, test/e2e/targets/watchdog.ts),
 * 5 = a load from the first passthrough device of the backend (mapped in
 * the backend only: the monitor ends the run as for mode 2).
 */
#include "guest.h"

/** Counter frequency, ticks per second. */
static uint64_t fe_freq;

/** Window base of device `d`. */
static uint64_t fe_win(uint32_t d)
{
    return guest_devices[d].window_base;
}

/** The timer interrupt: stop the timer so it does not fire again. */
void guest_irq_handler_hook(uint32_t intid)
{
    if (intid == PLAT_TIMER_INTID) {
        guest_timer_stop();
    }
}

/**
 * Waits up to `ms` milliseconds of virtual time for guest_irq_count[intid]
 * to exceed `before`. Each turn of the loop is a guest_yield(): on aarch64
 * a YIELD, on which QEMU's single-threaded TCG (always so under -icount)
 * runs the other VM's CPU at once instead of after its round-robin period,
 * so the limit counts the other side's work, not this loop's.
 */
static bool fe_wait_irq(uint32_t intid, uint32_t before, uint64_t ms)
{
    uint64_t end = guest_counter() + fe_freq / 1000 * ms;
    while (guest_irq_count[intid] <= before) {
        if (guest_counter() > end) {
            return false;
        }
        guest_yield();
    }
    return true;
}

/** Reads and writes at every width, masking, and the unmasked source register reaching the backend. */
static void fe_widths(void)
{
    static const char *names_rw[] = {"", "scratch write/read 1 byte", "scratch write/read 2 bytes", "",
                                     "scratch write/read 4 bytes", "", "", "", "scratch write/read 8 bytes"};
    static const char *names_raw[] = {"", "1-byte store: backend sees the whole 64-bit register",
                                      "2-byte store: backend sees the whole 64-bit register", "",
                                      "4-byte store: backend sees the whole 64-bit register", "", "", "",
                                      "8-byte store: backend sees the whole 64-bit register"};
    uint64_t w = fe_win(0);
    guest_check(mmio_ld32(w + TR_MAGIC) == TR_MAGIC_VALUE, "MagicValue, 4-byte read", mmio_ld32(w), TR_MAGIC_VALUE);
    guest_check(mmio_ld8(w + TR_MAGIC) == 0x76, "MagicValue, 1-byte read", mmio_ld8(w), 0x76);
    guest_check(mmio_ld16(w + TR_MAGIC + 2) == 0x7472, "MagicValue + 2, 2-byte read", mmio_ld16(w + 2), 0x7472);
    guest_check(mmio_ld64(w + TR_MAGIC) == TR_MAGIC_VALUE, "MagicValue, 8-byte read (device index 0 above)",
                mmio_ld64(w), TR_MAGIC_VALUE);
    for (int width = 1; width <= 8; width *= 2) {
        uint64_t pattern = 0xf1e2d3c4b5a69788UL ^ (uint64_t)width;
        uint64_t mask = width == 8 ? ~0UL : (1UL << (8 * width)) - 1;
        uint64_t a = w + TR_SCRATCH + 8UL * (uint64_t)width;
        mmio_st(a, pattern, width);
        uint64_t got = mmio_ld(a, width);
        guest_check(got == (pattern & mask), names_rw[width], got, pattern & mask);
        guest_check(mmio_ld64(w + TR_LAST_RAW) == pattern, names_raw[width], mmio_ld64(w + TR_LAST_RAW), pattern);
        guest_check(mmio_ld64(w + TR_LAST_WIDTH) == (uint64_t)width, "backend sees the access width",
                    mmio_ld64(w + TR_LAST_WIDTH), (uint64_t)width);
        guest_check(mmio_ld64(w + TR_LAST_ADDR) == a, "backend sees the absolute guest-physical address",
                    mmio_ld64(w + TR_LAST_ADDR), a);
    }
    mmio_st64(w + TR_SCRATCH, ~0UL);
    guest_check(mmio_ld8(w + TR_SCRATCH) == 0xff, "1-byte read of 0xff..ff is zero-extended", mmio_ld8(w + TR_SCRATCH), 0xff);
    guest_check(mmio_ld8(w + TR_WIDE) == TR_WIDE_VALUE, "1-byte read: all 64 bits of the completion reach the register",
                mmio_ld8(w + TR_WIDE), TR_WIDE_VALUE);
    guest_check(mmio_ld32(w + TR_WIDE) == TR_WIDE_VALUE, "4-byte read: all 64 bits of the completion reach the register",
                mmio_ld32(w + TR_WIDE), TR_WIDE_VALUE);
    /* the zero register as source and destination, and the arch's other load and store forms */
    fe_arch_widths(w);
}

/** Unaligned accesses reach the backend as they are. */
static void fe_unaligned(void)
{
    uint64_t w = fe_win(1);
    mmio_st32(w + TR_SCRATCH + 0x21, 0xa1b2c3d4);
    guest_check(mmio_ld64(w + TR_LAST_ADDR) == w + TR_SCRATCH + 0x21, "unaligned 4-byte store keeps its address",
                mmio_ld64(w + TR_LAST_ADDR), w + TR_SCRATCH + 0x21);
    guest_check(mmio_ld32(w + TR_SCRATCH + 0x21) == 0xa1b2c3d4, "unaligned 4-byte read back",
                mmio_ld32(w + TR_SCRATCH + 0x21), 0xa1b2c3d4);
    guest_check(mmio_ld16(w + TR_SCRATCH + 0x23) == 0xa1b2, "unaligned 2-byte read", mmio_ld16(w + TR_SCRATCH + 0x23), 0xa1b2);
    guest_check(mmio_ld32(w + TR_MAGIC + 2) == 0x00017472, "4-byte read at window+2 (MagicValue high half, index 1)",
                mmio_ld32(w + 2), 0x00017472);
}

/** Many accesses in a row over all devices, interleaved; reports the round-trip time. */
static void fe_many(void)
{
    const uint32_t n = 400;
    uint32_t bad = 0;
    uint64_t t0 = guest_counter();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d = i % GUEST_DEVICE_COUNT;
        uint64_t a = fe_win(d) + TR_SCRATCH + 0x40 + (i % 8) * 8;
        uint64_t v = 0x0123456789abcdefUL * (i + 1);
        mmio_st64(a, v);
        if (mmio_ld64(a) != v) {
            bad++;
        }
    }
    uint64_t t1 = guest_counter();
    guest_check(bad == 0, "400 interleaved write+read pairs over all devices", bad, 0);
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        /* the last i of the loop above that went to device d (i % GUEST_DEVICE_COUNT == d) */
        uint32_t last = d + GUEST_DEVICE_COUNT * ((n - 1 - d) / GUEST_DEVICE_COUNT);
        uint64_t a = fe_win(d) + TR_SCRATCH + 0x40 + 8UL * (last % 8);
        uint64_t want = 0x0123456789abcdefUL * (last + 1);
        guest_check(mmio_ld64(a) == want, "devices keep separate state", mmio_ld64(a), want);
    }
    guest_printf("# remio round trip: %u ns (virtual counter, %u accesses)\n",
                 (uint64_t)((t1 - t0) * 1000000000UL / fe_freq / (2 * n)), (uint64_t)(2 * n));
}

/** The completion's op decides whether the frontend's register is written; Bao's edge cases. */
static void fe_ops(void)
{
    uint64_t w = fe_win(2);
    uint64_t v = mmio_st64_ret(w + TR_OPFLIP_W, 0x1111222233334444UL);
    guest_check(v == (TR_OPFLIP_TAG | 0x33334444UL), "WRITE request completed as READ overwrites the source register",
                v, TR_OPFLIP_TAG | 0x33334444UL);
    v = mmio_ld64_into(w + TR_OPFLIP_R, 0xabcdef);
    guest_check(v == 0xabcdef, "READ request completed as WRITE leaves the destination register", v, 0xabcdef);
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        uint64_t got = mmio_ld64(fe_win(d) + TR_EDGE);
        guest_check(got == TR_EDGE_VALUE, "completion edge cases (wrong id, other device, double completion)", got,
                    TR_EDGE_VALUE);
    }
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        uint64_t got = mmio_ld64(fe_win(d) + TR_ASKCHECKS);
        guest_check(got > 0, "an ASK with addr/value != 0 returns +1 and leaves the request queued", got, 1);
    }
}

/** NOTIFY raises the frontend's interrupt for the right device; several devices at once. */
static void fe_notify(void)
{
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        guest_irq_enable(guest_devices[d].frontend_intid);
    }
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        uint32_t intid = guest_devices[d].frontend_intid;
        uint32_t before = guest_irq_count[intid];
        mmio_st32(fe_win(d) + TR_NOTIFY, 1);
        guest_check(fe_wait_irq(intid, before, 100), "NOTIFY raises the device's frontend interrupt",
                    guest_irq_count[intid] - before, 1);
    }
    uint32_t before[GUEST_DEVICE_COUNT];
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        before[d] = guest_irq_count[guest_devices[d].frontend_intid];
    }
    guest_irq_mask();
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        mmio_st32(fe_win(d) + TR_NOTIFY, 3);
    }
    /* The backend NOTIFYs after completing the write; one more round trip makes sure all were sent. */
    (void)mmio_ld32(fe_win(GUEST_DEVICE_COUNT - 1) + TR_MAGIC);
    guest_irq_unmask();
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        uint32_t intid = guest_devices[d].frontend_intid;
        bool ok = fe_wait_irq(intid, before[d], 100);
        uint32_t got = guest_irq_count[intid] - before[d];
        guest_check(ok && got == 1, "3 NOTIFYs while masked merge into one interrupt per device", got, 1);
    }
    fe_arch_irq_isolation();
}

/**
 * The VM's timer reaches it, twice (1 ms each): aarch64 the virtual timer
 * PPI forwarded by the GIC; riscv64 SBI set_timer and the supervisor timer
 * interrupt (hvip.VSTIP or vstimecmp).
 */
static void fe_timer(void)
{
    guest_timer_init();
    uint32_t before = guest_irq_count[PLAT_TIMER_INTID];
    guest_timer_arm(fe_freq / 1000);
    guest_check(fe_wait_irq(PLAT_TIMER_INTID, before, 200), GUEST_TIMER_CHECK_FIRST,
                guest_irq_count[PLAT_TIMER_INTID] - before, 1);
    before = guest_irq_count[PLAT_TIMER_INTID];
    guest_timer_arm(fe_freq / 1000);
    guest_check(fe_wait_irq(PLAT_TIMER_INTID, before, 200), GUEST_TIMER_CHECK_AGAIN,
                guest_irq_count[PLAT_TIMER_INTID] - before, 1);
}

/* virtio-mmio register offsets (VIRTIO_MMIO_*) and status bits (VIRTIO_STATUS_*): abi.h. */

/** The virtio-mmio header of every device: identity, features, status handshake, masking. */
static void fe_virtio_header(uint32_t d)
{
    uint64_t w = fe_win(d);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE) == TR_MAGIC_VALUE, "virtio: MagicValue", mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE), TR_MAGIC_VALUE);
    /* Control registers take aligned 32-bit accesses only; baojs answers anything else with 0. */
    guest_check(mmio_ld8(w + VIRTIO_MMIO_MAGIC_VALUE + 1) == 0, "virtio: 1-byte read of a control register answers 0", mmio_ld8(w + 1), 0);
    guest_check(mmio_ld16(w + VIRTIO_MMIO_MAGIC_VALUE + 2) == 0, "virtio: 2-byte read of a control register answers 0", mmio_ld16(w + 2), 0);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_VERSION) == 2, "virtio: Version 2", mmio_ld32(w + VIRTIO_MMIO_VERSION), 2);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_DEVICE_ID) == guest_devices[d].virtio_id, "virtio: DeviceID from the platform",
                mmio_ld32(w + VIRTIO_MMIO_DEVICE_ID), guest_devices[d].virtio_id);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_VENDOR_ID) != 0, "virtio: VendorID", mmio_ld32(w + VIRTIO_MMIO_VENDOR_ID), 1);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_STATUS) == 0, "virtio: Status reads 0 after reset", mmio_ld32(w + VIRTIO_MMIO_STATUS), 0);
    mmio_st32(w + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = mmio_ld32(w + VIRTIO_MMIO_DEVICE_FEATURES);
    guest_check((hi & 3) == 3, "virtio: VERSION_1 and ACCESS_PLATFORM offered", hi, 3);
    /* a 4-byte store of a register with garbage above bit 31: the backend must mask it */
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0xdeadbeef00000000UL | VIRTIO_STATUS_ACKNOWLEDGE);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_STATUS) == VIRTIO_STATUS_ACKNOWLEDGE, "virtio: 4-byte Status store is masked to 32 bits",
                mmio_ld32(w + VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_st8(w + VIRTIO_MMIO_STATUS, 0xff00UL | VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t st = mmio_ld32(w + VIRTIO_MMIO_STATUS);
    guest_check(st == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER) || st == VIRTIO_STATUS_ACKNOWLEDGE, "virtio: 1-byte Status store is masked or ignored",
                st, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_SEL, 0);
    uint64_t qmax = mmio_ld32(w + VIRTIO_MMIO_QUEUE_NUM_MAX);
    guest_check(qmax > 0 && (qmax & (qmax - 1)) == 0, "virtio: QueueNumMax of queue 0 is a power of 2", qmax, 1);
    uint64_t gen = mmio_ld32(w + VIRTIO_MMIO_CONFIG_GENERATION);
    guest_check(gen == mmio_ld32(w + VIRTIO_MMIO_CONFIG_GENERATION), "virtio: ConfigGeneration stable", gen, gen);
    if (guest_devices[d].virtio_id == VIRTIO_ID_BLOCK) {
        uint64_t cap = mmio_ld64(w + VIRTIO_MMIO_CONFIG);
        uint64_t lo = mmio_ld32(w + VIRTIO_MMIO_CONFIG), hi32 = mmio_ld32(w + VIRTIO_MMIO_CONFIG + 4);
        guest_check(cap != 0 && cap == (lo | hi32 << 32), "virtio-blk: capacity, 8-byte read = two 4-byte reads", cap, lo | hi32 << 32);
        uint64_t bytes = 0;
        for (int b = 0; b < 8; b++) {
            bytes |= mmio_ld8(w + VIRTIO_MMIO_CONFIG + (uint64_t)b) << (8 * b);
        }
        guest_check(bytes == cap, "virtio-blk: capacity, eight 1-byte reads", bytes, cap);
        mmio_st8(w + VIRTIO_MMIO_CONFIG, 0x55);
        mmio_st16(w + VIRTIO_MMIO_CONFIG + 2, 0x5555);
        guest_check(mmio_ld64(w + VIRTIO_MMIO_CONFIG) == cap, "virtio-blk: 1- and 2-byte writes to read-only config are ignored",
                    mmio_ld64(w + VIRTIO_MMIO_CONFIG), cap);
    }
}

/** A split virtqueue in the device's shared region. */
struct fe_desc {
    uint64_t addr;  /**< buffer guest-physical address */
    uint32_t len;   /**< buffer length */
    uint16_t flags; /**< VIRTQ_DESC_F_* */
    uint16_t next;  /**< next descriptor */
};

/** Resets the rng device and sets up its queue 0 (8 entries: table, avail, used at 0, 0x1000, 0x2000 of the region) up to DRIVER_OK. */
static void fe_rng_setup(uint32_t d)
{
    uint64_t w = fe_win(d), sh = guest_devices[d].shmem_base;
    guest_irq_enable(guest_devices[d].frontend_intid);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
    mmio_st32(w + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_st32(w + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_st32(w + VIRTIO_MMIO_DRIVER_FEATURES, 3);
    mmio_st32(w + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_st32(w + VIRTIO_MMIO_DRIVER_FEATURES, 0);
    mmio_st32(w + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, "virtio-rng: FEATURES_OK accepted", mmio_ld32(w + VIRTIO_MMIO_STATUS), 11);
    volatile uint16_t *avail = (volatile uint16_t *)(sh + 0x1000);
    volatile uint16_t *used = (volatile uint16_t *)(sh + 0x2000);
    volatile uint8_t *buf = (volatile uint8_t *)(sh + 0x3000);
    for (int i = 0; i < 0x40; i++) {
        used[i] = 0;
        avail[i] = 0;
        buf[i] = 0;
    }
    mmio_st32(w + VIRTIO_MMIO_QUEUE_SEL, 0);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_NUM, 8);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)sh);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DESC_HIGH, sh >> 32);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(sh + 0x1000));
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (sh + 0x1000) >> 32);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(sh + 0x2000));
    mmio_st32(w + VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (sh + 0x2000) >> 32);
    mmio_st32(w + VIRTIO_MMIO_QUEUE_READY, 1);
    mmio_st32(w + VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/** Posts one 64-byte device-writable buffer on the rng queue set up by fe_rng_setup and writes QueueNotify. */
static void fe_rng_kick(uint32_t d)
{
    uint64_t w = fe_win(d), sh = guest_devices[d].shmem_base;
    volatile struct fe_desc *desc = (volatile struct fe_desc *)sh;
    volatile uint16_t *avail = (volatile uint16_t *)(sh + 0x1000);
    desc[0].addr = sh + 0x3000;
    desc[0].len = 64;
    desc[0].flags = 2; /* VIRTQ_DESC_F_WRITE */
    desc[0].next = 0;
    avail[2] = 0;      /* ring[0] = descriptor 0 */
    guest_mb();
    avail[1] = 1;      /* idx */
    guest_mb();
    mmio_st32(w + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/** Drives the rng device through a whole request: queue set-up, QueueNotify, the NOTIFY interrupt, the used ring. */
static void fe_virtio_rng(uint32_t d)
{
    uint64_t w = fe_win(d), sh = guest_devices[d].shmem_base;
    uint32_t intid = guest_devices[d].frontend_intid;
    volatile uint16_t *used = (volatile uint16_t *)(sh + 0x2000);
    fe_rng_setup(d);
    uint32_t before = guest_irq_count[intid];
    fe_rng_kick(d);
    bool irq = fe_wait_irq(intid, before, 2000);
    guest_check(irq, "virtio-rng: NOTIFY interrupt after QueueNotify", guest_irq_count[intid] - before, 1);
    guest_check(used[1] == 1, "virtio-rng: used.idx advanced", used[1], 1);
    uint32_t len = *(volatile uint32_t *)(sh + 0x2000 + 8);
    guest_check(len > 0 && len <= 64, "virtio-rng: used length within the buffer", len, 64);
    uint32_t isr = (uint32_t)mmio_ld32(w + VIRTIO_MMIO_INTERRUPT_STATUS);
    guest_check(isr & 1, "virtio-rng: InterruptStatus used-buffer bit", isr, 1);
    mmio_st32(w + VIRTIO_MMIO_INTERRUPT_ACK, isr);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
}

/** Reserved offset of a window that the watchdog test backend takes as a trigger (test/e2e/targets/watchdog.ts). */
#define WD_TRIGGER 0x0f0

/** Index of the first device with virtio id `id`. */
static uint32_t fe_device_by_id(uint32_t id)
{
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        if (guest_devices[d].virtio_id == id) {
            return d;
        }
    }
    return 0;
}

/** Waits up to `ms` milliseconds of virtual time until (InterruptStatus of window `w` & bits) != 0; returns the register. */
static uint64_t fe_wait_isr(uint64_t w, uint32_t bits, uint64_t ms)
{
    uint64_t end = guest_counter() + fe_freq / 1000 * ms, isr;
    while (((isr = mmio_ld32(w + VIRTIO_MMIO_INTERRUPT_STATUS)) & bits) == 0 && guest_counter() < end) {
    }
    return isr;
}

/**
 * One whole rng request after a runaway, seen through the used ring and
 * InterruptStatus (polled: under -icount the frontend's busy wait for the
 * interrupt itself is not a measure of the backend).
 */
static void fe_watchdog_rng_works(uint32_t d)
{
    uint64_t w = fe_win(d), sh = guest_devices[d].shmem_base;
    volatile uint16_t *used = (volatile uint16_t *)(sh + 0x2000);
    fe_rng_setup(d);
    fe_rng_kick(d);
    uint64_t isr = fe_wait_isr(w, 1, 5000);
    guest_check(used[1] == 1 && (isr & 1), "watchdog: after the reset a whole rng request is served again", used[1], 1);
    mmio_st32(w + VIRTIO_MMIO_INTERRUPT_ACK, isr);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
}

/** After a runaway: DEVICE_NEEDS_RESET, another device serves, and after a reset the device serves again. */
static void fe_watchdog_after(uint32_t d, uint32_t other, const char *what)
{
    uint64_t w = fe_win(d), wo = fe_win(other);
    uint64_t st = mmio_ld32(w + VIRTIO_MMIO_STATUS);
    guest_printf("# %s\n", what);
    guest_check(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "watchdog: the device is in DEVICE_NEEDS_RESET", st, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    guest_check(mmio_ld32(wo + VIRTIO_MMIO_MAGIC_VALUE) == TR_MAGIC_VALUE, "watchdog: another device keeps serving", mmio_ld32(wo + VIRTIO_MMIO_MAGIC_VALUE),
                TR_MAGIC_VALUE);
    mmio_st32(w + VIRTIO_MMIO_STATUS, 0);
    st = mmio_ld32(w + VIRTIO_MMIO_STATUS);
    guest_check(st == 0, "watchdog: the driver's reset clears DEVICE_NEEDS_RESET", st, 0);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE) == TR_MAGIC_VALUE, "watchdog: the device answers again after the reset",
                mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE), TR_MAGIC_VALUE);
}

/**
 * Runaway device code in the baojs watchdog test backend (mode 4): a
 * register read, a register write, a queue handler and a timer of no device
 * run until the watchdog stops them; the frontend must continue each time.
 */
static void fe_watchdog(void)
{
    uint32_t d = fe_device_by_id(VIRTIO_ID_ENTROPY), other = fe_device_by_id(VIRTIO_ID_BLOCK);
    uint64_t w = fe_win(d), sh = guest_devices[d].shmem_base;
    volatile uint16_t *used = (volatile uint16_t *)(sh + 0x2000);
    guest_check(mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE) == TR_MAGIC_VALUE, "watchdog: hwrng answers before", mmio_ld32(w + VIRTIO_MMIO_MAGIC_VALUE), TR_MAGIC_VALUE);

    mmio_st32(w + WD_TRIGGER, 1);
    uint64_t v = mmio_ld32_into(w + VIRTIO_MMIO_MAGIC_VALUE, 0x1234);
    guest_check(v == 0, "watchdog: a read whose handler runs away is answered 0, the frontend continues", v, 0);
    fe_watchdog_after(d, other, "runaway register read");

    mmio_st32(w + WD_TRIGGER, 2);
    guest_check(true, "watchdog: a write whose handler runs away is completed, the frontend continues", 0, 0);
    fe_watchdog_after(d, other, "runaway register write");

    fe_rng_setup(d);
    mmio_st32(w + WD_TRIGGER, 3);
    fe_rng_kick(d);
    guest_check(true, "watchdog: the QueueNotify before a runaway queue handler is completed", 0, 0);
    uint64_t isr = fe_wait_isr(w, 2, 5000);
    guest_check(isr & 2, "watchdog: a runaway queue handler ends in a configuration change (InterruptStatus)", isr, 2);
    mmio_st32(w + VIRTIO_MMIO_INTERRUPT_ACK, isr);
    guest_check(used[1] == 0, "watchdog: the stopped request is not in the used ring", used[1], 0);
    fe_watchdog_after(d, other, "runaway queue handler");
    fe_watchdog_rng_works(d);

    mmio_st32(w + WD_TRIGGER, 4);
    guest_check(mmio_ld32(fe_win(other) + VIRTIO_MMIO_MAGIC_VALUE) == TR_MAGIC_VALUE, "watchdog: after a runaway timer another device serves",
                mmio_ld32(fe_win(other) + VIRTIO_MMIO_MAGIC_VALUE), TR_MAGIC_VALUE);
    uint64_t st = mmio_ld32(w + VIRTIO_MMIO_STATUS);
    guest_check(st == 0, "watchdog: a runaway timer of no device fails no device", st, 0);
    fe_watchdog_rng_works(d);
}

/** virtio-mmio conformance against the baojs firmware (mode 3). */
static void fe_virtio(void)
{
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        fe_virtio_header(d);
    }
    uint32_t bad = 0;
    uint64_t t0 = guest_counter();
    for (uint32_t i = 0; i < 200; i++) {
        bad += mmio_ld32(fe_win(i % GUEST_DEVICE_COUNT) + VIRTIO_MMIO_MAGIC_VALUE) != TR_MAGIC_VALUE;
    }
    uint64_t t1 = guest_counter();
    guest_check(bad == 0, "virtio: 200 MagicValue reads in a row over all devices", bad, 0);
    guest_printf("# remio round trip with the baojs firmware: %u ns\n", (uint64_t)((t1 - t0) * 1000000000UL / fe_freq / 200));
    for (uint32_t d = 0; d < GUEST_DEVICE_COUNT; d++) {
        if (guest_devices[d].virtio_id == VIRTIO_ID_ENTROPY) {
            fe_virtio_rng(d);
        }
    }
}

/** Frontend entry. */
void guest_main(uint64_t mode)
{
    fe_freq = guest_counter_freq();
    guest_printf("# frontend: conformance frontend up, mode %u\n", mode);
    if (mode == 1 || mode == 2 || mode == 5) {
        /*
         * One round trip first: the backend answers only once it serves, after its
         * start-up lines, so that none of them lands inside the monitor's FATAL line.
         */
        (void)mmio_ld32(fe_win(0) + TR_MAGIC);
    }
    if (mode == 1) {
        fe_arch_undecodable(fe_win(0));
    }
    if (mode == 2) {
        uint64_t v = mmio_ld32(FRONTEND_RAM_BASE + FRONTEND_RAM_SIZE + 0x1000);
        guest_printf("not ok - load from an unmapped address returned 0x%lx\n", v);
        for (;;) {
        }
    }
#if PLAT_PASSTHROUGH_COUNT > 0
    if (mode == 5) {
        static const struct { const char *name; uint64_t base, size; uint32_t intid; } pt[] = {PLAT_PASSTHROUGH};
        uint64_t v = mmio_ld32(pt[0].base);
        guest_printf("not ok - load from the backend's passthrough device returned 0x%lx\n", v);
        for (;;) {
        }
    }
#endif
    guest_irq_init();
    if (mode == 3 || mode == 4) {
        if (mode == 3) {
            fe_virtio();
        } else {
            fe_watchdog();
        }
        guest_printf("# frontend: %u passed, %u failed\n", (uint64_t)guest_passes(), (uint64_t)guest_failures());
        guest_system_off();
    }
    fe_widths();
    fe_unaligned();
    fe_many();
    fe_ops();
    fe_notify();
    fe_timer();
    fe_arch_firmware();
    uint64_t fails = mmio_ld64(fe_win(0) + TR_FAILS), checks = mmio_ld64(fe_win(0) + TR_CHECKS);
    guest_check(fails == 0 && checks > 50, "backend-side ABI checks all passed", fails, 0);
    guest_printf("# backend ran %u ABI checks\n", checks);
    guest_printf("# frontend: %u passed, %u failed\n", (uint64_t)guest_passes(), (uint64_t)guest_failures());
    guest_system_off();
}
