// fuzz_msk_brokers.c: arbitrary bytes as the Kafka API's GetBootstrapBrokers answer, through
// esm_msk_pick (esm/msk_pick.c) for each authentication (the first byte chooses it).
// Invariants: a refusal leaves a non-empty printable reason; an accepted string is what the
// chosen member held, 1-64 comma-separated host:port entries, at most 8 KiB, and the listener
// fits the authentication asked for.
#include "base/hostport.h"
#include "esm/msk_discover.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum esm_msk_auth auth = (enum esm_msk_auth)(data[0] % 3);
    char out[ESM_MSK_MAX_STRING + 1];
    char err[600] = "";
    enum esm_msk_listener l = ESM_MSK_LISTENER_PLAINTEXT;
    const char *member = NULL;
    bool ok = esm_msk_pick((const char *)data + 1, size - 1, auth, out, sizeof out, &l, &member,
                           err, sizeof err);
    if (!ok) {
        assert(err[0] != '\0');
        for (const char *c = err; *c; c++) {
            assert((unsigned char)*c >= 0x20);
        }
        return 0;
    }
    assert(member != NULL && strlen(out) <= ESM_MSK_MAX_STRING);
    if (auth == ESM_MSK_AUTH_SCRAM) {
        assert(l == ESM_MSK_LISTENER_SCRAM);
    } else if (auth == ESM_MSK_AUTH_MTLS) {
        assert(l == ESM_MSK_LISTENER_TLS);
    }
    size_t n = 0;
    for (char *p = out;; n++) {
        size_t len = strcspn(p, ",");
        char one[HOSTPORT_HOST_MAX + 16];
        assert(len > 0 && len < sizeof one);
        memcpy(one, p, len);
        one[len] = '\0';
        assert(hostport_valid(one));
        if (p[len] == '\0') {
            break;
        }
        p += len + 1;
    }
    assert(n < ESM_MSK_MAX_BROKERS);
    return 0;
}
