// runner_instance.c: one esm_instance per running mapping (see runner_instance.h).
#include "esm/runner_instance.h"

#include "base/log.h"
#include "esm/instance.h"
#include "esm/policy.h"
#include "esm/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runner {
    struct esm_manager *mgr;
    struct net_reactor *r;
    uint32_t drain_ms;
    struct esm_runner_env env;
    struct slot *slots; // every live slot, so that free can release them all
};

// struct slot: the runner's state for one mapping (esm_mapping_runner_data).
struct slot {
    struct slot *next, *prev;
    struct runner *rn;
    struct esm_mapping *m;
    struct esm_instance *in;
    struct esm_config cfg;   // the instance borrows it: a private copy
    struct net_timer *later; // free the instance and report from a clean stack
    bool restart;            // after the current instance stops, start a new one
    bool refreshed;          // Secrets Manager values were re-fetched after an authn failure
    struct esm_secrets_fetch *fetch; // Secrets Manager values being fetched before a start
    enum esm_reason reason;
    char detail[1024];
};

static void slot_free(struct slot *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        s->rn->slots = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    esm_secrets_fetch_cancel(s->fetch);
    esm_instance_free(s->in);
    esm_config_cleanup(&s->cfg);
    net_timer_free(s->later);
    free(s);
}

// report_stopped tells the manager; the slot is gone afterwards.
static void report_stopped(struct slot *s, enum esm_reason reason, const char *detail)
{
    struct esm_manager *mgr = s->rn->mgr;
    struct esm_mapping *m = s->m;
    char text[1024];
    snprintf(text, sizeof text, "%s", detail ? detail : "");
    esm_mapping_set_runner_data(m, NULL);
    slot_free(s);
    esm_manager_on_stopped(mgr, m, reason, text[0] ? text : NULL);
}

static void on_result(void *ctx, const char *result)
{
    struct slot *s = ctx;
    if (!strcmp(result, "OK")) {
        s->refreshed = false; // the fetched secrets work: a later rotation may refresh again
    }
    esm_manager_on_result(s->rn->mgr, s->m, result);
}

static void on_stopped(void *ctx, enum esm_reason reason, const char *detail)
{
    struct slot *s = ctx;
    s->reason = reason;
    snprintf(s->detail, sizeof s->detail, "%s", detail ? detail : "");
    net_timer_arm(s->later, 0);
}

// build makes the instance once every secret is at hand.
static void build(struct slot *s)
{
    enum esm_reason why_reason = ESM_REASON_ESM_CONFIG_NOT_VALID;
    struct esm_instance_opts opts = {.group_id = esm_mapping_uuid(s->m),
                                     .drain_timeout_ms = s->rn->drain_ms,
                                     .secrets = s->rn->env.secrets,
                                     .routes = s->rn->env.routes,
                                     .out_reason = &why_reason,
                                     .mapping_uuid = esm_mapping_uuid(s->m),
                                     .aws = s->rn->env.aws,
                                     .max_concurrency = s->rn->env.max_concurrency};
    struct esm_instance_cb cb = {on_result, on_stopped, s};
    char why[1024];
    if (esm_instance_new(&s->in, s->rn->r, &s->cfg, &opts, &cb, why, sizeof why) != 0) {
        s->in = NULL;
        report_stopped(s, why_reason, why);
        return;
    }
    esm_manager_on_running(s->rn->mgr, s->m);
}

static void fetched(void *ctx, int rc, enum esm_reason reason, const char *err)
{
    struct slot *s = ctx;
    s->fetch = NULL;
    if (rc != 0) {
        report_stopped(s, reason, err);
        return;
    }
    build(s);
}

// launch builds an instance for the mapping's current configuration, after fetching the
// Secrets Manager values it needs.
static void launch(struct slot *s)
{
    struct esm_parse_opts po = {0, NULL, NULL};
    struct esm_cfg_err err;
    esm_config_cleanup(&s->cfg);
    if (!esm_config_parse(&s->cfg, esm_mapping_config(s->m)->request, &po, &err)) {
        report_stopped(s, ESM_REASON_ESM_CONFIG_NOT_VALID, err.message);
        return;
    }
    if (s->rn->env.policy &&
        !esm_policy_check(&s->cfg, s->rn->env.policy, err.message, sizeof err.message)) {
        report_stopped(s, ESM_REASON_ESM_CONFIG_NOT_VALID, err.message);
        return;
    }
    bool remote = false;
    for (size_t i = 0; i < s->cfg.num_sacs; i++) {
        remote = remote || esm_secrets_uses_manager(s->rn->env.secrets, s->cfg.sacs[i].uri);
    }
    if (remote) {
        esm_secrets_fetch_cancel(s->fetch);
        s->fetch = esm_secrets_fetch(s->rn->env.secrets, &s->cfg, fetched, s);
        return;
    }
    build(s);
}

static void later(void *ctx)
{
    struct slot *s = ctx;
    esm_instance_free(s->in);
    s->in = NULL;
    if (s->restart) {
        s->restart = false;
        launch(s);
        return;
    }
    // A rotated secret: authentication failed with values from Secrets Manager, so fetch them
    // again and start once more before giving up.
    if (s->reason == ESM_REASON_EVENT_SOURCE_AUTHN_ERROR && !s->refreshed &&
        esm_secrets_forget(s->rn->env.secrets, &s->cfg) > 0) {
        s->refreshed = true;
        kesm_log(KESM_LOG_WARN, "esm",
                 "mapping %s: authentication failed; fetching its secrets again and restarting",
                 esm_mapping_uuid(s->m));
        launch(s);
        return;
    }
    report_stopped(s, s->reason, s->detail);
}

static void r_start(void *impl, struct esm_mapping *m)
{
    struct runner *rn = impl;
    struct slot *s = calloc(1, sizeof *s);
    if (!s || !(s->later = net_timer_new(rn->r, later, s))) {
        free(s);
        esm_manager_on_stopped(rn->mgr, m, ESM_REASON_ESM_CONFIG_NOT_VALID, "out of memory");
        return;
    }
    s->rn = rn;
    s->m = m;
    s->next = rn->slots;
    if (rn->slots) {
        rn->slots->prev = s;
    }
    rn->slots = s;
    esm_mapping_set_runner_data(m, s);
    launch(s);
}

static void r_update(void *impl, struct esm_mapping *m)
{
    (void)impl;
    struct slot *s = esm_mapping_runner_data(m);
    if (!s) {
        return;
    }
    s->refreshed = false;
    if (s->in) {
        s->restart = true;
        esm_instance_stop(s->in);
    } else {
        launch(s);
    }
}

static void r_stop(void *impl, struct esm_mapping *m)
{
    (void)impl;
    struct slot *s = esm_mapping_runner_data(m);
    if (!s) {
        return;
    }
    s->restart = false;
    esm_secrets_fetch_cancel(s->fetch);
    s->fetch = NULL;
    if (s->in) {
        esm_instance_stop(s->in);
    } else {
        report_stopped(s, ESM_REASON_USER_INITIATED, NULL);
    }
}

// r_free releases instances that never reported stopped (shutdown after its bound): at once,
// without a final commit.
static void r_free(void *impl)
{
    struct runner *rn = impl;
    while (rn->slots) {
        esm_mapping_set_runner_data(rn->slots->m, NULL);
        slot_free(rn->slots);
    }
    free(rn);
}

void esm_runner_instance_metrics(void *impl, struct esm_mapping *m, struct esm_metrics_mapping *out)
{
    struct slot *s = esm_mapping_runner_data(m);
    if (s && s->rn == impl && s->in) {
        esm_instance_metrics(s->in, out);
    }
}

static const struct esm_runner_ops instance_ops = {"instance", r_start, r_update, r_stop, r_free};

void esm_runner_instance_set_env(struct esm_runner rn, const struct esm_runner_env *env)
{
    struct runner *r = rn.impl;
    if (r && env) {
        r->env = *env;
    }
}

struct esm_runner esm_runner_instance_new(struct esm_manager *mgr, struct net_reactor *r,
                                          uint32_t drain_timeout_ms)
{
    struct esm_runner out = {NULL, NULL};
    struct runner *rn = calloc(1, sizeof *rn);
    if (!rn) {
        return out;
    }
    rn->mgr = mgr;
    rn->r = r;
    rn->drain_ms = drain_timeout_ms;
    out.ops = &instance_ops;
    out.impl = rn;
    return out;
}
