// function_ref.c: FunctionName taken apart (see esm_function_ref_parse in config.h).
//
// Forms: "name", "name:qualifier", "<account>:function:name[:qualifier]" and
// "arn:<partition>:lambda:<region>:<account>:function:name[:qualifier]". Bare names take the
// region and account of the parse options.
#include "base/str.h"
#include "esm/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') {
            return false;
        }
    }
    return true;
}

static bool region_ok(const char *s)
{
    // [a-z]{2}(-gov)?-[a-z]+-\d, checked loosely: lower-case words joined by '-', ending in digits.
    size_t n = strlen(s);
    if (n < 4 || n > 32 || !isdigit((unsigned char)s[n - 1]) || s[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-') {
            return false;
        }
    }
    return strchr(s, '-') != NULL;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void esm_function_ref_cleanup(struct esm_function_ref *ref)
{
    free(ref->arn);
    free(ref->partition);
    free(ref->region);
    free(ref->account);
    free(ref->name);
    free(ref->qualifier);
    memset(ref, 0, sizeof *ref);
}

// split |s| on ':' into at most |max| parts; returns the count, or max + 1 if there are more.
static size_t split_colons(const char *s, const char **parts, size_t *lens, size_t max)
{
    size_t n = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ':' || *p == '\0') {
            if (n == max) {
                return max + 1;
            }
            parts[n] = start;
            lens[n] = (size_t)(p - start);
            n++;
            if (*p == '\0') {
                break;
            }
            start = p + 1;
        }
    }
    return n;
}

static bool fref_fail(char *why, size_t why_len, const char *text)
{
    snprintf(why, why_len, "%s", text);
    return false;
}

bool esm_function_ref_parse(struct esm_function_ref *out, const char *name,
                            const struct esm_parse_opts *opts, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    size_t total = strlen(name);
    if (total < 1 || total > 256) {
        return fref_fail(why, why_len, "Member must have length between 1 and 256");
    }
    const char *p[9];
    size_t l[9];
    size_t n = split_colons(name, p, l, 8);
    const char *part = "aws", *region = NULL, *account = NULL, *fname, *qual = NULL;
    size_t part_len = 3, region_len = 0, account_len = 0, fname_len, qual_len = 0;
    if (n >= 1 && l[0] == 3 && !memcmp(p[0], "arn", 3)) {
        // arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
        if ((n != 7 && n != 8) || l[2] != 6 || memcmp(p[2], "lambda", 6) != 0 || l[5] != 8 ||
            memcmp(p[5], "function", 8) != 0 || l[1] == 0 || l[1] > 20) {
            return fref_fail(why, why_len,
                             "Member must be a function name, name:qualifier, "
                             "<account>:function:<name>[:qualifier] or "
                             "arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]");
        }
        part = p[1];
        part_len = l[1];
        region = p[3];
        region_len = l[3];
        account = p[4];
        account_len = l[4];
        fname = p[6];
        fname_len = l[6];
        if (n == 8) {
            qual = p[7];
            qual_len = l[7];
        }
        out->given_as_arn = true;
    } else if (n >= 3 && l[1] == 8 && !memcmp(p[1], "function", 8)) {
        if (n > 4) {
            return fref_fail(why, why_len,
                             "Member must be <account>:function:<name>[:qualifier] when it "
                             "starts with an account");
        }
        account = p[0];
        account_len = l[0];
        fname = p[2];
        fname_len = l[2];
        if (n == 4) {
            qual = p[3];
            qual_len = l[3];
        }
        out->given_as_partial = true;
    } else if (n <= 2) {
        fname = p[0];
        fname_len = l[0];
        if (n == 2) {
            qual = p[1];
            qual_len = l[1];
        }
    } else {
        return fref_fail(why, why_len,
                         "Member must be a function name, name:qualifier, "
                         "<account>:function:<name>[:qualifier] or a function ARN");
    }
    if (!name_ok(fname, fname_len, 64)) {
        return fref_fail(why, why_len,
                         "The function name must be 1-64 characters of letters, digits, '-' "
                         "and '_'");
    }
    if (qual && !(qual_len == 7 && !memcmp(qual, "$LATEST", 7)) && !name_ok(qual, qual_len, 128)) {
        return fref_fail(why, why_len,
                         "The qualifier must be $LATEST, a version number or an alias name "
                         "(1-128 letters, digits, '-', '_')");
    }
    // AWS account ids have 12 digits; kesm accepts 1-12 so documentation examples that use an
    // 11-digit placeholder (01234567890) work as given.
    if (account && (account_len > 12 || !str_is_digits(account, account_len))) {
        return fref_fail(why, why_len, "The account id must be 1-12 digits");
    }
    out->partition = dup_n(part, part_len);
    out->region = region
                      ? dup_n(region, region_len)
                      : strdup(opts && opts->default_region ? opts->default_region : "us-east-1");
    out->account =
        account ? dup_n(account, account_len)
                : strdup(opts && opts->default_account ? opts->default_account : "000000000000");
    out->name = dup_n(fname, fname_len);
    out->qualifier = qual ? dup_n(qual, qual_len) : NULL;
    if (!out->partition || !out->region || !out->account || !out->name ||
        (qual && !out->qualifier)) {
        esm_function_ref_cleanup(out);
        return fref_fail(why, why_len, "out of memory");
    }
    if (!region_ok(out->region)) {
        esm_function_ref_cleanup(out);
        return fref_fail(why, why_len, "The region must look like us-east-1");
    }
    size_t cap = 64 + strlen(out->partition) + strlen(out->region) + strlen(out->account) +
                 strlen(out->name) + (qual ? strlen(out->qualifier) : 0);
    out->arn = malloc(cap);
    if (!out->arn) {
        esm_function_ref_cleanup(out);
        return fref_fail(why, why_len, "out of memory");
    }
    snprintf(out->arn, cap, "arn:%s:lambda:%s:%s:function:%s%s%s", out->partition, out->region,
             out->account, out->name, qual ? ":" : "", qual ? out->qualifier : "");
    return true;
}
