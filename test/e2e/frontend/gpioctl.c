/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gpioctl: the frontend side of the GPIO end-to-end tests. A static arm64
 * Linux program that drives a GPIO chip through the kernel's GPIO character
 * device (uapi v2, <linux/gpio.h>); for a virtio-gpio chip every value read
 * or written becomes a request to the device.
 *
 *   gpioctl info CHIP
 *       the chip's name, label and line count, then each line's name and
 *       direction as the kernel knows them.
 *   gpioctl get CHIP LINE
 *       requests LINE as an input and prints the value read.
 *   gpioctl set CHIP LINE VALUE
 *       requests LINE as an output driving VALUE, reads the line back while
 *       holding it and prints both.
 *
 * Each mode prints lines starting with "gpioctl:"; the exit status is 0
 * when every ioctl succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/gpio.h>

static int fail(const char *what)
{
    printf("gpioctl: %s: %s\n", what, strerror(errno));
    return 1;
}

static int chip_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fail(path);
        exit(1);
    }
    return fd;
}

static int info(const char *path)
{
    int fd = chip_open(path);
    struct gpiochip_info ci;
    memset(&ci, 0, sizeof(ci));
    if (ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &ci) < 0)
        return fail("GPIO_GET_CHIPINFO_IOCTL");
    printf("gpioctl: chip %s label %s lines %u\n", ci.name, ci.label, ci.lines);
    for (unsigned i = 0; i < ci.lines; i++) {
        struct gpio_v2_line_info li;
        memset(&li, 0, sizeof(li));
        li.offset = i;
        if (ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0)
            return fail("GPIO_V2_GET_LINEINFO_IOCTL");
        printf("gpioctl: line %u name %s direction %s\n", i, li.name[0] ? li.name : "-",
               (li.flags & GPIO_V2_LINE_FLAG_OUTPUT) ? "out" : "in");
    }
    close(fd);
    return 0;
}

/* Requests one line with `flags` (and output `value`); returns the line's fd. */
static int request_line(int chip, unsigned line, unsigned long long flags, int value)
{
    struct gpio_v2_line_request req;
    memset(&req, 0, sizeof(req));
    req.offsets[0] = line;
    req.num_lines = 1;
    strcpy(req.consumer, "gpioctl");
    req.config.flags = flags;
    if (flags & GPIO_V2_LINE_FLAG_OUTPUT) {
        req.config.num_attrs = 1;
        req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
        req.config.attrs[0].attr.values = value ? 1 : 0;
        req.config.attrs[0].mask = 1;
    }
    if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
        fail("GPIO_V2_GET_LINE_IOCTL");
        exit(1);
    }
    return req.fd;
}

static int read_line(int fd)
{
    struct gpio_v2_line_values v = { .bits = 0, .mask = 1 };
    if (ioctl(fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0) {
        fail("GPIO_V2_LINE_GET_VALUES_IOCTL");
        exit(1);
    }
    return (int)(v.bits & 1);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return info(argv[2]);
    if (argc == 4 && strcmp(argv[1], "get") == 0) {
        int chip = chip_open(argv[2]);
        unsigned line = (unsigned)strtoul(argv[3], NULL, 0);
        int fd = request_line(chip, line, GPIO_V2_LINE_FLAG_INPUT, 0);
        printf("gpioctl: get %u value %d\n", line, read_line(fd));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "set") == 0) {
        int chip = chip_open(argv[2]);
        unsigned line = (unsigned)strtoul(argv[3], NULL, 0);
        int value = atoi(argv[4]) ? 1 : 0;
        int fd = request_line(chip, line, GPIO_V2_LINE_FLAG_OUTPUT, value);
        printf("gpioctl: set %u value %d read back %d\n", line, value, read_line(fd));
        return 0;
    }
    fprintf(stderr, "usage: gpioctl info CHIP | get CHIP LINE | set CHIP LINE VALUE\n");
    return 2;
}
