/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Binary stdin/stdout for the native test harnesses: each reads whole
 * records from stdin and answers on stdout (little-endian words).
 */
#ifndef HARNESS_IO_H
#define HARNESS_IO_H
#include <stdio.h>
#include <stdint.h>
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
/** Writes one little-endian u32 word to stdout. */
static inline void put_u32(uint32_t v)
{
	write_all(&v, 4);
}

/** Reads one u32 word from stdin; exits with status 2 at EOF. */
static inline uint32_t get_u32(void)
{
	uint32_t v;
	if (!read_all(&v, 4))
		exit(2);
	return v;
}
#endif
