// status_cli.c: `kesm status`, a terminal view of a kesm serve's GET /status.json.
#include "esm/status_cli.h"

#include "base/log.h"
#include "esm/status_view.h"
#include "net/http.h"
#include "net/reactor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ENDPOINT "http://127.0.0.1:9320"
#define MAX_BODY (16u << 20)

struct fetch {
    struct net_reactor *r;
    int status;
    char *body;
    size_t len;
    char err[400];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kesm status [--endpoint URL] [-v|--verbose] [--json] [--timeout SECONDS]\n"
            "  Shows what a kesm serve runs, from its GET /status.json: one line per mapping\n"
            "  (health, UUID, state, offset lag, function and topic, last processing result).\n"
            "  --endpoint URL   the server: http://HOST:PORT (default %s), or the full\n"
            "                   URL of a status.json\n"
            "  -v, --verbose    also one line per partition (committed offset, high watermark,\n"
            "                   lag, batches in flight, last delivery, stuck time and cause)\n"
            "  --json           print the document as received instead\n"
            "  --timeout SECONDS  give up after this long (default 10)\n"
            "exit status: 0 nothing stuck; 1 a partition is stuck or a mapping was stopped by a\n"
            "  problem; 2 usage error; 3 the server cannot be reached or did not answer with a\n"
            "  status document\n",
            DEFAULT_ENDPOINT);
}

static void on_done(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    (void)id;
    struct fetch *f = ctx;
    f->status = resp->status;
    if (resp->err != NET_HTTP_OK) {
        snprintf(f->err, sizeof f->err, "%s", resp->error);
    } else {
        f->body = malloc(resp->body_len + 1);
        if (f->body) {
            memcpy(f->body, resp->body, resp->body_len + 1);
            f->len = resp->body_len;
        } else {
            snprintf(f->err, sizeof f->err, "out of memory");
        }
    }
    net_reactor_stop(f->r);
}

// status_url builds the URL of status.json from |endpoint|; -1 when it is not http://.
static int status_url(char *out, size_t cap, const char *endpoint)
{
    if (strncmp(endpoint, "http://", 7) != 0 || !endpoint[7]) {
        return -1;
    }
    size_t n = strlen(endpoint);
    const char *suffix = "/status.json";
    bool full = n > strlen(suffix) && !strcmp(endpoint + n - strlen(suffix), suffix);
    bool has_path = strchr(endpoint + 7, '/') != NULL;
    if (!full && has_path && endpoint[n - 1] != '/') {
        return -1;
    }
    int w = snprintf(out, cap, "%.*s%s", (int)(n - (!full && has_path ? 1 : 0)), endpoint,
                     full ? "" : suffix);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int get(struct fetch *f, const char *url, uint32_t timeout_ms)
{
    struct net_reactor_config rc = {0};
    f->r = net_reactor_new(&rc);
    struct net_http_config hc = {.max_response_body = MAX_BODY,
                                 .connect_timeout_ms = timeout_ms,
                                 .default_timeout_ms = timeout_ms};
    struct net_http *h = f->r ? net_http_new(f->r, &hc) : NULL;
    struct net_http_header accept = {"Accept", "application/json"};
    struct net_http_request req = {"GET", url, &accept, 1, NULL, 0, timeout_ms};
    uint64_t id;
    f->status = -1;
    int rc2 = -1;
    if (!h) {
        snprintf(f->err, sizeof f->err, "cannot start the HTTP client");
    } else if (net_http_request(h, &req, on_done, f, &id, f->err, sizeof f->err) == 0) {
        net_reactor_run(f->r);
        rc2 = f->body ? 0 : -1;
    }
    net_http_free(h);
    net_reactor_free(f->r);
    return rc2;
}

int esm_status_main(int argc, char **argv)
{
    const char *endpoint = DEFAULT_ENDPOINT;
    bool verbose = false, json = false;
    long timeout_s = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--endpoint") && v) {
            endpoint = v;
            i++;
        } else if (!strcmp(a, "--timeout") && v) {
            char *end = NULL;
            timeout_s = strtol(v, &end, 10);
            if (!*v || *end || timeout_s < 1 || timeout_s > 600) {
                fprintf(stderr, "kesm status: --timeout wants 1-600 seconds, not '%s'\n", v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "kesm status: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    char url[2100];
    if (strlen(endpoint) > 2000 || status_url(url, sizeof url, endpoint) != 0) {
        fprintf(stderr,
                "kesm status: --endpoint wants http://HOST:PORT or the URL of a status.json, not "
                "'%.200s'\n",
                endpoint);
        return 2;
    }
    if (!getenv("KESM_LOG_LEVEL")) {
        kesm_log_set_level(KESM_LOG_ERROR); // the client's own retries are not news here
    }
    struct fetch f = {0};
    if (get(&f, url, (uint32_t)timeout_s * 1000) != 0) {
        fprintf(stderr, "kesm status: cannot reach %s: %s\n", url, f.err[0] ? f.err : "no answer");
        return 3;
    }
    int rc = 3;
    char *text = NULL;
    enum esm_status_verdict v = esm_status_view(f.body, f.len, verbose, &text);
    if (f.status != 200) {
        fprintf(stderr, "kesm status: %s answered HTTP %d\n", url, f.status);
    } else if (v == ESM_STATUS_INVALID) {
        fprintf(stderr, "kesm status: %s: %s\n", url, text ? text : "invalid answer");
    } else {
        if (json) {
            fwrite(f.body, 1, f.len, stdout);
            fputc('\n', stdout);
        } else {
            fputs(text ? text : "", stdout);
        }
        rc = v == ESM_STATUS_ATTENTION ? 1 : 0;
    }
    free(text);
    free(f.body);
    return rc;
}
