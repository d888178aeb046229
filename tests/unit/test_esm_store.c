// test_esm_store.c: the state directory: atomic writes (0600, no temporary left behind),
// restore through the manager, and corrupt or invalid files moved aside and reported.
#include "esm/mapping.h"
#include "esm/store.h"
#include "tests/lib/unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_esm_store.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            char p[600];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d) {
        closedir(d);
    }
    return rmdir(dir);
}

static char *slurp(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f) {
        return NULL;
    }
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void put(const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

// count_prefix counts directory entries starting with |prefix|.
static int count_prefix(const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        n += !strncmp(de->d_name, prefix, strlen(prefix));
    }
    closedir(d);
    return n;
}

struct lines {
    int n;
    char text[8][1200];
};

static void collect(void *ctx, const char *line)
{
    struct lines *l = ctx;
    if (l->n < 8) {
        snprintf(l->text[l->n], sizeof l->text[0], "%s", line);
    }
    l->n++;
}

static void test_atomic_save(void **state)
{
    (void)state;
    char why[512];
    struct esm_store *s = esm_store_open(dir, why, sizeof why);
    assert_non_null(s);
    const char *u = "0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55";
    assert_int_equal(esm_store_save(s, u, "{\"a\":1}", 7, why, sizeof why), 0);
    assert_string_equal(slurp("0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55.json"), "{\"a\":1}");
    assert_int_equal(esm_store_save(s, u, "{\"a\":22}", 8, why, sizeof why), 0);
    assert_string_equal(slurp("0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55.json"), "{\"a\":22}");
    char p[600];
    snprintf(p, sizeof p, "%s/%s.json", dir, u);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_prefix("0b6f3a52"), 1); // no temporary left
    // Names that could escape the directory are refused.
    assert_int_equal(esm_store_save(s, "../evil", "{}", 2, why, sizeof why), -1);
    assert_string_equal(why, "invalid mapping id for a file name");
    assert_int_equal(esm_store_remove(s, u, why, sizeof why), 0);
    assert_int_equal(count_prefix("0b6f3a52"), 0);
    assert_int_equal(esm_store_remove(s, u, why, sizeof why), 0); // absent is fine
    // One owner per directory.
    assert_null(esm_store_open(dir, why, sizeof why));
    char expect_busy[400];
    snprintf(expect_busy, sizeof expect_busy,
             "state directory %s is in use by another kesm process", dir);
    assert_string_equal(why, expect_busy);
    esm_store_free(s);
    s = esm_store_open(dir, why, sizeof why);
    assert_non_null(s);
    esm_store_free(s);

    // A state directory that cannot be created is reported.
    put("plainfile", "x");
    char bad[600];
    snprintf(bad, sizeof bad, "%s/plainfile/sub", dir);
    assert_null(esm_store_open(bad, why, sizeof why));
    char expect[700];
    snprintf(expect, sizeof expect, "cannot create state directory %s: Not a directory", bad);
    assert_string_equal(why, expect);
}

static bool accept_if_json_object(void *ctx, const char *name, const char *text, size_t len,
                                  char *why, size_t why_len)
{
    (void)ctx;
    (void)name;
    if (len > 0 && text[0] == '{') {
        return true;
    }
    snprintf(why, why_len, "not a JSON object");
    return false;
}

static void test_load_all_moves_bad_files_aside(void **state)
{
    (void)state;
    char why[512];
    struct esm_store *s = esm_store_open(dir, why, sizeof why);
    put("aaaa.json", "{}");
    put("bbbb.json", "garbage");
    put("cccc.json.tmp", "{half");
    put("notes.txt", "ignored");
    struct lines l = {0};
    unsigned ok = 0, bad = 0;
    assert_int_equal(esm_store_load_all(s, accept_if_json_object, collect, &l, &ok, &bad), 0);
    assert_int_equal(ok, 1);
    assert_int_equal(bad, 1);
    assert_int_equal(l.n, 2);
    char expect[900];
    snprintf(expect, sizeof expect,
             "state file %s/bbbb.json not restored (not a JSON object); moved aside to "
             "bbbb.json.corrupt-",
             dir);
    assert_memory_equal(l.text[0], expect, strlen(expect));
    snprintf(expect, sizeof expect,
             "state file %s/cccc.json.tmp was left by an interrupted write; removed it", dir);
    assert_string_equal(l.text[1], expect);
    assert_int_equal(count_prefix("bbbb.json.corrupt-"), 1);
    assert_int_equal(count_prefix("bbbb.json"), 1); // only the moved-aside copy
    assert_int_equal(count_prefix("cccc"), 0);
    assert_int_equal(count_prefix("notes.txt"), 1);
    esm_store_free(s);
}

static double fixed_now(void *ctx)
{
    (void)ctx;
    return 1764000000.25;
}

static struct esm_manager *manager(struct esm_store *s, struct lines *l)
{
    struct esm_manager_config mc = {0};
    mc.store = s;
    mc.now = fixed_now;
    mc.log = collect;
    mc.log_ctx = l;
    return esm_manager_new(&mc);
}

static void test_manager_restore(void **state)
{
    (void)state;
    char why[512];
    struct esm_store *s = esm_store_open(dir, why, sizeof why);
    struct lines l = {0};
    struct esm_manager *mgr = manager(s, &l);
    const char *reqs[] = {
        "{\"FunctionName\":\"f\",\"Topics\":[\"a\"],\"BatchSize\":7,\"SelfManagedEventSource\":{"
        "\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
        "{\"FunctionName\":\"g\",\"Topics\":[\"b\"],\"Enabled\":false,\"SelfManagedEventSource\":{"
        "\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}},\"SourceAccessConfigurations\":[{"
        "\"Type\":\"VPC_SUBNET\",\"URI\":\"subnet:subnet-0011001100\"}]}",
        "{\"FunctionName\":\"h\",\"Topics\":[\"c\"],\"SelfManagedEventSource\":{"
        "\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
    };
    char uuids[3][37];
    cJSON *before[3];
    for (int i = 0; i < 3; i++) {
        cJSON *req = cJSON_Parse(reqs[i]);
        struct esm_op_result r;
        esm_manager_create(mgr, req, &r);
        cJSON_Delete(req);
        assert_int_equal(r.status, ESM_OP_OK);
        snprintf(uuids[i], 37, "%s", cJSON_GetObjectItem(r.body, "UUID")->valuestring);
        cJSON_Delete(r.body);
        esm_manager_get(mgr, uuids[i], &r);
        before[i] = r.body;
    }
    struct esm_op_result r;
    esm_manager_delete(mgr, uuids[2], &r); // the unavailable runner stops at once: file removed
    cJSON_Delete(r.body);
    cJSON_Delete(before[2]);
    esm_manager_free(mgr);

    char name[64];
    snprintf(name, sizeof name, "%s.json", uuids[0]);
    char *text = slurp(name);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"BatchSize\":7")); // compact: no pretty-printing
    // One corrupt file and one whose stored request no longer validates.
    put("11111111-2222-4333-8444-555555555555.json", "{\"UUID\": tru");
    put("66666666-7777-4888-8999-000000000000.json",
        "{\"UUID\":\"66666666-7777-4888-8999-000000000000\",\"Seq\":9,\"State\":\"Enabled\","
        "\"LastProcessingResult\":\"OK\",\"LastModified\":1,\"Request\":{\"FunctionName\":\"f\","
        "\"Topics\":[\"z\"],\"BatchSize\":0,\"SelfManagedEventSource\":{\"Endpoints\":{"
        "\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}}");

    memset(&l, 0, sizeof l);
    mgr = manager(s, &l);
    assert_int_equal(esm_manager_restore(mgr), 2);
    assert_int_equal(esm_manager_count(mgr), 2);
    for (int i = 0; i < 2; i++) {
        esm_manager_get(mgr, uuids[i], &r);
        assert_int_equal(r.status, ESM_OP_OK);
        // Same configuration as before the restart (state is re-derived: both end Disabled
        // here because this build's runner cannot poll).
        const char *skip[] = {"State", "StateTransitionReason", "LastProcessingResult"};
        for (int k = 0; k < 3; k++) {
            cJSON_DeleteItemFromObject(r.body, skip[k]);
            cJSON_DeleteItemFromObject(before[i], skip[k]);
        }
        assert_true(cJSON_Compare(r.body, before[i], true));
        cJSON_Delete(r.body);
        cJSON_Delete(before[i]);
    }
    esm_manager_get(mgr, uuids[2], &r);
    assert_int_equal(r.status, ESM_OP_NOT_FOUND);
    // Listing keeps the creation order across the restart.
    esm_manager_list(mgr, NULL, NULL, NULL, 0, &r);
    const cJSON *items = cJSON_GetObjectItem(r.body, "EventSourceMappings");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "UUID")->valuestring,
                        uuids[0]);
    cJSON_Delete(r.body);
    assert_int_equal(count_prefix("11111111-2222-4333-8444-555555555555.json.corrupt-"), 1);
    assert_int_equal(count_prefix("66666666-7777-4888-8999-000000000000.json.corrupt-"), 1);
    bool saw_corrupt = false, saw_invalid = false;
    for (int i = 0; i < l.n && i < 8; i++) {
        saw_corrupt |= strstr(l.text[i], "11111111-2222-4333-8444-555555555555.json not restored "
                                         "(not valid JSON); moved aside") != NULL;
        saw_invalid |= strstr(l.text[i], "not restored (invalid stored request: 1 validation "
                                         "error detected: Value '0' at 'BatchSize'") != NULL;
    }
    assert_true(saw_corrupt);
    assert_true(saw_invalid);
    // A new mapping continues the sequence (lists after the restored ones).
    cJSON *req = cJSON_Parse(reqs[2]);
    esm_manager_create(mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_OK);
    cJSON_Delete(r.body);
    esm_manager_list(mgr, NULL, NULL, "2", 0, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "EventSourceMappings")), 1);
    cJSON_Delete(r.body);
    esm_manager_free(mgr);
    esm_store_free(s);
}

static void test_store_failure_is_a_service_error(void **state)
{
    (void)state;
    char why[512], sub[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    struct esm_store *s = esm_store_open(sub, why, sizeof why);
    assert_non_null(s);
    struct lines l = {0};
    struct esm_manager *mgr = manager(s, &l);
    cJSON *req = cJSON_Parse("{\"FunctionName\":\"f\",\"Topics\":[\"a\"],\"Enabled\":false,"
                             "\"SelfManagedEventSource\":{\"Endpoints\":{"
                             "\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}");
    struct esm_op_result r;
    esm_manager_create(mgr, req, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    char uuid[37];
    snprintf(uuid, sizeof uuid, "%s", cJSON_GetObjectItem(r.body, "UUID")->valuestring);
    cJSON_Delete(r.body);
    // The directory disappears under the store: writes fail, and the API says so.
    char file[700];
    snprintf(file, sizeof file, "%s/%s.json", sub, uuid);
    assert_int_equal(unlink(file), 0);
    snprintf(file, sizeof file, "%s/.lock", sub);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(rmdir(sub), 0);
    cJSON_ReplaceItemInObject(req, "Topics", cJSON_Parse("[\"b\"]"));
    esm_manager_create(mgr, req, &r);
    assert_int_equal(r.status, ESM_OP_INTERNAL);
    assert_null(r.body);
    assert_memory_equal(r.message, "Could not store the event source mapping: cannot create ", 56);
    assert_non_null(strstr(r.message, ".json.tmp: No such file or directory"));
    assert_int_equal(esm_manager_count(mgr), 1);
    // A failed update leaves the mapping as it was.
    cJSON *u = cJSON_Parse("{\"BatchSize\":9}");
    esm_manager_update(mgr, uuid, u, &r);
    cJSON_Delete(u);
    assert_int_equal(r.status, ESM_OP_INTERNAL);
    esm_manager_get(mgr, uuid, &r);
    assert_int_equal(cJSON_GetObjectItem(r.body, "BatchSize")->valueint, 100);
    assert_string_equal(cJSON_GetObjectItem(r.body, "State")->valuestring, "Disabled");
    cJSON_Delete(r.body);
    cJSON_Delete(req);
    esm_manager_free(mgr);
    esm_store_free(s);
}

static void test_restore_finishes_a_delete(void **state)
{
    (void)state;
    put("66666666-7777-4888-8999-000000000000.json",
        "{\"UUID\":\"66666666-7777-4888-8999-000000000000\",\"Seq\":4,\"State\":\"Deleting\","
        "\"LastProcessingResult\":\"OK\",\"LastModified\":1,\"Request\":{\"FunctionName\":\"f\","
        "\"Topics\":[\"z\"],\"SelfManagedEventSource\":{\"Endpoints\":{"
        "\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}}");
    char why[512];
    struct esm_store *s = esm_store_open(dir, why, sizeof why);
    struct lines l = {0};
    struct esm_manager *mgr = manager(s, &l);
    assert_int_equal(esm_manager_restore(mgr), 1);
    assert_int_equal(esm_manager_count(mgr), 0);
    assert_int_equal(count_prefix("66666666"), 0);
    esm_manager_free(mgr);
    esm_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_all_moves_bad_files_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manager_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_is_a_service_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_finishes_a_delete, setup, teardown),
    };
    return cmocka_run_group_tests_name("esm_store", tests, NULL, NULL);
}
