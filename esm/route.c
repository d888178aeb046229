// route.c: per-function delivery routes of `kesm serve` (see route.h).
#include "esm/route.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int route_fail(char *err, size_t cap, const char *spec, const char *why)
{
    snprintf(err, cap, "--route '%s': %s", spec, why);
    return -1;
}

static void split_argv(struct esm_route *r, const char *cmd)
{
    size_t n = 0, cap = 4;
    r->argv = xcalloc(cap, sizeof *r->argv);
    for (const char *p = cmd; *p;) {
        while (*p == ' ') {
            p++;
        }
        size_t l = strcspn(p, " ");
        if (l == 0) {
            break;
        }
        if (n + 2 > cap) {
            cap *= 2;
            r->argv = xrealloc(r->argv, cap * sizeof *r->argv);
        }
        r->argv[n] = xmalloc(l + 1);
        memcpy(r->argv[n], p, l);
        r->argv[n][l] = '\0';
        n++;
        p += l;
    }
    r->argv[n] = NULL;
    r->argc = n;
}

int esm_routes_add(struct esm_routes *rs, const char *spec, char *err, size_t cap)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        return route_fail(err, cap, spec, "wants PATTERN=TARGET");
    }
    const char *t = eq + 1;
    struct esm_route r = {0};
    if (!strcmp(t, "lambda")) {
        r.transport = ESM_TRANSPORT_LAMBDA;
    } else if (!strncmp(t, "lambda:", 7) && t[7]) {
        r.transport = ESM_TRANSPORT_LAMBDA;
        r.url = xstrdup(t + 7);
    } else if (!strncmp(t, "http:", 5) && !strncmp(t + 5, "http", 4)) {
        r.transport = ESM_TRANSPORT_HTTP;
        r.url = xstrdup(t + 5);
    } else if (!strncmp(t, "exec:", 5)) {
        r.transport = ESM_TRANSPORT_EXEC;
        split_argv(&r, t + 5);
        if (r.argc == 0) {
            free(r.argv);
            return route_fail(err, cap, spec, "exec: needs a program");
        }
    } else if (!strcmp(t, "stdout")) {
        r.transport = ESM_TRANSPORT_STDOUT;
    } else {
        return route_fail(err, cap, spec,
                          "TARGET must be lambda, lambda:URL, http:URL, exec:PROG [ARG...] or "
                          "stdout");
    }
    size_t pl = (size_t)(eq - spec);
    r.pattern = xmalloc(pl + 1);
    memcpy(r.pattern, spec, pl);
    r.pattern[pl] = '\0';
    rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof *rs->v);
    rs->v[rs->n++] = r;
    return 0;
}

static bool matches(const char *pat, const struct esm_function_ref *fn)
{
    if (!strcmp(pat, "*") || !strcmp(pat, fn->arn)) {
        return true;
    }
    if (!strcmp(pat, fn->name)) {
        return true;
    }
    size_t nl = strlen(fn->name);
    return fn->qualifier && !strncmp(pat, fn->name, nl) && pat[nl] == ':' &&
           !strcmp(pat + nl + 1, fn->qualifier);
}

const struct esm_route *esm_routes_match(const struct esm_routes *rs,
                                         const struct esm_function_ref *fn)
{
    for (size_t i = 0; rs && i < rs->n; i++) {
        if (matches(rs->v[i].pattern, fn)) {
            return &rs->v[i];
        }
    }
    return NULL;
}

void esm_routes_cleanup(struct esm_routes *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].pattern);
        free(rs->v[i].url);
        for (size_t k = 0; k < rs->v[i].argc; k++) {
            free(rs->v[i].argv[k]);
        }
        free(rs->v[i].argv);
    }
    free(rs->v);
    rs->v = NULL;
    rs->n = 0;
}
