// fleet_opts.c: the --cluster-* flags of `kesm serve` and the TLS and SASL they describe (see
// fleet.h).
#include "base/log.h"
#include "broker/sasl.h"
#include "consumer/admin.h"
#include "esm/fleet_int.h"
#include "esm/fleet_status.h"
#include "esm/secrets.h"
#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int esm_fleet_flag(struct esm_fleet_opts *o, const char *a, const char *v)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"--cluster-bootstrap", offsetof(struct esm_fleet_opts, bootstrap)},
        {"--cluster-id", offsetof(struct esm_fleet_opts, cluster_id)},
        {"--cluster-ca", offsetof(struct esm_fleet_opts, ca_file)},
        {"--cluster-cert", offsetof(struct esm_fleet_opts, cert_file)},
        {"--cluster-key", offsetof(struct esm_fleet_opts, key_file)},
        {"--cluster-sasl-file", offsetof(struct esm_fleet_opts, sasl_file)},
        {"--cluster-sasl-mechanism", offsetof(struct esm_fleet_opts, sasl_mechanism)},
        {"--import-state", offsetof(struct esm_fleet_opts, import_dir)},
        {"--cluster-node-id", offsetof(struct esm_fleet_opts, node_id)},
    };
    if (!strcmp(a, "--cluster-tls")) {
        o->tls = true;
        return 1;
    }
    if (!strcmp(a, "--cluster-status-interval")) {
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : 0;
        if (!v || !*v || *end || x < FLEET_STATUS_REFRESH_MIN || x > FLEET_STATUS_REFRESH_MAX) {
            fprintf(stderr, "kesm serve: --cluster-status-interval wants %d-%d ms, not '%s'\n",
                    FLEET_STATUS_REFRESH_MIN, FLEET_STATUS_REFRESH_MAX, v ? v : "");
            return -1;
        }
        o->status_ms = x;
        return 2;
    }
    if (!strcmp(a, "--cluster-timeout")) {
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : 0;
        if (!v || !*v || *end || x < 100 || x > 600000) {
            fprintf(stderr, "kesm serve: --cluster-timeout wants 100-600000 ms, not '%s'\n",
                    v ? v : "");
            return -1;
        }
        o->timeout_ms = x;
        return 2;
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!strcmp(a, strs[i].name)) {
            if (!v || !*v) {
                fprintf(stderr, "kesm serve: %s wants a value\n", a);
                return -1;
            }
            *(const char **)((char *)o + strs[i].off) = v;
            return 2;
        }
    }
    return 0;
}

static bool cluster_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 200) {
        return false;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool esm_fleet_wanted(const struct esm_fleet_opts *o)
{
    return o->bootstrap || o->cluster_id;
}

bool esm_fleet_check(const struct esm_fleet_opts *o)
{
    const char *why = NULL;
    bool any_sec = o->tls || o->ca_file || o->cert_file || o->key_file || o->sasl_file ||
                   o->sasl_mechanism || o->timeout_ms || o->node_id || o->status_ms;
    if (!esm_fleet_wanted(o)) {
        if (any_sec || o->import_dir) {
            why = "the --cluster-* flags and --import-state need --cluster-bootstrap and "
                  "--cluster-id";
        }
    } else if (!o->bootstrap || !o->cluster_id) {
        why = "fleet mode needs both --cluster-bootstrap HOST:PORT[,...] and --cluster-id NAME";
    } else if (!cluster_id_ok(o->cluster_id)) {
        why = "--cluster-id wants 1-200 characters of [a-zA-Z0-9._-] (it names the topics "
              "_kesm-NAME-configs and _kesm-NAME-status)";
    } else if (!o->cert_file != !o->key_file) {
        why = "--cluster-cert and --cluster-key go together";
    } else if (o->node_id && !fleet_node_id_ok(o->node_id)) {
        why = "--cluster-node-id wants 1-128 printable ASCII characters without '/', '\"' or "
              "'\\'";
    } else if (o->sasl_mechanism && !o->sasl_file) {
        why = "--cluster-sasl-mechanism needs --cluster-sasl-file";
    }
    if (why) {
        fprintf(stderr, "kesm serve: %s\n", why);
        return false;
    }
    return true;
}

void esm_fleet_usage(FILE *out)
{
    fprintf(out,
            "  Fleet mode (several nodes share their mappings through the cluster):\n"
            "  --cluster-bootstrap HOST:PORT[,...]  the Kafka cluster holding the fleet's topics\n"
            "  --cluster-id NAME   the fleet: topics _kesm-NAME-configs and _kesm-NAME-status\n"
            "  --cluster-tls       TLS to it (system CAs); implied by the next three\n"
            "  --cluster-ca FILE   its CA certificates (PEM)\n"
            "  --cluster-cert FILE / --cluster-key FILE  client certificate and key (PEM)\n"
            "  --cluster-sasl-file FILE  SASL credentials {\"username\",\"password\"} (a file of\n"
            "                      mode 600 or stricter, as file:// secrets of mappings)\n"
            "  --cluster-sasl-mechanism M  SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN\n"
            "  --cluster-timeout MS  how long an API write waits to be read back (10000)\n"
            "  --cluster-node-id ID  this node's name in the status topic (HOSTNAME:API-PORT)\n"
            "  --cluster-status-interval MS  status refresh period (10000; stale after 3)\n"
            "  --import-state DIR  write the mappings of a single-node state directory to the\n"
            "                      fleet (keeping their UUIDs), then exit\n");
}

static int build_sasl(const struct esm_fleet_opts *o, bool tls, struct broker_sasl **out, char *why,
                      size_t why_len)
{
    char uri[4200];
    snprintf(uri, sizeof uri, "file://%s", o->sasl_file);
    enum esm_reason reason;
    char err[600];
    cJSON *j = esm_secret_json(NULL, uri, "--cluster-sasl-file", &reason, err, sizeof err);
    if (!j) {
        snprintf(why, why_len, "%s", err);
        return -1;
    }
    const char *user = esm_secret_member(j, "username");
    const char *pw = esm_secret_member(j, "password");
    int rc = -1;
    if (!user || !pw) {
        snprintf(why, why_len,
                 "--cluster-sasl-file %s has no \"%s\" (it needs \"username\" and "
                 "\"password\")",
                 o->sasl_file, user ? "password" : "username");
    } else {
        struct broker_sasl_config sc = {.mechanism =
                                            o->sasl_mechanism ? o->sasl_mechanism : "SCRAM-SHA-512",
                                        .user = user,
                                        .password = pw,
                                        .tls = tls};
        char serr[256];
        *out = broker_sasl_new_config(&sc, serr, sizeof serr);
        if (*out) {
            rc = 0;
        } else {
            snprintf(why, why_len, "fleet cluster: %s", serr);
        }
    }
    esm_secret_json_free(j);
    return rc;
}

int fleet_security(const struct esm_fleet_opts *o, struct net_tls_ctx **out_tls,
                   struct broker_sasl **out_sasl, char *why, size_t why_len)
{
    *out_tls = NULL;
    *out_sasl = NULL;
    bool tls = o->tls || o->ca_file || o->cert_file;
    if (tls) {
        struct net_tls_config tc = {
            .ca_file = o->ca_file, .cert_file = o->cert_file, .key_file = o->key_file};
        char terr[700];
        *out_tls = net_tls_ctx_new(&tc, terr, sizeof terr);
        if (!*out_tls) {
            snprintf(why, why_len, "fleet cluster TLS: %s", terr);
            return -1;
        }
    }
    if (o->sasl_file && build_sasl(o, tls, out_sasl, why, why_len) != 0) {
        net_tls_ctx_free(*out_tls);
        *out_tls = NULL;
        return -1;
    }
    return 0;
}

struct cons_admin *fleet_create_topic(struct net_reactor *r, const char *bootstrap,
                                      struct net_tls_ctx *tls, const struct broker_auth *auth,
                                      const char *what, const char *name, cons_admin_done_fn *done,
                                      void *ctx)
{
    struct cons_admin_topic t = {.bootstrap = bootstrap,
                                 .tls = tls,
                                 .auth = auth,
                                 .name = name,
                                 .num_partitions = 1,
                                 .replication_factor = -1,
                                 .cleanup_policy = "compact",
                                 .log_tag = "fleet"};
    char err[300];
    kesm_log(KESM_LOG_INFO, "fleet",
             "%s topic %s does not exist: creating it (1 partition, cleanup.policy=compact)", what,
             name);
    struct cons_admin *a = cons_admin_create_topic(r, &t, done, ctx, err, sizeof err);
    if (!a) {
        done(ctx, -1, err);
    }
    return a;
}
