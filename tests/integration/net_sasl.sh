#!/usr/bin/env bash
# net_sasl: broker/ SASL over TLS (broker/sasl.h driving sasl/ mechanisms through the connection's
# AUTH plug-in) against tests/broker/sasl_front.pl in front of kmock (tests/lib/secure_cluster.sh):
# SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN succeed; a wrong password, a forged server signature,
# a mechanism the broker does not enable and a broker without SASL fail with a readable line
# classified as an authentication error; the password never reaches the output.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/net_probe
T=$TEST_TMP
cleanup() {
    secure_cluster_stop >/dev/null 2>&1
}
at_exit cleanup
export KESM_LOG_LEVEL=info

if [ ! -x "$PROBE" ]; then
    tap_fail "net_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! secure_cluster_start -b 1 -t orders:2 >"$T/start.log" 2>&1; then
    tap_fail "secure cluster (kmock + sasl_front.pl) starts" "$(tail -3 "$T/start.log")"
    tap_done
fi
front_port() { echo "$SECURE_BOOTSTRAP" | cut -d, -f1 | cut -d: -f2; }

# probe NAME PORT ARGS...: output in $T/NAME.out / .err, exit status in RC.
probe() {
    local name=$1 port=$2
    shift 2
    with_timeout 30 "$PROBE" localhost "$port" lifetime-ms=10000 "$@" >"$T/$name.out" \
        2>"$T/$name.err"
    RC=$?
}
clean() {
    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$T/$1.err"
}
expect_ok() {
    tap_check "$2" test "$RC" = 0 -a -n "$(grep '^response 1 ok metadata v2 brokers=1 topics=1' "$T/$1.out")" ||
        sed 's/^/#   | /' "$T/$1.out" | tail -5
    tap_check "$2: went through AUTH" grep -q '^state AUTH -> READY' "$T/$1.out"
    tap_check "$2: ASan/LSan clean" clean "$1"
}
expect_fail() {
    tap_check "$2" grep -qF -- "$3" "$T/$1.out" || sed 's/^/#   | /' "$T/$1.out" | tail -4
    tap_check "$2: ASan/LSan clean" clean "$1"
}

export NET_SASL_PW=alice-secret
P=$(front_port)
probe scram512 "$P" ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=NET_SASL_PW
expect_ok scram512 "SCRAM-SHA-512 over TLS"
probe scram256 "$P" ca="$SECURE_CA" sasl=SCRAM-SHA-256 user=alice pass-env=NET_SASL_PW
expect_ok scram256 "SCRAM-SHA-256 over TLS"
probe plain "$P" ca="$SECURE_CA" sasl=PLAIN user=alice pass-env=NET_SASL_PW
expect_ok plain "PLAIN over TLS"

export NET_SASL_PW=not-alices-password
probe badpw "$P" ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=NET_SASL_PW expect-fail
expect_fail badpw "wrong password refused, as an authentication error" \
    "err=auth authn=1 tls=none msg=SCRAM-SHA-512 authentication with broker localhost:$P failed: SASL_AUTHENTICATION_FAILED (58): Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"

export NET_SASL_PW=alice-secret
secure_front_restart --hostile bad-signature >/dev/null 2>&1
P=$(front_port)
probe badsig "$P" ca="$SECURE_CA" sasl=SCRAM-SHA-256 user=alice pass-env=NET_SASL_PW expect-fail
expect_fail badsig "forged server signature refused" \
    "err=auth authn=1 tls=none msg=SCRAM-SHA-256 authentication with broker localhost:$P failed: incorrect server signature"

secure_front_restart --mechanisms PLAIN >/dev/null 2>&1
P=$(front_port)
probe nomech "$P" ca="$SECURE_CA" sasl=SCRAM-SHA-512 user=alice pass-env=NET_SASL_PW expect-fail
expect_fail nomech "mechanism not enabled on the broker" \
    "err=auth authn=1 tls=none msg=SCRAM-SHA-512 authentication with broker localhost:$P failed: UNSUPPORTED_SASL_MECHANISM (33): the broker does not enable SCRAM-SHA-512 (enabled: PLAIN)"

KP=$(echo "$KMOCK_BOOTSTRAP" | cut -d, -f1 | cut -d: -f2)
with_timeout 30 "$PROBE" 127.0.0.1 "$KP" lifetime-ms=10000 sasl=SCRAM-SHA-512 user=alice \
    pass-env=NET_SASL_PW sasl-allow-plaintext expect-fail >"$T/nosasl.out" 2>"$T/nosasl.err"
expect_fail nosasl "a broker without SASL" \
    "err=auth authn=1 tls=none msg=SCRAM-SHA-512 authentication with broker 127.0.0.1:$KP failed: the broker does not offer SaslHandshake v1 and SaslAuthenticate (is SASL enabled on this listener?)"

no_secret() {
    ! grep -rqF -e alice-secret -e not-alices-password "$T"/*.out "$T"/*.err
}
tap_check "passwords never reach the output or the log" no_secret

secure_cluster_stop >/dev/null 2>&1
tap_done
