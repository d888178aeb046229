// test_sigv4.c: SigV4 signing against the AWS test-suite vectors, the Lambda vectors of the
// project's spec, and botocore run as an oracle by the test (tests/oracle/sigv4_botocore.py with
// Debian's /usr/bin/python3 + python3-botocore): fixed-date signing of the same requests, and
// requests built and signed by botocore's real Lambda client (its own URL encoding of function
// names), re-signed here and verified.
#include "base/buf.h"
#include "invoke/credentials.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"
#include "tests/lib/unit.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T20150830 1440938160 // 2015-08-30T12:36:00Z

static const char *oracle = KESM_SRCDIR "/tests/oracle/sigv4_botocore.py";

static void creds_of(struct inv_creds *c, const char *token)
{
    inv_creds_init(c);
    inv_creds_set(c, AKID, SECRET, token, "test");
}

// run_oracle writes |spec| to a temp file, runs the oracle in |mode| and returns its parsed JSON.
static cJSON *run_oracle(const char *mode, cJSON *spec)
{
    char path[] = "/tmp/kesm-sigv4-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *text = cJSON_PrintUnformatted(spec);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    free(text);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s '%s'", oracle, mode, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct buf out;
    buf_init(&out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
        buf_add(&out, chunk, n);
    }
    int status = pclose(p);
    unlink(path);
    if (status != 0) {
        fail_msg("oracle failed (exit status %d): is python3-botocore installed? (%s)", status,
                 cmd);
    }
    cJSON *j = cJSON_ParseWithLength(out.p, out.len);
    assert_non_null(j);
    buf_cleanup(&out);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void test_aws_suite_get_vanilla(void **state)
{
    (void)state;
    struct inv_creds c;
    creds_of(&c, NULL);
    struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}};
    struct sigv4_request req = {"GET", "/", NULL, h, 1, NULL, 0};
    struct buf creq;
    buf_init(&creq);
    assert_int_equal(sigv4_canonical_request(&creq, &req, "20150830T123600Z", NULL, NULL), 0);
    assert_string_equal(buf_cstr(&creq),
                        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    buf_cleanup(&creq);
    struct sigv4_signed s;
    assert_int_equal(sigv4_sign(&s, &c, "us-east-1", "service", T20150830, &req, NULL), 0);
    assert_string_equal(s.amz_date, "20150830T123600Z");
    assert_string_equal(
        s.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert_null(s.security_token);
    sigv4_signed_cleanup(&s);
    inv_creds_cleanup(&c);
}

static void test_spec_lambda_vectors(void **state)
{
    (void)state;
    struct inv_creds c;
    creds_of(&c, NULL);
    struct sigv4_header h[] = {{"Host", "lambda.us-east-1.amazonaws.com"},
                               {"X-Amz-Invocation-Type", "RequestResponse"}};
    const char *body = "{\"hello\":\"world\"}";
    struct sigv4_request req = {
        "POST",      "/2015-03-31/functions/my-function%3Aprod/invocations", NULL, h, 2, body,
        strlen(body)};
    struct buf creq;
    buf_init(&creq);
    assert_int_equal(sigv4_canonical_request(&creq, &req, "20150830T123600Z", NULL, NULL), 0);
    assert_string_equal(buf_cstr(&creq),
                        "POST\n/2015-03-31/functions/my-function%253Aprod/invocations\n\n"
                        "host:lambda.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\n"
                        "x-amz-invocation-type:RequestResponse\n\n"
                        "host;x-amz-date;x-amz-invocation-type\n"
                        "93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588");
    buf_cleanup(&creq);
    struct sigv4_signed s;
    assert_int_equal(sigv4_sign(&s, &c, "us-east-1", "lambda", T20150830, &req, NULL), 0);
    assert_string_equal(s.signature,
                        "2e90c05d39129a6decc903dcc69023e9dd9dd7d3f62f629ab7944d4a95defe34");
    sigv4_signed_cleanup(&s);

    struct sigv4_request list = {"GET",
                                 "/2015-03-31/event-source-mappings",
                                 "FunctionName=my-function&MaxItems=10",
                                 h,
                                 1,
                                 NULL,
                                 0};
    assert_int_equal(sigv4_sign(&s, &c, "us-east-1", "lambda", T20150830, &list, NULL), 0);
    assert_string_equal(s.signature,
                        "3736f50c0f3d629441036e5462071c7cc869dbaccfed8c07776843f15730aab0");
    assert_non_null(strstr(s.authorization, "SignedHeaders=host;x-amz-date,"));
    sigv4_signed_cleanup(&s);
    inv_creds_cleanup(&c);
}

struct oracle_case {
    const char *method, *host, *path, *query, *service, *region, *token, *body;
    struct sigv4_header headers[4];
    size_t num_headers;
};

static const struct oracle_case cases[] = {
    {"POST",
     "lambda.us-east-1.amazonaws.com",
     "/2015-03-31/functions/my-function%3Aprod/invocations",
     NULL,
     "lambda",
     "us-east-1",
     NULL,
     "{\"eventSource\":\"SelfManagedKafka\",\"records\":{}}",
     {{"X-Amz-Invocation-Type", "RequestResponse"}, {"Content-Type", "application/json"}},
     2},
    {"POST",
     "lambda.eu-west-1.amazonaws.com",
     "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aorders/"
     "invocations",
     "Qualifier=live",
     "lambda",
     "eu-west-1",
     "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN+/=",
     "{\"a\":[1,2,3]}",
     {{"X-Amz-Log-Type", "Tail"}},
     1},
    {"GET",
     "lambda.ap-southeast-2.amazonaws.com",
     "/2015-03-31/event-source-mappings/",
     "FunctionName=arn%3Aaws%3Alambda%3Aap-southeast-2%3A123456789012%3Afunction%3Af&MaxItems=10&"
     "Marker=abc%2Fdef",
     "lambda",
     "ap-southeast-2",
     NULL,
     "",
     {{"Accept-Encoding", "identity"}},
     1},
    {"GET",
     "127.0.0.1:18080",
     "/a/./b//c/../d%20e/",
     "b=2&a=1&a=0&c",
     "service",
     "us-east-1",
     "session",
     "",
     {{"X-Dup", "  a   b  "}, {"x-dup", "c"}, {"User-Agent", "kesm"}, {"X-Empty", ""}},
     4},
    {"DELETE",
     "lambda.us-west-2.amazonaws.com",
     "/2015-03-31/event-source-mappings/0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55",
     NULL,
     "lambda",
     "us-west-2",
     NULL,
     "",
     {{"Content-Length", "0"}},
     1},
};

static void test_botocore_oracle_fixed_date(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct oracle_case *k = &cases[i];
        cJSON *spec = cJSON_CreateObject();
        char url[1024];
        snprintf(url, sizeof url, "%s://%s%s%s%s", strchr(k->host, ':') ? "http" : "https", k->host,
                 k->path, k->query ? "?" : "", k->query ? k->query : "");
        cJSON_AddStringToObject(spec, "method", k->method);
        cJSON_AddStringToObject(spec, "url", url);
        cJSON *hs = cJSON_AddArrayToObject(spec, "headers");
        struct sigv4_header h[5] = {{"Host", k->host}};
        for (size_t j = 0; j < k->num_headers; j++) {
            h[j + 1] = k->headers[j];
        }
        for (size_t j = 0; j < k->num_headers + 1; j++) {
            const char *pair[2] = {h[j].name, h[j].value};
            cJSON_AddItemToArray(hs, cJSON_CreateStringArray(pair, 2));
        }
        struct buf hex;
        buf_init(&hex);
        for (const char *b = k->body; *b; b++) {
            char x[3];
            snprintf(x, sizeof x, "%02x", (unsigned char)*b);
            buf_add(&hex, x, 2);
        }
        cJSON_AddStringToObject(spec, "body_hex", buf_cstr(&hex));
        buf_cleanup(&hex);
        cJSON_AddStringToObject(spec, "service", k->service);
        cJSON_AddStringToObject(spec, "region", k->region);
        cJSON_AddStringToObject(spec, "amz_date", "20261126T101112Z");
        cJSON_AddStringToObject(spec, "key", AKID);
        cJSON_AddStringToObject(spec, "secret", SECRET);
        if (k->token) {
            cJSON_AddStringToObject(spec, "token", k->token);
        } else {
            cJSON_AddNullToObject(spec, "token");
        }
        cJSON *o = run_oracle("sign", spec);
        cJSON_Delete(spec);

        struct inv_creds c;
        creds_of(&c, k->token);
        struct sigv4_request req = {k->method,          k->path, k->query,       h,
                                    k->num_headers + 1, k->body, strlen(k->body)};
        struct buf creq;
        buf_init(&creq);
        assert_int_equal(sigv4_canonical_request(&creq, &req, "20261126T101112Z", k->token, NULL),
                         0);
        assert_string_equal(buf_cstr(&creq), jstr(o, "canonical_request"));
        buf_cleanup(&creq);
        struct sigv4_signed s;
        int64_t t = 1795687872; // 2026-11-26T10:11:12Z
        assert_int_equal(sigv4_sign(&s, &c, k->region, k->service, t, &req, NULL), 0);
        assert_string_equal(s.amz_date, "20261126T101112Z");
        assert_string_equal(s.authorization, jstr(o, "authorization"));
        // And the verifier accepts what was signed, as a server would receive it.
        struct sigv4_header rh[8];
        size_t n = 0;
        for (size_t j = 0; j < req.num_headers; j++) {
            rh[n++] = h[j];
        }
        rh[n++] = (struct sigv4_header){"X-Amz-Date", s.amz_date};
        rh[n++] = (struct sigv4_header){"Authorization", s.authorization};
        if (s.security_token) {
            rh[n++] = (struct sigv4_header){"X-Amz-Security-Token", s.security_token};
        }
        struct sigv4_request rr = req;
        rr.headers = rh;
        rr.num_headers = n;
        struct inv_err err;
        if (sigv4_verify(&rr, &c, k->region, k->service, t + 30, 300, &err) != 0) {
            fail_msg("case %zu: verify: %s", i, err.msg);
        }
        sigv4_signed_cleanup(&s);
        inv_creds_cleanup(&c);
        cJSON_Delete(o);
    }
}

// split_url splits "https://host/path?query" into static buffers.
static void split_url(const char *url, char *host, char *path, char *query)
{
    const char *h = strstr(url, "://") + 3;
    const char *p = strchr(h, '/');
    memcpy(host, h, (size_t)(p - h));
    host[p - h] = '\0';
    const char *q = strchr(p, '?');
    size_t pl = q ? (size_t)(q - p) : strlen(p);
    memcpy(path, p, pl);
    path[pl] = '\0';
    strcpy(query, q ? q + 1 : "");
}

static void client_case(const char *operation, const char *params_json, const char *region,
                        const char *token, const char *want_path)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "operation", operation);
    cJSON_AddItemToObject(spec, "params", cJSON_Parse(params_json));
    cJSON_AddStringToObject(spec, "region", region);
    cJSON_AddStringToObject(spec, "key", AKID);
    cJSON_AddStringToObject(spec, "secret", SECRET);
    if (token) {
        cJSON_AddStringToObject(spec, "token", token);
    }
    cJSON *o = run_oracle("client", spec);
    cJSON_Delete(spec);
    char host[256], path[1024], query[1024];
    split_url(jstr(o, "url"), host, path, query);
    assert_string_equal(path, want_path);
    // Rebuild the request from the headers botocore signed (the others are added after signing).
    const char *authz = NULL, *amz_date = NULL;
    struct sigv4_header h[16];
    size_t n = 0;
    struct sigv4_header all[24];
    size_t num_all = 0;
    const cJSON *hp;
    cJSON_ArrayForEach(hp, cJSON_GetObjectItem(o, "headers"))
    {
        const char *name = cJSON_GetArrayItem(hp, 0)->valuestring;
        const char *value = cJSON_GetArrayItem(hp, 1)->valuestring;
        all[num_all++] = (struct sigv4_header){name, value};
        if (strcasecmp(name, "Authorization") == 0) {
            authz = value;
        } else if (strcasecmp(name, "X-Amz-Date") == 0) {
            amz_date = value;
        }
    }
    assert_non_null(authz);
    assert_non_null(amz_date);
    const char *sh = strstr(authz, "SignedHeaders=") + 14;
    for (size_t i = 0; i < num_all; i++) {
        char lname[64];
        snprintf(lname, sizeof lname, "%s", all[i].name);
        for (char *c = lname; *c; c++) {
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        }
        size_t l = strlen(lname);
        bool listed = false;
        for (const char *p = sh; p && *p && *p != ',';
             p = strchr(p, ';') ? strchr(p, ';') + 1 : 0) {
            if (strncmp(p, lname, l) == 0 && (p[l] == ';' || p[l] == ',')) {
                listed = true;
            }
        }
        if (listed && strcmp(lname, "x-amz-date") != 0 && strcmp(lname, "x-amz-security-token")) {
            h[n++] = all[i];
        }
    }
    const char *bh = jstr(o, "body_hex");
    size_t blen = strlen(bh) / 2;
    uint8_t *body = malloc(blen + 1);
    for (size_t i = 0; i < blen; i++) {
        unsigned v;
        sscanf(bh + 2 * i, "%2x", &v);
        body[i] = (uint8_t)v;
    }
    struct tm tm = {0};
    assert_int_equal(sscanf(amz_date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    struct inv_creds c;
    creds_of(&c, token);
    struct sigv4_request req = {jstr(o, "method"), path, *query ? query : NULL, h, n, body, blen};
    struct sigv4_signed s;
    assert_int_equal(sigv4_sign(&s, &c, region, "lambda", t, &req, NULL), 0);
    assert_string_equal(s.authorization, authz);
    // The verifier accepts botocore's request exactly as it would arrive (all headers).
    struct sigv4_request rr = req;
    rr.headers = all;
    rr.num_headers = num_all;
    struct inv_err err;
    if (sigv4_verify(&rr, &c, region, "lambda", t + 1, 300, &err) != 0) {
        fail_msg("%s: verify: %s", operation, err.msg);
    }
    sigv4_signed_cleanup(&s);
    inv_creds_cleanup(&c);
    free(body);
    cJSON_Delete(o);
}

static void test_botocore_lambda_client_requests(void **state)
{
    (void)state;
    client_case("Invoke",
                "{\"FunctionName\":\"my-function:prod\",\"Payload\":\"{\\\"records\\\":{}}\","
                "\"InvocationType\":\"RequestResponse\"}",
                "us-east-1", NULL, "/2015-03-31/functions/my-function%3Aprod/invocations");
    client_case("Invoke",
                "{\"FunctionName\":\"arn:aws:lambda:eu-central-1:123456789012:function:orders\","
                "\"Qualifier\":\"$LATEST\",\"Payload\":\"{}\",\"LogType\":\"Tail\"}",
                "eu-central-1", "IQoJb3JpZ2luX2VjEXAMPLE/token+==",
                "/2015-03-31/functions/"
                "arn%3Aaws%3Alambda%3Aeu-central-1%3A123456789012%3Afunction%3Aorders/invocations");
    client_case("ListEventSourceMappings",
                "{\"FunctionName\":\"arn:aws:lambda:us-west-2:123456789012:function:f\","
                "\"MaxItems\":10,\"Marker\":\"a/b c\"}",
                "us-west-2", NULL, "/2015-03-31/event-source-mappings/");
    client_case("GetEventSourceMapping", "{\"UUID\":\"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55\"}",
                "ap-northeast-1", "tok",
                "/2015-03-31/event-source-mappings/0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55");
}

static void test_verify_rejects(void **state)
{
    (void)state;
    struct inv_creds c;
    creds_of(&c, NULL);
    int64_t t = T20150830;
    struct sigv4_header h[] = {{"Host", "127.0.0.1:9001"}, {"Content-Type", "application/json"}};
    const char *body = "{\"BatchSize\":10}";
    struct sigv4_request req = {
        "PUT", "/2015-03-31/event-source-mappings/u1", NULL, h, 2, body, strlen(body)};
    struct sigv4_signed s;
    assert_int_equal(sigv4_sign(&s, &c, "us-east-1", "lambda", t, &req, NULL), 0);
    struct sigv4_header rh[] = {
        h[0], h[1], {"X-Amz-Date", s.amz_date}, {"Authorization", s.authorization}};
    struct sigv4_request rr = req;
    rr.headers = rh;
    rr.num_headers = 4;
    struct inv_err err;
    assert_int_equal(sigv4_verify(&rr, &c, "us-east-1", "lambda", t, 300, &err), 0);

    struct sigv4_request bad = rr;
    bad.body = "{\"BatchSize\":11}";
    assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    assert_string_equal(err.msg, "sigv4: signature mismatch");
    bad = rr;
    bad.path = "/2015-03-31/event-source-mappings/u2";
    assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    assert_int_equal(sigv4_verify(&rr, &c, "us-east-1", "lambda", t + 301, 300, &err), -1);
    assert_non_null(strstr(err.msg, "more than 300 s from now"));
    assert_int_equal(sigv4_verify(&rr, &c, "us-west-2", "lambda", t, 300, &err), -1);
    assert_non_null(strstr(err.msg, "credential scope"));
    struct inv_creds other;
    inv_creds_init(&other);
    inv_creds_set(&other, AKID, "another-secret", NULL, "test");
    assert_int_equal(sigv4_verify(&rr, &other, "us-east-1", "lambda", t, 300, &err), -1);
    assert_string_equal(err.msg, "sigv4: signature mismatch");
    assert_null(strstr(err.msg, SECRET));
    inv_creds_cleanup(&other);
    // A signed header that is not sent; a changed signed header value.
    struct sigv4_header rh2[] = {
        h[0], {"X-Amz-Date", s.amz_date}, {"Authorization", s.authorization}};
    bad = rr;
    bad.headers = rh2;
    bad.num_headers = 3;
    assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    assert_string_equal(err.msg, "sigv4: signed header content-type is missing from the request");
    struct sigv4_header rh3[] = {h[0],
                                 {"content-type", "text/plain"},
                                 {"X-Amz-Date", s.amz_date},
                                 {"Authorization", s.authorization}};
    bad.headers = rh3;
    bad.num_headers = 4;
    assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    // An unsigned security token, and a server that requires one.
    struct sigv4_header rh4[] = {h[0],
                                 h[1],
                                 {"X-Amz-Date", s.amz_date},
                                 {"Authorization", s.authorization},
                                 {"X-Amz-Security-Token", "t"}};
    bad.headers = rh4;
    bad.num_headers = 5;
    assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    assert_string_equal(err.msg, "sigv4: X-Amz-Security-Token is not signed");
    struct inv_creds tok;
    creds_of(&tok, "t");
    assert_int_equal(sigv4_verify(&rr, &tok, "us-east-1", "lambda", t, 300, &err), -1);
    assert_non_null(strstr(err.msg, "X-Amz-Security-Token"));
    inv_creds_cleanup(&tok);
    // Garbage Authorization values.
    static const char *garbage[] = {"Basic abc", "AWS4-HMAC-SHA256 Credential=x",
                                    "AWS4-HMAC-SHA256 Foo=1, Credential=a, SignedHeaders=b, "
                                    "Signature=c",
                                    ""};
    for (size_t i = 0; i < 4; i++) {
        struct sigv4_header g[] = {h[0], {"X-Amz-Date", s.amz_date}, {"Authorization", garbage[i]}};
        bad.headers = g;
        bad.num_headers = 3;
        assert_int_equal(sigv4_verify(&bad, &c, "us-east-1", "lambda", t, 300, &err), -1);
    }
    // The signer refuses requests that already carry its outputs, or lack Host.
    struct sigv4_header pre[] = {h[0], {"x-amz-date", "20150830T123600Z"}};
    struct sigv4_request r2 = {"GET", "/", NULL, pre, 2, NULL, 0};
    struct sigv4_signed s2;
    assert_int_equal(sigv4_sign(&s2, &c, "us-east-1", "lambda", t, &r2, &err), -1);
    r2.headers = h + 1;
    r2.num_headers = 1;
    assert_int_equal(sigv4_sign(&s2, &c, "us-east-1", "lambda", t, &r2, &err), -1);
    assert_string_equal(err.msg, "sigv4: the request has no Host header");
    sigv4_signed_cleanup(&s);
    inv_creds_cleanup(&c);
}

// Mutated Authorization / X-Amz-Date values (the verifier parses network input): never accepted
// unless unchanged, never a crash (ASan/UBSan build).
static void test_verify_mutations(void **state)
{
    (void)state;
    struct inv_creds c;
    creds_of(&c, "tok");
    int64_t t = T20150830;
    struct sigv4_header h[] = {{"Host", "127.0.0.1:9001"}};
    struct sigv4_request req = {
        "GET", "/2015-03-31/event-source-mappings/", "MaxItems=5", h, 1, NULL, 0};
    struct sigv4_signed s;
    assert_int_equal(sigv4_sign(&s, &c, "us-east-1", "lambda", t, &req, NULL), 0);
    size_t alen = strlen(s.authorization);
    char *authz = malloc(alen + 1);
    char date[17];
    srand(99);
    int accepted = 0;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(authz, s.authorization, alen + 1);
        memcpy(date, s.amz_date, sizeof date);
        int kind = rand() % 4;
        if (kind == 0) {
            authz[rand() % (int)alen] = (char)(rand() % 256 ? rand() % 256 : 1);
        } else if (kind == 1) {
            authz[rand() % (int)alen] = '\0';
        } else if (kind == 2) {
            date[rand() % 16] = (char)(32 + rand() % 95);
        } else {
            authz[rand() % (int)alen] = ",; =/"[rand() % 5];
        }
        struct sigv4_header rh[] = {
            h[0], {"X-Amz-Date", date}, {"Authorization", authz}, {"X-Amz-Security-Token", "tok"}};
        struct sigv4_request rr = req;
        rr.headers = rh;
        rr.num_headers = 4;
        struct inv_err err;
        int rc = sigv4_verify(&rr, &c, "us-east-1", "lambda", t, 900, &err);
        bool same = strcmp(authz, s.authorization) == 0 && strcmp(date, s.amz_date) == 0;
        if (rc == 0) {
            accepted++;
            if (!same) {
                fail_msg("accepted mutated: %s / %s", authz, date);
            }
        } else {
            assert_false(same);
            assert_true(strlen(err.msg) > 0);
        }
    }
    assert_true(accepted < 5000);
    free(authz);
    sigv4_signed_cleanup(&s);
    inv_creds_cleanup(&c);
}

// The AWS query protocol's form bodies (STS, SQS, SNS) and S3's payload hash, against Python's
// urllib.parse.quote(safe="-_.~") (botocore's encoding) and hashlib.
static void test_form_and_payload_hash(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    sigv4_form_add(&b, "Action", "SendMessage", 11);
    const char *body = "a b+c&=~._-\xc3\xa9/";
    sigv4_form_add(&b, "MessageBody", body, strlen(body));
    assert_string_equal(buf_cstr(&b),
                        "Action=SendMessage&MessageBody=a%20b%2Bc%26%3D~._-%C3%A9%2F");
    buf_cleanup(&b);
    char h[65];
    sigv4_sha256_hex(h, "abc", 3);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sigv4_sha256_hex(h, "", 0);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite_get_vanilla),
        cmocka_unit_test(test_spec_lambda_vectors),
        cmocka_unit_test(test_botocore_oracle_fixed_date),
        cmocka_unit_test(test_botocore_lambda_client_requests),
        cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_verify_mutations),
        cmocka_unit_test(test_form_and_payload_hash),
    };
    return cmocka_run_group_tests_name("sigv4", tests, NULL, NULL);
}
