/* SPDX-License-Identifier: Apache-2.0 */
/* What picolibc asks of the platform: the console streams, time, process exit. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <signal.h>
#include "firmware.h"

static int libc_putc(char c, FILE *f)
{
	(void)f;
	uart_write(&c, 1);
	return (unsigned char)c;
}

static FILE libc_console = FDEV_SETUP_STREAM(libc_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &libc_console;
FILE *const stdout = &libc_console;
FILE *const stderr = &libc_console;

/* No RTC is assumed: the wall clock starts at the epoch when the firmware starts. */
int gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	uint64_t ns = timer_now_ns();
	tv->tv_sec = (time_t)(ns / 1000000000UL);
	tv->tv_usec = (suseconds_t)(ns % 1000000000UL / 1000);
	return 0;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	(void)clk;
	uint64_t ns = timer_now_ns();
	ts->tv_sec = (time_t)(ns / 1000000000UL);
	ts->tv_nsec = (long)(ns % 1000000000UL);
	return 0;
}

void _exit(int status)
{
	printf("baojs: exit %d\n", status);
	power_off();
}

void abort(void)
{
	panic("abort()");
}

int getpid(void) { return 1; }
int kill(int pid, int sig) { (void)pid; (void)sig; panic("signal %d", sig); }
