// dest_kafka.c: the kafka:// on-failure destination (see dest_kafka.h), a thin user of the
// producer (consumer/producer.h).
#include "esm/dest_kafka.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hostport.h"
#include "consumer/producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct esm_dest_kafka {
    struct prod *p;
    char *topic;
};

static uint64_t dk_send(void *ctx, const struct esm_dest_msg *msgs, size_t n,
                        esm_dest_done_fn *done, void *arg)
{
    struct esm_dest_kafka *k = ctx;
    struct prod_msg *pm = xcalloc(n ? n : 1, sizeof *pm);
    for (size_t i = 0; i < n; i++) {
        pm[i] = (struct prod_msg){.key = msgs[i].key.is_null ? NULL : msgs[i].key.p,
                                  .key_len = msgs[i].key.len,
                                  .value = msgs[i].value,
                                  .value_len = msgs[i].value_len};
    }
    uint64_t id = prod_send(k->p, k->topic, pm, n, done, arg);
    free(pm);
    return id;
}

static void dk_cancel(void *ctx, uint64_t id)
{
    struct esm_dest_kafka *k = ctx;
    prod_cancel(k->p, id);
}

struct esm_dest esm_dest_kafka_dest(struct esm_dest_kafka *k)
{
    struct esm_dest d = {dk_send, dk_cancel, k};
    return d;
}

struct esm_dest_kafka *esm_dest_kafka_new(struct net_reactor *r, const char *const *bootstrap,
                                          size_t num_bootstrap, const char *topic,
                                          struct net_tls_ctx *tls, const struct broker_auth *auth,
                                          const char *log_tag, char *err, size_t err_cap)
{
    struct buf list;
    buf_init(&list);
    for (size_t i = 0; i < num_bootstrap || i == 0; i++) {
        const char *b = i < num_bootstrap ? bootstrap[i] : "";
        if (!hostport_valid(b)) {
            snprintf(err, err_cap, "kafka destination: bootstrap server '%s' is not host:port", b);
            buf_cleanup(&list);
            return NULL;
        }
        buf_adds(&list, i ? "," : "");
        buf_adds(&list, b);
    }
    struct prod_config pc = {.bootstrap = buf_cstr(&list),
                             .tls = tls,
                             .auth = auth,
                             .what = "kafka destination",
                             .log_tag = log_tag};
    struct prod *p = prod_new(r, &pc, err, err_cap);
    buf_cleanup(&list);
    if (p == NULL) {
        return NULL;
    }
    struct esm_dest_kafka *k = xcalloc(1, sizeof *k);
    k->p = p;
    k->topic = xstrdup(topic);
    return k;
}

void esm_dest_kafka_free(struct esm_dest_kafka *k)
{
    if (!k) {
        return;
    }
    prod_free(k->p);
    free(k->topic);
    free(k);
}
