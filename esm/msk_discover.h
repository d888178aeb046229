// msk_discover.h: an Amazon MSK cluster's bootstrap brokers, from the Kafka API's
// GetBootstrapBrokers (GET /v1/clusters/{clusterArn}/bootstrap-brokers, rest-json, SigV4 service
// "kafka", signed with the AWS credential chain; endpoint https://kafka.<region>.amazonaws.com or
// AWS_ENDPOINT_URL_KAFKA / AWS_ENDPOINT_URL / the profile's, as invoke/aws.h resolves them).
//
// Which broker string a mapping uses follows Lambda (strongest authentication first, no fallback
// to a weaker one once an authentication is configured):
//   CLIENT_CERTIFICATE_TLS_AUTH  -> BootstrapBrokerStringTls            (mutual TLS, port 9094)
//   SASL_SCRAM_512_AUTH          -> BootstrapBrokerStringSaslScram      (SCRAM-SHA-512, 9096)
//   no authentication entry      -> BootstrapBrokerStringSaslIam        (IAM, OAUTHBEARER, 9098)
//                                   else BootstrapBrokerStringTls       (TLS, unauthenticated)
//                                   else BootstrapBrokerString          (plaintext, 9092)
// Each private string, when the cluster has none, falls back to its Public... variant (a cluster
// reachable over public access only).
//
// The response is untrusted: at most ESM_MSK_MAX_RESPONSE bytes (net/ enforces it), JSON checked
// by esm/json_guard.h, the chosen string at most ESM_MSK_MAX_BROKERS entries of host:port (the
// one parser, base/hostport.h), ESM_MSK_MAX_STRING bytes in all.
#ifndef ESM_MSK_DISCOVER_H
#define ESM_MSK_DISCOVER_H

#include "esm/mapping.h"
#include "invoke/aws.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>

#define ESM_MSK_MAX_RESPONSE 65536
#define ESM_MSK_MAX_BROKERS 64
#define ESM_MSK_MAX_STRING 8192

// enum esm_msk_auth: what the mapping authenticates with (from SourceAccessConfigurations).
enum esm_msk_auth {
    ESM_MSK_AUTH_NONE,  // IAM if the cluster offers it, else TLS, else plaintext
    ESM_MSK_AUTH_SCRAM, // SASL_SCRAM_512_AUTH
    ESM_MSK_AUTH_MTLS,  // CLIENT_CERTIFICATE_TLS_AUTH
};

// enum esm_msk_listener: the broker string chosen.
enum esm_msk_listener {
    ESM_MSK_LISTENER_IAM,
    ESM_MSK_LISTENER_SCRAM,
    ESM_MSK_LISTENER_TLS,
    ESM_MSK_LISTENER_PLAINTEXT,
};

// esm_msk_pick chooses the broker string for |auth| from the response body |body| (|len| bytes)
// and writes it to |out| (|cap| bytes; "host:port,host:port"). Returns true with *out_listener
// and *out_member (the response member used), or false with one line in |err|.
bool esm_msk_pick(const char *body, size_t len, enum esm_msk_auth auth, char *out, size_t cap,
                  enum esm_msk_listener *out_listener, const char **out_member, char *err,
                  size_t err_cap);

// esm_msk_path writes the request path /v1/clusters/<ARN, percent-encoded as one segment>/
// bootstrap-brokers to |out|. False if it does not fit.
bool esm_msk_path(const char *arn, char *out, size_t cap);

struct esm_msk_discover;

// esm_msk_done_fn: |brokers| and |listener| on success; NULL with |why| (the mapping's reason)
// and |err| otherwise. Called once, from the reactor, never inside esm_msk_discover_start.
typedef void esm_msk_done_fn(void *ctx, const char *brokers, enum esm_msk_listener listener,
                             enum esm_reason why, const char *err);

// esm_msk_discover_start asks for |arn|'s brokers in |region| with the credentials and endpoints
// of |aws| (borrowed). Returns the request (cancel or let it finish), or NULL with |err|.
struct esm_msk_discover *esm_msk_discover_start(struct net_reactor *r, struct inv_aws *aws,
                                                const char *arn, const char *region,
                                                enum esm_msk_auth auth, const char *log_tag,
                                                esm_msk_done_fn *done, void *ctx, char *err,
                                                size_t cap);

// esm_msk_discover_free cancels (no callback) and frees. NULL is a no-op.
void esm_msk_discover_free(struct esm_msk_discover *d);

#endif
