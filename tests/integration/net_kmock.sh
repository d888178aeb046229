#!/usr/bin/env bash
# net_kmock: a net/ broker connection (tests/tools/net_probe, ASan build) against kmock (the
# librdkafka mock cluster): ApiVersions negotiation (v3 refused, v0 fallback), pipelined
# Metadata requests, a broker taken down and brought back (reconnect with growing backoff), and
# a round-trip delay beyond the request timeout (the request fails, the process does not, and
# the connection recovers).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/net_probe
T=$TEST_TMP
PROBE_PID=
cleanup() {
    if [ -n "$PROBE_PID" ]; then
        kill "$PROBE_PID" 2>/dev/null
        wait "$PROBE_PID" 2>/dev/null
    fi
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup
export KESM_LOG_LEVEL=info

if [ ! -x "$PROBE" ]; then
    tap_fail "net_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! kmock_start -b 3 -t orders:4; then
    tap_fail "kmock starts" "make build/kmock"
    tap_done
fi
PORT=$(echo "$KMOCK_BOOTSTRAP" | cut -d, -f1 | cut -d: -f2)

sanitizer_clean() {
    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$1"
}
show() {
    sed 's/^/#   | /' "$1" | tail -12
}

# 1. Negotiate and fetch metadata, 200 requests pipelined.
with_timeout 60 "$PROBE" 127.0.0.1 "$PORT" requests=200 >"$T/1.out" 2>"$T/1.err"
rc=$?
tap_check "metadata: probe exits 0 with every answer" test "$rc" = 0 || show "$T/1.out"
tap_check "metadata: ApiVersions v3 refused by the mock, retried with v0" \
    grep -q 'broker answered ApiVersions v3 with UNSUPPORTED_VERSION; retrying ApiVersions with v0' "$T/1.err"
tap_check "metadata: negotiated Metadata v2 (the mock's max)" grep -qx 'ready metadata=2' "$T/1.out"
tap_check "metadata: 200 pipelined responses parsed (3 brokers)" \
    test "$(grep -c '^response [0-9]* ok metadata v2 brokers=3 topics=1$' "$T/1.out")" = 200
tap_check "metadata: ASan/LSan clean" sanitizer_clean "$T/1.err"

# 2. Broker down, then up: the connection comes back with exponential backoff.
"$PROBE" 127.0.0.1 "$PORT" readies=2 lifetime-ms=30000 backoff-max-ms=800 >"$T/2.out" 2>"$T/2.err" &
PROBE_PID=$!
wait_until 15 grep -q '^ready' "$T/2.out"
kmock_cmd down -1 >/dev/null
# Down until the probe's backoff has doubled up to its cap (the 4th attempt: 800 ms).
wait_until 20 grep -q 'reconnecting in [0-9]* ms (attempt 4)' "$T/2.err"
kmock_cmd up -1 >/dev/null
wait_until 20 grep -q '^done' "$T/2.out"
wait "$PROBE_PID"
rc=$?
PROBE_PID=
tap_check "down/up: probe saw READY twice and exited 0" test "$rc" = 0 || show "$T/2.out"
tap_check "down/up: the drop is one clear line" \
    grep -qE 'READY -> BACKOFF: connection closed by the broker in READY' "$T/2.err"
tap_check "down/up: refused reconnects while down" \
    grep -qE 'CONNECTING -> BACKOFF: cannot connect to 127.0.0.1:[0-9]+ \(127.0.0.1: Connection refused\)' "$T/2.err"
# Delays: attempt 1 ~100 ms, then doubling, capped at 800 ms (+-20% jitter).
grep -oE 'reconnecting in [0-9]+ ms \(attempt [0-9]+\)' "$T/2.err" | awk '{print $3, $6}' |
    tr -d ')' >"$T/2.delays"
backoff_ok() {
    awk 'BEGIN { ok = 1; n = 0 }
         { n++; base = 100 * 2 ^ ($2 - 1); if (base > 800) base = 800;
           if ($1 < base * 0.8 - 1 || $1 > base * 1.2 + 1) ok = 0 }
         END { exit !(ok && n >= 4) }' "$T/2.delays"
}
tap_check "down/up: backoff doubles from ~100 ms and is capped (+-20% jitter)" backoff_ok ||
    show "$T/2.delays"
tap_check "down/up: ASan/LSan clean" sanitizer_clean "$T/2.err"

# 3. A round-trip delay beyond the request timeout fails that request, not the process.
kmock_cmd rtt -1 1500 >/dev/null
"$PROBE" 127.0.0.1 "$PORT" requests=2 spacing-ms=2500 request-timeout-ms=400 \
    handshake-timeout-ms=5000 backoff-max-ms=200 lifetime-ms=30000 >"$T/3.out" 2>"$T/3.err" &
PROBE_PID=$!
wait_until 20 grep -q '^response 1 ' "$T/3.out"
kmock_cmd rtt -1 0 >/dev/null
wait_until 20 grep -q '^done' "$T/3.out"
wait "$PROBE_PID"
rc=$?
PROBE_PID=
tap_check "rtt: the delayed request fails with a timeout naming it" \
    grep -qE '^response 1 error=timeout msg=Metadata v2 request \(correlation id [0-9]+\) to 127.0.0.1:[0-9]+ timed out after 400 ms$' "$T/3.out" ||
    show "$T/3.out"
tap_check "rtt: the connection is re-established" \
    test "$(grep -c '^ready' "$T/3.out")" -ge 2
tap_check "rtt: the next request succeeds" grep -q '^response 2 ok metadata v2' "$T/3.out"
tap_check "rtt: probe exits 0, ASan/LSan clean" test "$rc" = 0 -a -z "$(grep -E 'ERROR: (Address|Leak)Sanitizer' "$T/3.err")"

kmock_stop >/dev/null
tap_done
