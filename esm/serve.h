// serve.h: `kesm serve`: the event source mapping API plus the mappings it manages, in one
// process.
#ifndef ESM_SERVE_H
#define ESM_SERVE_H

// esm_serve_main runs `kesm serve`; |argv[0]| is "serve". Flags:
//   --listen HOST:PORT   address of the API (default 127.0.0.1:9320; port 0 picks a free one).
//                        The bound address is printed as "kesm serve: listening on
//                        http://HOST:PORT" on stdout.
//   --state-dir DIR      where mappings are persisted (default ./kesm-state)
//   --allow-remote       answer clients that are not on loopback (and allow a non-loopback HOST)
//   --region REGION      region of function ARNs built from bare names (default us-east-1)
//   --account ID         account of function ARNs built from bare names (default 000000000000)
//   --status-listen HOST:PORT  also serve the status page on its own listener (esm/status_http.h;
//                        it is always on the API listener); printed as "kesm serve: status page
//                        on http://HOST:PORT/status"
//   --stuck-after SECONDS  stuck detection's time (esm/status.h; default 300)
// API requests must be SigV4-signed with the credentials of the environment, the shared
// credentials file or --credentials-file; without any it does not start, unless
// --insecure-no-auth (loopback only). What requests may ask for is limited by the --allow-api-*
// flags (esm/policy.h); --max-connections and the --api-*-timeout flags bound the HTTP server
// (net/httpd.h). See --help and README.md. SIGTERM and SIGINT stop it cleanly (exit 0). Returns
// the process exit status.
int esm_serve_main(int argc, char **argv);

#endif
