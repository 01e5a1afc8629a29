/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkbench: the frontend side of `npm run bench`. A static arm64 Linux
 * program that measures a block device with O_DIRECT (no page cache) and
 * reads guest time with clock_gettime(CLOCK_MONOTONIC) (under QEMU
 * `-icount shift=0`, one ns per guest instruction).
 *
 *   blkbench seq read|write DEV BS COUNT
 *       COUNT requests of BS bytes, one after the other, from offset 0
 *       (wrapping at the device's end): sequential throughput at queue depth 1.
 *       Each request's buffer is one 4 KiB page given BS/4096 times
 *       (preadv/pwritev), so every request has BS/4096 data segments
 *       whatever the frontend's memory history: a buffer of BS fresh bytes
 *       is physically contiguous in as many places as the page allocator
 *       happens to allow, and Linux merges those pages into fewer segments.
 *       The frontend's free memory fragments over a boot, so such requests
 *       cost the frontend, the device and the backend more with every run
 *       (for 64 KiB writes, 14,000 more guest instructions per request after
 *       a dozen runs), and two systems with different histories were not
 *       compared on the same requests.
 *   blkbench rand DEV BS COUNT QD SEED
 *       COUNT reads of BS bytes at random BS-aligned offsets, QD of them in
 *       flight at once through Linux AIO (io_submit/io_getevents, raw
 *       syscalls): IOPS at queue depth QD.
 *   blkbench now
 *       CLOCK_BOOTTIME in ns.
 *
 * Each measurement prints one line:
 *   blkbench: <op> bs <BS> count <N> qd <QD> bytes <B> ns <T> errors <E>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *aligned(size_t size)
{
	void *p;
	if (posix_memalign(&p, 4096, size)) {
		perror("blkbench: posix_memalign");
		exit(1);
	}
	memset(p, 0x5a, size);
	return p;
}

static uint64_t dev_size(int fd)
{
	uint64_t size = 0;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	return size;
}

/** xorshift64*: the random offsets, the same for a given seed. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static int seq(const char *op, const char *dev, size_t bs, long count)
{
	int write_ = strcmp(op, "write") == 0;
	int fd = open(dev, (write_ ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		perror("blkbench: open");
		return 1;
	}
	uint64_t size = dev_size(fd);
	if (size < bs) {
		fprintf(stderr, "blkbench: %s is smaller than %zu bytes\n", dev, bs);
		return 1;
	}
	char *page = aligned(4096);
	size_t nvec = (bs + 4095) / 4096;
	struct iovec *iov = calloc(nvec, sizeof *iov);
	if (!iov || nvec > IOV_MAX) {
		fprintf(stderr, "blkbench: %zu bytes is more than %d pages\n", bs, IOV_MAX);
		return 1;
	}
	for (size_t i = 0; i < nvec; i++) {
		iov[i].iov_base = page;
		iov[i].iov_len = bs - i * 4096 < 4096 ? bs - i * 4096 : 4096;
	}
	uint64_t off = 0, bytes = 0;
	long errors = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < count; i++) {
		if (off + bs > size)
			off = 0;
		ssize_t n = write_ ? pwritev(fd, iov, (int)nvec, (off_t)off) : preadv(fd, iov, (int)nvec, (off_t)off);
		if (n != (ssize_t)bs)
			errors++;
		else
			bytes += (uint64_t)n;
		off += bs;
	}
	if (write_)
		fdatasync(fd);
	uint64_t t1 = now_ns(CLOCK_MONOTONIC);
	printf("blkbench: seq%s bs %zu count %ld qd 1 bytes %llu ns %llu errors %ld\n", op, bs, count,
	       (unsigned long long)bytes, (unsigned long long)(t1 - t0), errors);
	close(fd);
	return errors != 0;
}

static int rand_read(const char *dev, size_t bs, long count, int qd, uint64_t seed)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror("blkbench: open");
		return 1;
	}
	uint64_t blocks = dev_size(fd) / bs;
	if (!blocks || qd < 1 || qd > 256) {
		fprintf(stderr, "blkbench: bad device size or queue depth\n");
		return 1;
	}
	rng_state = seed ? seed : 1;
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, qd, &ctx) < 0) {
		perror("blkbench: io_setup");
		return 1;
	}
	struct iocb *cbs = calloc((size_t)qd, sizeof *cbs);
	struct iocb **ptrs = calloc((size_t)qd, sizeof *ptrs);
	struct io_event *events = calloc((size_t)qd, sizeof *events);
	char *bufs = aligned(bs * (size_t)qd);
	long submitted = 0, done = 0, errors = 0;
	uint64_t bytes = 0;
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	/* Fill the queue, then put one new read in each slot that completes. */
	int n = 0;
	for (int i = 0; i < qd && submitted < count; i++, submitted++) {
		struct iocb *cb = &cbs[i];
		memset(cb, 0, sizeof *cb);
		cb->aio_fildes = (uint32_t)fd;
		cb->aio_lio_opcode = IOCB_CMD_PREAD;
		cb->aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)i * bs);
		cb->aio_nbytes = bs;
		cb->aio_offset = (int64_t)((rng_next() % blocks) * bs);
		cb->aio_data = (uint64_t)i;
		ptrs[n++] = cb;
	}
	if (syscall(SYS_io_submit, ctx, n, ptrs) != n) {
		perror("blkbench: io_submit");
		return 1;
	}
	while (done < count) {
		long got = syscall(SYS_io_getevents, ctx, 1, qd, events, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("blkbench: io_getevents");
			return 1;
		}
		n = 0;
		for (long e = 0; e < got; e++) {
			done++;
			if (events[e].res != (int64_t)bs)
				errors++;
			else
				bytes += bs;
			if (submitted < count) {
				struct iocb *cb = &cbs[events[e].data];
				cb->aio_offset = (int64_t)((rng_next() % blocks) * bs);
				ptrs[n++] = cb;
				submitted++;
			}
		}
		if (n && syscall(SYS_io_submit, ctx, n, ptrs) != n) {
			perror("blkbench: io_submit");
			return 1;
		}
	}
	uint64_t t1 = now_ns(CLOCK_MONOTONIC);
	syscall(SYS_io_destroy, ctx);
	printf("blkbench: randread bs %zu count %ld qd %d bytes %llu ns %llu errors %ld\n", bs, count, qd,
	       (unsigned long long)bytes, (unsigned long long)(t1 - t0), errors);
	close(fd);
	return errors != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("blkbench: now %llu\n", (unsigned long long)now_ns(CLOCK_BOOTTIME));
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "seq") == 0 && (strcmp(argv[2], "read") == 0 || strcmp(argv[2], "write") == 0))
		return seq(argv[2], argv[3], (size_t)strtoul(argv[4], NULL, 0), strtol(argv[5], NULL, 0));
	if (argc == 7 && strcmp(argv[1], "rand") == 0)
		return rand_read(argv[2], (size_t)strtoul(argv[3], NULL, 0), strtol(argv[4], NULL, 0),
				 atoi(argv[5]), strtoull(argv[6], NULL, 0));
	fprintf(stderr, "usage: blkbench seq read|write DEV BS COUNT | rand DEV BS COUNT QD SEED | now\n");
	return 2;
}
