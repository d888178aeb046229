// policy.h: what a mapping created or updated through kesm serve's API may ask for.
//
// The operator decides what runs: `kesm serve` starts a program, posts events to a URL of the
// caller's choosing, sends credentials without TLS, skips certificate checks, reads a file the
// caller names or writes failure records into a directory the caller names only if its operator
// opted in with the matching flag. A request that asks for one of these without the flag is
// refused with InvalidParameterValueException naming the member and the flag, e.g.
//
//   Value 'exec' at 'Kesm.Transport' failed to satisfy constraint: kesm serve runs programs
//   named through its API only when started with --allow-api-exec (the operator's --route
//   exec:... targets need no flag)
//
// The same check runs again when a stored mapping starts (a mapping stored before the operator
// dropped a flag stops with ESM_CONFIG_NOT_VALID and that message instead of running).
// `kesm run` (the operator's own file) applies no policy. The Kesm members that only `kesm run`
// reads (SecretsDir, SecretsManager, SecretsManagerEndpoint) are refused by kesm serve, which
// takes them from its own flags, rather than stored and silently ignored.
#ifndef ESM_POLICY_H
#define ESM_POLICY_H

#include "esm/config.h"

#include <stdbool.h>
#include <stddef.h>

struct esm_policy {
    bool allow_exec;              // --allow-api-exec: Kesm.Transport "exec", Kesm.Command
    bool allow_http;              // --allow-api-http: Kesm.Transport "http", Kesm.Url
    bool allow_plaintext_sasl;    // --allow-api-plaintext-sasl: Kesm.SaslAllowPlaintext, and a
                                  // schema registry's BASIC_AUTH over http://
    bool allow_insecure_tls;      // --allow-api-insecure-tls: Kesm.TlsInsecureSkipVerify
    bool allow_file_secrets;      // --allow-api-file-secrets: file:// access configuration URIs
                                  // (a schema registry's AccessConfigs too)
    bool allow_file_destinations; // --allow-api-file-destinations: file:// on-failure directories
};

// esm_policy_check returns true when |cfg| (validated) stays within |pol|; otherwise false with
// the Lambda-shaped validation message in |why| (every violation listed).
bool esm_policy_check(const struct esm_config *cfg, const struct esm_policy *pol, char *why,
                      size_t why_len);

#endif
