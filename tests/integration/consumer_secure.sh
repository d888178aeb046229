#!/usr/bin/env bash
# consumer_secure.sh: kesm's consumer over TLS + SASL/SCRAM (tests/lib/secure_cluster.sh: kmock
# behind tests/broker/sasl_front.pl). The consumer passes its TLS context and SASL plug-in to every
# broker connection, the coordinator's included:
#   right credentials: the group forms and every record arrives, then commits land;
#   a wrong password: the consumer stops with class authn (EVENT_SOURCE_AUTHN_ERROR), the
#   password appears nowhere in its output;
#   a CA that did not sign the broker certificate: class authn too.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
. tests/integration/consumer_lib.bash

WORK=$TEST_TMP
KMOCK_DIR=$WORK/kmock
cleanup() {
    secure_cluster_stop
}
at_exit cleanup

T=sec
if ! secure_cluster_start -b 2 -t $T:2 >"$WORK/start.log" 2>&1; then
    tap_fail "secure cluster (kmock + sasl_front.pl) starts" "$(tail -3 "$WORK/start.log")"
    tap_done
fi
kmock_cmd produce $T 20 >/dev/null

# run NAME GROUP PASSWORD ARGS...: cons_probe over TLS + SCRAM-SHA-512 as alice.
run() {
    local name=$1 group=$2
    export CONS_SECRET=$3
    shift 3
    timeout --kill-after=5 40 "$CONS_PROBE" "$SECURE_BOOTSTRAP" "$group" $T \
        "${CONS_PROBE_GROUP[@]}" lifetime=30 sasl=SCRAM-SHA-512 user=alice pass-env=CONS_SECRET \
        "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    unset CONS_SECRET
}

run good g-sec alice-secret ca="$SECURE_CA" close-after=20
tap_check "TLS + SCRAM-SHA-512: the group forms and all 20 records arrive (exit $RC)" \
    test "$RC" = 0 -a "$(grep -c "^$T " "$WORK/good.out")" = 20
tap_check "TLS + SCRAM-SHA-512: in order, none missing" cons_no_gaps "$WORK/good.out"
tap_check "TLS + SCRAM-SHA-512: the coordinator connection authenticated too (commits landed)" \
    test "$(kmock_cmd committed g-sec $T 2)" = "ok committed group=g-sec topic=$T 0=10 1=10"

run badpass g-sec2 not-the-password ca="$SECURE_CA"
tap_check "wrong password: the consumer stops (exit $RC)" test "$RC" = 1
tap_check "wrong password: class authn, the mechanism and the broker's error named" \
    grep -qE '^error authn .*SCRAM-SHA-512.*SASL_AUTHENTICATION_FAILED' "$WORK/badpass.err"
tap_check "wrong password: the password appears nowhere in the output" \
    bash -c "! grep -q 'not-the-password' '$WORK/badpass.out' '$WORK/badpass.err'"

# A CA that did not sign the front's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$WORK/other.key" -out "$WORK/other.pem" -subj "/CN=other CA" 2>/dev/null
run badca g-sec3 alice-secret ca="$WORK/other.pem"
tap_check "untrusted broker certificate: the consumer stops (exit $RC)" test "$RC" = 1
tap_check "untrusted broker certificate: class authn, says why" \
    grep -qiE '^error authn .*(unknown CA|certificate)' "$WORK/badca.err"
tap_check "no ASan/UBSan report from kesm" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' $WORK/*.err"
tap_done
