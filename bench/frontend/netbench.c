/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netbench: the frontend's network benchmark tool (npm run bench, section
 * "Network"). A static arm64 Linux program; every time is CLOCK_MONOTONIC
 * of the guest (instructions under QEMU -icount shift=0).
 *
 *   netbench udp-send IP PORT FRAME COUNT
 *       sends COUNT UDP datagrams to IP:PORT as fast as the socket takes
 *       them, each making a FRAME-byte Ethernet frame (60..1514: 14 bytes
 *       of Ethernet header, 20 of IPv4, 8 of UDP, the rest payload; no FCS,
 *       which virtio-net does not carry). The payload starts with a 32-bit
 *       sequence number. Prints
 *       "netbench: udp-send frame F count N ns T errors E".
 *   netbench udp-recv PORT COUNT IDLE_MS
 *       receives datagrams on PORT until COUNT arrived or none came for
 *       IDLE_MS after the first; prints
 *       "netbench: udp-recv frames N bytes B ns T reordered R" (T: first to
 *       last datagram; R: datagrams whose sequence number was below one
 *       received before them).
 *   netbench tcp-recv PORT
 *       accepts one TCP connection on PORT and reads it to its end; prints
 *       "netbench: tcp-recv bytes B ns T" (T: first byte to the end).
 *   netbench tcp-send IP PORT BYTES
 *       connects to IP:PORT, sends BYTES bytes, shuts its side down and
 *       waits for the peer to close; prints
 *       "netbench: tcp-send bytes B ns T" (T: connected to the peer's end).
 *   netbench tcp-serve PORT BYTES
 *       accepts one TCP connection on PORT and sends it BYTES bytes as
 *       tcp-send does (for a peer that connects, e.g. through a port
 *       forward); prints "netbench: tcp-serve listening on PORT", then
 *       "netbench: tcp-serve bytes B ns T" (T: accepted to the peer's end).
 *
 * The exit status is 0 unless a system call failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/** Bytes of the Ethernet, IPv4 and UDP headers in front of a datagram's payload. */
#define NETBENCH_UDP_OVERHEAD (14 + 20 + 8)
/** Bytes of one read or write of the TCP modes. */
#define NETBENCH_CHUNK 65536

static unsigned char netbench_buf[NETBENCH_CHUNK];

/** Monotonic time, ns. */
static int64_t netbench_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/** Prints `what` with errno's text and exits with status 1. */
static void netbench_die(const char *what)
{
	fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/** An IPv4 socket address of `ip` (dotted) and `port`; exits on a bad address. */
static struct sockaddr_in netbench_addr(const char *ip, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (ip == NULL) {
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "netbench: %s is not an IPv4 address\n", ip);
		exit(2);
	}
	return a;
}

/** A socket of `type` bound to `port` on every address. */
static int netbench_bind(int type, int port)
{
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		netbench_die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = netbench_addr(NULL, port);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
		netbench_die("bind");
	return fd;
}

static int netbench_udp_send(const char *ip, int port, int frame, long count)
{
	if (frame < 60 || frame > 1514) {
		fprintf(stderr, "netbench: frame %d is outside 60..1514\n", frame);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		netbench_die("socket");
	struct sockaddr_in a = netbench_addr(ip, port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		netbench_die("connect");
	size_t len = (size_t)(frame - NETBENCH_UDP_OVERHEAD);
	long errors = 0;
	int64_t t0 = netbench_now_ns();
	for (long i = 0; i < count; i++) {
		uint32_t seq = htonl((uint32_t)i);
		memcpy(netbench_buf, &seq, sizeof seq);
		/* a full queue (ENOBUFS) or an ICMP error from the peer (ECONNREFUSED): counted, the next is sent */
		if (send(fd, netbench_buf, len, 0) < 0)
			errors++;
	}
	int64_t t1 = netbench_now_ns();
	printf("netbench: udp-send frame %d count %ld ns %lld errors %ld\n", frame, count, (long long)(t1 - t0), errors);
	return 0;
}

static int netbench_udp_recv(int port, long count, int idle_ms)
{
	int fd = netbench_bind(SOCK_DGRAM, port);
	int rcvbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	printf("netbench: udp-recv listening on %d\n", port);
	fflush(stdout);
	long n = 0, reordered = 0;
	long long bytes = 0;
	int64_t first = 0, last = 0;
	uint32_t highest = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (n < count) {
		/* before the first datagram: wait as long as it takes */
		int r = poll(&p, 1, n ? idle_ms : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			netbench_die("poll");
		if (r == 0)
			break;
		ssize_t got = recv(fd, netbench_buf, sizeof netbench_buf, 0);
		if (got < 0)
			netbench_die("recv");
		last = netbench_now_ns();
		if (!n)
			first = last;
		uint32_t seq = 0;
		if (got >= 4) {
			memcpy(&seq, netbench_buf, sizeof seq);
			seq = ntohl(seq);
		}
		if (n && seq < highest)
			reordered++;
		else
			highest = seq;
		n++;
		bytes += got;
	}
	printf("netbench: udp-recv frames %ld bytes %lld ns %lld reordered %ld\n", n, bytes, (long long)(last - first), reordered);
	return 0;
}

static int netbench_tcp_recv(int port)
{
	int ls = netbench_bind(SOCK_STREAM, port);
	if (listen(ls, 1) < 0)
		netbench_die("listen");
	printf("netbench: tcp-recv listening on %d\n", port);
	fflush(stdout);
	int fd = accept(ls, NULL, NULL);
	if (fd < 0)
		netbench_die("accept");
	long long bytes = 0;
	int64_t first = 0;
	for (;;) {
		ssize_t got = read(fd, netbench_buf, sizeof netbench_buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			netbench_die("read");
		if (got == 0)
			break;
		if (!bytes)
			first = netbench_now_ns();
		bytes += got;
	}
	int64_t end = netbench_now_ns();
	printf("netbench: tcp-recv bytes %lld ns %lld\n", bytes, (long long)(bytes ? end - first : 0));
	close(fd);
	close(ls);
	return 0;
}

/**
 * Sends `total` bytes on the connected socket `fd`, shuts its side down
 * and waits for the peer to close; prints the result line of `mode` with
 * the time since `t0` (ns) and closes `fd`.
 */
static int netbench_send_all(int fd, long long total, const char *mode, int64_t t0)
{
	long long sent = 0;
	for (size_t i = 0; i < sizeof netbench_buf; i++)
		netbench_buf[i] = (unsigned char)(i * 131 + 7);
	while (sent < total) {
		size_t want = total - sent < NETBENCH_CHUNK ? (size_t)(total - sent) : NETBENCH_CHUNK;
		ssize_t w = write(fd, netbench_buf, want);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			netbench_die("write");
		sent += w;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		netbench_die("shutdown");
	/* the peer closes once it has read everything: the end of the transfer */
	for (;;) {
		ssize_t got = read(fd, netbench_buf, sizeof netbench_buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
	}
	int64_t t1 = netbench_now_ns();
	printf("netbench: %s bytes %lld ns %lld\n", mode, sent, (long long)(t1 - t0));
	close(fd);
	return 0;
}

static int netbench_tcp_send(const char *ip, int port, long long total)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		netbench_die("socket");
	struct sockaddr_in a = netbench_addr(ip, port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		netbench_die("connect");
	return netbench_send_all(fd, total, "tcp-send", netbench_now_ns());
}

static int netbench_tcp_serve(int port, long long total)
{
	int ls = netbench_bind(SOCK_STREAM, port);
	if (listen(ls, 1) < 0)
		netbench_die("listen");
	printf("netbench: tcp-serve listening on %d\n", port);
	fflush(stdout);
	int fd = accept(ls, NULL, NULL);
	if (fd < 0)
		netbench_die("accept");
	close(ls);
	return netbench_send_all(fd, total, "tcp-serve", netbench_now_ns());
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 6 && !strcmp(argv[1], "udp-send"))
		return netbench_udp_send(argv[2], atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "udp-recv"))
		return netbench_udp_recv(atoi(argv[2]), atol(argv[3]), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "tcp-recv"))
		return netbench_tcp_recv(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "tcp-send"))
		return netbench_tcp_send(argv[2], atoi(argv[3]), atoll(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "tcp-serve"))
		return netbench_tcp_serve(atoi(argv[2]), atoll(argv[3]));
	fprintf(stderr,
			"usage: netbench udp-send IP PORT FRAME COUNT | udp-recv PORT COUNT IDLE_MS |\n"
			"       tcp-recv PORT | tcp-send IP PORT BYTES | tcp-serve PORT BYTES\n");
	return 2;
}
