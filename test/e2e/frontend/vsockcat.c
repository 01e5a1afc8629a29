/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsockcat: the frontend side of the vsock end-to-end tests. A static arm64
 * Linux program that talks AF_VSOCK to the backend (CID 2) through Linux's
 * own virtio-vsock driver.
 *
 *   vsockcat echo PORT BYTES SEED
 *       one connection: sends BYTES pseudo-random bytes (xorshift32 from
 *       SEED) while reading the echo, compares every byte.
 *   vsockcat many PORT CONNS BYTES
 *       CONNS connections at once, each echoing BYTES bytes of its own
 *       stream (seed = its index + 1), all driven by one poll loop.
 *   vsockcat noread PORT BYTES
 *       a connection that only writes (non-blocking) until the backend
 *       stops taking bytes, then an echo of BYTES on a second connection
 *       while the first is still open and unread.
 *   vsockcat connect PORT
 *       connects and prints how it ended (a port nobody listens on: refused).
 *   vsockcat lines PORT LINE...
 *       sends each LINE with '\n' and prints the answer lines.
 *
 * Each mode prints one result line starting with "vsockcat:"; the exit
 * status is 0 when the mode's check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define MAX_CONNS 256
#define CHUNK 16384

/* FNV-1a 64 over a stream, for the checksums the tests print. */
struct fnv { uint64_t h; };
static void fnv_init(struct fnv *f) { f->h = 0xcbf29ce484222325ull; }
static void fnv_add(struct fnv *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f->h ^= p[i];
		f->h *= 0x100000001b3ull;
	}
}

/* The byte stream of a seed: xorshift32, one byte per step. */
struct gen { uint32_t s; };
static uint8_t gen_next(struct gen *g)
{
	uint32_t x = g->s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	g->s = x;
	return (uint8_t)x;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int vsock_connect(unsigned port, int nonblock)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		printf("vsockcat: socket: %s\n", strerror(errno));
		return -1;
	}
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port };
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* One echo connection in flight. */
struct conn {
	int fd;
	uint64_t total, sent, got;
	struct gen tx, rx;
	struct fnv ftx, frx;
	int connected, bad;
};

static void conn_init(struct conn *c, int fd, uint64_t total, uint32_t seed)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->total = total;
	c->tx.s = c->rx.s = seed ? seed : 1;
	fnv_init(&c->ftx);
	fnv_init(&c->frx);
}

/* Drives every connection to its end with poll; returns the number that failed. */
static int echo_all(struct conn *cs, int n)
{
	static uint8_t buf[CHUNK];
	struct pollfd pfd[MAX_CONNS];
	int live = n, failed = 0;
	while (live > 0) {
		for (int i = 0; i < n; i++) {
			struct conn *c = &cs[i];
			pfd[i].fd = c->got < c->total && !c->bad ? c->fd : -1;
			pfd[i].events = POLLIN | (c->sent < c->total || !c->connected ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 60000) <= 0) {
			printf("vsockcat: poll: %s\n", errno ? strerror(errno) : "no progress in 60 s");
			return n;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = &cs[i];
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			c->connected = 1;
			if (pfd[i].revents & POLLOUT && c->sent < c->total) {
				size_t k = c->total - c->sent < CHUNK ? (size_t)(c->total - c->sent) : CHUNK;
				struct gen save = c->tx;
				for (size_t j = 0; j < k; j++)
					buf[j] = gen_next(&c->tx);
				ssize_t w = send(c->fd, buf, k, MSG_DONTWAIT);
				if (w < 0) {
					c->tx = save;
					if (errno != EAGAIN) {
						printf("vsockcat: connection %d: send: %s\n", i, strerror(errno));
						c->bad = 1;
					}
				} else {
					/* regenerate: only the bytes sent count */
					c->tx = save;
					for (ssize_t j = 0; j < w; j++)
						gen_next(&c->tx);
					fnv_add(&c->ftx, buf, (size_t)w);
					c->sent += (uint64_t)w;
				}
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR) && !c->bad) {
				ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r <= 0) {
					printf("vsockcat: connection %d: %s after %llu of %llu bytes\n", i,
					       r < 0 ? strerror(errno) : "end of stream", (unsigned long long)c->got,
					       (unsigned long long)c->total);
					c->bad = 1;
				} else {
					for (ssize_t j = 0; j < r && !c->bad; j++) {
						if (buf[j] != gen_next(&c->rx)) {
							printf("vsockcat: connection %d: byte %llu differs\n", i,
							       (unsigned long long)(c->got + (uint64_t)j));
							c->bad = 1;
						}
					}
					fnv_add(&c->frx, buf, (size_t)r);
					c->got += (uint64_t)r;
				}
			}
			if (c->bad || c->got == c->total) {
				if (c->bad)
					failed++;
				live--;
				pfd[i].fd = -1;
				close(c->fd);
				c->fd = -1;
				c->got = c->total; /* out of the poll set */
			}
		}
	}
	return failed;
}

static unsigned long arg(const char *s)
{
	return strtoul(s, NULL, 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "echo")) {
		int fd = vsock_connect((unsigned)arg(argv[2]), 0);
		if (fd < 0) {
			printf("vsockcat: connect: %s\n", strerror(errno));
			return 1;
		}
		struct conn c;
		conn_init(&c, fd, arg(argv[3]), (uint32_t)arg(argv[4]));
		uint64_t t0 = now_ns();
		int bad = echo_all(&c, 1);
		uint64_t ns = now_ns() - t0;
		printf("vsockcat: echo bytes %llu sent %016llx received %016llx ns %llu %s\n", (unsigned long long)c.got,
		       (unsigned long long)c.ftx.h, (unsigned long long)c.frx.h, (unsigned long long)ns, bad ? "FAILED" : "ok");
		return bad ? 1 : 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "many")) {
		int n = (int)arg(argv[3]);
		if (n < 1 || n > MAX_CONNS)
			return 2;
		static struct conn cs[MAX_CONNS];
		for (int i = 0; i < n; i++) {
			int fd = vsock_connect((unsigned)arg(argv[2]), 0);
			if (fd < 0) {
				printf("vsockcat: connection %d: connect: %s\n", i, strerror(errno));
				return 1;
			}
			conn_init(&cs[i], fd, arg(argv[4]), (uint32_t)i + 1);
		}
		int bad = echo_all(cs, n);
		printf("vsockcat: many connections %d bytes %lu failed %d %s\n", n, arg(argv[4]), bad, bad ? "FAILED" : "ok");
		return bad ? 1 : 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "noread")) {
		int fd = vsock_connect((unsigned)arg(argv[2]), 0);
		if (fd < 0) {
			printf("vsockcat: connect: %s\n", strerror(errno));
			return 1;
		}
		static uint8_t buf[CHUNK];
		memset(buf, 0x5a, sizeof(buf));
		uint64_t written = 0;
		/* write until the backend stops taking bytes for a second */
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, 1000) <= 0)
				break;
			ssize_t w = send(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				printf("vsockcat: noread: send: %s\n", strerror(errno));
				return 1;
			}
			if (w > 0)
				written += (uint64_t)w;
			if (written > (64ull << 20)) {
				printf("vsockcat: noread: the backend took 64 MiB without the echo being read\n");
				return 1;
			}
		}
		int fd2 = vsock_connect((unsigned)arg(argv[2]), 0);
		if (fd2 < 0) {
			printf("vsockcat: second connection: %s\n", strerror(errno));
			return 1;
		}
		struct conn c;
		conn_init(&c, fd2, arg(argv[3]), 7);
		int bad = echo_all(&c, 1);
		close(fd);
		printf("vsockcat: noread blocked after %llu bytes; second connection echoed %llu bytes %s\n",
		       (unsigned long long)written, (unsigned long long)c.got, bad ? "FAILED" : "ok");
		return bad ? 1 : 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "connect")) {
		int fd = vsock_connect((unsigned)arg(argv[2]), 0);
		if (fd < 0) {
			printf("vsockcat: connect: %s\n", strerror(errno));
			return 1;
		}
		printf("vsockcat: connect: connected\n");
		close(fd);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "lines")) {
		int fd = vsock_connect((unsigned)arg(argv[2]), 0);
		if (fd < 0) {
			printf("vsockcat: connect: %s\n", strerror(errno));
			return 1;
		}
		int want = argc - 3;
		for (int i = 3; i < argc; i++) {
			size_t n = strlen(argv[i]);
			if (send(fd, argv[i], n, 0) != (ssize_t)n || send(fd, "\n", 1, 0) != 1) {
				printf("vsockcat: send: %s\n", strerror(errno));
				return 1;
			}
		}
		char line[2048];
		size_t len = 0;
		while (want > 0) {
			char ch;
			ssize_t r = recv(fd, &ch, 1, 0);
			if (r <= 0)
				break;
			if (ch == '\n' || len == sizeof(line) - 1) {
				line[len] = 0;
				printf("vsockcat: answer %s\n", line);
				len = 0;
				want--;
			} else {
				line[len++] = ch;
			}
		}
		close(fd);
		return want ? 1 : 0;
	}
	fprintf(stderr, "usage: vsockcat echo|many|noread|connect|lines PORT ...\n");
	return 2;
}
