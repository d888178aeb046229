// schema_check.c: see schema_check.h.
#include "tests/lib/schema_check.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef KESM_SRCDIR
#define KESM_SRCDIR "."
#endif

char *src_text(const char *rel, size_t *out_len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", KESM_SRCDIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "src_text: cannot open %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        abort();
    }
    fclose(f);
    b[n] = 0;
    if (out_len) {
        *out_len = (size_t)n;
    }
    return b;
}

static bool same(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        return a->valuedouble == b->valuedouble || (float)a->valuedouble == (float)b->valuedouble;
    }
    if ((a->type & 0xff) != (b->type & 0xff)) {
        return false;
    }
    if (cJSON_IsString(a)) {
        return strcmp(a->valuestring, b->valuestring) == 0;
    }
    if (cJSON_IsArray(a) || cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) {
            return false;
        }
        const cJSON *x = a->child;
        for (; x; x = x->next) {
            const cJSON *y = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(b, x->string)
                                               : cJSON_GetArrayItem(b, 0);
            if (cJSON_IsArray(a)) {
                int i = 0;
                for (const cJSON *k = a->child; k != x; k = k->next) {
                    i++;
                }
                y = cJSON_GetArrayItem(b, i);
            }
            if (!y || !same(x, y)) {
                return false;
            }
        }
        return true;
    }
    return true; // null, true, false: the types matched
}

bool json_same(const char *got, size_t got_len, const char *want, size_t want_len)
{
    cJSON *g = cJSON_ParseWithLength(got, got_len);
    cJSON *w = cJSON_ParseWithLength(want, want_len);
    bool ok = g && w && same(g, w);
    if (!ok) {
        fprintf(stderr, "got:  %.*s\nwant: %.*s\n", (int)got_len, got, (int)want_len, want);
    }
    cJSON_Delete(g);
    cJSON_Delete(w);
    return ok;
}
