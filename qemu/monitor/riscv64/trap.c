/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traps taken to HS-mode from the VMs: guest page faults on unmapped
 * addresses (remio windows, the virtual PLIC, the debug UART), decoded from
 * the instruction itself the way Bao does it (src/arch/riscv/
 * sync_exceptions.c: QEMU 7.2 leaves htinst 0, so the instruction is read
 * with hlvx.hu; LOAD/STORE of 1/2/4/8 bytes and the compressed c.lw/c.sw,
 * nothing else), `ecall` from VS-mode (SBI, Bao's hypercalls), and the
 * hart's own interrupts (kicks from other harts, the timer, the physical
 * PLIC).
 */
#include "riscv64.h"

/** ns16550 registers of the emulated debug UART: THR/DLL, LCR (bit 7 DLAB), LSR. */
#define DEBUG_UART_THR 0
#define DEBUG_UART_LCR 3
#define DEBUG_UART_LSR 5
/** LSR: transmitter empty and holding register empty. */
#define DEBUG_UART_LSR_IDLE 0x60

/** Prints the vCPU's registers and the trap CSRs (a VM that faults is reported with them). */
void trap_dump(struct vm *vm, struct trap_frame *f)
{
    console_printf("monitor: vm %s registers: pc %016lx scause %lx stval %016lx htval %lx htinst %lx hstatus %lx\n",
                   vm ? vm->name : "?", f->sepc, csr_read(CSR_SCAUSE), csr_read(CSR_STVAL), csr_read(CSR_HTVAL),
                   csr_read(CSR_HTINST), csr_read(CSR_HSTATUS));
    for (int i = 0; i < 32; i += 4) {
        console_printf("monitor:   x%u %016lx x%u %016lx x%u %016lx x%u %016lx\n", i, frame_reg_get(f, i), i + 1,
                       f->x[i + 1], i + 2, f->x[i + 2], i + 3, f->x[i + 3]);
    }
}

/**
 * Ends the run for an error Bao would treat as fatal for the VM's hart:
 * prints `monitor: vm <name> FATAL: <what>` with the registers and powers off.
 */
void trap_fatal(struct vm *vm, struct trap_frame *f, const char *what)
{
    console_printf("monitor: vm %s FATAL: %s\n", vm ? vm->name : "?", what);
    trap_dump(vm, f);
    monitor_system_off();
}

/** A decoded load or store. */
struct access {
    uint32_t width; /**< bytes: 1, 2, 4 or 8 */
    bool write;     /**< store */
    uint32_t reg;   /**< destination (load) or source (store) register */
    uint32_t len;   /**< instruction length, bytes */
};

/**
 * Decodes `insn` as Bao does: a 32-bit LOAD (opcode 0x03) or STORE (0x23),
 * width from funct3; or a compressed c.lw/c.sw (quadrant 0, funct3 010/110,
 * register x8 + rd'/rs2'). False for anything else (c.ld, c.sd, FP loads,
 * atomics...), which Bao cannot emulate.
 */
static bool trap_decode(uint32_t insn, struct access *a)
{
    if ((insn & 3) != 3) {
        uint32_t funct3 = (insn >> 13) & 7;
        if ((insn & 3) != 0 || (funct3 != 2 && funct3 != 6)) {
            return false;
        }
        *a = (struct access){.width = 4, .write = funct3 == 6, .reg = ((insn >> 2) & 7) + 8, .len = 2};
        return true;
    }
    uint32_t opcode = insn & 0x7f;
    if (opcode != 0x03 && opcode != 0x23) {
        return false;
    }
    bool write = opcode == 0x23;
    *a = (struct access){
        .width = 1u << ((insn >> 12) & 3), .write = write,
        .reg = write ? (insn >> 20) & 0x1f : (insn >> 7) & 0x1f, .len = 4,
    };
    return true;
}

/** The instruction at the guest's `pc` (through its own translation), 16 bits at a time. */
static uint32_t trap_read_insn(uint64_t pc)
{
    uint32_t insn = hlvx_hu(pc);
    if ((insn & 3) == 3) {
        insn |= hlvx_hu(pc + 2) << 16;
    }
    return insn;
}

/** The emulated write-only ns16550 debug UART of a frontend: THR writes go to the console with the VM's name. */
static void trap_debug_uart(struct vm *vm, uint64_t off, bool write, uint64_t *value)
{
    uint8_t *lcr = &vm->arch.debug_lcr;
    if (!write) {
        *value = off == DEBUG_UART_LSR ? DEBUG_UART_LSR_IDLE : off == DEBUG_UART_LCR ? *lcr : 0;
        return;
    }
    if (off == DEBUG_UART_LCR) {
        *lcr = (uint8_t)*value;
    }
    if (off != DEBUG_UART_THR || (*lcr & 0x80)) {
        return;
    }
    console_vm_putc(vm, (char)*value);
}

/**
 * A load or store guest page fault: the guest-physical address is
 * htval << 2 | stval & 3; decode the instruction, step the PC and emulate
 * the access. An instruction Bao cannot decode, or an address nothing
 * emulates, ends the run.
 */
static void trap_guest_page_fault(struct vm *vm, struct trap_frame *f)
{
    uint64_t gpa = (csr_read(CSR_HTVAL) << 2) | (csr_read(CSR_STVAL) & 3);
    uint32_t insn = trap_read_insn(f->sepc);
    struct access a;
    if (!trap_decode(insn, &a)) {
        console_printf("monitor: vm %s FATAL: access to %lx at pc %lx (instruction %08x) is not a load or store "
                       "Bao decodes: Bao cannot emulate it and stops this CPU\n",
                       vm->name, gpa, f->sepc, insn);
        trap_dump(vm, f);
        monitor_system_off();
    }
    if (remio_handles(vm, gpa)) {
        f->sepc += a.len;
        remio_emulate_access(vm, f, gpa, a.width, a.write, a.reg);
        return;
    }
    uint64_t value = a.write ? frame_reg_get(f, a.reg) : 0;
    if (vplic_emulate(vm, gpa, a.width, a.write, &value)) {
        /* emulated */
    } else if (vm->debug_uart && gpa >= MONITOR_DEBUG_UART_BASE && gpa - MONITOR_DEBUG_UART_BASE < MONITOR_DEBUG_UART_SIZE) {
        trap_debug_uart(vm, gpa - MONITOR_DEBUG_UART_BASE, a.write, &value);
    } else {
        console_printf("monitor: vm %s FATAL: %s of %u bytes at unmapped address %lx, pc %lx\n", vm->name,
                       a.write ? "write" : "read", a.width, gpa, f->sepc);
        trap_dump(vm, f);
        monitor_system_off();
    }
    if (!a.write) {
        frame_reg_set(f, a.reg, value);
    }
    f->sepc += a.len;
}

/** Every trap to HS-mode (called from boot.S with the saved frame). */
void trap_handle(struct trap_frame *f)
{
    struct vm *vm = vm_current();
    uint64_t cause = csr_read(CSR_SCAUSE);
    if (!(csr_read(CSR_HSTATUS) & HSTATUS_SPV)) {
        console_printf("monitor: HS-mode exception on cpu %u: scause %lx sepc %lx stval %lx\n", cpu_current(), cause,
                       csr_read(CSR_SEPC), csr_read(CSR_STVAL));
        monitor_system_off();
    }
    if (cause & SCAUSE_INTERRUPT) {
        switch (cause & ~SCAUSE_INTERRUPT) {
        case IRQ_S_SOFT:
            csr_clear(CSR_SIP, 1UL << IRQ_S_SOFT);
            if (vm) {
                vplic_update(vm);
            }
            break;
        case IRQ_S_TIMER:
            sbi_timer_interrupt();
            break;
        case IRQ_S_EXT:
            vplic_external_interrupt();
            break;
        default:
            trap_fatal(vm, f, "unexpected interrupt");
        }
        return;
    }
    switch (cause) {
    case CAUSE_ECALL_VS:
        f->sepc += 4;
        sbi_emulate(vm, f);
        break;
    case CAUSE_LOAD_GUEST_PAGE_FAULT:
    case CAUSE_STORE_GUEST_PAGE_FAULT:
        trap_guest_page_fault(vm, f);
        break;
    default:
        trap_fatal(vm, f, "unexpected exception from the VM");
    }
}
