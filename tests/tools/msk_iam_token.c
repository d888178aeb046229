// msk_iam_token.c: kesm's MSK IAM token (sasl/msk_iam.c) for the inputs on stdin, so
// tests/integration/sasl_msk_iam.sh can compare it byte for byte with npm's
// aws-msk-iam-sasl-signer-js (tests/node/msk_iam_token.mjs reads the same lines).
//
// Reads one JSON object per line: {"region", "accessKeyId", "secretAccessKey", "sessionToken"?,
// "now" (Unix seconds), "credentialsExpiry"? (Unix seconds), "userAgent"?}; prints one JSON line
// per input: {"token", "expiryTime" (ms)} or {"error"}. Credentials travel on stdin, never argv.
#include "sasl/msk_iam.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

int main(void)
{
    char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        cJSON *in = cJSON_Parse(line);
        if (!in) {
            continue;
        }
        struct msk_iam_params p = {
            .region = str(in, "region"),
            .access_key_id = str(in, "accessKeyId"),
            .secret_access_key = str(in, "secretAccessKey"),
            .session_token = str(in, "sessionToken"),
            .user_agent = str(in, "userAgent"),
            .now = num(in, "now"),
            .credentials_expiry = num(in, "credentialsExpiry"),
        };
        struct msk_iam_token t;
        struct sasl_err err = {{0}};
        cJSON *out = cJSON_CreateObject();
        if (msk_iam_token_build(&t, &p, &err)) {
            cJSON_AddStringToObject(out, "token", t.token);
            cJSON_AddNumberToObject(out, "expiryTime", (double)t.expiry * 1000.0);
        } else {
            cJSON_AddStringToObject(out, "error", err.msg);
        }
        char *s = cJSON_PrintUnformatted(out);
        puts(s);
        free(s);
        cJSON_Delete(out);
        msk_iam_token_cleanup(&t);
        cJSON_Delete(in);
    }
    return 0;
}
