// fleet_import.c: `kesm serve --cluster-... --import-state DIR`: a single-node state directory
// written to the fleet's config topic (see fleet.h).
#include "esm/fleet_int.h"
#include "esm/json_guard.h"
#include "esm/store.h"
#include "net/reactor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct import {
    struct esm_fleet *f;
    unsigned sent, ok, failed, skipped;
};

static void import_done(void *ctx, bool ok, const char *why, cJSON *snapshot)
{
    struct import *im = ctx;
    cJSON_Delete(snapshot);
    if (ok) {
        im->ok++;
    } else {
        im->failed++;
        fprintf(stderr, "kesm serve: import: %s\n", why);
    }
}

// import_one writes one state file's mapping (UUID and request kept); a Deleting one is skipped.
static bool import_one(void *ctx, const char *name, const char *text, size_t len, char *why,
                       size_t why_len)
{
    struct import *im = ctx;
    struct esm_json_limits lim;
    esm_json_limits_request(&lim);
    lim.max_depth++;
    char jwhy[300];
    cJSON *o = esm_json_parse_guarded(text, len, &lim, jwhy, sizeof jwhy);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "UUID");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "Request");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "State");
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(o, "LastModified");
    if (!cJSON_IsString(u) || strlen(u->valuestring) != 36 || !cJSON_IsObject(req) ||
        !cJSON_IsString(st) || !cJSON_IsNumber(mod)) {
        snprintf(why, why_len, "%s is not a kesm state file", name);
        cJSON_Delete(o);
        return true; // reported, but never moved aside: the directory is only read
    }
    if (!strcmp(st->valuestring, "Deleting")) {
        im->skipped++;
    } else {
        im->sent++;
        fleet_write(im->f, u->valuestring, req, mod->valuedouble, import_done, im);
    }
    cJSON_Delete(o);
    return true;
}

static void import_report(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "kesm serve: import: %s\n", line);
}

int esm_fleet_import(struct esm_fleet *f, struct net_reactor *r, const char *dir)
{
    char why[512];
    uint64_t deadline = net_reactor_now_ms(r) + 60000;
    while (!fleet_ready(f) && net_reactor_now_ms(r) < deadline) {
        net_reactor_run_for(r, 100);
    }
    if (!fleet_ready(f)) {
        fprintf(stderr, "kesm serve: import: the fleet's config topic could not be read within "
                        "60 s\n");
        return -1;
    }
    struct esm_store *st = esm_store_open(dir, why, sizeof why);
    if (!st) {
        fprintf(stderr, "kesm serve: import: %s\n", why);
        return -1;
    }
    struct import im = {.f = f};
    unsigned loaded = 0, bad = 0;
    int rc = esm_store_load_all(st, import_one, import_report, &im, &loaded, &bad);
    esm_store_free(st);
    while (fleet_pending(f) > 0) {
        net_reactor_run_for(r, 100);
    }
    printf("kesm serve: imported %u mapping%s from %s into the fleet (%u failed, %u being "
           "deleted skipped)\n",
           im.ok, im.ok == 1 ? "" : "s", dir, im.failed, im.skipped);
    fflush(stdout);
    return rc == 0 && im.failed == 0 ? 0 : -1;
}
