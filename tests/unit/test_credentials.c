// test_credentials.c: the environment and shared-file credential sources, their errors (file and
// line named, secret values never printed) and profile selection.
#include "invoke/aws.h"
#include "invoke/credentials.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// A fake environment, so the tests never depend on (or change) the real one.
static const char *fake_env[16][2];

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < 16 && fake_env[i][0]; i++) {
        if (strcmp(fake_env[i][0], name) == 0) {
            return fake_env[i][1];
        }
    }
    return NULL;
}

static void set_env(const char *const *kv, size_t n)
{
    memset(fake_env, 0, sizeof fake_env);
    for (size_t i = 0; i < n; i++) {
        fake_env[i][0] = kv[2 * i];
        fake_env[i][1] = kv[2 * i + 1];
    }
}

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kesm-creds-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_environment(void **state)
{
    (void)state;
    static const char *kv[] = {
        "AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY",       "secretenv",
        "AWS_SESSION_TOKEN", "tok",     "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"};
    set_env(kv, 4);
    struct inv_creds c;
    inv_creds_init(&c);
    struct inv_err err;
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.secret_access_key, "secretenv");
    assert_string_equal(c.session_token, "tok");
    assert_string_equal(c.source, "environment variables");
    // Legacy token name, no session token.
    static const char *kv2[] = {"AWS_ACCESS_KEY_ID",  "A2",    "AWS_SECRET_ACCESS_KEY", "s2",
                                "AWS_SECURITY_TOKEN", "legacy"};
    set_env(kv2, 3);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.session_token, "legacy");
    static const char *kv3[] = {"AWS_ACCESS_KEY_ID", "A3", "AWS_SECRET_ACCESS_KEY", "s3"};
    set_env(kv3, 2);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_null(c.session_token);
    inv_creds_cleanup(&c);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
}

static void test_partial_environment(void **state)
{
    (void)state;
    static const char *kv[] = {"AWS_ACCESS_KEY_ID", "AKIDONLY", "AWS_SHARED_CREDENTIALS_FILE",
                               "/nonexistent"};
    set_env(kv, 2);
    struct inv_creds c;
    inv_creds_init(&c);
    struct inv_err err;
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_string_equal(err.msg,
                        "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    // A secret without a key id: botocore skips the environment (and so does kesm); with nothing
    // else configured and instance metadata disabled, the message lists what was looked at.
    static const char *kv2[] = {"AWS_SECRET_ACCESS_KEY",
                                "topsecret-value",
                                "AWS_SHARED_CREDENTIALS_FILE",
                                "/nonexistent",
                                "AWS_CONFIG_FILE",
                                "/nonexistent-config",
                                "AWS_EC2_METADATA_DISABLED",
                                "true"};
    set_env(kv2, 4);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_non_null(strstr(err.msg, "no AWS credentials"));
    assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
    assert_null(strstr(err.msg, "topsecret"));
    // Without AWS_EC2_METADATA_DISABLED the chain ends at instance metadata, which must be
    // fetched: not usable where static credentials are required.
    set_env(kv2, 3);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_non_null(strstr(err.msg, "EC2 instance metadata (http://169.254.169.254)"));
    inv_creds_cleanup(&c);
}

static const char creds_file[] = "# comment\n"
                                 "[default]\n"
                                 "aws_access_key_id = AKIDDEFAULT\n"
                                 "aws_secret_access_key=secret/default+key\n"
                                 "\n"
                                 "; other comment\n"
                                 "[ prod ]\n"
                                 "  aws_access_key_id   =   AKIDPROD  \r\n"
                                 "aws_secret_access_key = prodsecret\n"
                                 "aws_session_token = FwoGZXIvYXdzEXAMPLE==\n"
                                 "s3 =\n"
                                 "    max_concurrent_requests = 20\n"
                                 "[nosecret]\n"
                                 "aws_access_key_id = AKIDX\n";

static void test_shared_file_profiles(void **state)
{
    (void)state;
    const char *path = write_file("credentials", creds_file);
    char p[128];
    snprintf(p, sizeof p, "%s", path);
    struct inv_creds c;
    inv_creds_init(&c);
    struct inv_err err;
    const char *env1[] = {"AWS_SHARED_CREDENTIALS_FILE", p};
    set_env(env1, 1);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.secret_access_key, "secret/default+key");
    assert_null(c.session_token);
    assert_non_null(strstr(c.source, "(profile default)"));
    // AWS_DEFAULT_PROFILE wins over AWS_PROFILE (botocore reads them in that order).
    const char *env2[] = {
        "AWS_SHARED_CREDENTIALS_FILE", p, "AWS_DEFAULT_PROFILE", "prod", "AWS_PROFILE", "nosecret"};
    set_env(env2, 3);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.access_key_id, "AKIDPROD");
    assert_string_equal(c.secret_access_key, "prodsecret");
    assert_string_equal(c.session_token, "FwoGZXIvYXdzEXAMPLE==");
    // That profile lacks its secret.
    const char *env3[] = {"AWS_SHARED_CREDENTIALS_FILE", p, "AWS_PROFILE", "nosecret"};
    set_env(env3, 2);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_non_null(strstr(err.msg, "profile [nosecret] has aws_access_key_id without "
                                    "aws_secret_access_key"));
    const char *env4[] = {"AWS_SHARED_CREDENTIALS_FILE",
                          p,
                          "AWS_PROFILE",
                          "missing",
                          "AWS_CONFIG_FILE",
                          "/nonexistent",
                          "AWS_EC2_METADATA_DISABLED",
                          "TRUE"};
    set_env(env4, 4);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_non_null(strstr(err.msg, "profile missing has none in"));
    assert_non_null(strstr(err.msg, p));
    // Environment wins over the file.
    const char *env5[] = {"AWS_SHARED_CREDENTIALS_FILE", p,   "AWS_ACCESS_KEY_ID", "E",
                          "AWS_SECRET_ACCESS_KEY",       "S", "AWS_PROFILE",       "prod"};
    set_env(env5, 4);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.access_key_id, "E");
    inv_creds_cleanup(&c);
}

static void test_home_default_path(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/.aws", tmpdir);
    mkdir(dir, 0700);
    write_file(".aws/credentials", "[default]\naws_access_key_id=H\naws_secret_access_key=hs\n");
    const char *env[] = {"HOME", tmpdir};
    set_env(env, 1);
    struct inv_creds c;
    inv_creds_init(&c);
    struct inv_err err;
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), 0);
    assert_string_equal(c.access_key_id, "H");
    inv_creds_cleanup(&c);
    const char *env2[] = {"HOME", "/nonexistent-home", "AWS_EC2_METADATA_DISABLED", "true"};
    set_env(env2, 2);
    assert_int_equal(inv_creds_load(&c, fake_getenv, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-home/.aws/credentials"));
    assert_non_null(strstr(err.msg, "/nonexistent-home/.aws/config"));
}

static int load_file(struct inv_creds *c, const char *path, struct inv_err *err)
{
    const char *env[] = {"AWS_SHARED_CREDENTIALS_FILE", path,  "AWS_CONFIG_FILE", "/nonexistent",
                         "AWS_EC2_METADATA_DISABLED",   "true"};
    set_env(env, 3);
    return inv_creds_load(c, fake_getenv, err);
}

static void test_malformed_files_name_line_not_secret(void **state)
{
    (void)state;
    struct inv_creds c;
    inv_creds_init(&c);
    struct inv_err err;
    const char *p = write_file("bad1", "[default]\naws_access_key_id = A\n"
                                       "aws_secret_access_key SUPERSECRETVALUE\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "AWS config files: %s:3: expected 'key = value' or '[section]'", p);
    assert_string_equal(err.msg, want);
    assert_null(strstr(err.msg, "SUPERSECRET"));
    p = write_file("bad2", "\n\n[default\naws_access_key_id = A\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    assert_non_null(strstr(err.msg, "bad2:3: section header without a closing ']'"));
    p = write_file("bad3", "[ ]\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    assert_non_null(strstr(err.msg, "bad3:1: empty or overlong section name"));
    p = write_file("bad4", "= value\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    assert_non_null(strstr(err.msg, "bad4:1:"));
    // configparser refuses duplicates; so does kesm (naming the line, not the value).
    p = write_file("bad5", "[default]\naws_access_key_id = A\nAWS_ACCESS_KEY_ID = SECRETB\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    assert_non_null(strstr(err.msg, "bad5:3: duplicate key"));
    assert_null(strstr(err.msg, "SECRETB"));
    p = write_file("bad6", "[a]\nx = 1\n[a]\n");
    assert_int_equal(load_file(&c, p, &err), -1);
    assert_non_null(strstr(err.msg, "bad6:3: duplicate section"));
    // What is not a regular file (/dev/null, a directory) is no file at all, as in botocore.
    assert_int_equal(load_file(&c, "/dev/null", &err), -1);
    assert_non_null(strstr(err.msg, "no AWS credentials"));
    assert_null(c.access_key_id);
    inv_creds_cleanup(&c);
}

// The default endpoint is built from the region, which a request can name (an SQS ARN's region):
// a region that would name another host ("x@127.0.0.1:9/" makes https://sqs.x@127.0.0.1:9/... go
// to 127.0.0.1) is refused, never turned into a URL.
static void test_endpoint_region_names_no_host(void **state)
{
    (void)state;
    static const char *const kv[] = {"AWS_CONFIG_FILE", "/dev/null", "AWS_SHARED_CREDENTIALS_FILE",
                                     "/dev/null"};
    set_env(kv, 2);
    struct net_reactor_config rc = {0};
    struct net_reactor *r = net_reactor_new(&rc);
    assert_non_null(r);
    struct inv_aws_cfg cfg = {.reactor = r, .getenv_fn = fake_getenv};
    struct inv_aws *a = inv_aws_new(&cfg);
    char url[256];
    struct inv_err err = {{0}};
    assert_int_equal(
        inv_aws_endpoint(a, INV_AWS_SQS, "us-east-2", NULL, url, sizeof url, NULL, &err), 0);
    assert_string_equal(url, "https://sqs.us-east-2.amazonaws.com");
    static const char *const bad[] = {"x@127.0.0.1:9/", "evil.example", "a/b", "-x", "a:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        url[0] = '\0';
        assert_int_equal(
            inv_aws_endpoint(a, INV_AWS_SQS, bad[i], NULL, url, sizeof url, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "is not a region name"));
        assert_string_equal(url, "");
    }
    inv_aws_free(a);
    net_reactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_partial_environment),
        cmocka_unit_test(test_shared_file_profiles),
        cmocka_unit_test(test_home_default_path),
        cmocka_unit_test(test_malformed_files_name_line_not_secret),
        cmocka_unit_test(test_endpoint_region_names_no_host),
    };
    return cmocka_run_group_tests_name("credentials", tests, setup, teardown);
}
