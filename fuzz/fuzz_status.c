// fuzz_status.c: the status page's parsers of untrusted input, on arbitrary bytes.
// Byte 0 picks the target:
//   0 (even): the rest is a status document as a server might send it to `kesm status`
//     (esm_status_view, terse and verbose): it never crashes; a verdict of INVALID or not is the
//     same for both; the text is NUL-terminated and holds no control byte but newlines;
//   1 (odd): the rest is a Host header value checked against an IPv4 and an IPv6 loopback
//     listener (esm_status_host_ok), and text made safe to show (esm_status_sanitize): the result
//     fits, is valid UTF-8 and holds no control byte; a Host the check accepts names the
//     listener's port.
#include "base/utf8.h"
#include "esm/status.h"
#include "esm/status_http.h"
#include "esm/status_view.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *t, bool allow_newline)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        assert(*p >= 0x20 || (allow_newline && *p == '\n'));
        assert(*p != 0x7f);
    }
}

static void view(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    enum esm_status_verdict va = esm_status_view((const char *)data, size, false, &a);
    enum esm_status_verdict vb = esm_status_view((const char *)data, size, true, &b);
    assert(a && b);
    assert((va == ESM_STATUS_INVALID) == (vb == ESM_STATUS_INVALID));
    assert(va == vb);
    check_text(a, true);
    check_text(b, true);
    free(a);
    free(b);
}

static void host(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) {
        return;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    struct sockaddr_storage v4 = {0}, v6 = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&v4;
    a->sin_family = AF_INET;
    a->sin_port = htons(9320);
    a->sin_addr.s_addr = htonl(0x7f000001);
    struct sockaddr_in6 *b = (struct sockaddr_in6 *)&v6;
    b->sin6_family = AF_INET6;
    b->sin6_port = htons(9320);
    b->sin6_addr.s6_addr[15] = 1;
    if (esm_status_host_ok(s, (struct sockaddr *)&v4)) {
        assert(strstr(s, ":9320") != NULL);
    }
    if (esm_status_host_ok(s, (struct sockaddr *)&v6)) {
        assert(strstr(s, ":9320") != NULL);
    }
    char out[64];
    esm_status_sanitize(out, sizeof out, s);
    assert(strlen(out) < sizeof out);
    assert(utf8_valid(out, strlen(out)));
    check_text(out, false);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        host(data + 1, size - 1);
    } else {
        view(data + 1, size - 1);
    }
    return 0;
}
