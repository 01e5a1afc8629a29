// SPDX-License-Identifier: Apache-2.0
/*
 * recappend: the crash-consistency workload of the storage tests, run in
 * the Linux frontend.
 *
 *   recappend append FILE FIRST COUNT   append records FIRST..FIRST+COUNT-1,
 *                                       fsync after each, then print
 *                                       "synced N" once fsync returned
 *   recappend check FILE                read the records from the start:
 *                                       print "records N" (the count of
 *                                       intact records in sequence 0..N-1)
 *                                       and "torn B" (bytes after them)
 *
 * A record: u32 magic, u32 number, u32 payload length (16..4000), payload
 * (bytes derived from the number), u32 CRC-32 of everything before it.
 * After a crash the file may end in a record that was not synced (torn);
 * every record printed as synced must be intact and in sequence.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC 0x52454331u /* "REC1" */
#define MAX_PAYLOAD 4000

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* Payload length and bytes of record `n` (a xorshift stream seeded by n). */
static uint32_t payload(uint32_t n, uint8_t *out)
{
	uint32_t x = n * 2654435761u + 0x9e3779b9u;
	uint32_t len = 16 + (n * 7919u) % (MAX_PAYLOAD - 16);
	for (uint32_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[i] = (uint8_t)x;
	}
	return len;
}

static size_t build(uint32_t n, uint8_t *rec)
{
	uint32_t len = payload(n, rec + 12);
	uint32_t magic = MAGIC;
	memcpy(rec, &magic, 4);
	memcpy(rec + 4, &n, 4);
	memcpy(rec + 8, &len, 4);
	uint32_t c = crc32(rec, 12 + len);
	memcpy(rec + 12 + len, &c, 4);
	return 16 + len;
}

static int append(const char *file, uint32_t first, uint32_t count)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	static uint8_t rec[16 + MAX_PAYLOAD];
	for (uint32_t n = first; n < first + count; n++) {
		size_t len = build(n, rec);
		if (write(fd, rec, len) != (ssize_t)len || fsync(fd) != 0) {
			perror("append");
			return 1;
		}
		printf("synced %u\n", n);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

static int check(const char *file)
{
	FILE *f = fopen(file, "rb");
	uint32_t n = 0;
	long torn = 0;
	if (f) {
		static uint8_t want[16 + MAX_PAYLOAD], got[16 + MAX_PAYLOAD];
		for (;;) {
			size_t len = build(n, want);
			size_t r = fread(got, 1, len, f);
			if (r != len || memcmp(want, got, len) != 0) {
				torn = (long)r;
				int ch;
				while ((ch = fgetc(f)) != EOF)
					torn++;
				break;
			}
			n++;
		}
		fclose(f);
	}
	printf("records %u\ntorn %ld\n", n, torn);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "append") == 0)
		return append(argv[2], (uint32_t)strtoul(argv[3], 0, 0), (uint32_t)strtoul(argv[4], 0, 0));
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	fprintf(stderr, "usage: recappend append FILE FIRST COUNT | recappend check FILE\n");
	return 2;
}
