// creds_probe.c: drives kesm's AWS credential chain (invoke/aws.h) for
// tests/integration/aws_credentials.sh, with a clock the script moves (the chain's test-only
// clock hook), and prints what it got, never a secret itself:
//
//   creds_probe CMD...
//     get        wait for credentials (fetching or refreshing as needed); prints
//                "creds <method> <access key id> <sha256(secret)> <sha256(token)|-> <expiration|->"
//                or "error <permanent|transient> <message>"
//     peek       what a request would be signed with now, without waiting: the "creds" line or
//                "none" (it may start a background refresh)
//     advance:S  move the clock S seconds forward (and write the offset to the file named by
//                CREDS_PROBE_CLOCK_FILE, for a fixture that times its answers by it)
//     run:MS     turn the event loop MS milliseconds (lets a background refresh finish)
//     endpoint:SERVICE  print "endpoint <url> <from>" (SERVICE: lambda sts sqs sns s3 kafka
//                secretsmanager)
#include "invoke/aws.h"
#include "invoke/aws_int.h"
#include "net/reactor.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t offset_s;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL) + offset_s;
}

static void sha_hex(char out[65], const char *s)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), h);
    for (size_t i = 0; i < sizeof h; i++) {
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    }
}

static void print_creds(struct inv_aws *a, const struct inv_creds *c)
{
    char hs[65], ht[65] = "-";
    sha_hex(hs, c->secret_access_key);
    if (c->session_token != NULL) {
        sha_hex(ht, c->session_token);
    }
    long long exp = a->root ? (long long)a->root->expiration : -1;
    printf("creds %s %s %s %s ", inv_aws_creds_method(a), c->access_key_id, hs, ht);
    if (exp >= 0) {
        printf("%lld\n", exp - (long long)test_clock(NULL));
    } else {
        printf("-\n");
    }
    fflush(stdout);
}

struct wait {
    struct net_reactor *r;
    struct inv_aws *a;
    bool done;
};

static void got(void *ctx, const struct inv_creds *creds, const char *err, bool permanent)
{
    struct wait *w = ctx;
    w->done = true;
    if (creds != NULL) {
        print_creds(w->a, creds);
    } else {
        printf("error %s %s\n", permanent ? "permanent" : "transient", err);
        fflush(stdout);
    }
    net_reactor_stop(w->r);
}

static int endpoint(struct inv_aws *a, const char *name)
{
    static const struct {
        const char *name;
        enum inv_aws_service svc;
    } svcs[] = {{"lambda", INV_AWS_LAMBDA},
                {"sts", INV_AWS_STS},
                {"sqs", INV_AWS_SQS},
                {"sns", INV_AWS_SNS},
                {"s3", INV_AWS_S3},
                {"kafka", INV_AWS_KAFKA},
                {"secretsmanager", INV_AWS_SECRETS_MANAGER}};
    for (size_t i = 0; i < sizeof svcs / sizeof svcs[0]; i++) {
        if (strcmp(name, svcs[i].name) == 0) {
            char url[2200];
            const char *from = NULL;
            struct inv_err e = {{0}};
            if (inv_aws_endpoint(a, svcs[i].svc, NULL, NULL, url, sizeof url, &from, &e) != 0) {
                printf("error endpoint %s\n", e.msg);
            } else {
                printf("endpoint %s %s\n", url, from);
            }
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct net_reactor *r = net_reactor_new(NULL);
    struct inv_aws_cfg cfg = {.reactor = r, .clock = test_clock};
    struct inv_aws *a = inv_aws_new(&cfg);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *c = argv[i];
        if (strcmp(c, "get") == 0) {
            struct wait w = {r, a, false};
            uint64_t id = inv_aws_creds_get(a, got, &w);
            uint64_t deadline = net_reactor_now_ms(r) + 60000;
            while (!w.done && net_reactor_now_ms(r) < deadline) {
                net_reactor_run_for(r, 200);
            }
            if (!w.done) {
                inv_aws_creds_cancel(a, id);
                printf("error timeout waiting for credentials\n");
            }
        } else if (strcmp(c, "peek") == 0) {
            const struct inv_creds *cr = inv_aws_creds_peek(a);
            if (cr != NULL) {
                print_creds(a, cr);
            } else {
                printf("none\n");
            }
        } else if (strncmp(c, "advance:", 8) == 0) {
            offset_s += strtoll(c + 8, NULL, 10);
            const char *cf = getenv("CREDS_PROBE_CLOCK_FILE");
            FILE *f = cf ? fopen(cf, "w") : NULL;
            if (f != NULL) {
                fprintf(f, "%lld\n", (long long)offset_s);
                fclose(f);
            }
        } else if (strncmp(c, "run:", 4) == 0) {
            net_reactor_run_for(r, (uint32_t)strtoul(c + 4, NULL, 10));
        } else if (strncmp(c, "endpoint:", 9) != 0 || endpoint(a, c + 9) != 0) {
            fprintf(stderr, "creds_probe: unknown command %s\n", c);
            rc = 2;
        }
        fflush(stdout);
    }
    inv_aws_free(a);
    net_reactor_free(r);
    return rc;
}
