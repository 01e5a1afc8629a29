/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Binary stdin/stdout for the native test harnesses: each reads whole
 * records from stdin and answers on stdout (little-endian words).
 */
#ifndef HARNESS_IO_H
#define HARNESS_IO_H
#include <stdio.h>
#include <stdlib.h>

/** Reads exactly n bytes from stdin into p; returns 0 at EOF or on a short read. */
static inline int read_all(void *p, size_t n)
{
	return fread(p, 1, n, stdin) == n;
}

/** Writes n bytes to stdout; exits with status 3 if it cannot. */
static inline void write_all(const void *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n)
		exit(3);
}
#endif
