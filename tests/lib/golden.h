// golden.h: test helpers for golden-byte tests.
//
// guarded_copy places bytes flush against a PROT_NONE page (the picohttpparser trick), so a parser
// that reads one byte past its input faults at once, even without ASan.
#ifndef TESTS_LIB_GOLDEN_H
#define TESTS_LIB_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guarded {
    uint8_t *data; // the bytes; data + len is the first byte of the guard page
    size_t len;
    void *map;
    size_t map_len;
};

// guarded_copy copies |len| bytes of |p| into a fresh guarded mapping. Aborts on failure.
void guarded_copy(struct guarded *out, const void *p, size_t len);
// golden_load_guarded reads tests/golden/<name> (relative to the source tree) into a guarded
// mapping. Aborts with a message if the file is missing.
void golden_load_guarded(struct guarded *out, const char *name);
// guarded_free unmaps; safe on a zeroed struct.
void guarded_free(struct guarded *g);

// hex_decode turns "00 12 ab" (spaces, newlines and '|' ignored) into bytes; returns the length.
// Aborts on a malformed string or if |cap| is too small.
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);

#endif
