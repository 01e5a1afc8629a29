/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ethflood: the flooding frontend of the network end-to-end tests. A static
 * arm64 Linux program that sends and counts raw Ethernet broadcast frames
 * (AF_PACKET) of one EtherType, 0x88B5 (IEEE 802 local experimental), so
 * that nothing in the receiving kernel answers them.
 *
 *   ethflood send IFACE SECONDS SIZE
 *       sends SIZE-byte frames (60..1514, header included) to
 *       ff:ff:ff:ff:ff:ff as fast as the interface takes them, for SECONDS
 *       of CLOCK_MONOTONIC time; prints "ethflood: sent N frames in S s".
 *   ethflood count IFACE SECONDS
 *       counts the 0x88B5 frames IFACE receives for SECONDS; prints
 *       "ethflood: received N frames in S s".
 *
 * The exit status is 0 unless a system call failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/** The EtherType of the flood: IEEE 802 local experimental 1. */
#define ETHFLOOD_TYPE 0x88B5

/** Monotonic time, seconds. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/** A raw socket bound to IFACE for ETHFLOOD_TYPE; fills `addr` for sendto. Exits on failure. */
static int ethflood_open(const char *iface, struct sockaddr_ll *addr)
{
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETHFLOOD_TYPE));
    if (fd < 0) {
        perror("ethflood: socket");
        exit(1);
    }
    unsigned idx = if_nametoindex(iface);
    if (!idx) {
        perror("ethflood: if_nametoindex");
        exit(1);
    }
    memset(addr, 0, sizeof *addr);
    addr->sll_family = AF_PACKET;
    addr->sll_protocol = htons(ETHFLOOD_TYPE);
    addr->sll_ifindex = (int)idx;
    addr->sll_halen = ETH_ALEN;
    memset(addr->sll_addr, 0xff, ETH_ALEN);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) < 0) {
        perror("ethflood: bind");
        exit(1);
    }
    return fd;
}

/** Sends broadcast frames of `size` bytes for `seconds`. */
static int ethflood_send(const char *iface, double seconds, int size)
{
    struct sockaddr_ll addr;
    int fd = ethflood_open(iface, &addr);
    unsigned char frame[1514];
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("ethflood: SIOCGIFHWADDR");
        return 1;
    }
    memset(frame, 0xff, ETH_ALEN);
    memcpy(frame + ETH_ALEN, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    frame[12] = ETHFLOOD_TYPE >> 8;
    frame[13] = ETHFLOOD_TYPE & 0xff;
    for (int i = 14; i < size; i++) {
        frame[i] = (unsigned char)i;
    }
    unsigned long sent = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        if (sendto(fd, frame, (size_t)size, 0, (struct sockaddr *)&addr, sizeof addr) == size) {
            sent++;
        } else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
            perror("ethflood: sendto");
            return 1;
        }
        t = now_s();
    }
    printf("ethflood: sent %lu frames in %.2f s\n", sent, t - t0);
    return 0;
}

/** Counts received ETHFLOOD_TYPE frames for `seconds`. */
static int ethflood_count(const char *iface, double seconds)
{
    struct sockaddr_ll addr;
    int fd = ethflood_open(iface, &addr);
    unsigned char buf[2048];
    unsigned long received = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        struct pollfd p = {fd, POLLIN, 0};
        int ms = (int)((seconds - (t - t0)) * 1000) + 1;
        if (poll(&p, 1, ms) > 0 && recv(fd, buf, sizeof buf, 0) > 0) {
            received++;
        }
        t = now_s();
    }
    printf("ethflood: received %lu frames in %.2f s\n", received, t - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        int size = atoi(argv[4]);
        if (size < 60 || size > 1514) {
            fprintf(stderr, "ethflood: SIZE must be 60..1514\n");
            return 2;
        }
        return ethflood_send(argv[2], atof(argv[3]), size);
    }
    if (argc == 4 && strcmp(argv[1], "count") == 0) {
        return ethflood_count(argv[2], atof(argv[3]));
    }
    fprintf(stderr, "usage: ethflood send IFACE SECONDS SIZE | ethflood count IFACE SECONDS\n");
    return 2;
}
