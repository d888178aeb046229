// aws_parse_json.c: the JSON credential answers (container endpoint, instance metadata,
// credential_process) and the credential_process command line (see aws_parse.h).
#include "base/alloc.h"
#include "base/buf.h"
#include "invoke/aws_parse.h"
#include "invoke/aws_parse_int.h"
#include "invoke/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- JSON -----------------------------------------------------------------------------------

// unique_member returns the member |name| of |o| if it occurs once; *dup is set when it occurs
// more than once (an ambiguous answer is refused).
static const cJSON *unique_member(const cJSON *o, const char *name, bool *dup)
{
    const cJSON *found = NULL;
    for (const cJSON *c = o->child; c != NULL; c = c->next) {
        if (c->string != NULL && strcmp(c->string, name) == 0) {
            if (found != NULL) {
                *dup = true;
            }
            found = c;
        }
    }
    return found;
}

static enum inv_aws_parse_status json_string(char **out, const cJSON *o, const char *name,
                                             bool required, const char *what, struct inv_err *err)
{
    bool dup = false;
    const cJSON *v = unique_member(o, name, &dup);
    if (dup) {
        inv_fail(err, 0, "%s: member %s appears more than once", what, name);
        return INV_AWS_PARSE_MALFORMED;
    }
    if (v == NULL || cJSON_IsNull(v)) {
        if (required) {
            inv_fail(err, 0, "%s: member %s is missing", what, name);
            return INV_AWS_PARSE_MISSING;
        }
        return INV_AWS_PARSE_OK;
    }
    if (!cJSON_IsString(v)) {
        inv_fail(err, 0, "%s: member %s is not a string", what, name);
        return INV_AWS_PARSE_MISSING;
    }
    *out = xstrdup(v->valuestring);
    return INV_AWS_PARSE_OK;
}

static const char *json_what(enum inv_aws_json_kind kind)
{
    switch (kind) {
    case INV_AWS_JSON_CONTAINER:
        return "container credentials answer";
    case INV_AWS_JSON_IMDS:
        return "instance metadata credentials answer";
    case INV_AWS_JSON_PROCESS:
        return "credential_process output";
    }
    return "credentials answer";
}

static enum inv_aws_parse_status json_members(struct inv_aws_creds_doc *out, const cJSON *j,
                                              enum inv_aws_json_kind kind, struct inv_err *err)
{
    const char *what = json_what(kind);
    bool process = kind == INV_AWS_JSON_PROCESS;
    const char *token_name = process ? "SessionToken" : "Token";
    char *exp = NULL;
    enum inv_aws_parse_status st;
    if ((st = json_string(&out->access_key_id, j, "AccessKeyId", true, what, err)) ||
        (st = json_string(&out->secret_access_key, j, "SecretAccessKey", true, what, err)) ||
        (st = json_string(&out->session_token, j, token_name, !process, what, err)) ||
        (st = json_string(&exp, j, "Expiration", !process, what, err))) {
        free(exp);
        return st;
    }
    if (exp != NULL && !inv_aws_time_parse(exp, strlen(exp), &out->expiration)) {
        free(exp);
        inv_fail(err, 0, "%s: Expiration is not an ISO 8601 time with a zone", what);
        return INV_AWS_PARSE_MISSING;
    }
    free(exp);
    return aws_creds_doc_check(out, what, token_name, err);
}

// json_preamble checks the parts that come before the credentials: the process Version and the
// IMDS Code.
static enum inv_aws_parse_status json_preamble(struct inv_aws_creds_doc *out, const cJSON *j,
                                               enum inv_aws_json_kind kind, struct inv_err *err)
{
    bool dup = false;
    if (kind == INV_AWS_JSON_PROCESS) {
        const cJSON *v = unique_member(j, "Version", &dup);
        if (dup || !cJSON_IsNumber(v) || v->valuedouble != 1.0) {
            inv_fail(err, 0,
                     "credential_process output: Version must be 1 (the only version "
                     "there is)");
            return INV_AWS_PARSE_MISSING;
        }
    }
    if (kind == INV_AWS_JSON_IMDS) {
        const cJSON *c = unique_member(j, "Code", &dup);
        if (cJSON_IsString(c) && strcmp(c->valuestring, "Success") != 0) {
            const cJSON *m = unique_member(j, "Message", &dup);
            snprintf(out->error_code, sizeof out->error_code, "%s", c->valuestring);
            snprintf(out->error_message, sizeof out->error_message, "%s",
                     cJSON_IsString(m) ? m->valuestring : "");
            for (char *p = out->error_code; *p; p++) {
                *p = (unsigned char)*p < 0x20 ? ' ' : *p;
            }
            for (char *p = out->error_message; *p; p++) {
                *p = (unsigned char)*p < 0x20 ? ' ' : *p;
            }
            return INV_AWS_PARSE_SERVICE_ERROR;
        }
    }
    return INV_AWS_PARSE_OK;
}

enum inv_aws_parse_status inv_aws_creds_json_parse(struct inv_aws_creds_doc *out,
                                                   enum inv_aws_json_kind kind, const char *json,
                                                   size_t len, struct inv_err *err)
{
    out->expiration = -1;
    const char *what = json_what(kind);
    if (len > INV_AWS_JSON_MAX) {
        inv_fail(err, 0, "%s: %zu bytes, above the %d-byte limit", what, len, INV_AWS_JSON_MAX);
        return INV_AWS_PARSE_LIMIT;
    }
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        inv_fail(err, 0, "%s: not a JSON object", what);
        return INV_AWS_PARSE_MALFORMED;
    }
    enum inv_aws_parse_status st = json_preamble(out, j, kind, err);
    if (st == INV_AWS_PARSE_OK) {
        st = json_members(out, j, kind, err);
    }
    // The parsed tree held the secret: wipe its strings before freeing.
    for (cJSON *c = j->child; c != NULL; c = c->next) {
        if (cJSON_IsString(c) && c->valuestring != NULL) {
            mem_wipe(c->valuestring, strlen(c->valuestring));
        }
    }
    cJSON_Delete(j);
    if (st != INV_AWS_PARSE_OK && st != INV_AWS_PARSE_SERVICE_ERROR) {
        free(out->access_key_id);
        free_wiped_str(out->secret_access_key);
        free_wiped_str(out->session_token);
        out->access_key_id = out->secret_access_key = out->session_token = NULL;
    }
    return st;
}

// ---- shell split ----------------------------------------------------------------------------

void inv_aws_argv_free(char **argv)
{
    if (argv == NULL) {
        return;
    }
    for (size_t i = 0; argv[i] != NULL; i++) {
        free(argv[i]);
        argv[i] = NULL;
    }
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int inv_aws_shell_split(char **out_argv, size_t cap, const char *cmd, struct inv_err *err)
{
    size_t n = 0, len = strlen(cmd);
    out_argv[0] = NULL;
    if (len > INV_AWS_CMDLINE_MAX) {
        return inv_fail(err, -1, "credential_process: command line above %d characters",
                        INV_AWS_CMDLINE_MAX);
    }
    size_t i = 0;
    while (i < len) {
        if (blank(cmd[i])) {
            i++;
            continue;
        }
        if (n + 1 >= cap || n >= INV_AWS_ARGV_MAX) {
            inv_aws_argv_free(out_argv);
            return inv_fail(err, -1, "credential_process: more than %d words", INV_AWS_ARGV_MAX);
        }
        struct buf w;
        buf_init(&w);
        buf_reserve(&w, 1);
        while (i < len && !blank(cmd[i])) {
            char c = cmd[i++];
            if (c == '\'' || c == '"') {
                while (i < len && cmd[i] != c) {
                    if (c == '"' && cmd[i] == '\\' && i + 1 < len &&
                        (cmd[i + 1] == '"' || cmd[i + 1] == '\\')) {
                        i++;
                    }
                    buf_addc(&w, cmd[i++]);
                }
                if (i >= len) {
                    buf_cleanup(&w);
                    inv_aws_argv_free(out_argv);
                    return inv_fail(err, -1, "credential_process: unterminated %c quote", c);
                }
                i++;
            } else if (c == '\\') {
                if (i >= len) {
                    buf_cleanup(&w);
                    inv_aws_argv_free(out_argv);
                    return inv_fail(err, -1, "credential_process: trailing backslash");
                }
                buf_addc(&w, cmd[i++]);
            } else {
                buf_addc(&w, c);
            }
        }
        out_argv[n++] = buf_steal(&w, NULL);
        out_argv[n] = NULL;
    }
    if (n == 0) {
        return inv_fail(err, -1, "credential_process: empty command");
    }
    return (int)n;
}
