/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What runtime/remio.c uses of firmware/firmware.h, for building it with
 * the host's compiler (test/native/remio.test.ts): the same declarations,
 * implemented by the harness (a simulated hypervisor).
 */
#ifndef BAOJS_FIRMWARE_H
#define BAOJS_FIRMWARE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct remio_result {
	int64_t status;
	uint64_t addr;
	uint64_t op;
	uint64_t value;
	uint64_t width;
	uint64_t request_id;
	uint64_t more;
};
void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value, uint64_t request_id,
		     struct remio_result *out);
void perf_hypercall(uint64_t op, int64_t status, const struct remio_result *r, uint64_t t0, uint64_t t1);
uint64_t timer_ticks(void);
uint64_t timer_now_ns(void);
void uart_write(const char *s, size_t len);
size_t console_peek(uint8_t *buf, size_t max);
void console_consume(size_t n);
extern int console_last_read;
#define IRQ_MAX 1024
void irq_set_pending(uint32_t intid);
#endif
