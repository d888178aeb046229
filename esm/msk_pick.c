// msk_pick.c: the broker string of a GetBootstrapBrokers answer (see esm_msk_pick in
// msk_discover.h). Pure: no I/O, fuzzed by fuzz/fuzz_msk_brokers.c.
#include "base/hostport.h"
#include "esm/json_guard.h"
#include "esm/msk_discover.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

// ---- choosing a broker string ------------------------------------------------------------

struct choice {
    const char *member;
    const char *public_member;
    enum esm_msk_listener listener;
};

static const struct choice iam = {"BootstrapBrokerStringSaslIam",
                                  "BootstrapBrokerStringPublicSaslIam", ESM_MSK_LISTENER_IAM};
static const struct choice scram = {"BootstrapBrokerStringSaslScram",
                                    "BootstrapBrokerStringPublicSaslScram", ESM_MSK_LISTENER_SCRAM};
static const struct choice tls = {"BootstrapBrokerStringTls", "BootstrapBrokerStringPublicTls",
                                  ESM_MSK_LISTENER_TLS};
static const struct choice plain = {"BootstrapBrokerString", NULL, ESM_MSK_LISTENER_PLAINTEXT};

// member finds a response member by its name: the wire uses lowerCamelCase
// (bootstrapBrokerStringSaslIam), the API reference UpperCamelCase; both are accepted.
static const cJSON *member(const cJSON *j, const char *name)
{
    char lower[64];
    snprintf(lower, sizeof lower, "%s", name);
    lower[0] = (char)(lower[0] - 'A' + 'a');
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, lower);
    if (v == NULL) {
        v = cJSON_GetObjectItemCaseSensitive(j, name);
    }
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v : NULL;
}

// check_list validates "host:port,host:port" and copies it to |out|.
static bool check_list(const char *s, const char *name, char *out, size_t cap, char *err,
                       size_t err_cap)
{
    size_t len = strlen(s), n = 0;
    if (len > ESM_MSK_MAX_STRING || len >= cap) {
        snprintf(err, err_cap, "GetBootstrapBrokers: %s is longer than %d bytes", name,
                 ESM_MSK_MAX_STRING);
        return false;
    }
    for (const char *p = s;; n++) {
        size_t l = strcspn(p, ",");
        char one[HOSTPORT_HOST_MAX + 16];
        snprintf(one, sizeof one, "%.*s", (int)(l < sizeof one - 1 ? l : sizeof one - 1), p);
        if (n >= ESM_MSK_MAX_BROKERS) {
            snprintf(err, err_cap, "GetBootstrapBrokers: %s lists more than %d brokers", name,
                     ESM_MSK_MAX_BROKERS);
            return false;
        }
        if (l == 0 || l >= sizeof one || !hostport_valid(one)) {
            char shown[64];
            esm_utf8_sanitize(shown, sizeof shown, p, l);
            snprintf(err, err_cap, "GetBootstrapBrokers: %s entry %zu '%s' is not host:port", name,
                     n + 1, shown);
            return false;
        }
        if (p[l] == '\0') {
            break;
        }
        p += l + 1;
    }
    memcpy(out, s, len + 1);
    return true;
}

static bool pick_one(const cJSON *j, const struct choice *c, char *out, size_t cap,
                     enum esm_msk_listener *out_listener, const char **out_member, char *err,
                     size_t err_cap, bool *found)
{
    const char *name = c->member;
    const cJSON *v = member(j, name);
    if (v == NULL && c->public_member != NULL) {
        name = c->public_member;
        v = member(j, name);
    }
    *found = v != NULL;
    if (v == NULL) {
        return false;
    }
    *out_listener = c->listener;
    *out_member = name;
    return check_list(v->valuestring, name, out, cap, err, err_cap);
}

bool esm_msk_pick(const char *body, size_t len, enum esm_msk_auth auth, char *out, size_t cap,
                  enum esm_msk_listener *out_listener, const char **out_member, char *err,
                  size_t err_cap)
{
    char why[300];
    struct esm_json_limits lim = {.max_depth = 2,
                                  .max_members = 32,
                                  .max_items = 1,
                                  .max_values = 64,
                                  .max_string = ESM_MSK_MAX_STRING + 1};
    cJSON *j = esm_json_parse_guarded(body, len, &lim, why, sizeof why);
    if (j == NULL || !cJSON_IsObject(j)) {
        snprintf(err, err_cap, "GetBootstrapBrokers: the response is not a JSON object (%s)",
                 j ? "another JSON value" : why);
        cJSON_Delete(j);
        return false;
    }
    const struct choice *order[3] = {&iam, &tls, &plain};
    size_t num = 3;
    if (auth == ESM_MSK_AUTH_SCRAM) {
        order[0] = &scram;
        num = 1;
    } else if (auth == ESM_MSK_AUTH_MTLS) {
        order[0] = &tls;
        num = 1;
    }
    bool ok = false, found = false;
    for (size_t i = 0; i < num && !found; i++) {
        ok = pick_one(j, order[i], out, cap, out_listener, out_member, err, err_cap, &found);
    }
    cJSON_Delete(j);
    if (!found) {
        snprintf(err, err_cap,
                 "GetBootstrapBrokers: the cluster offers no %s brokers (%s): enable that "
                 "authentication on the cluster",
                 auth == ESM_MSK_AUTH_SCRAM  ? "SASL/SCRAM"
                 : auth == ESM_MSK_AUTH_MTLS ? "TLS"
                                             : "IAM, TLS or plaintext",
                 order[0]->member);
    }
    return ok;
}
