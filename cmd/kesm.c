// kesm.c: main(). Parses the subcommand and hands off; nothing of substance lives here.
#include "esm/run.h"
#include "esm/serve.h"
#include "esm/status_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0.0.0"
#endif

struct subcommand {
    const char *name;
    const char *summary;
    bool available;
    int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
    {"run", "run one event source mapping from a JSON file (--config mapping.json)", true,
     esm_run_main},
    {"serve", "serve the event source mapping API and run the mappings it manages", true,
     esm_serve_main},
    {"status", "show what a kesm serve runs: one line per mapping, -v per partition", true,
     esm_status_main},
    {"version", "print the version", true, NULL},
    {"help", "print this help", true, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "kesm %s: a Kafka event source mapping for functions, in one binary\n\n",
            KESM_VERSION);
    fprintf(out, "usage: kesm <command> [options]\n       kesm --version | --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        fprintf(out, "  %-8s %s%s\n", subcommands[i].name, subcommands[i].summary,
                subcommands[i].available ? "" : " [not yet available]");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("kesm %s\n", KESM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        const struct subcommand *s = &subcommands[i];
        if (strcmp(cmd, s->name) != 0) {
            continue;
        }
        if (!s->available || !s->fn) {
            fprintf(stderr, "kesm: '%s' is not yet available in this build\n", cmd);
            return 2;
        }
        return s->fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "kesm: unknown command '%s' (see kesm --help)\n", cmd);
    return 2;
}
