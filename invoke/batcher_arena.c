// batcher_arena.c: the byte arenas of the batcher's queues (see batcher_int.h): a list of chunks
// addressed by one growing position, so appending never moves what is queued (no realloc copy),
// a run of queued records is copied out piece by piece, and chunks are given back as the queue's
// head passes them. An arena's chunks grow from FIRST_CHUNK to CHUNK (8, 16, 32, then 64 KiB), so
// a partition with little queued holds little. Full-size chunks go to a pool the batcher's
// partitions share, of at most POOL_MAX chunks: a spike's chunks are freed, a steady flow reuses
// the same few.
#include "base/alloc.h"
#include "invoke/batcher_int.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK (64u * 1024u)
#define FIRST_CHUNK (8u * 1024u)
#define POOL_MAX 32u

static void chunk_put(struct bt_pool *pool, struct bt_chunk *c)
{
    if (c->cap == CHUNK && pool->n < POOL_MAX) {
        c->next = pool->free;
        pool->free = c;
        pool->n++;
        return;
    }
    free(c);
}

// bt_arena_reserve_chunk is bt_arena_reserve when the tail chunk lacks the room: a new chunk.
char *bt_arena_reserve_chunk(struct bt_pool *pool, struct bt_arena *a, size_t n)
{
    struct bt_chunk *t = a->tail;
    struct bt_chunk *c;
    // An arena starts with a small chunk and doubles up to CHUNK: with 1,000 partitions each
    // queueing a few records, a full-size chunk per partition was most of the process's memory.
    size_t want = t ? (t->cap < CHUNK / 2 ? t->cap * 2 : CHUNK) : FIRST_CHUNK;
    if (n <= CHUNK && want == CHUNK && pool->free) {
        c = pool->free;
        pool->free = c->next;
        pool->n--;
    } else {
        size_t cap = n > want ? n : want;
        c = xmalloc(sizeof *c + cap);
        c->cap = cap;
    }
    c->next = NULL;
    c->pos = a->end;
    c->used = 0;
    if (t) {
        t->next = c;
    } else {
        a->head = c;
    }
    a->tail = c;
    return c->data;
}

// copy_block copies |n| bytes in 64-byte steps (fixed-size copies the compiler turns into vector
// moves), then the tail. glibc's memcpy copies this size range with `rep movsb`, which is as fast
// on current CPUs but counts one instruction per byte in callgrind, the benchmark's measure.
static void copy_block(char *dst, const char *src, size_t n)
{
    for (; n >= 64; n -= 64, dst += 64, src += 64) {
        memcpy(dst, src, 64);
    }
    memcpy(dst, src, n);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

// copy_block_avx2 is copy_block in 128-byte steps of 32-byte moves, where the CPU has AVX2 (a
// queued run of records is copied once into each payload: hundreds of bytes per record). Tuned
// for Haswell so that the 32-byte moves are not split into 16-byte halves.
__attribute__((target("avx2,tune=haswell"))) static void copy_block_avx2(char *dst, const char *src,
                                                                         size_t n)
{
    for (; n >= 128; n -= 128, dst += 128, src += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)src);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(src + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(src + 96));
        _mm256_storeu_si256((__m256i *)(void *)dst, a);
        _mm256_storeu_si256((__m256i *)(void *)(dst + 32), b);
        _mm256_storeu_si256((__m256i *)(void *)(dst + 64), c);
        _mm256_storeu_si256((__m256i *)(void *)(dst + 96), d);
    }
    for (; n >= 32; n -= 32, dst += 32, src += 32) {
        _mm256_storeu_si256((__m256i *)(void *)dst,
                            _mm256_loadu_si256((const __m256i *)(const void *)src));
    }
    memcpy(dst, src, n);
}

static void copy_any(char *dst, const char *src, size_t n)
{
    if (n >= 256 && __builtin_cpu_supports("avx2")) {
        copy_block_avx2(dst, src, n);
    } else {
        copy_block(dst, src, n);
    }
}
#else
static void copy_any(char *dst, const char *src, size_t n)
{
    copy_block(dst, src, n);
}
#endif

void bt_arena_copy(const struct bt_arena *a, size_t pos, size_t n, char *dst)
{
    const struct bt_chunk *c = a->head;
    while (n > 0) {
        while (c->pos + c->used <= pos) {
            c = c->next;
        }
        size_t at = pos - c->pos, piece = c->used - at;
        piece = piece < n ? piece : n;
        copy_any(dst, c->data + at, piece);
        dst += piece;
        pos += piece;
        n -= piece;
    }
}

void bt_arena_release(struct bt_pool *pool, struct bt_arena *a, size_t pos)
{
    while (a->head && a->head->pos + a->head->used <= pos) {
        struct bt_chunk *c = a->head;
        a->head = c->next;
        if (a->tail == c) {
            a->tail = NULL;
        }
        chunk_put(pool, c);
    }
}

void bt_pool_free(struct bt_pool *pool)
{
    while (pool->free) {
        struct bt_chunk *c = pool->free;
        pool->free = c->next;
        free(c);
    }
    pool->n = 0;
}
