// flexwire.c: version-switched field helpers (see flexwire.h).
#include "proto/flexwire.h"

#include "proto/api.h"

bool kp_fw_str(kr *r, bool flex, kr *out, bool *out_null)
{
    return flex ? kr_compact_str(r, out, out_null) : kr_str(r, out, out_null);
}

bool kp_fw_bytes(kr *r, bool flex, kr *out, bool *out_null)
{
    return flex ? kr_compact_bytes(r, out, out_null) : kr_bytes(r, out, out_null);
}

bool kp_fw_array(kr *r, bool flex, size_t min_elem_len, uint32_t max, uint32_t *out_n,
                 bool *out_null)
{
    return flex ? kr_compact_array_count(r, min_elem_len, max, out_n, out_null)
                : kr_array_count(r, min_elem_len, max, out_n, out_null);
}

bool kp_fw_tags(kr *r, bool flex)
{
    return !flex || kr_skip_tags(r);
}

bool kp_fw_wstr(kw *w, bool flex, const char *s)
{
    return flex ? kw_compact_str(w, s) : kw_str(w, s);
}

bool kp_fw_wstr_nn(kw *w, bool flex, const char *s)
{
    return s ? kp_fw_wstr(w, flex, s) : kw_fail(w);
}

bool kp_fw_wbytes(kw *w, bool flex, const void *p, size_t n)
{
    return flex ? kw_compact_bytes(w, p, n) : kw_bytes(w, p, n);
}

bool kp_fw_wbytes_nn(kw *w, bool flex, const void *p, size_t n)
{
    if (!p) {
        return n == 0 ? kp_fw_wbytes(w, flex, "", 0) : kw_fail(w);
    }
    return kp_fw_wbytes(w, flex, p, n);
}

bool kp_fw_warray(kw *w, bool flex, int32_t n)
{
    return flex ? kw_compact_array_count(w, n) : kw_array_count(w, n);
}

bool kp_fw_wtags(kw *w, bool flex)
{
    return !flex || kw_empty_tags(w);
}

bool kp_fw_count(kw *w, size_t n, int32_t *out)
{
    if (n > INT32_MAX) {
        return kw_fail(w);
    }
    *out = (int32_t)n;
    return true;
}

bool kp_fw_version_ok(int16_t key, int16_t version)
{
    const struct kp_api_info *a = kp_api_info_get(key);
    return a && version >= a->min_version && version <= a->max_version;
}

void kp_fw_span(const kr *mark, const kr *now, kr *out)
{
    // Through kr_sub, so no pointer arithmetic on cursor fields happens outside kr.c; a |now| that
    // is not |mark| advanced gives an empty view rather than a wild length.
    kr m = *mark;
    m.fault = KR_OK;
    if (kr_left(now) > kr_left(&m) || !kr_sub(&m, out, kr_left(&m) - kr_left(now))) {
        kr_init(out, NULL, 0);
    }
}
