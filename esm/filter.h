// filter.h: FilterCriteria, Lambda's event filtering, applied to Kafka records.
//
// A filter is compiled once from the Filters[].Pattern strings of a mapping's FilterCriteria
// (EventBridge pattern syntax) and then asked, record by record, whether the record is to be
// delivered. Filters are ORed; inside one pattern every named field must match; a field's rule
// list is ORed. Rules: exact string / number / boolean / null, "prefix", "suffix",
// "equals-ignore-case", "anything-but" (a value, a list, or {"prefix"|"suffix"|
// "equals-ignore-case": ...}), "numeric" (one comparison, or a lower and an upper bound),
// "exists", and "$or" (a list of alternative patterns at any object level).
//
// The event a pattern sees is the record as Lambda's Kafka event shows it:
//   topic, partition, offset, timestamp, timestampType  metadata (string, numbers, string);
//   key                                                 base64 text, absent when the key is null;
//   value                                               the data: see below.
// Any other top-level name (headers included) is an absent field. For `value` (Lambda's table in
// README.md, "Event filtering"): a pattern object applies to a value that is a JSON object or
// array; a rule list applies to a value that is a plain string (valid UTF-8 that is not a JSON
// object or array). On a mismatch, or when the value is not valid UTF-8, the `value` part of the
// pattern is skipped and only the metadata parts decide. A null value is an absent field.
//
// Bounded: patterns nest at most ESM_FILTER_MAX_DEPTH objects deep and have at most
// ESM_FILTER_MAX_NODES fields and rules; data arrays are flattened at most 32 levels deep; each
// record's evaluation has a step budget linear in the size of its value. A record that exceeds
// the budget is delivered (counted by esm_filter_budget_exceeded), never silently dropped.
#ifndef ESM_FILTER_H
#define ESM_FILTER_H

#include "invoke/record.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESM_FILTER_MAX_FILTERS 10
#define ESM_FILTER_MAX_DEPTH 16
#define ESM_FILTER_MAX_NODES 1024
#define ESM_FILTER_MAX_PATTERN 65536
#define ESM_FILTER_MAX_JSON_VALUE (16u * 1024 * 1024) // larger values are not parsed as JSON

struct esm_filter;

// esm_filter_check_pattern compiles one Pattern string and discards it. Returns true if it is a
// valid pattern; otherwise false with a reason in |why| (|why_cap| bytes), e.g.
// `unknown operator "numberic" at value.price`.
bool esm_filter_check_pattern(const char *pattern, char *why, size_t why_cap);

// esm_filter_new compiles |n| Pattern strings (n <= ESM_FILTER_MAX_FILTERS). Returns the filter,
// or NULL with the index of the bad pattern in *out_bad (when not NULL) and the reason in |why|.
// n == 0 gives a filter that matches every record.
struct esm_filter *esm_filter_new(const char *const *patterns, size_t n, size_t *out_bad, char *why,
                                  size_t why_cap);

// esm_filter_from_criteria compiles a validated FilterCriteria object ({} or {"Filters":[...]}).
// |criteria| NULL, {} or an empty Filters list: returns NULL with *out_none set (no filtering).
// Returns NULL with *out_none false and |why| filled when a pattern does not compile.
struct esm_filter *esm_filter_from_criteria(const cJSON *criteria, bool *out_none, char *why,
                                            size_t why_cap);

// esm_filter_match returns true if |rec| matches at least one pattern of |f| (it is delivered).
// |f| NULL matches everything. Reads |rec| only during the call.
bool esm_filter_match(struct esm_filter *f, const struct inv_record *rec);

// esm_filter_count returns the number of patterns.
size_t esm_filter_count(const struct esm_filter *f);

// esm_filter_budget_exceeded returns how many records were delivered because their evaluation
// ran out of its step budget.
uint64_t esm_filter_budget_exceeded(const struct esm_filter *f);

// esm_filter_free frees |f|. NULL is a no-op.
void esm_filter_free(struct esm_filter *f);

#endif
