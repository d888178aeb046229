// test_esm_secrets.c: esm/secrets (names and ARNs, the local secrets directory and its permission
// rules, file:// URIs, the JSON shape) and esm/route (parsing and matching --route).
#include "esm/route.h"
#include "esm/secrets.h"
#include "tests/lib/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fix {
    char dir[64];
    struct esm_secrets *s;
};

static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_esm_secrets.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    put(f->dir, "Scram", "{\"username\":\"u\",\"password\":\"pw-1\"}", 0600);
    put(f->dir, "WithJson.json", "{\"username\":\"j\",\"password\":\"pw-2\"}", 0400);
    put(f->dir, "Loose", "{\"username\":\"u\",\"password\":\"pw-3\"}", 0640);
    put(f->dir, "NotJson", "username=u", 0600);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/prod", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    put(sub, "kafka", "{\"certificate\":\"x\"}", 0600);
    struct esm_secrets_config c = {.dir = f->dir};
    char err[256];
    f->s = esm_secrets_new(NULL, &c, err, sizeof err);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    esm_secrets_free(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

// read_ok reads |uri| and checks its text contains |want|.
static void read_ok(struct esm_secrets *s, const char *uri, const char *want)
{
    size_t len = 0;
    enum esm_reason why = ESM_REASON_USER_INITIATED;
    char err[512] = "";
    char *t = esm_secret_read(s, uri, "TEST", &len, &why, err, sizeof err);
    if (!t) {
        fail_msg("%s: %s", uri, err);
    }
    assert_non_null(strstr(t, want));
    assert_int_equal(len, strlen(t));
    esm_secret_free(t, len);
}

// read_fails reads |uri| and checks the error contains |want| and never the secret |secret|.
static void read_fails(struct esm_secrets *s, const char *uri, const char *want, const char *secret)
{
    size_t len = 0;
    enum esm_reason why = ESM_REASON_USER_INITIATED;
    char err[512] = "";
    char *t = esm_secret_read(s, uri, "TEST", &len, &why, err, sizeof err);
    assert_null(t);
    if (!strstr(err, want)) {
        fail_msg("%s: error '%s' lacks '%s'", uri, err, want);
    }
    assert_int_equal(why, ESM_REASON_ESM_CONFIG_NOT_VALID);
    assert_true(strncmp(err, "TEST: ", 6) == 0);
    if (secret) {
        assert_null(strstr(err, secret));
    }
}

static void test_names_and_arns(void **state)
{
    struct fix *f = *state;
    read_ok(f->s, "Scram", "pw-1");
    read_ok(f->s, "arn:aws:secretsmanager:us-east-1:01234567890:secret:Scram", "pw-1");
    read_ok(f->s, "arn:aws:secretsmanager:us-east-1:01234567890:secret:Scram-AbC123", "pw-1");
    read_ok(f->s, "WithJson", "pw-2");
    read_ok(f->s, "arn:aws-cn:secretsmanager:cn-north-1:1:secret:prod/kafka", "certificate");
    read_fails(f->s, "Nope", "secret 'Nope' not found: no file Nope or Nope.json", NULL);
    read_fails(f->s, "Scram-AbC12", "not found", NULL); // 5 characters: not a random suffix
    read_fails(f->s, "../Scram", "not a valid secret name", NULL);
    read_fails(f->s, "prod/../Scram", "not a valid secret name", NULL);
    read_fails(f->s, "/etc/passwd", "not a valid secret name", NULL);
    read_fails(f->s, "a b", "not a valid secret name", NULL);
    char region[32];
    assert_true(esm_secret_arn_region("arn:aws:secretsmanager:eu-west-1:1:secret:x", region,
                                      sizeof region));
    assert_string_equal(region, "eu-west-1");
    assert_false(esm_secret_arn_region("x", region, sizeof region));
    assert_false(esm_secret_arn_region("arn:aws:s3:eu-west-1:1:secret:x", region, sizeof region));
    assert_false(
        esm_secret_arn_region("arn:aws:secretsmanager:eu-west-1:1:secret:", region, sizeof region));
    assert_string_equal(esm_secret_name_of("arn:aws:secretsmanager:r-1:1:secret:a/b"), "a/b");
    assert_string_equal(esm_secret_name_of("plain"), "plain");
}

static void test_permissions(void **state)
{
    struct fix *f = *state;
    char want[256];
    snprintf(want, sizeof want,
             "secret file %s/Loose has mode 0640: it must not be accessible to group or others",
             f->dir);
    read_fails(f->s, "Loose", want, "pw-3");
    // a directory open to others is refused when the resolver is made
    char err[256] = "";
    assert_int_equal(chmod(f->dir, 0755), 0);
    struct esm_secrets_config c = {.dir = f->dir};
    assert_null(esm_secrets_new(NULL, &c, err, sizeof err));
    assert_non_null(strstr(err, "has mode 0755: it must not be accessible to group or others"));
    assert_int_equal(chmod(f->dir, 0700), 0);
    struct esm_secrets_config missing = {.dir = "/nonexistent/kesm-secrets"};
    assert_null(esm_secrets_new(NULL, &missing, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/kesm-secrets"));
}

static void test_file_uris(void **state)
{
    struct fix *f = *state;
    char uri[512], want[512], path[200], link[200];
    snprintf(uri, sizeof uri, "file://%s/Scram", f->dir);
    read_ok(f->s, uri, "pw-1");
    read_ok(NULL, uri, "pw-1"); // file:// needs no resolver
    // file:// secrets follow the secrets directory's rules: mode, owner, no symbolic link.
    snprintf(uri, sizeof uri, "file://%s/Loose", f->dir);
    snprintf(want, sizeof want,
             "secret file %s/Loose has mode 0640: it must not be accessible to group or others",
             f->dir);
    read_fails(f->s, uri, want, "pw-3");
    snprintf(path, sizeof path, "%s/Scram", f->dir);
    snprintf(link, sizeof link, "%s/Link", f->dir);
    assert_int_equal(symlink(path, link), 0);
    snprintf(uri, sizeof uri, "file://%s", link);
    snprintf(want, sizeof want, "secret file %s is reached through a symbolic link", link);
    read_fails(f->s, uri, want, "pw-1");
    read_fails(f->s, "Link", "is reached through a symbolic link", "pw-1"); // in the directory
    snprintf(link, sizeof link, "%s/LinkDir", f->dir);
    assert_int_equal(symlink(f->dir, link), 0); // a symbolic link on the way counts too
    snprintf(uri, sizeof uri, "file://%s/Scram", link);
    read_fails(f->s, uri, "is reached through a symbolic link", "pw-1");
    if (geteuid() == 0) {
        snprintf(path, sizeof path, "%s/Foreign", f->dir);
        put(f->dir, "Foreign", "{\"username\":\"u\",\"password\":\"pw-4\"}", 0600);
        assert_int_equal(chown(path, 65534, 65534), 0);
        snprintf(uri, sizeof uri, "file://%s", path);
        read_fails(f->s, uri, "is owned by uid 65534: it must belong to kesm's user", "pw-4");
        read_fails(f->s, "Foreign", "is owned by uid 65534", "pw-4");
    }
    read_fails(f->s, "file://relative/path", "is not a file:///absolute/path", NULL);
    read_fails(f->s, "file:///nonexistent/secret", "cannot open /nonexistent/secret", NULL);
    read_fails(NULL, "MySecret", "neither a secrets directory nor Secrets Manager", NULL);
}

// A root CA certificate is public: readable by others, but nobody else may change it.
static void test_public_ca(void **state)
{
    struct fix *f = *state;
    put(f->dir, "Ca", "-----BEGIN CERTIFICATE-----", 0644);
    put(f->dir, "CaWritable", "-----BEGIN CERTIFICATE-----", 0666);
    char uri[256], err[512];
    size_t len;
    enum esm_reason why;
    snprintf(uri, sizeof uri, "file://%s/Ca", f->dir);
    char *t = esm_secret_read(f->s, uri, "SERVER_ROOT_CA_CERTIFICATE", &len, &why, err, sizeof err);
    assert_non_null(t);
    esm_secret_free(t, len);
    snprintf(uri, sizeof uri, "file://%s/CaWritable", f->dir);
    assert_null(
        esm_secret_read(f->s, uri, "SERVER_ROOT_CA_CERTIFICATE", &len, &why, err, sizeof err));
    assert_non_null(strstr(err, "has mode 0666: it must not be writable by group or others"));
    snprintf(uri, sizeof uri, "file://%s/Ca", f->dir); // a credential may not be 0644
    assert_null(esm_secret_read(f->s, uri, "BASIC_AUTH", &len, &why, err, sizeof err));
    assert_non_null(strstr(err, "has mode 0644: it must not be accessible to group or others"));
}

static void test_json_shape(void **state)
{
    struct fix *f = *state;
    enum esm_reason why;
    char err[256];
    cJSON *j = esm_secret_json(f->s, "Scram", "SASL_SCRAM_512_AUTH", &why, err, sizeof err);
    assert_non_null(j);
    assert_string_equal(esm_secret_member(j, "username"), "u");
    assert_null(esm_secret_member(j, "privateKey"));
    esm_secret_json_free(j);
    assert_null(esm_secret_json(f->s, "NotJson", "BASIC_AUTH", &why, err, sizeof err));
    assert_string_equal(err, "BASIC_AUTH: secret NotJson is not a JSON object");
    assert_int_equal(why, ESM_REASON_ESM_CONFIG_NOT_VALID);
}

static void test_oversized(void **state)
{
    struct fix *f = *state;
    char *big = malloc(ESM_SECRET_MAX + 2);
    memset(big, 'a', ESM_SECRET_MAX + 1);
    big[ESM_SECRET_MAX + 1] = '\0';
    put(f->dir, "Big", big, 0600);
    free(big);
    read_fails(f->s, "Big", "is larger than 65536 bytes", NULL);
}

static void route_fn(struct esm_function_ref *fn, const char *name)
{
    char why[256];
    struct esm_parse_opts po = {0, "us-east-1", "000000000000"};
    assert_true(esm_function_ref_parse(fn, name, &po, why, sizeof why));
}

static void test_routes(void **state)
{
    (void)state;
    struct esm_routes rs = {0};
    char err[256];
    assert_int_equal(esm_routes_add(&rs, "my-fn=exec:/bin/handler --flag x", err, sizeof err), 0);
    assert_int_equal(esm_routes_add(&rs, "other:prod=http:http://127.0.0.1:9/x", err, sizeof err),
                     0);
    assert_int_equal(
        esm_routes_add(&rs, "arn:aws:lambda:eu-west-1:1:function:z=lambda", err, sizeof err), 0);
    assert_int_equal(esm_routes_add(&rs, "*=stdout", err, sizeof err), 0);
    assert_int_equal(esm_routes_add(&rs, "bad", err, sizeof err), -1);
    assert_string_equal(err, "--route 'bad': wants PATTERN=TARGET");
    assert_int_equal(esm_routes_add(&rs, "x=ftp:nope", err, sizeof err), -1);
    assert_non_null(strstr(err, "TARGET must be"));
    assert_int_equal(esm_routes_add(&rs, "x=exec:   ", err, sizeof err), -1);
    assert_int_equal(rs.n, 4);
    assert_int_equal(rs.v[0].argc, 3);
    assert_string_equal(rs.v[0].argv[2], "x");
    assert_null(rs.v[0].argv[3]);

    struct esm_function_ref fn;
    route_fn(&fn, "arn:aws:lambda:us-east-1:01234567890:function:my-fn");
    assert_ptr_equal(esm_routes_match(&rs, &fn), &rs.v[0]);
    esm_function_ref_cleanup(&fn);
    route_fn(&fn, "other:prod");
    assert_ptr_equal(esm_routes_match(&rs, &fn), &rs.v[1]);
    assert_string_equal(rs.v[1].url, "http://127.0.0.1:9/x");
    esm_function_ref_cleanup(&fn);
    route_fn(&fn, "other:dev");
    assert_ptr_equal(esm_routes_match(&rs, &fn), &rs.v[3]); // only '*' matches
    esm_function_ref_cleanup(&fn);
    route_fn(&fn, "arn:aws:lambda:eu-west-1:1:function:z");
    assert_ptr_equal(esm_routes_match(&rs, &fn), &rs.v[2]);
    assert_int_equal(rs.v[2].transport, ESM_TRANSPORT_LAMBDA);
    esm_function_ref_cleanup(&fn);

    struct esm_routes one = {0};
    assert_int_equal(esm_routes_add(&one, "only=stdout", err, sizeof err), 0);
    route_fn(&fn, "1:function:another");
    assert_null(esm_routes_match(&one, &fn));
    esm_function_ref_cleanup(&fn);
    esm_routes_cleanup(&one);
    esm_routes_cleanup(&rs);
    assert_int_equal(rs.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_and_arns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_uris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests_name("esm_secrets", tests, NULL, NULL);
}
