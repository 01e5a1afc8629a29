/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firmware core's interfaces: console, interrupts, timer, power-off,
 * hypercalls, heap. The files under firmware/ are shared by every
 * instruction set; what differs (entry, traps, timer, interrupt
 * controller, hypercall instruction, power-off) lives under
 * firmware/arch/<arch>/ behind the functions declared here.
 */
#ifndef BAOJS_FIRMWARE_H
#define BAOJS_FIRMWARE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define BAOJS_VERSION "0.1.0"

/* ---- panic.c ---- */
/** Prints "baojs: panic: <msg>" and powers off with status 1. Never returns. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* ---- uart_<kind>.c: the console UART driver the platform names (PL011, Cadence, ns16550) ---- */
void uart_init(void);
void uart_putc(char c);
/** Moves received bytes from the RX FIFO to the console input ring (IRQ context). */
void uart_rx_drain(void);

/* ---- console.c: console output and the input ring ---- */
/** Writes `len` bytes, a bare LF as CR LF. */
void uart_write(const char *s, size_t len);
/** Queues one received byte (dropped when the ring is full). */
void console_rx_push(uint8_t c);
/** Pops up to `max` input bytes into `buf`; returns the count. */
size_t console_read(uint8_t *buf, size_t max);
/** Copies up to `max` received bytes into `buf` without taking them; returns how many. */
size_t console_peek(uint8_t *buf, size_t max);
/** Takes the first `n` received bytes (at most what console_peek returned). */
void console_consume(size_t n);
/** The last byte console_read returned (-1: none yet): a Ctrl-] there means JS waits for a command byte. */
extern int console_last_read;

/* ---- arch/<arch>/timer.c: aarch64 generic timer (CNTVCT_EL0, CNTV_CVAL_EL0), riscv64 `time` CSR and SBI TIME; clock.c ---- */
/** Counter ticks at the firmware's first instruction (set by boot_main; clock.c). */
extern uint64_t timer_boot_ticks;
uint64_t timer_ticks(void);
/** Counter frequency, Hz. */
uint64_t timer_freq(void);
/** Nanoseconds since the firmware's first instruction (clock.c). */
uint64_t timer_now_ns(void);
/** Arms the timer interrupt to fire at `ns` (timer_now_ns scale); UINT64_MAX disarms. */
void timer_set_deadline_ns(uint64_t ns);
/** Called on the timer interrupt: masks it until re-armed. */
void timer_handle_irq(void);

/*
 * ---- the interrupt controller: arch/aarch64/gic_v3.c, gic_v2.c; arch/riscv64/plic.c ----
 * INTIDs are the GIC's on aarch64 and the PLIC's source numbers on riscv64,
 * where the supervisor timer interrupt, no PLIC source, is PLAT_TIMER_INTID.
 */
void irqc_init(void);
/** Enables INTID `intid` for this CPU; returns false for an INTID the controller cannot deliver. */
bool irqc_enable(uint32_t intid);
/** Disables (masks) `intid` at the controller (GICD_ICENABLER, GICR_ICENABLER0 for SGIs/PPIs, the PLIC enable bit); false if not implemented. */
bool irqc_disable(uint32_t intid);
/** Acknowledges (claims) the highest-priority pending interrupt; 1023 when none. */
uint32_t irqc_ack(void);
/** Ends `intid` (GIC priority drop and deactivation, PLIC completion). */
void irqc_eoi(uint32_t intid);
/** Largest INTID the controller implements. */
uint32_t irqc_max_intid(void);

/* ---- irq.c: pending bits between the IRQ handler and the main loop ---- */
#define IRQ_MAX 1024
/** IRQ entry (the arch's trap vector): acknowledges, records pending, EOIs. */
void irq_handle(void);
/** Takes the lowest pending INTID (clearing it), or -1 when none. */
int irq_take_pending(void);
/** Marks `intid` pending again, so that the main loop takes it on its next pass. */
void irq_set_pending(uint32_t intid);
/** True if an INTID is marked pending and not taken yet. */
bool irq_any_pending(void);
/** Counts of interrupts taken since boot. */
extern uint64_t irq_count;

/**
 * IRQ context, for a passthrough device's interrupt: if a disk plane
 * (runtime/diskplane.h) serves the device, reads and acknowledges its
 * InterruptStatus (the line drops) and keeps the bits for the main loop;
 * returns false otherwise (the handler masks the line instead).
 */
bool pt_irq_ack(uint32_t intid);
/**
 * IRQ context, for a passthrough device's interrupt: if JS registered the
 * device with host.passthroughIsr (runtime/host.c), reads its virtio-mmio
 * InterruptStatus, writes the bits to InterruptACK (the level line drops)
 * and ORs them into JS's word; returns false otherwise.
 */
bool pt_virtio_ack(uint32_t intid);

/* ---- arch/<arch>: power (aarch64 PSCI 1.x over SMC, Arm DEN0022; riscv64 SBI system reset) ---- */
void power_off(void) __attribute__((noreturn));
void power_reset(void) __attribute__((noreturn));

/* ---- arch/<arch>/hypercall.c: Bao hypercalls (aarch64 HVC, SMCCC; riscv64 ecall, Bao's SBI extension) ---- */
/** Result of a remio hypercall (remio-abi.md; aarch64 registers named, riscv64's in the same order from a1). */
struct remio_result {
	int64_t status;     /**< x0 (riscv64: a1): 0 ok, +1 empty ASK, -1, -2, -3 */
	uint64_t addr;      /**< x1: absolute guest-physical address (ASK) */
	uint64_t op;        /**< x2: WRITE=0 READ=1 (ASK) */
	uint64_t value;     /**< x3: whole 64-bit source register for WRITE (ASK) */
	uint64_t width;     /**< x4: access width in bytes (ASK) */
	uint64_t request_id;/**< x5: request slot (ASK) */
	uint64_t more;      /**< x6: 0/1 more pending (ASK) */
};
/** The remio hypercall (0x2): dm_id, addr, op, value, request_id. Never call it without a hypervisor (host_under_hypervisor). */
void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value,
		     uint64_t request_id, struct remio_result *out);
/** The IPC shared-memory notify hypercall (0x1): returns Bao's status (0 or -3). */
int64_t hypercall_ipc_notify(uint64_t ipc_id, uint64_t event);

/* ---- entropy.c: the entropy source of host.entropy ---- */
/** True when the CPU has a hardware random number instruction the firmware uses (aarch64 RNDR). */
bool entropy_is_hardware(void);
/** One 64-bit word of entropy: the hardware's when present, else counter jitter mixed by SplitMix64 (weak). */
uint64_t entropy_word(void);

/* ---- heap.c: TLSF allocator over the linker script's heap region ---- */
void heap_init(void *base, size_t size);
void *heap_alloc(size_t size);
void *heap_realloc(void *ptr, size_t size);
void heap_free(void *ptr);
size_t heap_usable_size(const void *ptr);
/** Heap statistics in bytes. */
struct heap_stats { size_t total, used, high_water, free_largest; };
void heap_get_stats(struct heap_stats *st);

/* ---- perf.c: per-request cost counters, timer ticks (see perf.c) ---- */
enum perf_kind { PERF_READ, PERF_WRITE, PERF_NOTIFY, PERF_KINDS };
/** Fields of a kind's counters: windows, then sums of ticks (and the hypercall count). */
enum perf_field {
	PERF_COUNT,         /**< service windows that served one request of this kind */
	PERF_TO_COMPLETION, /**< IRQ handler entry to the return of the completing hypercall */
	PERF_TOTAL,         /**< IRQ handler entry to the return of the JS call, or to the first NOTIFY */
	PERF_C,             /**< in C: IRQ handler, main loop, the call into JS and back */
	PERF_JS,            /**< in the JS call, hypercalls excluded (includes the host binding) */
	PERF_HYP,           /**< in remio hypercalls: trap, hypervisor, return */
	PERF_HYPERCALLS,    /**< number of remio hypercalls */
	PERF_FIELDS
};
/** INTIDs with counters: every device model's, the passthrough devices', the UART's, the timer's */
#define PERF_DMS 32
struct perf_dm {
	bool used;
	uint32_t intid;
	uint64_t k[PERF_KINDS][PERF_FIELDS];
	uint64_t batched_windows, batched_requests;
	uint64_t windows, window_ticks; /**< every window of the INTID, and their ticks (IRQ to end or first NOTIFY) */
};
struct remio_result;
/** Records the IRQ handler's entry time `now` for `intid` (the earliest until its window opens). */
void perf_irq(uint32_t intid, uint64_t now);
/** Marks the end of a piece of the backend's work (a call into JS): a window opened later starts no earlier. */
void perf_work_done(void);
/** Opens the service window of `intid`, just before the main loop calls into JS. */
void perf_window_begin(uint32_t intid);
/** Closes the open window (ending it at its first NOTIFY, if any) once the main loop is done with its interrupt, and adds it to its bucket. */
void perf_window_end(void);
/** Marks the start (true) and end (false) of the open window's call into JS. */
void perf_js(bool begin);
/** Reports one remio hypercall of the open window: its op, status, result and start/end ticks. */
void perf_hypercall(uint64_t op, int64_t status, const struct remio_result *r, uint64_t t0, uint64_t t1);
/** The counters of the device model served on `intid`, or NULL before its first window. */
struct perf_dm *perf_dm_for(uint32_t intid);
/** Absolute counter value when the first request was completed, 0 before. */
uint64_t perf_first_served_ticks(void);

/* ---- arch/<arch>: what the shared core asks of the instruction set ---- */
/** Early set-up after the entry code: MMU or memory attributes, the TLS pointer for picolibc's errno. */
void arch_init(void);

/* ---- linker script symbols ---- */
extern char __image_start[], __image_end[], __text_end[], __data_start[];
extern char __bss_start[], __bss_end[], __heap_start[], __heap_end[], __stack_top[], __stack_bottom[];

#endif
