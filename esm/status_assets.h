// status_assets.h: the status page's files, embedded in the binary at build time. The table is
// generated from web/status/ by scripts/embed-assets into $(BUILD)/gen/status_assets.c.
#ifndef ESM_STATUS_ASSETS_H
#define ESM_STATUS_ASSETS_H

#include <stddef.h>

struct esm_status_asset {
    const char *name;         // file name under web/status/ ("index.html", "status.js", ...)
    const char *content_type; // from the extension
    const unsigned char *data;
    size_t len;
};

extern const struct esm_status_asset esm_status_assets[];
extern const size_t esm_status_num_assets;

#endif
