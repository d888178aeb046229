// run.h: the `kesm run` subcommand (see run.c).
#ifndef ESM_RUN_H
#define ESM_RUN_H

// esm_run_main runs `kesm run` with argv[0] = "run". Returns the process exit status: 0 after a
// graceful stop, 1 when the mapping stopped by itself, 2 for usage or configuration errors.
int esm_run_main(int argc, char **argv);

#endif
