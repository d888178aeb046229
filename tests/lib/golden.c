// golden.c: guarded buffers and golden-file loading for tests.
#include "tests/lib/golden.h"

#include "base/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef KESM_SRCDIR
#define KESM_SRCDIR "."
#endif

void guarded_copy(struct guarded *out, const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page;
    size_t map_len = (data_pages + 1) * page;
    uint8_t *m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    if (mprotect(m + data_pages * page, page, PROT_NONE) != 0) {
        perror("mprotect");
        abort();
    }
    out->map = m;
    out->map_len = map_len;
    out->data = m + data_pages * page - len;
    out->len = len;
    if (len > 0) {
        memcpy(out->data, p, len);
    }
}

void golden_load_guarded(struct guarded *out, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", KESM_SRCDIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "golden file missing: %s\n", path);
        abort();
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    fclose(f);
    guarded_copy(out, buf, len);
    free(buf);
}

void guarded_free(struct guarded *g)
{
    if (g->map) {
        munmap(g->map, g->map_len);
    }
    memset(g, 0, sizeof *g);
}

size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *s = hex; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '|' || *s == '\t') {
            continue;
        }
        int v = hex_value(*s);
        if (v < 0) {
            fprintf(stderr, "hex_decode: bad character '%c'\n", *s);
            abort();
        }
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap) {
            fprintf(stderr, "hex_decode: output too small\n");
            abort();
        }
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) {
        fprintf(stderr, "hex_decode: odd number of digits\n");
        abort();
    }
    return n;
}
