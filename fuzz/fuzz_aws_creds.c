// fuzz_aws_creds.c: the parsers of AWS credential answers (invoke/aws_parse.h) over arbitrary
// bytes. The first byte chooses the parser: 0 STS AssumeRole, 1 STS AssumeRoleWithWebIdentity,
// 2 container JSON, 3 instance metadata JSON, 4 credential_process JSON, 5 ISO 8601 time,
// 6 credential_process command line, 7 a query-protocol error code (xml value).
// Invariants: a success carries valid credentials (key id 16-128 word characters, visible ASCII
// secret and token within their limits) and nothing otherwise; a failure always has a message;
// an error document has a code; the command line splits into 1-64 words of bounded size.
#include "invoke/aws_parse.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_doc(const struct inv_aws_creds_doc *d)
{
    size_t n = strlen(d->access_key_id);
    assert(n >= 16 && n <= INV_AWS_KEY_ID_MAX);
    assert(strlen(d->secret_access_key) >= 1 && strlen(d->secret_access_key) <= INV_AWS_SECRET_MAX);
    for (const char *c = d->secret_access_key; *c; c++) {
        assert(*c > 0x20 && *c < 0x7f);
    }
    if (d->session_token != NULL) {
        assert(strlen(d->session_token) <= INV_AWS_TOKEN_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    struct inv_err e = {{0}};
    struct inv_aws_creds_doc d;
    memset(&d, 0, sizeof d);
    enum inv_aws_parse_status st;
    switch (data[0] & 7) {
    case 0:
    case 1:
        st = inv_aws_sts_parse(
            &d, data[0] & 1 ? "AssumeRoleWithWebIdentityResult" : "AssumeRoleResult", s, len, &e);
        if (st == INV_AWS_PARSE_OK) {
            check_doc(&d);
            assert(d.session_token != NULL && d.expiration >= 0);
        } else if (st == INV_AWS_PARSE_SERVICE_ERROR) {
            assert(d.error_code[0] != '\0' && d.access_key_id == NULL);
        } else {
            assert(e.msg[0] != '\0' && d.access_key_id == NULL && d.secret_access_key == NULL);
        }
        inv_aws_creds_doc_cleanup(&d);
        break;
    case 2:
    case 3:
    case 4: {
        enum inv_aws_json_kind k = (data[0] & 7) == 2   ? INV_AWS_JSON_CONTAINER
                                   : (data[0] & 7) == 3 ? INV_AWS_JSON_IMDS
                                                        : INV_AWS_JSON_PROCESS;
        st = inv_aws_creds_json_parse(&d, k, s, len, &e);
        if (st == INV_AWS_PARSE_OK) {
            check_doc(&d);
        } else if (st != INV_AWS_PARSE_SERVICE_ERROR) {
            assert(e.msg[0] != '\0' && d.secret_access_key == NULL);
        }
        inv_aws_creds_doc_cleanup(&d);
        break;
    }
    case 5: {
        int64_t t = 0;
        if (inv_aws_time_parse(s, len, &t)) {
            assert(t >= -86400 && len >= 20);
        }
        break;
    }
    case 6: {
        char *cmd = malloc(len + 1);
        memcpy(cmd, s, len);
        cmd[len] = '\0';
        char *argv[INV_AWS_ARGV_MAX + 1];
        int n = inv_aws_shell_split(argv, INV_AWS_ARGV_MAX + 1, cmd, &e);
        if (n > 0) {
            assert(n <= INV_AWS_ARGV_MAX && argv[n] == NULL);
            for (int i = 0; i < n; i++) {
                assert(strlen(argv[i]) <= strlen(cmd));
            }
            inv_aws_argv_free(argv);
        } else {
            assert(n == -1 && e.msg[0] != '\0');
        }
        free(cmd);
        break;
    }
    default: {
        static const char *const path[] = {"ErrorResponse", "Error", "Code"};
        char out[64];
        st = inv_aws_xml_value(out, sizeof out, path, 3, s, len, &e);
        assert(st == INV_AWS_PARSE_OK || e.msg[0] != '\0');
        assert(strlen(out) < sizeof out);
        break;
    }
    }
    return 0;
}
