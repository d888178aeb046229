// status_cli.h: `kesm status`: fetch a kesm serve's GET /status.json and print it for a terminal
// (esm/status_view.h), one line per mapping, -v one per partition.
//
// Exit status: 0 nothing stuck; 1 a partition is stuck or a mapping was stopped by a problem
// (State Disabled, StateTransitionReason other than USER_INITIATED); 2 usage error; 3 the server
// cannot be reached, answered other than 200, or its answer is not a status document.
#ifndef ESM_STATUS_CLI_H
#define ESM_STATUS_CLI_H

// esm_status_main runs `kesm status`; |argv[0]| is "status". Returns the exit status.
int esm_status_main(int argc, char **argv);

#endif
