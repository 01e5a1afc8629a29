/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host test of the firmware's TLSF allocator (firmware/heap.c): random
 * malloc/realloc/free sequences, seeded and bounded, checking that every
 * block keeps its bytes, blocks never overlap, alignment is 16, statistics
 * add up, and everything coalesces back into one block at the end.
 * Prints "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdint.h>

void *heap_alloc(size_t size);
void *heap_realloc(void *ptr, size_t size);
void heap_free(void *ptr);
size_t heap_usable_size(const void *ptr);
void heap_init(void *base, size_t size);
struct heap_stats { size_t total, used, high_water, free_largest; };
void heap_get_stats(struct heap_stats *st);

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n0 passed, 1 failed\n");
	exit(1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define SLOTS 512
struct slot { uint8_t *p; size_t n; uint8_t tag; };
static struct slot slots[SLOTS];
static int passed, failed;

static void check(int cond, const char *what)
{
	if (cond) passed++;
	else { failed++; fprintf(stderr, "FAIL: %s\n", what); }
}

static int verify(const struct slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i] != (uint8_t)(s->tag + i)) return 0;
	return 1;
}

static size_t pick_size(void)
{
	switch (rnd() % 8) {
	case 0: return rnd() % 16 + 1;
	case 1: case 2: case 3: return rnd() % 256 + 1;
	case 4: case 5: return rnd() % 4096 + 1;
	case 6: return rnd() % 65536 + 1;
	default: return rnd() % (512 * 1024) + 1;
	}
}

int main(void)
{
	size_t heap_size = 16 << 20;
	void *mem = aligned_alloc(4096, heap_size);
	heap_init(mem, heap_size);
	struct heap_stats st0;
	heap_get_stats(&st0);
	check(st0.used == 0 && st0.total > heap_size - 64, "fresh heap is one free block");

	int bad_content = 0, bad_align = 0, bad_overlap = 0, bad_usable = 0;
	for (int iter = 0; iter < 200000; iter++) {
		struct slot *s = &slots[rnd() % SLOTS];
		unsigned op = rnd() % 3;
		if (s->p && op == 0) {
			if (!verify(s)) bad_content++;
			heap_free(s->p);
			s->p = NULL;
		} else if (s->p && op == 1) {
			if (!verify(s)) bad_content++;
			size_t n = pick_size();
			uint8_t *q = heap_realloc(s->p, n);
			if (q) {
				size_t keep = n < s->n ? n : s->n;
				for (size_t i = 0; i < keep; i++)
					if (q[i] != (uint8_t)(s->tag + i)) { bad_content++; break; }
				s->p = q;
				s->n = n;
				for (size_t i = 0; i < n; i++) q[i] = (uint8_t)(s->tag + i);
			}
		} else if (!s->p) {
			size_t n = pick_size();
			uint8_t *q = heap_alloc(n);
			if (q) {
				if ((uintptr_t)q % 16) bad_align++;
				if (heap_usable_size(q) < n) bad_usable++;
				s->p = q;
				s->n = n;
				s->tag = (uint8_t)rnd();
				for (size_t i = 0; i < n; i++) q[i] = (uint8_t)(s->tag + i);
			}
		}
		if (iter % 20000 == 0) {
			for (int a = 0; a < SLOTS; a++) for (int b = a + 1; b < SLOTS; b++) {
				if (!slots[a].p || !slots[b].p) continue;
				uint8_t *a0 = slots[a].p, *a1 = a0 + heap_usable_size(a0);
				uint8_t *b0 = slots[b].p, *b1 = b0 + heap_usable_size(b0);
				if (a0 < b1 && b0 < a1) bad_overlap++;
			}
		}
	}
	check(bad_content == 0, "every block keeps its bytes across malloc/realloc/free");
	check(bad_align == 0, "payloads are 16-byte aligned");
	check(bad_usable == 0, "usable size covers the request");
	check(bad_overlap == 0, "live blocks never overlap");
	size_t used = 0;
	for (int a = 0; a < SLOTS; a++) if (slots[a].p) used += heap_usable_size(slots[a].p);
	struct heap_stats st;
	heap_get_stats(&st);
	check(st.used == used, "used statistic equals the sum of live blocks");
	check(st.high_water >= st.used, "high-water mark is at least current use");
	for (int a = 0; a < SLOTS; a++) heap_free(slots[a].p);
	heap_get_stats(&st);
	check(st.used == 0, "all memory returned");
	check(st.free_largest == st0.total, "free blocks coalesce back into one");
	void *big = heap_alloc(st0.total / 16 * 15);
	check(big != NULL, "15/16 of the heap can be allocated in one block again");
	heap_free(big);
	check(heap_alloc(heap_size * 2) == NULL, "an allocation larger than the heap fails cleanly");
	check(heap_realloc(NULL, 100) != NULL, "realloc(NULL) allocates");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
