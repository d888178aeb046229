// json_guard.h: JSON text that kesm accepts from a client, a config file or its own state files
// is checked before (and after) cJSON parses it, so that whatever is accepted can be stored and
// read back, and every string echoed later is valid UTF-8:
//   - strings are strict UTF-8 (RFC 3629; invoke/utf8.h) with no raw control character, valid
//     escapes only, "\u0000" refused (cJSON would silently cut the string there), surrogate
//     escapes only as proper pairs;
//   - nesting (objects and arrays) at most max_depth levels, at most max_members members per
//     object and max_items items per array, max_values values in all, max_string bytes per
//     decoded string (the members' own limits come later, in esm/config.c);
//   - nothing but whitespace after the value;
//   - no object holds the same key twice: cJSON keeps duplicates as siblings and lookups see the
//     first, so "BatchSize" twice would mean different things to different readers.
// Errors name what was wrong and where: "duplicate key 'BatchSize' (at 'BatchSize')",
// "invalid UTF-8 in a string at byte 41", "nesting deeper than 10 levels at byte 20".
#ifndef ESM_JSON_GUARD_H
#define ESM_JSON_GUARD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct esm_json_limits {
    unsigned max_depth; // default 10
    size_t max_members; // per object, default 256
    size_t max_items;   // per array, default 1024
    size_t max_values;  // in all, default 10000
    size_t max_string;  // decoded bytes per string (keys included), default 65536
};

// esm_json_limits_request: the limits of an API request body and a `kesm run` config file.
void esm_json_limits_request(struct esm_json_limits *out);

// esm_json_scan checks |len| bytes of |text| lexically against |lim| (NULL: the request
// limits). Returns true, or false with one line in |why|.
bool esm_json_scan(const char *text, size_t len, const struct esm_json_limits *lim, char *why,
                   size_t why_len);

// esm_json_duplicate_key looks for an object holding the same key twice anywhere in |v|. Returns
// true and writes "duplicate key 'K' (at 'path')" into |why| when it finds one.
bool esm_json_duplicate_key(const cJSON *v, char *why, size_t why_len);

// esm_json_parse_guarded scans, parses and checks for duplicate keys. Returns the value (caller
// frees with cJSON_Delete), or NULL with one line in |why|.
cJSON *esm_json_parse_guarded(const char *text, size_t len, const struct esm_json_limits *lim,
                              char *why, size_t why_len);

// esm_utf8_sanitize copies |in| (|len| bytes, any content) into |out| (|cap| >= 4 bytes) as
// valid UTF-8 without control characters: invalid sequences become U+FFFD, control characters
// (newlines, tabs and DEL included) a space; the copy is cut at a character boundary so it fits
// with its NUL. Returns |out|.
char *esm_utf8_sanitize(char *out, size_t cap, const char *in, size_t len);

#endif
