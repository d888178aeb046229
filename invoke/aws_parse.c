// aws_parse.c: bounded parsers for credential answers (see aws_parse.h): the XML of STS and
// the query-protocol services, ISO 8601 times, and the checks every answer passes.
#include "invoke/aws_parse.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hex.h"
#include "base/utf8.h"
#include "invoke/aws_parse_int.h"
#include "invoke/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_DEPTH_MAX 32
#define XML_NAME_MAX 64

void inv_aws_creds_doc_cleanup(struct inv_aws_creds_doc *d)
{
    free(d->access_key_id);
    free_wiped_str(d->secret_access_key);
    free_wiped_str(d->session_token);
    memset(d, 0, sizeof *d);
    d->expiration = -1;
}

// ---- value checks -------------------------------------------------------------------------

static bool word_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// key_id_ok: AccessKeyId is 16-128 characters of [\w] (the IAM model's pattern).
static bool key_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 16 || n > INV_AWS_KEY_ID_MAX) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!word_char(*s)) {
            return false;
        }
    }
    return true;
}

// visible_ok: 1..max visible ASCII characters (they go into HMAC keys and HTTP headers).
static bool visible_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            return false;
        }
    }
    return true;
}

// aws_creds_doc_check validates the three values; |what| names the answer in the message.
enum inv_aws_parse_status aws_creds_doc_check(const struct inv_aws_creds_doc *d, const char *what,
                                              const char *token_name, struct inv_err *err)
{
    if (d->access_key_id == NULL || !key_id_ok(d->access_key_id)) {
        inv_fail(err, 0, "%s: AccessKeyId %s", what,
                 d->access_key_id ? "is not 16-128 letters, digits or '_'" : "is missing");
        return INV_AWS_PARSE_MISSING;
    }
    if (d->secret_access_key == NULL || !visible_ok(d->secret_access_key, INV_AWS_SECRET_MAX)) {
        inv_fail(err, 0, "%s: SecretAccessKey %s", what,
                 d->secret_access_key ? "is not 1-256 visible ASCII characters" : "is missing");
        return INV_AWS_PARSE_MISSING;
    }
    if (d->session_token != NULL && !visible_ok(d->session_token, INV_AWS_TOKEN_MAX)) {
        inv_fail(err, 0, "%s: %s is not 1-%d visible ASCII characters", what, token_name,
                 INV_AWS_TOKEN_MAX);
        return INV_AWS_PARSE_MISSING;
    }
    return INV_AWS_PARSE_OK;
}

// ---- time -----------------------------------------------------------------------------------

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

// days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// algorithm).
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

bool inv_aws_time_parse(const char *s, size_t len, int64_t *out)
{
    int y, mo, d, h, mi, se;
    if (len < 20 || len > INV_AWS_TIME_MAX || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se)) {
        return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
        se > 60) {
        return false;
    }
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t k = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == k) {
            return false;
        }
    }
    int64_t off = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59) {
            return false;
        }
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    }
    if (i != len) {
        return false;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return true;
}

// ---- XML --------------------------------------------------------------------------------------

struct xml {
    const char *p;
    size_t len, i;
    char stack[XML_DEPTH_MAX][XML_NAME_MAX + 1]; // local names (namespace prefix dropped)
    int depth;
    bool root_done;
    struct inv_err *err;
    // what to collect: text of the leaf at stack path {a, b, c, leaf}
    const char *result;
    const char *const *path; // generic mode (inv_aws_xml_value): the leaf to collect, in akid
    size_t path_len;
    struct buf akid, secret, token, expiration, code, message;
    unsigned seen; // bit per collected leaf: duplicates are refused
};

static enum inv_aws_parse_status xml_fail(struct xml *x, const char *what)
{
    inv_fail(x->err, 0, "STS answer: malformed XML (%s at byte %zu)", what, x->i);
    return INV_AWS_PARSE_MALFORMED;
}

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_space(struct xml *x)
{
    while (x->i < x->len && xml_space(x->p[x->i])) {
        x->i++;
    }
}

static bool starts(const struct xml *x, const char *lit)
{
    size_t n = strlen(lit);
    return x->len - x->i >= n && memcmp(x->p + x->i, lit, n) == 0;
}

// read_name reads a name at x->i into |out| (local part only).
static bool read_name(struct xml *x, char *out)
{
    size_t s = x->i;
    if (x->i >= x->len || !name_start(x->p[x->i])) {
        return false;
    }
    while (x->i < x->len && name_char(x->p[x->i])) {
        x->i++;
    }
    size_t n = x->i - s;
    const char *colon = memchr(x->p + s, ':', n);
    const char *local = x->p + s;
    while (colon != NULL) {
        n -= (size_t)(colon + 1 - local);
        local = colon + 1;
        colon = memchr(local, ':', n);
    }
    if (n == 0 || n > XML_NAME_MAX) {
        return false;
    }
    memcpy(out, local, n);
    out[n] = '\0';
    return true;
}

// entity decodes the reference at x->i ('&') into |b| (NULL: only checked).
static bool entity(struct xml *x, struct buf *b)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        if (starts(x, named[k].name)) {
            if (b != NULL) {
                buf_addc(b, named[k].c);
            }
            x->i += strlen(named[k].name);
            return true;
        }
    }
    if (!starts(x, "&#")) {
        return false;
    }
    size_t j = x->i + 2;
    bool hex = j < x->len && x->p[j] == 'x';
    j += hex;
    uint32_t cp = 0;
    size_t nd = 0;
    for (; j < x->len && x->p[j] != ';'; j++, nd++) {
        int v = hex_value((unsigned char)x->p[j]);
        v = hex || v < 10 ? v : -1;
        if (v < 0 || nd >= 8) {
            return false;
        }
        cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
    }
    if (j >= x->len || nd == 0 || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
    }
    if (b != NULL) {
        char u[4];
        buf_add(b, u, utf8_encode(u, cp));
    }
    x->i = j + 1;
    return true;
}

// leaf_target returns the buffer collecting the current element's text, or NULL.
static struct buf *leaf_target(struct xml *x, unsigned *bit)
{
    if (x->path != NULL) {
        if ((size_t)x->depth != x->path_len || (x->seen & 1u) != 0) {
            return NULL;
        }
        for (size_t k = 0; k < x->path_len; k++) {
            if (strcmp(x->stack[k], x->path[k]) != 0) {
                return NULL;
            }
        }
        *bit = 1u;
        return &x->akid;
    }
    static const char *const cred_leaves[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                              "Expiration"};
    static const char *const err_leaves[] = {"Code", "Message"};
    if (x->depth == 4 && !strcmp(x->stack[1], x->result) && !strcmp(x->stack[2], "Credentials")) {
        struct buf *bufs[] = {&x->akid, &x->secret, &x->token, &x->expiration};
        for (unsigned k = 0; k < 4; k++) {
            if (!strcmp(x->stack[3], cred_leaves[k])) {
                *bit = 1u << k;
                return bufs[k];
            }
        }
    }
    if (x->depth == 3 && !strcmp(x->stack[0], "ErrorResponse") && !strcmp(x->stack[1], "Error")) {
        struct buf *bufs[] = {&x->code, &x->message};
        for (unsigned k = 0; k < 2; k++) {
            if (!strcmp(x->stack[2], err_leaves[k])) {
                *bit = 1u << (4 + k);
                return bufs[k];
            }
        }
    }
    return NULL;
}

static enum inv_aws_parse_status xml_text(struct xml *x)
{
    unsigned bit = 0;
    struct buf *b = x->depth > 0 ? leaf_target(x, &bit) : NULL;
    if (x->path != NULL && b != NULL) {
        bit = 0; // several text pieces (CDATA, comments) may make up the value: mark it at the end
    }
    while (x->i < x->len && x->p[x->i] != '<') {
        char c = x->p[x->i];
        if (x->depth == 0 && !xml_space(c)) {
            return xml_fail(x, "text outside the root element");
        }
        if (c == '&') {
            if (!entity(x, b)) {
                return xml_fail(x, "bad entity or character reference");
            }
            continue;
        }
        if ((unsigned char)c < 0x20 && !xml_space(c)) {
            return xml_fail(x, "control character");
        }
        if (b != NULL) {
            buf_addc(b, c);
        }
        x->i++;
    }
    if (b != NULL) {
        x->seen |= bit;
    }
    return INV_AWS_PARSE_OK;
}

static enum inv_aws_parse_status xml_skip_to(struct xml *x, const char *end, const char *what)
{
    const char *e = NULL;
    size_t n = strlen(end);
    for (size_t j = x->i; j + n <= x->len; j++) {
        if (memcmp(x->p + j, end, n) == 0) {
            e = x->p + j;
            break;
        }
    }
    if (e == NULL) {
        return xml_fail(x, what);
    }
    x->i = (size_t)(e - x->p) + n;
    return INV_AWS_PARSE_OK;
}

static enum inv_aws_parse_status xml_cdata(struct xml *x)
{
    if (x->depth == 0) {
        return xml_fail(x, "CDATA outside the root element");
    }
    unsigned bit = 0;
    struct buf *b = leaf_target(x, &bit);
    if (x->path != NULL) {
        bit = 0; // marked when the element closes
    }
    size_t s = x->i + 9;
    x->i = s;
    if (xml_skip_to(x, "]]>", "unterminated CDATA") != INV_AWS_PARSE_OK) {
        return INV_AWS_PARSE_MALFORMED;
    }
    if (b != NULL) {
        buf_add(b, x->p + s, x->i - 3 - s);
        x->seen |= bit;
    }
    return INV_AWS_PARSE_OK;
}

static enum inv_aws_parse_status xml_attrs(struct xml *x)
{
    for (;;) {
        size_t before = x->i;
        skip_space(x);
        if (x->i >= x->len) {
            return xml_fail(x, "unterminated start tag");
        }
        char c = x->p[x->i];
        if (c == '>' || c == '/') {
            return INV_AWS_PARSE_OK;
        }
        char name[XML_NAME_MAX + 1];
        if (x->i == before || !read_name(x, name)) {
            return xml_fail(x, "bad attribute");
        }
        skip_space(x);
        if (x->i >= x->len || x->p[x->i] != '=') {
            return xml_fail(x, "attribute without a value");
        }
        x->i++;
        skip_space(x);
        if (x->i >= x->len || (x->p[x->i] != '"' && x->p[x->i] != '\'')) {
            return xml_fail(x, "unquoted attribute value");
        }
        char q = x->p[x->i++];
        while (x->i < x->len && x->p[x->i] != q) {
            if (x->p[x->i] == '<') {
                return xml_fail(x, "'<' in an attribute value");
            }
            if (x->p[x->i] == '&') {
                if (!entity(x, NULL)) {
                    return xml_fail(x, "bad entity in an attribute value");
                }
                continue;
            }
            x->i++;
        }
        if (x->i >= x->len) {
            return xml_fail(x, "unterminated attribute value");
        }
        x->i++;
    }
}

static enum inv_aws_parse_status xml_start_tag(struct xml *x)
{
    if (x->depth == 0 && x->root_done) {
        return xml_fail(x, "a second root element");
    }
    if (x->depth >= XML_DEPTH_MAX) {
        inv_fail(x->err, 0, "STS answer: XML nested more than %d levels", XML_DEPTH_MAX);
        return INV_AWS_PARSE_LIMIT;
    }
    x->i++;
    if (!read_name(x, x->stack[x->depth])) {
        return xml_fail(x, "bad element name");
    }
    if (xml_attrs(x) != INV_AWS_PARSE_OK) {
        return INV_AWS_PARSE_MALFORMED;
    }
    if (x->p[x->i] == '/') {
        if (x->i + 1 >= x->len || x->p[x->i + 1] != '>') {
            return xml_fail(x, "bad empty-element tag");
        }
        x->i += 2;
        x->root_done = x->root_done || x->depth == 0;
        return INV_AWS_PARSE_OK;
    }
    x->i++;
    x->depth++;
    return INV_AWS_PARSE_OK;
}

static enum inv_aws_parse_status xml_end_tag(struct xml *x)
{
    char name[XML_NAME_MAX + 1];
    x->i += 2;
    if (x->depth == 0 || !read_name(x, name) || strcmp(name, x->stack[x->depth - 1]) != 0) {
        return xml_fail(x, "end tag does not match its start tag");
    }
    skip_space(x);
    if (x->i >= x->len || x->p[x->i] != '>') {
        return xml_fail(x, "bad end tag");
    }
    x->i++;
    if (x->path != NULL && (size_t)x->depth == x->path_len && (x->seen & 1u) == 0) {
        unsigned bit = 0;
        if (leaf_target(x, &bit) != NULL) {
            x->seen |= 2u; // the leaf closed: its value is complete (and it may be empty)
            x->seen |= 1u;
        }
    }
    x->depth--;
    x->root_done = x->root_done || x->depth == 0;
    return INV_AWS_PARSE_OK;
}

static enum inv_aws_parse_status xml_scan(struct xml *x)
{
    while (x->i < x->len) {
        enum inv_aws_parse_status st;
        if (x->p[x->i] != '<') {
            st = xml_text(x);
        } else if (starts(x, "<?")) {
            st = xml_skip_to(x, "?>", "unterminated processing instruction");
        } else if (starts(x, "<!--")) {
            st = xml_skip_to(x, "-->", "unterminated comment");
        } else if (starts(x, "<![CDATA[")) {
            st = xml_cdata(x);
        } else if (starts(x, "<!")) {
            return xml_fail(x, "DOCTYPE and declarations are not accepted");
        } else if (starts(x, "</")) {
            st = xml_end_tag(x);
        } else {
            st = xml_start_tag(x);
        }
        if (st != INV_AWS_PARSE_OK) {
            return st;
        }
        if ((x->path == NULL && x->akid.len > INV_AWS_KEY_ID_MAX) || x->akid.len > 8192 ||
            x->secret.len > INV_AWS_SECRET_MAX || x->token.len > INV_AWS_TOKEN_MAX ||
            x->expiration.len > INV_AWS_TIME_MAX || x->code.len > 512 || x->message.len > 4096) {
            inv_fail(x->err, 0, "STS answer: a credential field is too long");
            return INV_AWS_PARSE_LIMIT;
        }
    }
    if (x->depth != 0 || !x->root_done) {
        return xml_fail(x, "document ends inside an element");
    }
    return INV_AWS_PARSE_OK;
}

// clean_copy copies |b| into |out| (|cap|), control characters replaced by spaces.
static void clean_copy(char *out, size_t cap, struct buf *b)
{
    snprintf(out, cap, "%s", b->len ? buf_cstr(b) : "");
    for (char *c = out; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = ' ';
        }
    }
}

static char *steal_wiped(struct buf *b)
{
    return b->len ? buf_steal(b, NULL) : NULL;
}

static void wipe_buf(struct buf *b)
{
    if (b->p != NULL) {
        mem_wipe(b->p, b->cap);
    }
    buf_cleanup(b);
}

static enum inv_aws_parse_status sts_result(struct xml *x, struct inv_aws_creds_doc *out,
                                            struct inv_err *err)
{
    if (!strcmp(x->stack[0], "ErrorResponse")) {
        clean_copy(out->error_code, sizeof out->error_code, &x->code);
        clean_copy(out->error_message, sizeof out->error_message, &x->message);
        if (out->error_code[0] == '\0') {
            inv_fail(err, 0, "STS answer: ErrorResponse without an error code");
            return INV_AWS_PARSE_MISSING;
        }
        return INV_AWS_PARSE_SERVICE_ERROR;
    }
    if ((x->seen & 0xf) != 0xf) {
        inv_fail(err, 0,
                 "STS answer: no %s/Credentials with AccessKeyId, SecretAccessKey, "
                 "SessionToken and Expiration",
                 x->result);
        return INV_AWS_PARSE_MISSING;
    }
    if (!inv_aws_time_parse(x->expiration.p, x->expiration.len, &out->expiration)) {
        inv_fail(err, 0, "STS answer: Expiration is not an ISO 8601 time");
        return INV_AWS_PARSE_MISSING;
    }
    out->access_key_id = steal_wiped(&x->akid);
    out->secret_access_key = steal_wiped(&x->secret);
    out->session_token = steal_wiped(&x->token);
    return aws_creds_doc_check(out, "STS answer", "SessionToken", err);
}

enum inv_aws_parse_status inv_aws_sts_parse(struct inv_aws_creds_doc *out, const char *result,
                                            const char *xml, size_t len, struct inv_err *err)
{
    out->expiration = -1;
    if (len > INV_AWS_XML_MAX) {
        inv_fail(err, 0, "STS answer: %zu bytes, above the %d-byte limit", len, INV_AWS_XML_MAX);
        return INV_AWS_PARSE_LIMIT;
    }
    struct xml *x = xcalloc(1, sizeof *x);
    x->p = xml;
    x->len = len;
    x->err = err;
    x->result = result;
    if (len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0) {
        x->i = 3; // a UTF-8 byte order mark
    }
    enum inv_aws_parse_status st = xml_scan(x);
    if (st == INV_AWS_PARSE_OK) {
        st = sts_result(x, out, err);
    }
    if (st != INV_AWS_PARSE_OK && st != INV_AWS_PARSE_SERVICE_ERROR) {
        inv_aws_creds_doc_cleanup(out);
    }
    wipe_buf(&x->akid);
    wipe_buf(&x->secret);
    wipe_buf(&x->token);
    wipe_buf(&x->expiration);
    buf_cleanup(&x->code);
    buf_cleanup(&x->message);
    free(x);
    return st;
}

enum inv_aws_parse_status inv_aws_xml_value(char *out, size_t cap, const char *const *path,
                                            size_t depth, const char *xml, size_t len,
                                            struct inv_err *err)
{
    out[0] = '\0';
    if (len > INV_AWS_XML_MAX || depth == 0 || depth > XML_DEPTH_MAX) {
        inv_fail(err, 0, "XML answer: %zu bytes, above the %d-byte limit", len, INV_AWS_XML_MAX);
        return INV_AWS_PARSE_LIMIT;
    }
    struct xml *x = xcalloc(1, sizeof *x);
    x->p = xml;
    x->len = len;
    x->err = err;
    x->result = "";
    x->path = path;
    x->path_len = depth;
    if (len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0) {
        x->i = 3;
    }
    enum inv_aws_parse_status st = xml_scan(x);
    if (st == INV_AWS_PARSE_OK && (x->seen & 2u) == 0) {
        inv_fail(err, 0, "XML answer: no %s", path[depth - 1]);
        st = INV_AWS_PARSE_MISSING;
    }
    if (st == INV_AWS_PARSE_OK) {
        clean_copy(out, cap, &x->akid);
    }
    buf_cleanup(&x->akid);
    buf_cleanup(&x->secret);
    buf_cleanup(&x->token);
    buf_cleanup(&x->expiration);
    buf_cleanup(&x->code);
    buf_cleanup(&x->message);
    free(x);
    return st;
}
