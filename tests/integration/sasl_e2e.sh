#!/usr/bin/env bash
# sasl_e2e: SASL end to end through the secured test cluster (tests/lib/secure_cluster.sh: kmock
# behind tests/broker/sasl_front.pl, TLS + SASL), with kesm's broker/ + broker/sasl as the client
# (build/asan/tools/sasl_fetch):
#   - produced records fetched over TLS with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN;
#   - a wrong password and every hostile switch of the front (forged server signature, a server
#     nonce that does not extend ours, iteration counts 1 and 100000000, a server e= error)
#     refused as an authentication error, each with its own reason;
#   - SCRAM over plaintext refused before connecting unless opted in (then one WARN line);
#   - KIP-368: a connection kept busy with pipelined requests across several session lifetimes
#     re-authenticates on the same socket and loses nothing (the front's log proves it), while a
#     client that ignores the lifetime is disconnected by the front when its session expires;
#   - `kesm run` with a SASL_SCRAM_512_AUTH mapping (secret file, CA file) delivers the records to
#     examples/handler.py through the front, its connections re-authenticating on their own; a
#     wrong password stops it with EVENT_SOURCE_AUTHN_ERROR and a readable reason; SASL without
#     TLS is refused before connecting;
#   - no password in any output or log line.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh

TOOL=${KESM_ASAN_TREE:-build/asan}/tools/sasl_fetch
T=$TEST_TMP
cleanup() {
    secure_cluster_stop >/dev/null 2>&1
}
at_exit cleanup
export KESM_LOG_LEVEL=debug
GOOD=alice-secret
BAD=wrong-Pa55word-for-alice

if [ ! -x "$TOOL" ]; then
    tap_fail "sasl_fetch is built" "$TOOL missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! secure_cluster_start -b 1 -t orders:2 >"$T/start.log" 2>&1; then
    tap_fail "secure cluster (kmock + sasl_front.pl) starts" "$(tail -3 "$T/start.log")"
    tap_done
fi
if ! kmock_cmd produce orders 120 >"$T/produce.out" 2>&1; then
    tap_fail "120 records produced to kmock" "$(cat "$T/produce.out")"
    tap_done
fi
front_port() { echo "$SECURE_BOOTSTRAP" | cut -d, -f1 | cut -d: -f2; }
P=$(front_port)

# run NAME ARGS...: sasl_fetch against the front; output in $T/NAME.out / .err, status in RC.
run() {
    local name=$1
    shift
    with_timeout 60 "$TOOL" localhost "$P" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
}
# clean NAME: no sanitizer report so far (the prelude sends them to files in KESM_SAN_DIR, not to
# stderr: a report of this run or an earlier one; each also fails the test at exit).
clean() {
    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$T/$1.err" &&
        ! compgen -G "$KESM_SAN_DIR/*" >/dev/null
}
show() { sed 's/^/#   | /' "$T/$1.out" | tail -"${2:-6}"; }

# ---- fetch with each mechanism ---------------------------------------------------------------

export E2E_PW=$GOOD
for mech in SCRAM-SHA-512 SCRAM-SHA-256 PLAIN; do
    n=fetch-$mech
    run "$n" ca="$SECURE_CA" sasl="$mech" user=alice pass-env=E2E_PW topic=orders partitions=2 \
        expect=120 busy-ms=200 inflight=2
    tap_check "$mech over TLS: Metadata and Fetch of the 120 produced records" \
        test "$RC" = 0 -a -n "$(grep -x 'fetched records=120' "$T/$n.out")" || show "$n"
    tap_check "$mech: authenticated through the front" \
        grep -q "authenticated $mech user=alice" "$SECURE_FRONT_LOG"
    tap_check "$mech: ASan/LSan clean" clean "$n"
done

# ---- failures ----------------------------------------------------------------------------------

# expect_auth_fail NAME DESC MECH REASON: the first failure is an authentication error whose
# message names the mechanism and the broker, followed by REASON.
expect_auth_fail() {
    local name=$1 desc=$2 mech=$3 reason=$4
    local want="err=auth authn=1 msg=$mech authentication with broker localhost:$P failed: $reason"
    tap_check "$desc" grep -qxF -- "state AUTH -> BACKOFF $want" "$T/$name.out" || show "$name" 4
    tap_check "$desc: ASan/LSan clean" clean "$name"
}

export E2E_PW=$BAD
run badpw ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=E2E_PW expect-fail
expect_auth_fail badpw "wrong password: SASL_AUTHENTICATION_FAILED, readable" SCRAM-SHA-512 \
    "SASL_AUTHENTICATION_FAILED (58): Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
run badpw-plain ca="$SECURE_CA" sasl=PLAIN user=alice pass-env=E2E_PW expect-fail
expect_auth_fail badpw-plain "wrong PLAIN password" PLAIN \
    "SASL_AUTHENTICATION_FAILED (58): Authentication failed: Invalid username or password"

export E2E_PW=$GOOD
# hostile MODE NAME MECH REASON
hostile() {
    local mode=$1 name=$2 mech=$3 reason=$4
    if ! secure_front_restart --hostile "$mode" >"$T/restart.log" 2>&1; then
        tap_fail "front restarts with --hostile $mode" "$(tail -3 "$T/restart.log")"
        return
    fi
    P=$(front_port)
    run "$name" ca="$SECURE_CA" sasl="$mech" user=alice pass-env=E2E_PW expect-fail
    expect_auth_fail "$name" "hostile $mode refused" "$mech" "$reason"
}
hostile bad-signature h-sig SCRAM-SHA-512 "incorrect server signature"
hostile bad-nonce h-nonce SCRAM-SHA-256 \
    "malformed SCRAM message (server nonce does not extend the client nonce)"
hostile iterations=1 h-iter1 SCRAM-SHA-512 \
    "SCRAM iteration count 1 is outside the allowed range [4096, 1000000]"
hostile iterations=100000000 h-iterbig SCRAM-SHA-512 \
    "SCRAM iteration count 100000000 is outside the allowed range [4096, 1000000]"
hostile server-error=invalid-proof h-eerr SCRAM-SHA-256 \
    'SCRAM authentication failed: server error "invalid-proof"'
reasons=$(cat "$T"/h-*.out | grep -c '^state AUTH -> BACKOFF err=auth')
distinct=$(cat "$T"/h-*.out | grep '^state AUTH -> BACKOFF err=auth' | sed 's/.* failed: //' |
    sort -u | wc -l)
tap_check "each hostile switch has its own reason ($distinct of $reasons distinct)" \
    test "$reasons" = 5 -a "$distinct" = 5

# ---- plaintext policy --------------------------------------------------------------------------

if secure_front_restart --no-tls >"$T/restart.log" 2>&1; then
    P=$(front_port)
    run plain-refused sasl=SCRAM-SHA-512 user=alice pass-env=E2E_PW topic=orders partitions=2 \
        expect=120
    tap_check "SCRAM over plaintext refused before connecting" grep -qxF \
        "sasl-config-error SASL: SCRAM-SHA-512 refused over a plaintext connection (no TLS): set allow_plaintext to send credentials unencrypted" \
        "$T/plain-refused.out"
    tap_check "  ... nothing reached the front" test "$(grep -c 'connection from' "$SECURE_FRONT_LOG")" = 0
    run plain-optin sasl=SCRAM-SHA-512 user=alice pass-env=E2E_PW topic=orders partitions=2 \
        expect=120 sasl-allow-plaintext
    tap_check "SCRAM over plaintext with the explicit opt-in fetches the records" \
        test "$RC" = 0 -a -n "$(grep -x 'fetched records=120' "$T/plain-optin.out")" ||
        show plain-optin
    tap_check "  ... with a WARN line at connect" grep -q \
        "WARN net broker localhost:$P: SCRAM-SHA-512 over a plaintext connection: credentials travel unencrypted" \
        "$T/plain-optin.err"
    tap_check "  ... ASan/LSan clean" clean plain-optin
else
    tap_fail "front restarts without TLS" "$(tail -3 "$T/restart.log")"
fi

# ---- KIP-368 re-authentication -----------------------------------------------------------------

LIFE=4000
if secure_front_restart --session-lifetime-ms $LIFE >"$T/restart.log" 2>&1; then
    P=$(front_port)
    run reauth ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=E2E_PW busy-ms=13500 \
        inflight=8 topic=orders partitions=2 expect=120 lifetime-ms=30000
    busy=$(grep '^busy ' "$T/reauth.out")
    reauths=$(echo "$busy" | sed -n 's/.* reauths=\([0-9]*\).*/\1/p')
    front_reauths=$(grep -c 're-authenticated SCRAM-SHA-512 user=alice' "$SECURE_FRONT_LOG")
    tap_check "busy connection across 3+ session lifetimes ($LIFE ms): no request lost ($busy)" \
        test "$RC" = 0 -a -n "$(echo "$busy" | grep ' errors=0 ' | grep ' connects=1$')" ||
        show reauth
    tap_check "  ... re-authenticated $reauths times on the same connection (front: $front_reauths)" \
        test "${reauths:-0}" -ge 3 -a "${reauths:-0}" = "$front_reauths"
    tap_check "  ... the front never saw an expired session" \
        test "$(grep -c 'session expired' "$SECURE_FRONT_LOG")" = 0
    sasl_line=$(grep '^sasl ' "$T/reauth.out")
    tap_check "  ... each re-authentication a fresh exchange, PBKDF2 only once ($sasl_line)" \
        test -n "$(echo "$sasl_line" | grep -x "sasl exchanges=$((reauths + 1)) completed=$((reauths + 1)) failed=0 reauths=$reauths cache_hits=$reauths cache_misses=1")"
    echo "# $(grep '^reauth hold_max_ms' "$T/reauth.out") (8 requests pipelined, ASan build)"
    tap_check "  ... one TCP connection" \
        test "$(grep -c 'connection from' "$SECURE_FRONT_LOG")" = 1
    tap_check "  ... ASan/LSan clean" clean reauth
    tap_check "  ... and the 120 records fetched meanwhile" grep -qx 'fetched records=120' \
        "$T/reauth.out"

    if secure_front_restart --session-lifetime-ms 1000 >"$T/restart.log" 2>&1; then
        P=$(front_port)
        run noreauth ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=E2E_PW \
            sasl-no-reauth busy-ms=3000 inflight=2 lifetime-ms=5000
        tap_check "without re-authentication the front closes the expired session" grep -q \
            'session expired (no re-authentication); closing' "$SECURE_FRONT_LOG"
        tap_check "  ... and the client sees the connection dropped" grep -q \
            '^state READY -> BACKOFF err=disconnected' "$T/noreauth.out"
        tap_check "  ... ASan/LSan clean" clean noreauth
    else
        tap_fail "front restarts with a 1000 ms session lifetime" "$(tail -3 "$T/restart.log")"
    fi
else
    tap_fail "front restarts with a session lifetime" "$(tail -3 "$T/restart.log")"
fi

# ---- kesm run: a SASL_SCRAM_512_AUTH mapping -----------------------------------------------------

KESM_PID=
kesm_stop() {
    [ -z "$KESM_PID" ] && return 0
    kill -INT "$KESM_PID" 2>/dev/null
    wait "$KESM_PID"
    KRC=$?
    KESM_PID=
}
cleanup() {
    if [ -n "$KESM_PID" ]; then
        kill -KILL "$KESM_PID" 2>/dev/null
        wait "$KESM_PID" 2>/dev/null
    fi
    secure_cluster_stop >/dev/null 2>&1
}
# secret NAME PASSWORD: a Secrets-Manager-shaped JSON secret file (mode 600).
secret() {
    (
        umask 077
        printf '{"username": "alice", "password": "%s"}\n' "$2" >"$T/$1.json"
    )
}
# mapping FILE SECRET [KESM MEMBERS]: a CreateEventSourceMapping request for topic orders through
# the front, authenticated with SASL_SCRAM_512_AUTH, trusting the test CA, delivering to
# examples/handler.py.
mapping() {
    local extra=${3:-}
    cat >"$1" <<JSON
{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:sasl-e2e",
 "Topics": ["orders"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$SECURE_BOOTSTRAP"]}},
 "SourceAccessConfigurations": [
   {"Type": "SASL_SCRAM_512_AUTH", "URI": "file://$T/$2.json"},
   {"Type": "SERVER_ROOT_CA_CERTIFICATE", "URI": "file://$SECURE_CA"}],
 "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1,
 "Kesm": {"Transport": "exec", "Command": ["$PWD/examples/handler.py"]${extra:+, $extra}}}
JSON
}
count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds or SECS pass.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}
has_lines() { [ "$(count_lines "$1")" -ge "$2" ]; }

if [ ! -x "$KESM" ]; then
    tap_fail "kesm is built" "$KESM missing (make all)"
elif ! secure_front_restart --session-lifetime-ms 12000 >"$T/restart.log" 2>&1; then
    tap_fail "front restarts with a 12 s session lifetime" "$(tail -3 "$T/restart.log")"
else
    secret alice "$GOOD"
    mapping "$T/map-run.json" alice
    # --foreground: otherwise timeout passes our SIGINT on twice (to kesm and to its process
    # group), and kesm reads a second signal as "exit at once".
    HANDLER_LOG=$T/run.log timeout --foreground --kill-after=5 "$LIFETIME" "$KESM" run --no-status \
        --config "$T/map-run.json" >"$T/run.out" 2>"$T/run.err" &
    KESM_PID=$!
    tap_check "kesm run (SASL_SCRAM_512_AUTH over TLS) delivers the 120 records to the function" \
        wait_for 60 has_lines "$T/run.log" 120
    tap_check "  ... the consumer's connections re-authenticate on their own (12 s lifetime)" \
        wait_for 30 grep -q 're-authenticated SCRAM-SHA-512 user=alice' "$SECURE_FRONT_LOG"
    kmock_cmd produce orders 30 >/dev/null 2>&1
    tap_check "  ... and keep delivering afterwards (150 records)" \
        wait_for 30 has_lines "$T/run.log" 150
    holds_for 1 eval '[ "$(count_lines "$T/run.log")" -le 150 ]'
    tap_check "  ... each of the 150 records exactly once" test \
        "$(cut -d' ' -f1-2 "$T/run.log" | sort -u | wc -l)/$(count_lines "$T/run.log")" = 150/150
    kesm_stop
    tap_check "  ... kesm run exits 0 on SIGINT" test "$KRC" = 0
    tap_check "  ... no session ever expired at the front" \
        test "$(grep -c 'session expired' "$SECURE_FRONT_LOG")" = 0
    tap_check "  ... kesm logs which SASL it runs" grep -q 'transport exec, TLS+SASL' "$T/run.err"

    secret wrong "$BAD"
    mapping "$T/map-wrong.json" wrong
    timeout --kill-after=5 60 "$KESM" run --no-status --config "$T/map-wrong.json" \
        >"$T/wrong.out" 2>"$T/wrong.err"
    rc=$?
    tap_check "wrong password: kesm run stops by itself (exit 1)" test "$rc" = 1
    tap_check "  ... with EVENT_SOURCE_AUTHN_ERROR and a readable reason" grep -qF \
        "stopped: EVENT_SOURCE_AUTHN_ERROR: " "$T/wrong.err"
    tap_check "  ... naming the mechanism, the broker and the broker's answer" grep -qF \
        "SCRAM-SHA-512 authentication with broker $(echo "$SECURE_BOOTSTRAP" | cut -d, -f1) failed: SASL_AUTHENTICATION_FAILED (58): Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512" \
        "$T/wrong.err"

    mapping "$T/map-plain.json" alice '"Tls": false'
    timeout --kill-after=5 60 "$KESM" run --no-status --config "$T/map-plain.json" \
        >"$T/plain.out" 2>"$T/plain.err"
    rc=$?
    tap_check "SASL over plaintext in a mapping: refused before connecting (exit 2)" \
        test "$rc" = 2 -a -n "$(grep 'SaslAllowPlaintext' "$T/plain.err")"
fi

# ---- secrets -------------------------------------------------------------------------------------

no_secret() {
    ! grep -rlF -e "$GOOD" -e "$BAD" "$T"/*.out "$T"/*.err "$T"/*.log "$SECURE_DIR"/front*.err
}
tap_check "no password in any output or log line (debug level)" no_secret

secure_cluster_stop >/dev/null 2>&1
tap_done
