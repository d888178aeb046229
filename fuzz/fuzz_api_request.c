// fuzz_api_request.c: kesm serve's API request path on arbitrary bytes: the HTTP request parser
// (net/httpd_parse.h) fed in pieces, the header checks (Host, Content-Type, the query string),
// the guarded JSON body (esm/json_guard.h), the CreateEventSourceMapping validation, an update
// merged onto a fixed mapping, and the operator policy (esm/policy.h).
// Input: byte 0 picks how the request bytes are split into pieces (1 to 256 bytes); the rest is
// the request as it would arrive on a connection.
// Invariants: the parser consumes everything it is given until it finishes or fails, a request
// it accepts keeps its body within the limit; what the validation accepts reads back: its stored
// request, printed compactly, passes the guard again (valid UTF-8, no duplicate key, within the
// limits) and validates again to the same shape, and its response document passes the guard.
#include "esm/api.h"
#include "esm/api_int.h"
#include "esm/config.h"
#include "esm/json_guard.h"
#include "esm/policy.h"
#include "net/httpd_parse.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char BASE[] =
    "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":{\"Endpoints\":"
    "{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:9092\"]}},\"Tags\":{\"team\":\"x\"}}";

// reads_back checks the invariant of an accepted configuration.
static void reads_back(const struct esm_config *cfg, const struct esm_parse_opts *po)
{
    char why[300];
    char *text = cJSON_PrintUnformatted(cfg->request);
    assert(text != NULL);
    cJSON *again = esm_json_parse_guarded(text, strlen(text), NULL, why, sizeof why);
    assert(again != NULL);
    struct esm_config c2;
    struct esm_cfg_err err;
    assert(esm_config_parse(&c2, again, po, &err));
    assert(c2.batch_size == cfg->batch_size && c2.num_sacs == cfg->num_sacs);
    struct esm_config_meta meta = {"6476a950-fad8-4b30-9b15-d002db9eb9b1", "Enabled",
                                   "USER_INITIATED", "OK", 1700000000.0};
    cJSON *resp = esm_config_to_response(&c2, &meta);
    char *rtext = cJSON_PrintUnformatted(resp);
    assert(rtext != NULL);
    struct esm_json_limits lim;
    esm_json_limits_request(&lim);
    lim.max_depth++;
    assert(esm_json_scan(rtext, strlen(rtext), &lim, why, sizeof why));
    free(rtext);
    cJSON_Delete(resp);
    esm_config_cleanup(&c2);
    cJSON_Delete(again);
    free(text);
}

static void body(const struct net_httpd_parser *p)
{
    char why[300];
    cJSON *req = esm_json_parse_guarded(p->body ? p->body : "{}", p->body ? p->body_len : 2, NULL,
                                        why, sizeof why);
    if (!req) {
        assert(why[0] != '\0');
        return;
    }
    struct esm_parse_opts po = {1700000000.0, NULL, NULL};
    struct esm_config cfg;
    struct esm_cfg_err err;
    if (esm_config_parse(&cfg, req, &po, &err)) {
        reads_back(&cfg, &po);
        struct esm_policy none = {0};
        char pwhy[2400];
        (void)esm_policy_check(&cfg, &none, pwhy, sizeof pwhy);
        esm_config_cleanup(&cfg);
    } else {
        assert(err.message[0] != '\0');
    }
    struct esm_config base, next;
    assert(esm_config_parse_text(&base, BASE, sizeof BASE - 1, &po, &err));
    if (esm_config_merge_update(&next, &base, req, &po, &err)) {
        reads_back(&next, &po);
        esm_config_cleanup(&next);
    }
    esm_config_cleanup(&base);
    cJSON_Delete(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t piece = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct net_httpd_parser p;
    net_httpd_parser_init(&p, NULL);
    enum net_httpd_parse_status st = NET_HTTPD_PARSE_MORE;
    size_t off = 0;
    while (off < len && st == NET_HTTPD_PARSE_MORE) {
        size_t n = len - off < piece ? len - off : piece, used = 0;
        st = net_httpd_parse(&p, in + off, n, &used);
        assert(used <= n);
        assert(st != NET_HTTPD_PARSE_MORE || used == n);
        off += used;
    }
    if (st == NET_HTTPD_PARSE_ERROR) {
        assert(p.err_status >= 400 && p.err_status <= 505 && p.err[0] != '\0');
    }
    if (st == NET_HTTPD_PARSE_DONE) {
        assert(p.body_len <= p.lim.max_body && p.path != NULL && p.path[0] == '/');
        (void)esm_api_host_ok(net_httpd_find(&p, "Host"), "127.0.0.1", 9320, NULL, 0);
        const char *ct = net_httpd_find(&p, "Content-Type");
        (void)esm_api_json_content_type(ct ? ct : "");
        char v[300];
        (void)esm_api_query_get(p.query, "FunctionName", v, sizeof v);
        (void)esm_api_query_get(p.query, "Marker", v, sizeof v);
        body(&p);
    }
    net_httpd_parser_cleanup(&p);
    return 0;
}
