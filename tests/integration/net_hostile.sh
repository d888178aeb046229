#!/usr/bin/env bash
# net_hostile: a net/ broker connection (tests/tools/net_probe, ASan build) against misbehaving
# peers (tests/tools/hostile_peer.py on 127.0.0.1): a 2 GB frame size, half a frame then a stall,
# a close mid-frame, garbage instead of a TLS ServerHello, and silence during the TLS handshake.
# Each case checks the error line, that the connection retries (backoff), and that the probe
# exits without sanitizer reports (leaks included).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/net_probe
T=$TEST_TMP
PEER_PID=
cleanup() {
    if [ -n "$PEER_PID" ]; then
        kill "$PEER_PID" 2>/dev/null
        wait "$PEER_PID" 2>/dev/null
    fi
}
at_exit cleanup
export KESM_LOG_LEVEL=info

if [ ! -x "$PROBE" ]; then
    tap_fail "net_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi

start_peer() {
    rm -f "$T/port"
    /usr/bin/python3 tests/tools/hostile_peer.py "$1" "$T/port" 30 >"$T/peer.out" 2>&1 &
    PEER_PID=$!
    wait_until 5 test -s "$T/port" || return 1
    PORT=$(cat "$T/port")
}
stop_peer() {
    kill "$PEER_PID" 2>/dev/null
    wait "$PEER_PID" 2>/dev/null
    PEER_PID=
}
run_probe() {
    with_timeout 30 "$PROBE" 127.0.0.1 "$PORT" "$@" >"$T/probe.out" 2>"$T/probe.err"
    PROBE_RC=$?
}
# sanitizer_clean: the probe did not exit with ASan's status and left no report (the prelude
# sends reports to KESM_SAN_DIR) or one on its stderr.
sanitizer_clean() {
    [ "$PROBE_RC" != 66 ] && [ -z "$(ls -A "$KESM_SAN_DIR")" ] &&
        ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$T/probe.err"
}
retried() {
    [ "$(grep -c 'BACKOFF -> RESOLVING' "$T/probe.out")" -ge 2 ] &&
        [ "$(grep -c '^conn ' "$T/peer.out")" -ge 2 ]
}
# check_case NAME PATTERN: the error line, the retries, a clean exit.
check_case() {
    tap_check "$1: error names the problem" grep -qF -- "$2" "$T/probe.out"
    tap_check "$1: reconnects with backoff" retried
    tap_check "$1: no crash, no leak (ASan/LSan clean)" sanitizer_clean
    if [ "$TAP_FAIL" != 0 ]; then
        sed 's/^/#   out| /' "$T/probe.out" | tail -8
        sed 's/^/#   err| /' "$T/probe.err" | grep -v ' INFO ' | tail -8
    fi
}

start_peer huge || tap_fail "hostile peer starts (huge)"
run_probe lifetime-ms=1500 backoff-max-ms=200
check_case "2 GB frame size" \
    "err=frame too large authn=0 tls=none msg=response frame size 2147483647 exceeds the limit of 104857600 bytes"
stop_peer

start_peer halfstall || tap_fail "hostile peer starts (halfstall)"
run_probe lifetime-ms=2000 backoff-max-ms=200 handshake-timeout-ms=400
check_case "half a frame then a stall" "err=timeout authn=0 tls=none msg=handshake timed out in API_VERSIONS after 400 ms"
stop_peer

start_peer midclose || tap_fail "hostile peer starts (midclose)"
run_probe lifetime-ms=1500 backoff-max-ms=200
check_case "close mid-frame" "msg=connection closed by the broker mid-frame (105 bytes of an incomplete frame received)"
stop_peer

start_peer garbage || tap_fail "hostile peer starts (garbage)"
run_probe insecure lifetime-ms=1500 backoff-max-ms=200
check_case "garbage instead of a ServerHello" \
    "err=tls authn=0 tls=not TLS msg=TLS: not TLS: the broker answered with something that is not a TLS ServerHello"
stop_peer

start_peer silent || tap_fail "hostile peer starts (silent)"
run_probe insecure lifetime-ms=2000 backoff-max-ms=200 handshake-timeout-ms=400
check_case "silent peer during the TLS handshake" \
    "err=tls authn=0 tls=handshake timeout msg=TLS: handshake timeout: no TLS handshake completed within 400 ms"
stop_peer

tap_done
