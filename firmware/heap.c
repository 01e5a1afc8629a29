/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two-level segregated-fit allocator (TLSF: M. Masmano et al., "TLSF: a new
 * dynamic memory allocator for real-time systems", ECRTS 2004): O(1) malloc
 * and free, good fit, immediate coalescing. It serves QuickJS (through
 * JS_NewRuntime2) and the C library's malloc family.
 *
 * Every block starts with a 16-byte header {prev_phys, size|flags}; payloads
 * are 16-byte aligned; a free block keeps its free-list links in its payload.
 * The heap ends with a zero-size used sentinel block.
 */
#include <string.h>
#include <errno.h>
#include "firmware.h"

#define ALIGN_LOG2 4
#define ALIGN      (1UL << ALIGN_LOG2)
#define SL_LOG2    4
#define SL_COUNT   (1u << SL_LOG2)
#define FL_SHIFT   (SL_LOG2 + ALIGN_LOG2)
#define SMALL      (1UL << FL_SHIFT)
#define FL_COUNT   40

#define F_FREE      1UL
#define F_PREV_FREE 2UL
#define F_MASK      3UL

struct block {
	struct block *prev_phys; /**< the physically previous block (any state) */
	size_t size;             /**< payload bytes | F_FREE | F_PREV_FREE */
	struct block *next_free; /**< free only: next in its size-class list */
	struct block *prev_free; /**< free only: previous in its size-class list */
};

#define HDR       (2 * sizeof(void *))
#define MIN_BLOCK (2 * sizeof(void *))

static struct {
	uint64_t fl_bitmap;
	uint32_t sl_bitmap[FL_COUNT];
	struct block *heads[FL_COUNT][SL_COUNT];
	size_t total, used, high_water;
	char *start, *end;
} tlsf;

static inline size_t bsize(const struct block *b) { return b->size & ~F_MASK; }
static inline void *payload(struct block *b) { return (char *)b + HDR; }
static inline struct block *from_payload(const void *p) { return (struct block *)((char *)p - HDR); }
static inline struct block *next_phys(struct block *b) { return (struct block *)((char *)payload(b) + bsize(b)); }
static inline int fls64(uint64_t x) { return 63 - __builtin_clzll(x); }

static void mapping(size_t size, unsigned *fl, unsigned *sl)
{
	if (size < SMALL) {
		*fl = 0;
		*sl = (unsigned)(size / (SMALL / SL_COUNT));
	} else {
		int f = fls64(size);
		*sl = (unsigned)(size >> (f - SL_LOG2)) ^ SL_COUNT;
		*fl = (unsigned)(f - FL_SHIFT + 1);
	}
}

static void free_list_insert(struct block *b)
{
	unsigned fl, sl;
	mapping(bsize(b), &fl, &sl);
	struct block *h = tlsf.heads[fl][sl];
	b->next_free = h;
	b->prev_free = NULL;
	if (h)
		h->prev_free = b;
	tlsf.heads[fl][sl] = b;
	tlsf.fl_bitmap |= 1UL << fl;
	tlsf.sl_bitmap[fl] |= 1u << sl;
}

static void free_list_remove(struct block *b)
{
	unsigned fl, sl;
	mapping(bsize(b), &fl, &sl);
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		tlsf.heads[fl][sl] = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (!tlsf.heads[fl][sl]) {
		tlsf.sl_bitmap[fl] &= ~(1u << sl);
		if (!tlsf.sl_bitmap[fl])
			tlsf.fl_bitmap &= ~(1UL << fl);
	}
}

/** Finds a free block of at least `size` bytes (a good fit), or NULL. */
static struct block *find_free(size_t size)
{
	unsigned fl, sl;
	if (size >= SMALL)
		size += (1UL << (fls64(size) - SL_LOG2)) - 1; /* round up to the next class */
	mapping(size, &fl, &sl);
	if (fl >= FL_COUNT)
		return NULL;
	uint32_t sl_map = tlsf.sl_bitmap[fl] & (~0u << sl);
	if (!sl_map) {
		uint64_t fl_map = tlsf.fl_bitmap & (~0UL << (fl + 1));
		if (!fl_map)
			return NULL;
		fl = (unsigned)__builtin_ctzll(fl_map);
		sl_map = tlsf.sl_bitmap[fl];
	}
	sl = (unsigned)__builtin_ctz(sl_map);
	return tlsf.heads[fl][sl];
}

static void mark_free(struct block *b)
{
	b->size |= F_FREE;
	struct block *n = next_phys(b);
	n->prev_phys = b;
	n->size |= F_PREV_FREE;
}

static void mark_used(struct block *b)
{
	b->size &= ~F_FREE;
	next_phys(b)->size &= ~F_PREV_FREE;
}

/** Cuts `b` (used) to `size` bytes when the rest can make a block; frees the rest. */
static void trim(struct block *b, size_t size)
{
	size_t have = bsize(b);
	if (have < size + HDR + MIN_BLOCK)
		return;
	struct block *rest = (struct block *)((char *)payload(b) + size);
	rest->size = have - size - HDR;
	rest->prev_phys = b;
	b->size = size | (b->size & F_MASK);
	struct block *n = next_phys(rest);
	n->prev_phys = rest;
	/* merge the remainder with a free successor */
	if (n->size & F_FREE) {
		free_list_remove(n);
		rest->size += bsize(n) + HDR;
		next_phys(rest)->prev_phys = rest;
	}
	mark_free(rest);
	free_list_insert(rest);
}

static size_t adjust(size_t size)
{
	if (size < MIN_BLOCK)
		return MIN_BLOCK;
	return (size + ALIGN - 1) & ~(ALIGN - 1);
}

void heap_init(void *base, size_t size)
{
	memset(&tlsf, 0, sizeof tlsf);
	char *start = (char *)(((uintptr_t)base + ALIGN - 1) & ~(ALIGN - 1));
	char *end = (char *)(((uintptr_t)base + size) & ~(ALIGN - 1));
	tlsf.start = start;
	tlsf.end = end;
	struct block *b = (struct block *)start;
	b->prev_phys = NULL;
	b->size = (size_t)(end - start) - 2 * HDR;
	struct block *sentinel = next_phys(b);
	sentinel->size = 0; /* used, zero size */
	sentinel->prev_phys = b;
	tlsf.total = bsize(b);
	mark_free(b);
	free_list_insert(b);
}

void *heap_alloc(size_t size)
{
	if (size > (size_t)(tlsf.end - tlsf.start))
		return NULL;
	size = adjust(size);
	struct block *b = find_free(size);
	if (!b)
		return NULL;
	free_list_remove(b);
	mark_used(b);
	trim(b, size);
	tlsf.used += bsize(b);
	if (tlsf.used > tlsf.high_water)
		tlsf.high_water = tlsf.used;
	return payload(b);
}

void heap_free(void *ptr)
{
	if (!ptr)
		return;
	struct block *b = from_payload(ptr);
	if ((char *)b < tlsf.start || (char *)b >= tlsf.end || (b->size & F_FREE))
		panic("heap: bad free of %p", ptr);
	tlsf.used -= bsize(b);
	if (b->size & F_PREV_FREE) {
		struct block *p = b->prev_phys;
		free_list_remove(p);
		p->size += bsize(b) + HDR;
		b = p;
	}
	struct block *n = next_phys(b);
	if (n->size & F_FREE) {
		free_list_remove(n);
		b->size += bsize(n) + HDR;
	}
	mark_free(b);
	free_list_insert(b);
}

size_t heap_usable_size(const void *ptr)
{
	return ptr ? bsize(from_payload(ptr)) : 0;
}

void *heap_realloc(void *ptr, size_t size)
{
	if (!ptr)
		return heap_alloc(size);
	if (size == 0) {
		heap_free(ptr);
		return NULL;
	}
	if (size > (size_t)(tlsf.end - tlsf.start))
		return NULL;
	struct block *b = from_payload(ptr);
	size_t want = adjust(size), have = bsize(b);
	if (want <= have) {
		tlsf.used -= have;
		trim(b, want);
		tlsf.used += bsize(b);
		return ptr;
	}
	struct block *n = next_phys(b);
	if ((n->size & F_FREE) && have + HDR + bsize(n) >= want) {
		free_list_remove(n);
		tlsf.used -= have;
		b->size += bsize(n) + HDR;
		next_phys(b)->prev_phys = b;
		next_phys(b)->size &= ~F_PREV_FREE;
		trim(b, want);
		tlsf.used += bsize(b);
		if (tlsf.used > tlsf.high_water)
			tlsf.high_water = tlsf.used;
		return ptr;
	}
	void *q = heap_alloc(size);
	if (!q)
		return NULL;
	memcpy(q, ptr, have);
	heap_free(ptr);
	return q;
}

void heap_get_stats(struct heap_stats *st)
{
	st->total = tlsf.total;
	st->used = tlsf.used;
	st->high_water = tlsf.high_water;
	st->free_largest = 0;
	if (tlsf.fl_bitmap) {
		unsigned fl = (unsigned)fls64(tlsf.fl_bitmap);
		unsigned sl = (unsigned)fls64(tlsf.sl_bitmap[fl]);
		for (struct block *b = tlsf.heads[fl][sl]; b; b = b->next_free)
			if (bsize(b) > st->free_largest)
				st->free_largest = bsize(b);
	}
}

#ifndef HEAP_NO_LIBC /* host tests keep the host's malloc */
/* The C library's allocation functions, on the same heap. */
void *malloc(size_t size) { return heap_alloc(size ? size : 1); }
void free(void *ptr) { heap_free(ptr); }
void *realloc(void *ptr, size_t size) { return heap_realloc(ptr, size); }
size_t malloc_usable_size(void *ptr) { return heap_usable_size(ptr); }
void *calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	void *p = heap_alloc(total ? total : 1);
	if (p)
		memset(p, 0, total);
	return p;
}
void *memalign(size_t align, size_t size) { return align <= ALIGN ? heap_alloc(size) : NULL; }
void *aligned_alloc(size_t align, size_t size) { return memalign(align, size); }
int posix_memalign(void **out, size_t align, size_t size)
{
	void *p = memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
#endif
