// store.h: persistence of mappings, one JSON file per mapping in a state directory.
//
// Files are "<dir>/<uuid>.json", mode 0600 (a mapping names secrets but never holds them), written
// atomically: a temporary file is written and fsync'ed, renamed over the old one, and the
// directory is fsync'ed. At start every file is read back; one that cannot be read or that the
// caller rejects is reported and moved aside to "<name>.corrupt-<UTC timestamp>", never dropped
// silently. Leftover temporary files from an interrupted write are reported and removed.
#ifndef ESM_STORE_H
#define ESM_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct esm_store;

// esm_store_open creates |dir| (mode 0700) if needed, opens it and takes an exclusive lock on
// "<dir>/.lock" (flock) for the store's lifetime, so that one process owns a state directory.
// Returns NULL and writes the reason into |why| (|why_len| bytes) on failure, e.g. "state
// directory DIR is in use by another kesm process".
struct esm_store *esm_store_open(const char *dir, char *why, size_t why_len);
// esm_store_free closes the store; NULL is a no-op.
void esm_store_free(struct esm_store *s);
// esm_store_dir returns the directory the store was opened on.
const char *esm_store_dir(const struct esm_store *s);

// esm_store_save writes |len| bytes of |text| as the file of mapping |uuid|, atomically.
// Returns 0, or -1 with the reason in |why|.
int esm_store_save(struct esm_store *s, const char *uuid, const char *text, size_t len, char *why,
                   size_t why_len);
// esm_store_remove deletes the file of mapping |uuid| (absent is fine). Returns 0 or -1.
int esm_store_remove(struct esm_store *s, const char *uuid, char *why, size_t why_len);

// esm_store_load_fn receives one file's text (NUL-terminated, |len| bytes); it returns true to
// accept it, or false with a reason in |why| to have the file moved aside.
typedef bool (*esm_store_load_fn)(void *ctx, const char *name, const char *text, size_t len,
                                  char *why, size_t why_len);
// esm_store_report_fn receives one human-readable line about a file that was moved aside or
// removed.
typedef void (*esm_store_report_fn)(void *ctx, const char *line);

// esm_store_load_all feeds every "<uuid>.json" file to |load| (in name order). Counts go to
// |out_loaded| and |out_bad| (either may be NULL). Returns 0, or -1 if the directory cannot be
// listed.
int esm_store_load_all(struct esm_store *s, esm_store_load_fn load, esm_store_report_fn report,
                       void *ctx, unsigned *out_loaded, unsigned *out_bad);

// Files larger than this are treated as corrupt.
#define ESM_STORE_MAX_FILE (1024 * 1024)

#endif
