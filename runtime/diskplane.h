/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The disk plane: the hot path of frontend disks that are ranges of a
 * physical virtio-blk disk the backend drives, in C — the passthrough
 * counterpart of the block data plane (dataplane.h).
 *
 * The TypeScript side stays the whole of both devices: `BlkDevice` (the
 * frontend disk: every register, every error, FLUSH, GET_ID, writethrough,
 * splitting, every log line) and `VirtioBlkDriver` (the physical disk:
 * probe, negotiation, configuration, giving up). The driver's queue keeps
 * its state where C can run the same algorithm on it (drvqueue.h), and the
 * frontend's queue is the data plane's (dataplane.h). This file:
 *  - on a QueueNotify of a linked frontend disk (pt_blk_process), places
 *    each well-formed IN/OUT request straight on the physical disk — its
 *    header and status byte in the host's slot for the head it takes, the
 *    frontend's buffers as the data buffers (zero copy: the disk DMAs the
 *    frontend's shared region at the same address, IPA = PA as
 *    src/devices/disk.ts says) — and notifies the disk once. A request
 *    that would need a split, that finds the queue full or JS's backlog
 *    non-empty, a write to a read-only or writethrough disk, any other
 *    type, any malformed chain: handed back untouched, as the data plane
 *    hands back (the QueueNotify then reaches JS);
 *  - on the physical disk's interrupt (pt_irq), reads and acknowledges
 *    InterruptStatus, reaps the used ring, answers its own requests that
 *    succeeded (status byte, frontend used ring, one used buffer
 *    notification per frontend per interrupt), drops answers for a
 *    frontend that was reset since (GENERATION), and leaves everything else
 *    to JS as event records in used-ring order: chains JS placed, its own
 *    requests that failed or whose frontend queue JS holds. JS is called
 *    only when there is such work.
 * Shared words: enum pt_word, pt_req_word, pt_event_word of abi.h
 * (`DiskPlaneWord`, `DiskReqWord`, `DiskEventWord` in src/host.ts).
 */
#ifndef BAOJS_DISKPLANE_H
#define BAOJS_DISKPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include "abi.h"
#include "drvqueue.h"

struct rm_dm;

/** Most physical disks with a disk plane. */
#define PT_DISKS 4

/** One physical disk's plane. */
struct pt_disk {
	bool used;
	uint32_t *st;      /**< PT_STATE_WORDS words */
	struct dq q;       /**< the driver's queue 0 */
	uint32_t *reqs;    /**< PT_REQ_RECORD_WORDS words per head */
	uint32_t *events;  /**< PT_EVENT_RECORD_WORDS words per record, Queue Size records */
	uint64_t mmio;     /**< guest-physical base of the disk's virtio-mmio window */
	uint32_t intid;
	volatile uint32_t acked; /**< InterruptStatus bits pt_irq_ack() acknowledged in IRQ context, for pt_irq() */
	volatile bool masked;    /**< the IRQ handler masked the line (the plane was off): unmask when done */
};

/**
 * Registers a disk plane (host.diskPlane): checks the queue's layout and
 * the slots against the DMA region. Returns the disk, or NULL (table full,
 * a bad layout, an interrupt taken).
 */
struct pt_disk *pt_disk_add(const struct pt_disk *init);

/** How often the plane looks at a disk's used ring while chains are in flight and no interrupt came, ns of guest time. */
#define PT_POLL_NS 10000000ull

/**
 * Called by the main loop before it sleeps (runtime_next_deadline): for
 * each disk whose plane is on with chains in flight, looks at the used
 * ring; if the disk returned chains since the plane last reaped and the
 * interrupt for them has not been taken yet (it may be on its way, or may
 * have been lost), counts PT_N_POLLED and marks the disk's interrupt
 * pending, as if it had come: a lost interrupt never stalls the disk.
 * Returns the deadline (ns, timer_now_ns() time) by which to look again:
 * PT_POLL_NS from now while chains are in flight, 0 if it marked one,
 * else UINT64_MAX. Runs with IRQs masked.
 */
uint64_t pt_poll(void);

/** Forgets disk `p` (its slot is free again); the frontends linked to it must be unlinked first. */
void pt_disk_remove(struct pt_disk *p);

/** The disk with handle `h` (its index), or NULL. */
struct pt_disk *pt_disk_get(uint32_t h);

/** Handle of `p`. */
uint32_t pt_disk_handle(const struct pt_disk *p);

/**
 * Serves queue 0 of frontend disk `d` (its data plane armed, linked to a
 * disk): places requests until the queue is empty or one is handed back.
 * Returns DP_DONE or DP_HANDBACK (then DP_CTRL_QUEUE is cleared, as
 * dp_blk_process does). Never reads or writes outside the frontend's
 * shared region and the DMA region.
 */
int pt_blk_process(struct rm_dm *d);

/**
 * The interrupt of a disk with a plane (main loop, before JS). Returns
 * true when it handled it whole (the interrupt unmasked again); false when
 * JS must run (host.onIrq's handler, which unmasks it) — also for an
 * INTID that is no disk's, or a disk whose plane JS turned off.
 */
bool pt_irq(uint32_t intid);

/* pt_irq_ack(): firmware.h (called from the IRQ handler) */

/* Provided by the firmware (runtime/host.c) or a test harness. */
/** 32-bit read of a device register at guest-physical `addr` (Device memory). */
uint32_t pt_mmio_read32(uint64_t addr);
/** 32-bit write of a device register, after every earlier store to memory the device reads. */
void pt_mmio_write32(uint64_t addr, uint32_t value);
/** Unmasks interrupt `intid` at the interrupt controller (host.irqEnable). */
void pt_irq_unmask(uint32_t intid);

#endif
