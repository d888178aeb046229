#!/usr/bin/env bash
# secure_front_protocol.sh: the protocol paths of the secured test front (tests/broker/
# sasl_front.pl) that kcat never takes, driven by tests/broker/front_probe.pl: ApiVersions v0/v3/v4,
# SaslAuthenticate v2, SaslHandshake v0 raw tokens, KIP-368 re-authentication and expiry,
# upper-case user-name escapes, refusals, Metadata and FindCoordinator rewriting. Prints TAP lines.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
at_exit secure_cluster_stop

LIFETIME_MS=2000
# A user name with ',' and '=' (escaped =2C/=3D on the wire), and a second user.
export SECURE_USERS='a,b=c:pw-one
dave:pw-two'
SECURE_FRONT_ARGS="--session-lifetime-ms $LIFETIME_MS"
if ! secure_cluster_start -b 2 -t probe:2 -l "$LIFETIME"; then
    tap_fail "secure cluster starts (kmock + TLS/SASL front)"
    tap_done
fi
tap_ok "secure cluster starts: front listeners $SECURE_FRONT_PORTS"

KESM_PROBE_USER='a,b=c' KESM_PROBE_PASS=pw-one KESM_PROBE_USER2=dave KESM_PROBE_PASS2=pw-two \
    with_timeout 120 perl tests/broker/front_probe.pl --ca "$SECURE_CA" \
    --bootstrap "$SECURE_BOOTSTRAP" --lifetime-ms $LIFETIME_MS
rc=$?
if [ "$rc" = 0 ]; then
    tap_ok "front_probe.pl finished cleanly"
else
    tap_fail "front_probe.pl finished cleanly" "exit $rc; front log: $SECURE_FRONT_LOG"
    tail -20 "$SECURE_FRONT_LOG" | sed 's/^/#   | /'
fi
tap_check "no password reached the front's log" \
    bash -c "! grep -qE 'pw-one|pw-two' '$SECURE_FRONT_LOG'"
tap_done
