/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs runtime/diskplane.c (with remio.c for the frontend's DM) on the host
 * for test/native/diskplane.test.ts, against a simulated physical
 * virtio-blk device. Reads cases from stdin until EOF, each (little-endian):
 *   DP_WORDS u32 (the frontend's data plane, armed), u32 shmem base, u32
 *   shmem size, the shared region; DRIVER_QUEUE_WORDS u32, u32 DMA base,
 *   u32 DMA size, the DMA region, next (u16), chain counts (u16), writable
 *   (f64), tokens (f64) of Queue Size each; PT_STATE_WORDS u32; u32 disk
 *   size, the disk; u32 number of bad sectors, the bad sectors (u32); u32
 *   how many of the placed requests the device completes before the first
 *   interrupt.
 * Calls pt_blk_process() once; the device then serves the chains
 * published (header and status in the DMA region, data anywhere either
 * region holds: the frontend's buffers at their guest-physical address),
 * answering IOERR without moving data when a sector is bad; pt_irq() runs
 * after the first completions and after the rest. Writes: the result, the
 * NOTIFYs sent to the frontend, whether each pt_irq() asked for JS, the
 * events (count and records), then the data plane words, the shared
 * region and the disk. Exits 6 if a descriptor names memory outside both
 * regions or a chain is malformed (the plane must never place one).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "harness_io.h"
#include "remio.h"
#include "firmware.h"

#define DM 3
#define INTID 79
#define MMIO 0x0a003e00u

bool host_under_hypervisor = true;
static uint32_t notifies, isr_pending, kicks, cases;

#define put put_u32
#define get get_u32

static void *get_bytes(uint64_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	if (!p || !read_all(p, n))
		exit(2);
	return p;
}

uint64_t timer_ticks(void) { return 0; }

uint64_t timer_now_ns(void)
{
	return 0;
}
void perf_hypercall(uint64_t op, int64_t status, const struct remio_result *r, uint64_t t0, uint64_t t1)
{
	(void)op, (void)status, (void)r, (void)t0, (void)t1;
}
/** INTIDs pt_poll() marked pending (as the firmware's irq.c would for the main loop) */
static uint32_t marked;
void irq_set_pending(uint32_t intid)
{
	if (intid != INTID)
		exit(9);
	marked++;
}
void hypercall_remio(uint64_t dm_id, uint64_t addr, uint64_t op, uint64_t value, uint64_t rid, struct remio_result *out)
{
	(void)addr, (void)value, (void)rid;
	memset(out, 0, sizeof *out);
	if (dm_id == DM && op == 3)
		notifies++;
	else
		out->status = -3;
}

uint32_t pt_mmio_read32(uint64_t addr)
{
	if (addr == MMIO + VIRTIO_MMIO_INTERRUPT_STATUS)
		return isr_pending;
	exit(7);
}

void pt_mmio_write32(uint64_t addr, uint32_t value)
{
	if (addr == MMIO + VIRTIO_MMIO_INTERRUPT_ACK)
		isr_pending &= ~value;
	else if (addr == MMIO + VIRTIO_MMIO_QUEUE_NOTIFY && value == 0)
		kicks++;
	else
		exit(7);
}

void pt_irq_unmask(uint32_t intid) { (void)intid; }

/* the DM serves no JS batch and has no direct range here */
int rm_call_js(struct rm_dm *d, uint32_t count)
{
	(void)d, (void)count;
	exit(8);
}

uint32_t rm_call_direct(struct rm_dm *d, enum rm_direct_kind kind, uint64_t addr, uint32_t value)
{
	(void)d, (void)kind, (void)addr, (void)value;
	exit(8);
}

static uint8_t *shmem, *dma, *disk;
static uint64_t shmem_base, shmem_size, dma_base, dma_size, disk_size;

/** The bytes at guest-physical [gpa, gpa + len) in either region; exits 6 if neither holds them. */
static uint8_t *at(uint64_t gpa, uint64_t len)
{
	if (gpa >= shmem_base && gpa - shmem_base <= shmem_size && len <= shmem_size - (gpa - shmem_base))
		return shmem + (gpa - shmem_base);
	if (gpa >= dma_base && gpa - dma_base <= dma_size && len <= dma_size - (gpa - dma_base))
		return dma + (gpa - dma_base);
	exit(6);
}

struct buf { uint64_t addr; uint32_t len; uint16_t flags; };

int main(void)
{
	static uint32_t dp[DP_WORDS], dq[DRIVER_QUEUE_WORDS], pt[PT_STATE_WORDS], bad[4096];
	static struct buf bufs[1100];
	for (;;) {
		if (!read_all(dp, sizeof dp))
			return 0;
		shmem_base = get();
		shmem_size = get();
		shmem = get_bytes(shmem_size);
		for (int i = 0; i < DRIVER_QUEUE_WORDS; i++)
			dq[i] = get();
		dma_base = get();
		dma_size = get();
		dma = get_bytes(dma_size);
		uint32_t n = dq[DQ_NUM];
		if (n < 1 || n > 1024)
			return 2;
		uint16_t *next = get_bytes(2 * n), *count = get_bytes(2 * n);
		double *writable = get_bytes(8 * n), *tokens = get_bytes(8 * n);
		for (int i = 0; i < PT_STATE_WORDS; i++)
			pt[i] = get();
		disk_size = get();
		disk = get_bytes(disk_size);
		uint32_t nbad = get();
		if (nbad > 4096)
			return 2;
		for (uint32_t i = 0; i < nbad; i++)
			bad[i] = get();
		uint32_t first = get();

		struct rm_dm *d = rm_dm_add(DM, 40);
		struct pt_disk init = { .st = pt, .q = { .st = dq, .dma = dma, .dma_size = dma_size, .next = next, .chain_count = count,
							  .writable = writable, .tokens = tokens },
					.reqs = calloc(PT_REQ_RECORD_WORDS * n, 4), .events = calloc(PT_EVENT_RECORD_WORDS * n, 4), .mmio = MMIO, .intid = INTID };
		struct pt_disk *p = pt_disk_add(&init);
		if (!d || !p)
			return 4;
		d->blk = (struct dp_blk){ .st = dp, .shmem = shmem, .shmem_size = shmem_size };
		d->window = 0x0a000000;
		d->pt = p;
		notifies = kicks = 0;

		put(pt_blk_process(d) == DP_DONE ? 0 : 1);
		/* the device: every chain published, in order; `first` of them before the first interrupt */
		uint16_t avail = (uint16_t)dq[DQ_PUBLISHED_IDX], dev = 0, used_idx;
		memcpy(&used_idx, dma + dq[DQ_USED] + 2, 2);
		uint16_t pub;
		memcpy(&pub, dma + dq[DQ_AVAIL] + 2, 2);
		dev = (uint16_t)(pub - (uint16_t)(dq[DQ_IN_FLIGHT])); /* the first chain not served yet */
		(void)avail;
		uint32_t served = 0, irqs_js = 0;
		for (int round = 0; round < 2; round++) {
			while (dev != pub && (round == 1 || served < first)) {
				uint16_t head;
				memcpy(&head, dma + dq[DQ_AVAIL] + 4 + 2 * (dev & (n - 1)), 2);
				uint32_t nb = 0;
				uint8_t *dsc = dma + dq[DQ_DESC] + 16 * (uint32_t)head;
				uint64_t a;
				uint32_t l;
				uint16_t f, nx;
				memcpy(&a, dsc, 8), memcpy(&l, dsc + 8, 4), memcpy(&f, dsc + 12, 2), memcpy(&nx, dsc + 14, 2);
				if (f & 4) { /* indirect */
					uint8_t *t = at(a, l);
					for (uint32_t i = 0; i < l / 16 && nb < 1100; i++) {
						memcpy(&bufs[nb].addr, t + 16 * i, 8), memcpy(&bufs[nb].len, t + 16 * i + 8, 4);
						memcpy(&bufs[nb].flags, t + 16 * i + 12, 2);
						nb++;
					}
				} else {
					for (;;) {
						if (nb == 1100)
							exit(6);
						bufs[nb++] = (struct buf){ a, l, f };
						if (!(f & 1))
							break;
						dsc = dma + dq[DQ_DESC] + 16 * (uint32_t)nx;
						memcpy(&a, dsc, 8), memcpy(&l, dsc + 8, 4), memcpy(&f, dsc + 12, 2), memcpy(&nx, dsc + 14, 2);
					}
				}
				if (nb < 3 || bufs[0].len != 16 || bufs[nb - 1].len != 1 || !(bufs[nb - 1].flags & 2))
					exit(6);
				uint8_t *h = at(bufs[0].addr, 16);
				uint32_t type;
				uint64_t sector, bytes = 0;
				memcpy(&type, h, 4), memcpy(&sector, h + 8, 8);
				for (uint32_t i = 1; i + 1 < nb; i++) {
					if (((bufs[i].flags & 2) != 0) != (type == 0))
						exit(6);
					bytes += bufs[i].len;
				}
				uint8_t status = 0;
				if (bytes % 512 || sector * 512 > disk_size || bytes > disk_size - sector * 512)
					exit(6);
				for (uint32_t i = 0; i < nbad; i++)
					if (bad[i] >= sector && bad[i] < sector + bytes / 512)
						status = 1;
				uint64_t off = sector * 512;
				for (uint32_t i = 1; i + 1 < nb && status == 0; i++) {
					uint8_t *b = at(bufs[i].addr, bufs[i].len);
					if (type == 0)
						memcpy(b, disk + off, bufs[i].len);
					else
						memcpy(disk + off, b, bufs[i].len);
					off += bufs[i].len;
				}
				*at(bufs[nb - 1].addr, 1) = status;
				uint32_t len = type == 0 && status == 0 ? (uint32_t)bytes + 1 : 1;
				uint8_t *e = dma + dq[DQ_USED] + 4 + 8 * (used_idx & (n - 1));
				uint32_t id = head;
				memcpy(e, &id, 4), memcpy(e + 4, &len, 4);
				used_idx++;
				memcpy(dma + dq[DQ_USED] + 2, &used_idx, 2);
				dev++;
				served++;
			}
			/*
			 * The interrupt for these completions: on every other case the second
			 * one is lost, and the main loop's look before it sleeps (pt_poll)
			 * must find them and mark the interrupt pending, whose pt_irq then
			 * reaps them as the interrupt's would have.
			 */
			bool lost = round == 1 && (cases & 1) && served != 0 && dq[DQ_IN_FLIGHT] != 0 &&
				    (uint16_t)dq[DQ_LAST_USED] != used_idx && (pt[PT_CTRL] & 1) && !pt[PT_BROKEN];
			if (lost) {
				uint32_t polled = pt[PT_N_POLLED];
				marked = 0;
				if (pt_poll() != 0 || marked != 1 || pt[PT_N_POLLED] != polled + 1)
					exit(9);
			} else {
				isr_pending = 1;
			}
			if (!pt_irq(INTID))
				irqs_js |= 1u << round;
		}
		/* nothing returned that was not reaped: no interrupt marked; chains still in flight: look again later */
		if ((uint16_t)dq[DQ_LAST_USED] == used_idx) {
			marked = 0;
			uint64_t next = pt_poll();
			if (marked || next != ((pt[PT_CTRL] & 1) && !pt[PT_BROKEN] && dq[DQ_IN_FLIGHT] ? PT_POLL_NS : UINT64_MAX))
				exit(9);
		}
		cases++;
		put(notifies);
		put(kicks);
		put(irqs_js);
		put(pt[PT_EVENTS]);
		for (uint32_t i = 0; i < PT_EVENT_RECORD_WORDS * pt[PT_EVENTS]; i++)
			put(init.events[i]);
		write_all(dp, sizeof dp);
		write_all(shmem, shmem_size);
		write_all(disk, disk_size);
		pt_disk_remove(p);
		d->pt = NULL;
		free(shmem), free(dma), free(next), free(count), free(writable), free(tokens), free(disk);
		free(init.reqs), free(init.events);
	}
}
