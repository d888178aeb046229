// sasl_token.h: the OAUTHBEARER token source of a running mapping (broker/sasl.h): Amazon MSK IAM
// tokens signed with the process's AWS credential chain, or the bearer token of a file.
//
// MSK IAM: each exchange asks the chain (invoke/aws.h) for credentials usable now, fetching or
// refreshing them first if needed, and broker/ builds the token (a SigV4 presigned
// kafka-cluster:Connect request for the cluster's region, valid 900 s) from them. A chain error
// (no credentials configured, STS refused) fails that exchange as an authentication failure.
//
// Token file: read again for every exchange (a rotated token is picked up at the next
// re-authentication or reconnect), at most ESM_TOKEN_FILE_MAX bytes, a final newline dropped;
// the buffer is wiped after use. Nothing of a token or a credential is logged.
#ifndef ESM_SASL_TOKEN_H
#define ESM_SASL_TOKEN_H

#include "broker/sasl.h"
#include "invoke/aws.h"

#define ESM_TOKEN_FILE_MAX 65536

struct esm_token_src;

// esm_token_src_msk_iam makes a source of MSK IAM tokens for |region| with the credentials of
// |aws| (borrowed; must outlive the source). |log| names the component for log lines.
struct esm_token_src *esm_token_src_msk_iam(struct inv_aws *aws, const char *region,
                                            const char *log);
// esm_token_src_file makes a source that reads |path| (copied) for every exchange.
struct esm_token_src *esm_token_src_file(const char *path, const char *log);
// esm_token_src_get is what to put in broker_sasl_config.token_source.
const struct broker_sasl_token_source *esm_token_src_get(struct esm_token_src *t);
// esm_token_src_free cancels pending credential requests and frees. Free the broker_sasl using
// it first. NULL is a no-op.
void esm_token_src_free(struct esm_token_src *t);

#endif
